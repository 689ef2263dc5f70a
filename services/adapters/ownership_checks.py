"""The ``ownership_checks`` table: the latest owner comparison per account, and the review list.

Also answers which mirrored accounts carry the ownership permission (what "check all" reads).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, func, or_, select

from services.adapters.models import AccountRecord, OwnershipCheck
from services.adapters.people import customers_matching, people_by_id
from services.adapters.store import session_scope
from services.rules.owners.views import CheckCoverage, ReviewPage, ReviewRow
from services.rules.paging import clamp
from services.rules.people import Person

_WITH_OWNERSHIP = col(AccountRecord.permissions).contains(",ownership,")


def save(engine: Engine, account_id: str, values: Mapping[str, Any]) -> None:
    """Insert or replace the stored check of ``account_id``."""
    with session_scope(engine) as session:
        row = session.get(OwnershipCheck, account_id)
        if row is None:
            session.add(OwnershipCheck(account_id=account_id, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)


def stored(engine: Engine, account_id: str) -> OwnershipCheck | None:
    """The stored check of ``account_id`` (detached: read after the session), or None."""
    with session_scope(engine) as session:
        row = session.get(OwnershipCheck, account_id)
        if row is not None:
            session.expunge(row)
        return row


def _matching(
    verdicts: Sequence[str], search: str, institution: str | None, *, pii: bool = False
) -> list[Any]:
    """The WHERE of the review list: verdicts, a bank, and a search for an ``fca_``/``cus_`` ID
    (its start), the last 4 digits, or part of the bank's name (or, with ``pii``, of the
    customer's name or email)."""
    where: list[Any] = [col(OwnershipCheck.verdict).in_(list(verdicts))]
    if institution:
        where.append(col(AccountRecord.institution_name) == institution)
    text = search.strip()
    if text.startswith("fca_"):
        where.append(col(OwnershipCheck.account_id).startswith(text, autoescape=True))
    elif text.startswith("cus_"):
        where.append(col(OwnershipCheck.customer_id).startswith(text, autoescape=True))
    elif text.isdigit() and len(text) <= 4:
        where.append(col(AccountRecord.last4) == text.zfill(4))
    elif text:
        bank = func.lower(col(AccountRecord.institution_name)).contains(
            text.lower(), autoescape=True
        )
        person = col(OwnershipCheck.customer_id).in_(customers_matching(text.lower()))
        where.append(or_(bank, person) if pii else bank)
    return where


def _needs_account(search: str) -> bool:
    """Whether :func:`_matching` filters ``search`` on the account's columns (bank, last 4)."""
    text = search.strip()
    return bool(text) and not text.startswith(("fca_", "cus_"))


# The orders the review list can be read in (the names the page puts in its URL, ?sort=…). Only
# these reach SQL; ties fall back to the account ID so pages never overlap.
REVIEW_SORTS: dict[str, str] = {
    "score": "Score, lowest first",
    "score_desc": "Score, highest first",
    "newest": "Checked, newest first",
    "oldest": "Checked, oldest first",
    "bank": "Bank (A–Z)",
}


def _review_order(sort: str | None) -> list[Any]:
    tie = col(OwnershipCheck.account_id)
    orders: dict[str, list[Any]] = {
        "score_desc": [col(OwnershipCheck.score).desc(), tie],
        "newest": [col(OwnershipCheck.checked_at).desc(), tie],
        "oldest": [col(OwnershipCheck.checked_at).asc(), tie],
        "bank": [col(AccountRecord.institution_name).asc(), col(AccountRecord.last4), tie],
    }
    return orders.get(sort or "", [col(OwnershipCheck.score), tie])


def review_page(
    engine: Engine,
    *,
    verdicts: Sequence[str],
    page: int,
    page_size: int,
    pii: bool,
    search: str = "",
    institution: str | None = None,
    sort: str | None = None,
) -> ReviewPage:
    """Stored checks with these verdicts (and the search and bank, if given), lowest score
    first or in ``sort`` order (``REVIEW_SORTS``; anything else is lowest score first), sorted
    over the whole result; reasons without names unless ``pii``. ``page`` is clamped to the pages there are.
    Counting, filtering and paging run in SQL; ``counts`` is every verdict, unfiltered."""
    where = _matching(verdicts, search, institution, pii=pii)
    checks: Any = OwnershipCheck.__table__  # type: ignore[attr-defined]
    accounts = col(AccountRecord.id) == col(OwnershipCheck.account_id)
    if institution or _needs_account(search) or sort == "bank":  # a filter or order reads it
        checks = checks.outerjoin(AccountRecord, accounts)
    with session_scope(engine) as session:
        counts = dict(
            session.exec(
                select(OwnershipCheck.verdict, func.count()).group_by(OwnershipCheck.verdict)
            ).all()
        )
        cover = _coverage(session)
        counted = select(func.count()).select_from(checks).where(*where)
        total = int(session.exec(counted).one())
        page = clamp(page, total, page_size)
        # the page's checks first (on the verdict-and-score index for the default order), then
        # their rows and accounts for those only: no join of every matching check (issue 13)
        picked = (
            select(col(OwnershipCheck.account_id).label("picked"))
            .select_from(checks)
            .where(*where)
            .order_by(*_review_order(sort))
            .offset((page - 1) * page_size)
            .limit(page_size)
            .subquery("picked")
        )
        stmt = (
            select(OwnershipCheck, AccountRecord.institution_name, AccountRecord.last4)
            .join(picked, picked.c.picked == col(OwnershipCheck.account_id))
            .join(AccountRecord, accounts, isouter=True)
            .order_by(*_review_order(sort))
        )
        rows = [
            ReviewRow(
                account_id=check.account_id,
                customer_id=check.customer_id,
                institution_name=institution,
                last4=last4,
                verdict=check.verdict,
                score=check.score,
                reason=check.reason if pii else str(check.detail.get("public_reason") or ""),
                checked_at=check.checked_at,
                checked_by=check.checked_by,
            )
            for check, institution, last4 in session.exec(stmt).all()
        ]
    if pii:  # people before IDs: the page's customers by name and email (one query)
        found = people_by_id(engine, (r.customer_id for r in rows))
        rows = [_named(r, found.get(r.customer_id or "")) for r in rows]
    return ReviewPage(
        rows=rows,
        total=total,
        page=page,
        page_size=page_size,
        counts={str(k): int(v) for k, v in counts.items()},
        coverage=cover,
    )


def _named(row: ReviewRow, person: Person | None) -> ReviewRow:
    if person is None:
        return row
    return replace(row, customer_name=person.name, customer_email=person.email)


def accounts_with_ownership(engine: Engine, limit: int | None = None) -> list[str]:
    """IDs of mirrored accounts linked with the ownership permission, in ID order."""
    stmt = select(AccountRecord.id).where(_WITH_OWNERSHIP).order_by(col(AccountRecord.id))
    if limit is not None:
        stmt = stmt.limit(limit)
    with session_scope(engine) as session:
        return list(session.exec(stmt).all())


def count_with_ownership(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).where(_WITH_OWNERSHIP)).one())


def _coverage(session: Any) -> CheckCoverage:
    checked = select(func.count()).select_from(OwnershipCheck).join(
        AccountRecord, col(AccountRecord.id) == col(OwnershipCheck.account_id)
    )
    return CheckCoverage(
        checked=int(session.exec(checked.where(_WITH_OWNERSHIP)).one()),
        checkable=int(session.exec(select(func.count()).where(_WITH_OWNERSHIP)).one()),
    )


def coverage(engine: Engine) -> CheckCoverage:
    """How many accounts with the ownership permission have a stored check, of how many."""
    with session_scope(engine) as session:
        return _coverage(session)
