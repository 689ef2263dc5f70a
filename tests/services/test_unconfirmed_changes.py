"""A change Stripe did not confirm reads ``unknown`` in the audit log, not ``error``.

Through the real SDK against the sandbox: the fault is forced right before the action's own
POST (the reads before it answer normally). A ``500`` is a server error: Stripe may have made
the change, so the row is ``unknown`` and says what to look at, or, when the object was read back
at once and showed the change not made, what that read showed. A ``429`` (past the gateway's
retries) is Stripe refusing before doing anything: the row stays ``error``. The role check,
the idempotency key and the one row per action are unchanged.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from services.adapters.models import AuditEntry
from services.context import Services
from services.errors import RateLimited, StripeUnavailable
from services.usecases import (
    collect_cancel,
    collect_customers,
    collection_requests,
    microdeposits,
    refresh_balance,
    sync_transactions,
)
from services.usecases import review_ownership as orv
from tests.services.conftest import audit_rows, fault_before, linked_account, new_key

FAULTS = [("500", "unknown"), ("429", "error")]


def _customer(svc: Services, ops: Any) -> str:
    email = f"unconfirmed-{secrets.token_hex(4)}@example.com"
    return collect_customers.create_customer(svc, ops, email=email, idempotency_key=new_key()).id


def _setup_intent(svc: Services, ops: Any) -> str:
    return collection_requests.create_setup_intent(
        svc, ops, customer_id=_customer(svc, ops), idempotency_key=new_key()
    ).id


def _caught(mode: str, call: Callable[[], Any]) -> StripeUnavailable:
    wanted = RateLimited if mode == "429" else StripeUnavailable
    with pytest.raises(wanted) as caught:
        call()
    return caught.value


def _one_row(svc: Services, action: str, key: str, outcome: str) -> AuditEntry:
    (row,) = audit_rows(svc, action, key)
    assert (row.outcome, row.idempotency_key) == (outcome, key), row.message
    return row


def _new_email(svc: Services, ops: Any, simulator: Any) -> tuple[str, str]:
    return f"new-{secrets.token_hex(4)}@example.com", ""


def _open_intent(svc: Services, ops: Any, simulator: Any) -> tuple[str, str]:
    intent = _setup_intent(svc, ops)
    return intent, intent


def _open_link(svc: Services, ops: Any, simulator: Any) -> tuple[str, str]:
    link = collection_requests.create_hosted_link(
        svc, ops, customer_id=_customer(svc, ops), idempotency_key=new_key()
    )
    return link.id, str(link.checkout_session_id)


def _microdeposits_arrived(svc: Services, ops: Any, simulator: Any) -> tuple[str, str]:
    intent = _setup_intent(svc, ops)
    simulator.manual_entry(intent, microdeposit_type="descriptor_code")
    simulator.microdeposits_arrive(intent)
    return intent, intent


@dataclass(frozen=True)
class Change:
    """A collection change: its set-up (what the call takes, what the row names), the call,
    the gateway POST the fault meets, its audit action and what its ``unknown`` row says."""

    made: Callable[[Services, Any, Any], tuple[str, str]]
    send: Callable[[Services, Any, str, str], Any]  # (svc, ops, what set-up made, key)
    method: str
    action: str
    said: str  # {named}: what the set-up's row names; {made}: what the set-up made


CHANGES = {
    "new customer": Change(
        _new_email,
        lambda svc, ops, email, key: collect_customers.create_customer(
            svc, ops, email=email, idempotency_key=key
        ),
        "create_customer",
        "collect.customer",
        "Stripe did not confirm the new customer (a server error), so it may have been made; "
        "Create customer again finds it by its email if it was (and makes no other).",
    ),
    "cancel": Change(
        _open_intent,
        lambda svc, ops, intent, key: collect_cancel.cancel_request(
            svc, ops, intent, reason="abandoned", idempotency_key=key
        ),
        "cancel_setup_intent",
        "collect.cancel",
        "Stripe did not confirm the cancellation of {named} (a server error), so it may have "
        "been canceled; read back at once, it was still requires_payment_method: not canceled.",
    ),
    "link expiry": Change(
        _open_link,
        lambda svc, ops, request, key: collect_cancel.cancel_request(
            svc, ops, request, reason=None, idempotency_key=key
        ),
        "expire_checkout_session",
        "collect.cancel",
        "Stripe did not confirm the expiry of link {named} (a server error), so it may have "
        "been canceled; read back at once, the link was still open: {made} not canceled.",
    ),
    "microdeposit verification": Change(
        _microdeposits_arrived,
        lambda svc, ops, intent, key: microdeposits.verify_microdeposits(
            svc, ops, intent, descriptor_code="SM11AA", idempotency_key=key
        ),
        "verify_microdeposits",
        "collect.verify",
        "Stripe did not confirm the verification of {named} (a server error), so it may have "
        "been verified; Sync from Stripe in Collect's Open requests shows its status.",
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize(("mode", "outcome"), FAULTS)
def test_a_collection_change_stripe_did_not_confirm(
    services_ctx: Services, simulator: Any, ops: Any, mode: str, outcome: str, change: str
) -> None:
    case = CHANGES[change]
    made, named = case.made(services_ctx, ops, simulator)
    key = new_key()
    calls = fault_before(services_ctx, simulator, case.method, mode)
    _caught(mode, lambda: case.send(services_ctx, ops, made, key))
    assert calls
    row = _one_row(services_ctx, case.action, key, outcome)
    if outcome == "unknown":
        assert row.message == case.said.format(named=named, made=made)


REFRESHES: dict[str, Callable[..., Any]] = {
    "balance": lambda svc, actor, fca, key: refresh_balance.refresh(
        svc, actor, fca, "balance", idempotency_key=key
    ),
    "ownership": lambda svc, actor, fca, key: orv.refresh_ownership(
        svc, actor, fca, idempotency_key=key
    ),
    "transactions": lambda svc, actor, fca, key: sync_transactions.refresh(
        svc, actor, fca, idempotency_key=key
    ),
}


@pytest.mark.parametrize("feature", list(REFRESHES))
@pytest.mark.parametrize(("mode", "outcome"), FAULTS)
def test_a_refresh_stripe_did_not_confirm(
    services_ctx: Services, simulator: Any, admin: Any, mode: str, outcome: str, feature: str
) -> None:
    fca = linked_account(services_ctx.gateway, simulator)
    start = REFRESHES[feature]
    key = new_key()
    calls = fault_before(services_ctx, simulator, "refresh_account", mode)
    _caught(mode, lambda: start(services_ctx, admin, fca, key))
    assert calls
    row = _one_row(services_ctx, "account.refresh", key, outcome)
    if outcome == "unknown":
        assert row.message == (
            f"Stripe did not confirm the {feature} refresh (a server error), so it may have "
            "started; read back at once, the account showed Stripe had not started it."
        )


@pytest.mark.parametrize("subscribe", [True, False], ids=["subscribe", "unsubscribe"])
@pytest.mark.parametrize(("mode", "outcome"), FAULTS)
def test_a_subscription_change_stripe_did_not_confirm(
    services_ctx: Services, simulator: Any, ops: Any, mode: str, outcome: str, subscribe: bool
) -> None:
    fca = linked_account(services_ctx.gateway, simulator)
    if not subscribe:
        sync_transactions.subscribe(services_ctx, ops, fca, idempotency_key=new_key())
    change = sync_transactions.subscribe if subscribe else sync_transactions.unsubscribe
    method = "subscribe_transactions" if subscribe else "unsubscribe_transactions"
    key = new_key()
    calls = fault_before(services_ctx, simulator, method, mode)
    _caught(mode, lambda: change(services_ctx, ops, fca, idempotency_key=key))
    assert calls
    action = "transactions.subscribe" if subscribe else "transactions.unsubscribe"
    row = _one_row(services_ctx, action, key, outcome)
    if outcome == "unknown":
        done = "subscribed" if subscribe else "unsubscribed"
        asked = "subscription" if subscribe else "unsubscription"
        was = "not" if subscribe else "still"
        assert row.message == (
            f"Stripe did not confirm the {asked} of {fca} (a server error), so it may be "
            f"{done} after all; read back at once, the account was {was} subscribed."
        )
