"""The Returns page's retry picker: R01/R09-returned original debits of the window, found by
the customer's name or email, the bank, a pi_/cus_ ID or the return code, in SQL and bounded
("first 20 of 312"), each option naming the person before the ID (issue 9); and, for a pi_ ID
it does not list (Payment lookup's "Plan a retry" link), why not."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations
from typing import Any

from sqlmodel import col, func, or_, select

from services.adapters.models import DebitOutcomeRecord
from services.adapters.people import customers_matching, people_by_id
from services.adapters.store import session_scope
from services.auth import Actor, require
from services.context import Services
from services.rules import input_limits, people
from services.rules.ids import MAX_ID_LENGTH
from services.rules.nacha import RETRYABLE, describe_code
from services.rules.retry import MAX_ATTEMPTS, RETRY_DAYS
from services.usecases.returns_report import MAX_WINDOW_DAYS, valid_window

PICKER_LIMIT = 20
# The search box takes what ?retry= takes: a pi_ or cus_ ID up to the longest any Stripe ID
# may be here (services.rules.ids), read whole. At 100 a link's 153-character pi_ read "The
# search is 153 characters long; at most 100 are allowed." (and a pasted one was cut).
SEARCH_MAX = MAX_ID_LENGTH


def _clean_search(text: str | None) -> str:
    """The search box's text, checked by the input limits (no NUL or control characters)."""
    return input_limits.clean_text(text, field="The search", max_length=SEARCH_MAX)


@dataclass(frozen=True)
class RetryChoices:
    labels: dict[str, str]  # PaymentIntent id → "Ada Lovelace · ada@x.org · Bank ••6833 · …"
    total: int  # how many match in all (the picker holds at most the limit)


def retryable_codes() -> list[str]:
    """How the store writes a retryable return: one code, or candidates joined by '/'."""
    codes = sorted(RETRYABLE)
    return sorted({"/".join(p) for n in range(1, len(codes) + 1) for p in permutations(codes, n)})


def retry_choices(
    svc: Services,
    actor: Actor,
    *,
    window_days: int = 60,
    search: str | None = None,
    limit: int = PICKER_LIMIT,
) -> RetryChoices:
    """Original debits of the window returned R01/R09 (what may be re-initiated), newest first,
    at most ``limit``, matching ``search``. Names and emails only for roles that see accounts."""
    require(actor, "returns.view")
    window = valid_window(window_days)
    text = _clean_search(search)
    pii = actor.can("accounts.view")
    now = svc.now()
    where = _where(now - window * 86_400, now, text, pii=pii)
    record = DebitOutcomeRecord
    stmt = (
        select(record)
        .where(*where)
        .order_by(col(record.created).desc(), col(record.id))
        .limit(max(1, min(int(limit), 100)))
    )
    with session_scope(svc.engine) as session:
        rows = list(session.exec(stmt).all())
        total = int(session.exec(select(func.count()).select_from(record).where(*where)).one())
    found = people_by_id(svc.engine, (r.customer_id for r in rows)) if pii else {}
    labels = {
        r.id: people.label(
            person=found.get(r.customer_id or ""),
            anonymous=not pii,
            customer_id=r.customer_id,
            bank=r.institution,
            last4=r.last4,
            amount=r.amount,
            currency=r.currency,
            age_seconds=max(0, now - r.created),
            extra=r.return_code,
            ident=r.id,
        )
        for r in rows
    }
    return RetryChoices(labels, total)


def _where(since: int, until: int, text: str, *, pii: bool) -> list[Any]:
    record = DebitOutcomeRecord
    where: list[Any] = [
        col(record.id) == col(record.original_id),
        record.status == "returned",
        col(record.return_code).in_(retryable_codes()),
        col(record.category).is_not(None),
        col(record.created) >= since,
        col(record.created) <= until,
    ]
    if text.startswith("pi_"):
        where.append(col(record.id).startswith(text, autoescape=True))
    elif text.startswith("cus_"):
        where.append(col(record.customer_id).startswith(text, autoescape=True))
    elif text:
        term = text.lower()
        matches = [
            func.lower(col(record.institution)).contains(term, autoescape=True),
            col(record.last4) == term,
            func.lower(col(record.return_code)).contains(term, autoescape=True),
        ]
        if pii:
            matches.append(col(record.customer_id).in_(customers_matching(term)))
        where.append(or_(*matches))
    return where


RETRY_RULE = (
    f"Nacha allows retrying an R01/R09 return up to {MAX_ATTEMPTS - 1} times within "
    f"{RETRY_DAYS} days of the original entry"
)


@dataclass(frozen=True)
class RetryTarget:
    """Why the picker does not list a debit asked for by its pi_ ID, and what Returns can do."""

    debit: str  # the pi_ ID asked for
    message: str  # why the picker does not offer it, for a person
    original: str | None = None  # the original debit to plan regardless (the rules decide)
    widen_to: int | None = None  # the window (days) whose picker would list it


def retry_target(
    svc: Services, actor: Actor, debit_id: str | None, *, window_days: int = 60
) -> RetryTarget | None:
    """Why ``debit_id`` (a pi_ ID) is not among the picker's choices for this window: unknown,
    a retry (its original is planned), not returned, not R01/R09 (no retry), or made before the
    window (planned regardless when within Nacha's 180 days, and a window that lists it). None
    when the picker lists it, or ``debit_id`` is no pi_ ID."""
    require(actor, "returns.view")
    window = valid_window(window_days)
    text = _clean_search(debit_id)
    if not text.startswith("pi_"):
        return None
    with session_scope(svc.engine) as session:
        row = session.get(DebitOutcomeRecord, text)
        first = session.get(DebitOutcomeRecord, row.original_id) if row else None
    if row is None or first is None:
        return RetryTarget(
            text,
            f"No debit {text} is known to fcops: check the ID, or press Sync outcomes if the "
            "debit was made in the last minutes.",
        )
    lead = ""
    if first.id != row.id:
        lead = f"{text} is a retry of {first.id}, which a retry is planned from. "
    return _why(first, lead, text, now=svc.now(), window=window)


def _why(
    first: DebitOutcomeRecord, lead: str, text: str, *, now: int, window: int
) -> RetryTarget | None:
    if first.status != "returned":
        state = "is still processing" if first.status == "pending" else "settled"
        return RetryTarget(text, f"{lead}{first.id} {state}: there is no return to retry.")
    codes = (first.return_code or "").split("/")
    if not first.return_code or not all(c in RETRYABLE for c in codes):
        came = " or ".join(describe_code(c) for c in codes) if first.return_code else (
            "without a return code"
        )
        return RetryTarget(
            text,
            f"{lead}{first.id} came back {came}. {RETRY_RULE}; no other return may be retried: "
            "collect a new authorization (or another account) instead.",
        )
    days = max(0, now - first.created) // 86_400  # whole days; the window that lists it: one more
    if first.created >= now - window * 86_400:
        return RetryTarget(text, lead.strip(), original=first.id) if lead else None
    if days > RETRY_DAYS:
        return RetryTarget(
            text,
            f"{lead}{first.id} was made {days} days ago, before this {window}-day window. "
            f"{RETRY_RULE}: those days are over, so it can no longer be retried.",
        )
    return RetryTarget(
        text,
        f"{lead}{first.id} was made {days} days ago, before this {window}-day window, so the "
        f"list leaves it out. {RETRY_RULE}: its plan is below regardless.",
        original=first.id,
        widen_to=min(days + 1, MAX_WINDOW_DAYS),
    )
