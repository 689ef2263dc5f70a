"""Ops, finance and admins list the bank accounts Stripe blocked, with the next step for each.

Read from the debit-outcome mirror (``returns.sync``): Stripe blocks a payment method when a
debit on it comes back, and the outcome kept from that return carries the block's
``network_code`` and ``reason``. One row per payment method, its latest block first; the list
is searched, counted and paged in SQL ("Blocked accounts 1–25 of 140"), never read whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, func, or_, select

from services.adapters import account_mirror
from services.adapters.models import (
    CustomerRecord,
    DebitOutcomeRecord,
    LatestBlockRecord,
    SyncState,
)
from services.adapters.people import person_matches
from services.adapters.store import session_scope
from services.auth import Actor, require
from services.context import Services
from services.errors import FcopsError
from services.rules import input_limits
from services.rules.blocked import next_step
from services.rules.paging import Page, clamp
from services.usecases.collect_common import clean_search
from services.usecases.debit_outcomes import SYNC_NAME

__all__ = ["BlockedAccount", "BlockedPage", "blocked_accounts", "find_blocked", "outcomes_synced"]

PAGE_SIZE = 25
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class BlockedAccount:
    payment_method: str
    customer_id: str | None
    customer: str | None  # the customer's name or email, when the store knows them
    institution: str | None
    last4: str | None
    account_id: str | None
    network_code: str | None
    reason: str | None
    blocked_at: int | None  # when the return that blocked it arrived
    debit: str  # the returned debit that carried the block
    amount: int
    currency: str
    next_step: str  # new mandate | new account | customer to contact their bank
    advice: str


def _names(customer_ids: set[str], session: Session) -> dict[str, str]:
    if not customer_ids:
        return {}
    rows = session.exec(
        select(CustomerRecord).where(col(CustomerRecord.id).in_(sorted(customer_ids)))
    )
    return {r.id: r.name or r.email or r.id for r in rows}


MAX_LOOKUPS = 20  # customers read from Stripe per call when the mirror lacks them


def _look_up(svc: Services, missing: list[str]) -> dict[str, str]:
    """Customers the mirror does not hold yet, read from Stripe once and mirrored."""
    found = {}
    for customer_id in missing[:MAX_LOOKUPS]:
        try:
            customer = svc.gateway.retrieve_customer(customer_id)
        except FcopsError:  # unknown or Stripe unreachable: the ID is shown instead
            continue
        if customer.get("deleted"):
            continue
        account_mirror.upsert_customer(svc.engine, customer)
        found[customer_id] = str(customer.get("name") or customer.get("email") or customer_id)
    return found


def outcomes_synced(svc: Services, actor: Actor) -> bool:
    """Whether debit outcomes were ever read from Stripe (else an empty list means nothing)."""
    require(actor, "accounts.blocked")
    with session_scope(svc.engine) as session:
        state = session.get(SyncState, SYNC_NAME)
        return state is not None and state.last_finished_at is not None


@dataclass(frozen=True)
class BlockedPage(Page[BlockedAccount]):
    """One page of blocked accounts, with the true number that match (not the page size)."""


def _matching(text: str, record: Any) -> list[Any]:
    """The WHERE of a search over ``record`` (the kept latest blocks): an ID's start, or part of
    the customer's name or email, the bank, the last 4 digits, the code or the reason."""
    by_prefix = {
        "cus_": record.customer_id,
        "pm_": record.payment_method,
        "pi_": record.debit_id,
        "fca_": record.account_id,
    }
    for prefix, column in by_prefix.items():
        if text.startswith(prefix):
            return [col(column).startswith(text, autoescape=True)]
    if not text:
        return []
    term = text.lower()
    return [
        or_(
            person_matches(record.customer_id, term),
            func.lower(col(record.institution)).contains(term, autoescape=True),
            col(record.last4) == term,
            func.lower(col(record.blocked_code)).contains(term, autoescape=True),
            func.lower(col(record.return_code)).contains(term, autoescape=True),
            func.lower(col(record.blocked_reason)).contains(
                term.replace(" ", "_"), autoescape=True
            ),
        )
    ]


def find_blocked(
    svc: Services,
    actor: Actor,
    *,
    search: str | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> BlockedPage:
    """One page of the payment methods Stripe blocked, newest block first, matching ``search``
    (filtered, counted and paged in SQL)."""
    require(actor, "accounts.blocked")
    text = clean_search(search)
    page, page_size = input_limits.paging(page, page_size, max_size=MAX_PAGE_SIZE)
    record, latest = DebitOutcomeRecord, LatestBlockRecord
    # each payment method's latest block is kept at write time (latest_blocks): one row each
    joined = select(record).join(latest, col(latest.debit_id) == col(record.id))
    order = (
        col(latest.returned_at).desc().nulls_last(),
        col(latest.created).desc(),
        col(latest.debit_id),
    )
    matching = _matching(text, latest)  # on the kept copies: no debit is read to search
    with session_scope(svc.engine) as session:
        counted = select(func.count()).select_from(latest).where(*matching)
        total = int(session.exec(counted).one())
        page = clamp(page, total, page_size)
        chosen = list(
            session.exec(
                joined.where(*matching)
                .order_by(*order)
                .offset((page - 1) * page_size)
                .limit(page_size)
            )
        )
        wanted = {r.customer_id for r in chosen if r.customer_id}
        names = _names(wanted, session)
    names.update(_look_up(svc, sorted(wanted - set(names))))
    return BlockedPage([_row(r, names) for r in chosen], total, page, page_size)


def blocked_accounts(
    svc: Services, actor: Actor, *, limit: int = MAX_PAGE_SIZE
) -> list[BlockedAccount]:
    """Payment methods Stripe blocked, newest block first (at most ``limit``)."""
    return find_blocked(svc, actor, page_size=limit).rows


def _row(row: DebitOutcomeRecord, names: dict[str, str]) -> BlockedAccount:
    code = row.blocked_code or (
        row.return_code if row.return_code and "/" not in row.return_code else None
    )
    step = next_step(row.blocked_reason, code)
    return BlockedAccount(
        payment_method=row.payment_method or "",
        customer_id=row.customer_id,
        customer=names.get(row.customer_id or ""),
        institution=row.institution,
        last4=row.last4,
        account_id=row.account_id,
        network_code=code,
        reason=row.blocked_reason,
        blocked_at=row.returned_at,
        debit=row.id,
        amount=row.amount,
        currency=row.currency,
        next_step=step.kind,
        advice=step.sentence,
    )
