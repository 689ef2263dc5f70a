"""Ops, finance and admins list the bank accounts Stripe blocked, with the next step for each.

Read from the debit-outcome mirror (``returns.sync``): Stripe blocks a payment method when a
debit on it comes back, and the outcome kept from that return carries the block's
``network_code`` and ``reason``. One row per payment method, its latest block first.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from services.adapters import account_mirror
from services.adapters.models import CustomerRecord, DebitOutcomeRecord, SyncState
from services.adapters.store import session_scope
from services.auth import Actor, require
from services.context import Services
from services.errors import FcopsError
from services.rules.blocked import next_step
from services.usecases.debit_outcomes import SYNC_NAME

__all__ = ["BlockedAccount", "blocked_accounts", "outcomes_synced"]


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


def blocked_accounts(svc: Services, actor: Actor, *, limit: int = 500) -> list[BlockedAccount]:
    """Payment methods Stripe blocked, newest block first (at most ``limit``)."""
    require(actor, "accounts.blocked")
    with session_scope(svc.engine) as session:
        rows = list(
            session.exec(
                select(DebitOutcomeRecord)
                .where(col(DebitOutcomeRecord.blocked_reason).is_not(None))
                .order_by(
                    col(DebitOutcomeRecord.returned_at).desc(),
                    col(DebitOutcomeRecord.created).desc(),
                )
            )
        )
        latest: dict[str, DebitOutcomeRecord] = {}
        for row in rows:
            latest.setdefault(row.payment_method or row.id, row)
        chosen = list(latest.values())[:limit]
        wanted = {r.customer_id for r in chosen if r.customer_id}
        names = _names(wanted, session)
    names.update(_look_up(svc, sorted(wanted - set(names))))
    out = []
    for row in chosen:
        code = row.blocked_code or (
            row.return_code if row.return_code and "/" not in row.return_code else None
        )
        step = next_step(row.blocked_reason, code)
        out.append(
            BlockedAccount(
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
        )
    return out
