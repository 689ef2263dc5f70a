"""The store's mirror of Financial Connections transactions: the sync cursor, upserts, reads.

Rows live in ``fc_transactions`` (one per ``fctxn_`` id, the Stripe object kept in ``raw``); the
incremental-sync cursor of an account lives in ``sync_state`` under ``txns:<fca_…>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypedDict, Unpack

from sqlalchemy import or_
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from services.adapters.models import (
    AccountRecord,
    CustomerRecord,
    SyncState,
    TransactionRecord,
    utcnow,
)
from services.adapters.people import customers_matching
from services.adapters.store import session_scope, upsert
from services.rules import people
from services.rules.input_limits import TYPED_QUOTES, as_searched
from services.rules.people import Person
from services.rules.transactions import start_of_day_ts

__all__ = [
    "AccountChoice",
    "cursor_for",
    "cursor_key",
    "count_known_accounts",
    "known_accounts",
    "TRANSACTION_SORTS",
    "count_transactions",
    "load_transactions",
    "save_cursor",
    "stored_count",
    "subscribed_account_ids",
    "upsert_transactions",
]


# --------------------------------------------------------------------------- cursor


def subscribed_account_ids(engine: Engine) -> list[str]:
    """Mirrored accounts subscribed to transactions (Stripe refreshes them daily), oldest first."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(AccountRecord.id)
            .where(col(AccountRecord.subscriptions).like("%,transactions,%"))
            .order_by(col(AccountRecord.created), col(AccountRecord.id))
        ).all()
    return [str(r) for r in rows]


def cursor_key(account_id: str) -> str:
    return f"txns:{account_id}"


def cursor_for(engine: Engine, account_id: str) -> SyncState | None:
    with session_scope(engine) as session:
        return session.get(SyncState, cursor_key(account_id))


def save_cursor(
    engine: Engine, account_id: str, cursor: str | None, *, started: datetime, status: str | None
) -> None:
    with session_scope(engine) as session:
        state = session.get(SyncState, cursor_key(account_id)) or SyncState(
            name=cursor_key(account_id)
        )
        state.cursor = cursor
        state.last_started_at = started
        state.last_finished_at = utcnow()
        state.details = {"refresh_status": status}
        session.add(state)


# --------------------------------------------------------------------------- writing rows


def _record_values(txn: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(txn["id"]),
        "account_id": str(txn["account"]),
        "amount": int(txn["amount"]),
        "currency": str(txn.get("currency") or "").lower(),
        "description": str(txn.get("description") or ""),
        "status": str(txn.get("status") or ""),
        "transacted_at": int(txn["transacted_at"]),
        "transaction_refresh": txn.get("transaction_refresh"),
        "raw": dict(txn),
    }


# What makes a stored transaction "changed": Stripe bumps ``updated`` inside ``raw`` whenever
# any field moves, and the indexed columns are compared too in case ``updated`` is missing.
_COMPARED = ("amount", "status", "description", "transaction_refresh", "raw")


def upsert_transactions(
    engine: Engine, transactions: Iterable[Mapping[str, Any]]
) -> tuple[int, int, int]:
    """Insert or update rows by ``fctxn_`` id; returns (inserted, updated, unchanged).

    Uses the store's one upsert (``ON CONFLICT DO UPDATE`` on SQLite and PostgreSQL), so two
    syncs of the same account at once cannot fail on a duplicate key.
    """
    rows = [_record_values(t) for t in transactions]
    with session_scope(engine) as session:
        counts = upsert(
            session, TransactionRecord, rows, compare=_COMPARED, touch={"synced_at": utcnow()}
        )
    return counts.inserted, counts.updated, counts.unchanged


# --------------------------------------------------------------------------- reading rows


def stored_count(engine: Engine, account_id: str) -> int:
    with session_scope(engine) as session:
        stmt = select(func.count()).where(TransactionRecord.account_id == account_id)
        return int(session.exec(stmt).one())


# The orders a table of transactions can be read in (the names the page puts in its URL). Only
# these reach SQL; ties fall back to newest first.
TRANSACTION_SORTS: dict[str, str] = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "amount_desc": "Amount, largest first",
    "amount_asc": "Amount, smallest first",
    "description": "Description (A–Z)",
}


def _order(sort: str | None) -> list[Any]:
    newest = [col(TransactionRecord.transacted_at).desc(), col(TransactionRecord.id)]
    if sort == "oldest":
        return [col(TransactionRecord.transacted_at).asc(), col(TransactionRecord.id)]
    if sort == "amount_desc":
        return [col(TransactionRecord.amount).desc(), *newest]
    if sort == "amount_asc":
        return [col(TransactionRecord.amount).asc(), *newest]
    if sort == "description":
        return [col(TransactionRecord.description).asc(), *newest]
    return newest


class StoredFilters(TypedDict, total=False):
    """What stored transactions are narrowed to (each optional, ``None`` means "any"): the
    fields of ``services.rules.transactions.TransactionFilter``."""

    start: date | None
    end: date | None
    direction: str | None
    status: str | None
    text: str | None


def _as_searched(column: Any) -> Any:
    """The stored description as :func:`as_searched` leaves text, in SQL (SQLite and
    PostgreSQL alike): curly quotes straight, runs of up to 8 spaces one."""
    for curly, straight in TYPED_QUOTES.items():
        column = func.replace(column, curly, straight)
    for _ in range(3):
        column = func.replace(column, "  ", " ")
    return column


def _filtered(account_id: str, filters: StoredFilters) -> Any:
    start, end = filters.get("start"), filters.get("end")
    direction, status, text = filters.get("direction"), filters.get("status"), filters.get("text")
    if direction not in (None, "in", "out"):
        raise ValueError(f"direction must be 'in' or 'out', not {direction!r}")
    stmt = select(TransactionRecord).where(TransactionRecord.account_id == account_id)
    if status:
        stmt = stmt.where(TransactionRecord.status == status)
    else:
        stmt = stmt.where(TransactionRecord.status != "void")
    if start is not None:
        stmt = stmt.where(TransactionRecord.transacted_at >= start_of_day_ts(start))
    if end is not None:
        stmt = stmt.where(
            TransactionRecord.transacted_at < start_of_day_ts(end + timedelta(days=1))
        )
    if direction == "in":
        stmt = stmt.where(TransactionRecord.amount > 0)
    elif direction == "out":
        stmt = stmt.where(TransactionRecord.amount < 0)
    if text and as_searched(text):
        stmt = stmt.where(
            _as_searched(col(TransactionRecord.description)).icontains(
                as_searched(text), autoescape=True
            )
        )
    return stmt


def load_transactions(
    engine: Engine,
    account_id: str,
    *,
    limit: int | None = None,
    offset: int = 0,
    sort: str | None = None,
    **filters: Unpack[StoredFilters],
) -> list[dict[str, Any]]:
    """Stored rows (Stripe-shaped dicts), newest first (or in ``sort`` order, one of
    ``TRANSACTION_SORTS``; anything else is newest first), filtered, sorted and paged in SQL.

    Same rules as ``services.rules.transactions.filter_transactions``: ``start``/``end`` are
    inclusive UTC dates, ``direction`` is "in" or "out", ``text`` a case-insensitive substring
    of the description, and void rows only appear when ``status="void"`` asks for them.
    """
    stmt = _filtered(account_id, filters).order_by(*_order(sort))
    if offset:
        stmt = stmt.offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    with session_scope(engine) as session:
        return [_as_txn(r) for r in session.exec(stmt)]


def count_transactions(
    engine: Engine,
    account_id: str,
    **filters: Unpack[StoredFilters],
) -> int:
    """How many stored rows ``load_transactions`` would return with these filters (in SQL)."""
    stmt = _filtered(account_id, filters)
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(stmt.subquery())).one())


def _as_txn(record: TransactionRecord) -> dict[str, Any]:
    """The stored Stripe object, with the indexed columns winning if they ever disagree."""
    raw = dict(record.raw or {})
    raw.update(
        id=record.id,
        account=record.account_id,
        amount=record.amount,
        currency=record.currency,
        description=record.description,
        status=record.status,
        transacted_at=record.transacted_at,
    )
    raw.setdefault("status_transitions", {"posted_at": None, "void_at": None})
    return raw


# --------------------------------------------------------------------------- account picker


@dataclass(frozen=True)
class AccountChoice:
    id: str
    label: str


def _known_where(permission: str, term: str) -> list[Any]:
    """Accounts with ``permission`` whose id, bank, last 4 or customer id contain ``term``, or
    whose customer's name or email does (a subquery on the customers table)."""
    where: list[Any] = [col(AccountRecord.permissions).contains(f",{permission},")]
    if term:
        where.append(
            or_(
                func.lower(col(AccountRecord.id)).contains(term, autoescape=True),
                func.lower(col(AccountRecord.institution_name)).contains(term, autoescape=True),
                col(AccountRecord.last4).contains(term, autoescape=True),
                func.lower(col(AccountRecord.customer_id)).contains(term, autoescape=True),
                col(AccountRecord.customer_id).in_(customers_matching(term)),
            )
        )
    return where


def known_accounts(
    engine: Engine, *, permission: str, search: str = "", limit: int | None = None
) -> list[AccountChoice]:
    """Accounts the store knows (mirrored accounts and synced transactions) for a picker.

    ``permission`` is the FC permission the account must have ("transactions", "ownership").
    ``search`` keeps accounts whose id, institution, last 4 digits or customer id contain it, or
    whose customer's name or email does (case-insensitive); ``limit`` caps the list in SQL, so
    a picker never carries thousands. Each option names the customer first (people before IDs):
    "Ada Lovelace · ada@x.org · StripeBank ••6833 · fca_…".
    """
    term = search.strip().lower()
    stmt = (
        select(AccountRecord, CustomerRecord.name, CustomerRecord.email)
        .join(
            CustomerRecord,
            col(CustomerRecord.id) == col(AccountRecord.customer_id),
            isouter=True,
        )
        .where(*_known_where(permission, term))
        .order_by(col(AccountRecord.institution_name), col(AccountRecord.id))
    )
    names = select(SyncState.name).where(col(SyncState.name).startswith("txns:"))
    if term:
        names = names.where(func.lower(col(SyncState.name)).contains(term, autoescape=True))
    if limit is not None:
        stmt = stmt.limit(limit)
        names = names.order_by(col(SyncState.name)).limit(limit)
    with session_scope(engine) as session:
        mirrored = session.exec(stmt).all()
        synced = session.exec(names).all() if permission == "transactions" else []
    choices = {
        a.id: AccountChoice(
            a.id,
            people.label(
                person=Person(name, email) if a.customer_id else None,
                customer_id=a.customer_id,
                bank=a.institution_name,
                last4=a.last4 or "????",
                ident=a.id,
            ),
        )
        for a, name, email in mirrored
    }
    for name in synced:
        if limit is not None and len(choices) >= limit:
            break
        fca = name.split(":", 1)[1]
        choices.setdefault(fca, AccountChoice(fca, fca))
    return list(choices.values())


def count_known_accounts(engine: Engine, *, permission: str, search: str = "") -> int:
    """How many mirrored accounts have ``permission`` (and match ``search`` as
    :func:`known_accounts` matches it): one SQL count, for a picker's "first N of M"."""
    where = _known_where(permission, search.strip().lower())
    with session_scope(engine) as session:
        return int(
            session.exec(select(func.count()).select_from(AccountRecord).where(*where)).one()
        )
