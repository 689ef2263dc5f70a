"""Ownership review: does a linked bank account belong to the customer who will be debited?

Reads the owners Financial Connections reports for an account (``expand[]=ownership``, or the
owners list when the snapshot has more than one page), compares them with the Stripe customer
using :func:`services.ownership.match_owners`, and stores the latest result per account in
``ownership_checks`` so ops can work through a list of mismatches.

Owner and customer names, emails, phones and addresses are personal data: they leave this
module only for roles with ``owners.view_pii``. Other roles get scores and a reason written
without names.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from services import accounts, audit
from services.adapters.models import AccountRecord, OwnershipCheck, utcnow
from services.adapters.store import session_scope
from services.auth import Actor, require
from services.context import Services
from services.errors import FcopsError, NotFound
from services.ownership import FieldMatch, OwnershipMatch, match_owners
from services.rules.ids import parse_id

__all__ = [
    "FIELDS",
    "VERDICTS",
    "CheckAllResult",
    "FieldScore",
    "OwnerRow",
    "OwnershipReport",
    "ReviewPage",
    "ReviewRow",
    "check_account",
    "check_all",
    "refresh_ownership",
    "review_list",
]

VERDICTS: tuple[str, ...] = ("match", "partial", "mismatch", "no_data")
FIELDS: tuple[str, ...] = ("name", "email", "phone", "address")
Progress = Callable[[int, int | None, str], None]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class FieldScore:
    """One field's comparison; values and the detailed wording are None without PII access."""

    field: str
    score: int | None  # 0-100, None when either side has no data
    detail: str
    customer_value: str | None
    owner_value: str | None


@dataclass(frozen=True)
class OwnerRow:
    """One owner as the bank reports it, with how well it matches the customer."""

    name: str | None
    email: str | None
    phone: str | None
    raw_address: str | None
    refreshed_at: int | None
    score: int | None


@dataclass(frozen=True)
class OwnershipReport:
    """Everything the ownership page shows for one account."""

    account_id: str
    customer_id: str | None
    institution_name: str
    last4: str | None
    account_status: str
    ownership_id: str | None
    verdict: str
    score: int
    reason: str
    fields: list[FieldScore]
    owners: list[OwnerRow]
    owner_count: int
    joint: bool
    pii_visible: bool
    refresh_status: str | None
    refreshed_at: int | None
    refresh_blocker: str | None  # why "Refresh ownership" is disabled, or None
    checked_at: datetime


@dataclass(frozen=True)
class ReviewRow:
    account_id: str
    customer_id: str | None
    institution_name: str | None
    last4: str | None
    verdict: str
    score: int
    reason: str
    checked_at: datetime
    checked_by: str | None


@dataclass(frozen=True)
class ReviewPage:
    rows: list[ReviewRow]
    total: int
    page: int
    page_size: int
    counts: dict[str, int]  # every stored verdict → how many accounts have it

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class CheckAllResult:
    checked: int
    verdicts: dict[str, int]
    errors: list[tuple[str, str]] = field(default_factory=list)  # (account id, sentence)
    discovered: int = 0  # accounts found in Stripe because the mirror was empty
    seconds: float = 0.0


# --------------------------------------------------------------------------- wording


def _score_words(score: int | None) -> str:
    if score is None:
        return "no data"
    return f"{score}/100"


def public_reason(verdict: str, fields: Mapping[str, FieldMatch | FieldScore]) -> str:
    """The verdict explained without any name, email, phone or address in it."""
    scores = "; ".join(f"{f} {_score_words(fields[f].score)}" for f in FIELDS if f in fields)
    if verdict == "match":
        head = "An owner matches the customer"
        tail = ""
    elif verdict == "partial":
        head = "An owner may be the customer"
        tail = " Check with the customer before relying on this account."
    elif verdict == "mismatch":
        head = "No owner matches the customer"
        tail = " Confirm who owns this bank account before debiting it."
    else:
        return "Nothing to compare: the bank and the customer record share no field with data."
    return f"{head} ({scores}).{tail}"


def _public_detail(score: int | None) -> str:
    if score is None:
        return "no data on one side"
    if score >= 85:
        return "same"
    return "similar" if score >= 50 else "different"


def _no_owner_reason(account: Mapping[str, Any]) -> str | None:
    """Why there are no owners to compare, when the account itself explains it."""
    if "ownership" not in (account.get("permissions") or ()):
        return (
            "The account was linked without the ownership permission, so the bank's owners are "
            "unknown. Verify ownership another way, or ask the customer to link it again."
        )
    refresh = account.get("ownership_refresh") or {}
    if refresh.get("status") == "pending":
        return "An ownership refresh is running; the owners will be compared when it finishes."
    if refresh.get("status") == "failed":
        return "The last ownership refresh failed at the bank; try again later."
    if not refresh:
        return "Ownership has never been fetched for this account; refresh ownership first."
    return None


# --------------------------------------------------------------------------- reading Stripe


def _retrieve(svc: Services, account_id: str) -> dict[str, Any]:
    try:
        return svc.gateway.retrieve_account(account_id, expand_ownership=True)
    except NotFound as err:
        raise NotFound(
            f"Stripe has no Financial Connections account {account_id}. Check the ID and the mode.",
            request_id=err.request_id,
        ) from None


def _owners_of(svc: Services, account: Mapping[str, Any]) -> list[dict[str, Any]]:
    ownership = account.get("ownership")
    if not ownership:
        return []
    if isinstance(ownership, Mapping):
        listing = ownership.get("owners") or {}
        if not listing.get("has_more"):
            return [dict(o) for o in listing.get("data") or []]
        ownership = ownership.get("id")
    return svc.gateway.list_owners(str(account["id"]), str(ownership))


def _customer_of(
    svc: Services, account: Mapping[str, Any], cache: dict[str, dict[str, Any] | None] | None
) -> dict[str, Any] | None:
    holder = account.get("account_holder") or {}
    customer_id = holder.get("customer")
    if isinstance(customer_id, Mapping):
        customer_id = customer_id.get("id")
    if not customer_id:
        return None
    if cache is not None and customer_id in cache:
        return cache[customer_id]
    try:
        customer: dict[str, Any] | None = svc.gateway.retrieve_customer(str(customer_id))
    except NotFound:
        customer = None
    if customer and customer.get("deleted"):
        customer = None
    if customer:
        accounts.upsert_customer(svc.engine, customer)
    if cache is not None:
        cache[str(customer_id)] = customer
    return customer


# --------------------------------------------------------------------------- the check


@dataclass(frozen=True)
class _Outcome:
    account: dict[str, Any]
    customer: dict[str, Any] | None
    owners: list[dict[str, Any]]
    match: OwnershipMatch
    reason: str
    checked_at: datetime


def _evaluate(
    svc: Services,
    actor: Actor,
    account_id: str,
    *,
    customers: dict[str, dict[str, Any] | None] | None = None,
) -> _Outcome:
    account = _retrieve(svc, account_id)
    accounts.upsert_account(svc.engine, account)
    owners = _owners_of(svc, account)
    customer = _customer_of(svc, account, customers)
    match = match_owners(customer or {}, owners)
    reason = match.reason
    if not owners:
        reason = _no_owner_reason(account) or reason
    elif customer is None:
        reason = (
            "The account has no Stripe customer to compare with (the holder is not a customer, "
            "or the customer was deleted)."
        )
        match = OwnershipMatch(0, "no_data", reason, {}, None, match.owners, match.joint)
    outcome = _Outcome(account, customer, owners, match, reason, utcnow())
    _store(svc.engine, outcome, actor)
    return outcome


def _ownership_id(account: Mapping[str, Any]) -> str | None:
    ownership = account.get("ownership")
    if isinstance(ownership, Mapping):
        return str(ownership.get("id") or "") or None
    return str(ownership) if ownership else None


def _store(engine: Engine, outcome: _Outcome, actor: Actor) -> None:
    match = outcome.match
    detail = {
        "public_reason": _public_or_own(outcome),
        "fields": {
            name: {"score": f.score, "detail": f.detail} for name, f in match.fields.items()
        },
        "owner_count": len(outcome.owners),
        "joint": match.joint,
    }
    values: dict[str, Any] = {
        "customer_id": (outcome.customer or {}).get("id"),
        "ownership_id": _ownership_id(outcome.account),
        "verdict": match.verdict,
        "score": int(match.score),
        "reason": outcome.reason,
        "detail": detail,
        "checked_at": outcome.checked_at,
        "checked_by": actor.username,
    }
    with session_scope(engine) as session:
        row = session.get(OwnershipCheck, str(outcome.account["id"]))
        if row is None:
            session.add(OwnershipCheck(account_id=str(outcome.account["id"]), **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)


def _public_or_own(outcome: _Outcome) -> str:
    """Reasons this module wrote itself carry no PII; matcher reasons are rewritten."""
    if outcome.reason != outcome.match.reason or not outcome.match.fields:
        return outcome.reason
    return public_reason(outcome.match.verdict, outcome.match.fields)


def _report(svc: Services, actor: Actor, outcome: _Outcome) -> OwnershipReport:
    pii = actor.can("owners.view_pii")
    account, match = outcome.account, outcome.match
    owner_scores = {o.owner_name: o.score for o in match.owners}
    fields = [
        FieldScore(
            field=name,
            score=f.score,
            detail=f.detail if pii else _public_detail(f.score),
            customer_value=f.customer_value if pii else None,
            owner_value=f.owner_value if pii else None,
        )
        for name, f in ((n, match.fields.get(n)) for n in FIELDS)
        if f is not None
    ]
    owners = [
        OwnerRow(
            name=o.get("name") if pii else None,
            email=o.get("email") if pii else None,
            phone=o.get("phone") if pii else None,
            raw_address=o.get("raw_address") if pii else None,
            refreshed_at=o.get("refreshed_at"),
            score=owner_scores.get(str(o.get("name") or "").strip()),
        )
        for o in outcome.owners
    ]
    refresh = account.get("ownership_refresh") or {}
    return OwnershipReport(
        account_id=str(account["id"]),
        customer_id=(outcome.customer or {}).get("id"),
        institution_name=str(account.get("institution_name") or ""),
        last4=account.get("last4"),
        account_status=str(account.get("status") or ""),
        ownership_id=_ownership_id(account),
        verdict=match.verdict,
        score=int(match.score),
        reason=outcome.reason if pii else _public_or_own(outcome),
        fields=fields,
        owners=owners,
        owner_count=len(outcome.owners),
        joint=match.joint,
        pii_visible=pii,
        refresh_status=refresh.get("status"),
        refreshed_at=refresh.get("last_attempted_at"),
        refresh_blocker=accounts.refresh_blocker(account, "ownership", now=svc.now(), actor=actor),
        checked_at=outcome.checked_at,
    )


def check_account(svc: Services, actor: Actor, account_id: str | None) -> OwnershipReport:
    """Compare an account's owners with its customer, store the result, and report it.

    Readable by every role that sees accounts; names and contact details only with
    ``owners.view_pii``.
    """
    require(actor, "accounts.view")
    fca, _ = parse_id(account_id, allowed=("financial_connections.account",))
    return _report(svc, actor, _evaluate(svc, actor, fca))


def refresh_ownership(
    svc: Services, actor: Actor, account_id: str | None, *, idempotency_key: str
) -> dict[str, Any]:
    """Ask the bank for a new ownership snapshot (asynchronous; audited by ``accounts.refresh``).

    Stripe's throttle is checked first, so a refresh it would refuse is explained, not sent.
    """
    return accounts.refresh(svc, actor, account_id, "ownership", idempotency_key=idempotency_key)


# --------------------------------------------------------------------------- review list


def review_list(
    engine: Engine,
    *,
    actor: Actor | None = None,
    verdicts: Sequence[str] = ("mismatch", "partial"),
    page: int = 1,
    page_size: int = 50,
) -> ReviewPage:
    """Stored checks with the given verdicts, lowest score first (the worst on top).

    The reason names people only when ``actor`` may see personal data.
    """
    unknown = [v for v in verdicts if v not in VERDICTS]
    if unknown:
        raise ValueError(f"Unknown verdict(s): {', '.join(unknown)}; use {', '.join(VERDICTS)}.")
    pii = actor is not None and actor.can("owners.view_pii")
    page_size = max(1, min(int(page_size), 500))
    where = col(OwnershipCheck.verdict).in_(list(verdicts))
    with session_scope(engine) as session:
        counts = dict(
            session.exec(
                select(OwnershipCheck.verdict, func.count()).group_by(OwnershipCheck.verdict)
            ).all()
        )
        total = int(session.exec(select(func.count()).where(where)).one())
        page = max(1, min(int(page), max(1, -(-total // page_size))))
        stmt = (
            select(OwnershipCheck, AccountRecord.institution_name, AccountRecord.last4)
            .join(
                AccountRecord,
                col(AccountRecord.id) == col(OwnershipCheck.account_id),
                isouter=True,
            )
            .where(where)
            .order_by(col(OwnershipCheck.score), col(OwnershipCheck.account_id))
            .offset((page - 1) * page_size)
            .limit(page_size)
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
    return ReviewPage(
        rows=rows,
        total=total,
        page=page,
        page_size=page_size,
        counts={str(k): int(v) for k, v in counts.items()},
    )


# --------------------------------------------------------------------------- check everything


def _mirrored_with_ownership(engine: Engine, limit: int | None) -> list[str]:
    stmt = (
        select(AccountRecord.id)
        .where(col(AccountRecord.permissions).contains(",ownership,"))
        .order_by(col(AccountRecord.id))
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    with session_scope(engine) as session:
        return list(session.exec(stmt).all())


def _discover(svc: Services, actor: Actor, report: Progress) -> int:
    """Mirror accounts through the one account sync (Stripe cannot list every account).

    A store without a single account walks every customer (a cursor left over from a cleared
    mirror would replay only recent changes); otherwise the sync replays the events since its
    cursor. Returns how many accounts the sync read.
    """
    full = accounts.mirrored_account_count(svc.engine) == 0
    result = accounts.sync_accounts(
        svc,
        actor,
        full=full,
        progress=lambda done, total, message: report(0, None, f"Finding accounts: {message}"),
    )
    return result.accounts


def check_all(
    svc: Services,
    actor: Actor,
    *,
    progress: Progress | None = None,
    limit: int | None = None,
) -> CheckAllResult:
    """Check every mirrored account that has the ownership permission; one audit row in all.

    When no mirrored account has the ownership permission, the account sync runs first (and
    writes its own ``accounts.sync`` row).

    ``progress(done, total, message)`` is called after each account. An account that cannot be
    read is counted as an error and the run goes on.
    """
    report = progress or (lambda done, total, message: None)

    def run(ctx: audit.AuditContext) -> CheckAllResult:
        started = time.monotonic()
        ids = _mirrored_with_ownership(svc.engine, limit)
        discovered = 0
        if not ids:
            discovered = _discover(svc, actor, report)
            ids = _mirrored_with_ownership(svc.engine, limit)
        verdicts: Counter[str] = Counter()
        errors: list[tuple[str, str]] = []
        customers: dict[str, dict[str, Any] | None] = {}
        for done, account_id in enumerate(ids, start=1):
            try:
                outcome = _evaluate(svc, actor, account_id, customers=customers)
                verdicts[outcome.match.verdict] += 1
            except FcopsError as err:
                errors.append((account_id, str(err)))
            report(done, len(ids), f"Checked {done} of {len(ids)} accounts")
        result = CheckAllResult(
            checked=sum(verdicts.values()),
            verdicts=dict(verdicts),
            errors=errors,
            discovered=discovered,
            seconds=round(time.monotonic() - started, 2),
        )
        ctx.request_id = svc.gateway.last_request_id
        ctx.params.update(checked=result.checked, errors=len(errors), **result.verdicts)
        ctx.message = (
            f"Checked {result.checked} accounts: "
            + ", ".join(f"{verdicts[v]} {v}" for v in VERDICTS if verdicts[v])
            + (f"; {len(errors)} could not be read" if errors else "")
            + "."
        )
        return result

    return audit.guarded(
        svc.engine,
        actor=actor,
        permission="ownership.review",
        action="ownership.check_all",
        target=None,
        params={"limit": limit},
        idempotency_key=None,
        run=run,
    )
