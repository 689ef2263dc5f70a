"""A change Stripe did not confirm reads ``unknown`` in the audit log, not ``error``.

Through the real SDK against the sandbox: the fault is forced right before the action's own
POST (the reads before it answer normally). A ``500`` is a server error: Stripe may have made
the change, so the row is ``unknown`` and says what to look at. A ``429`` (past the gateway's
retries) is Stripe refusing before doing anything: the row stays ``error``. The role check,
the idempotency key and the one row per action are unchanged.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import select

from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
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

FAULTS = [("500", "unknown"), ("429", "error")]


def _key() -> str:
    return f"test-{secrets.token_hex(8)}"


def _rows(svc: Services, action: str, key: str) -> list[AuditEntry]:
    with session_scope(svc.engine) as session:
        stmt = select(AuditEntry).where(
            AuditEntry.action == action, AuditEntry.idempotency_key == key
        )
        return list(session.exec(stmt).all())


def fault_before(svc: Services, simulator: Any, method: str, mode: str) -> list[int]:
    """The next call of ``gateway.<method>`` meets the fault ``mode`` (a 429 past the retries)."""
    original: Callable[..., Any] = getattr(svc.gateway, method)
    calls: list[int] = []
    times = svc.gateway.backoff.retries + 1 if mode == "429" else 1

    def faulted(*args: Any, **kwargs: Any) -> Any:
        if not calls:
            simulator.force_faults(mode, times)
        calls.append(1)
        return original(*args, **kwargs)

    setattr(svc.gateway, method, faulted)
    return calls


def _customer(svc: Services, ops: Any) -> str:
    email = f"unconfirmed-{secrets.token_hex(4)}@example.com"
    return collect_customers.create_customer(svc, ops, email=email, idempotency_key=_key()).id


def _account(svc: Services, simulator: Any) -> str:
    gw = svc.gateway
    customer = gw.create_customer({"email": f"u-{secrets.token_hex(4)}@example.com"}, idempotency_key=None)
    session = gw.create_fc_session(
        {
            "account_holder": {"type": "customer", "customer": customer["id"]},
            "permissions": ["balances", "ownership", "transactions", "payment_method"],
        },
        idempotency_key=None,
    )
    simulator.complete_session(session["id"], institution="StripeBank", accounts=1)
    [account] = gw.list_accounts(session=session["id"])
    return str(account["id"])


def _setup_intent(svc: Services, ops: Any) -> str:
    return collection_requests.create_setup_intent(
        svc, ops, customer_id=_customer(svc, ops), idempotency_key=_key()
    ).id


def _caught(mode: str, call: Callable[[], Any]) -> StripeUnavailable:
    wanted = RateLimited if mode == "429" else StripeUnavailable
    with pytest.raises(wanted) as caught:
        call()
    return caught.value


def _one_row(svc: Services, action: str, key: str, outcome: str) -> AuditEntry:
    (row,) = _rows(svc, action, key)
    assert (row.outcome, row.idempotency_key) == (outcome, key), row.message
    return row


@pytest.mark.parametrize(("mode", "outcome"), FAULTS)
def test_a_new_customer_stripe_did_not_confirm(
    services_ctx: Services, simulator: Any, ops: Any, mode: str, outcome: str
) -> None:
    key = _key()
    calls = fault_before(services_ctx, simulator, "create_customer", mode)
    email = f"new-{secrets.token_hex(4)}@example.com"
    _caught(mode, lambda: collect_customers.create_customer(
        services_ctx, ops, email=email, idempotency_key=key
    ))
    assert calls
    row = _one_row(services_ctx, "collect.customer", key, outcome)
    if outcome == "unknown":
        assert row.message == (
            "Stripe did not confirm the new customer (a server error), so it may have been made; "
            "Create customer again finds it by its email if it was (and makes no other)."
        )


@pytest.mark.parametrize(("mode", "outcome"), FAULTS)
def test_a_cancel_stripe_did_not_confirm(
    services_ctx: Services, simulator: Any, ops: Any, mode: str, outcome: str
) -> None:
    intent = _setup_intent(services_ctx, ops)
    key = _key()
    calls = fault_before(services_ctx, simulator, "cancel_setup_intent", mode)
    _caught(mode, lambda: collect_cancel.cancel_request(
        services_ctx, ops, intent, reason="abandoned", idempotency_key=key
    ))
    assert calls
    row = _one_row(services_ctx, "collect.cancel", key, outcome)
    if outcome == "unknown":
        assert row.message == (
            f"Stripe did not confirm the cancellation of {intent} (a server error), so it may "
            "have been canceled; Sync from Stripe in Open requests shows its status."
        )


@pytest.mark.parametrize(("mode", "outcome"), FAULTS)
def test_a_link_expiry_stripe_did_not_confirm(
    services_ctx: Services, simulator: Any, ops: Any, mode: str, outcome: str
) -> None:
    link = collection_requests.create_hosted_link(
        services_ctx, ops, customer_id=_customer(services_ctx, ops), idempotency_key=_key()
    )
    key = _key()
    calls = fault_before(services_ctx, simulator, "expire_checkout_session", mode)
    _caught(mode, lambda: collect_cancel.cancel_request(
        services_ctx, ops, link.id, reason=None, idempotency_key=key
    ))
    assert calls
    row = _one_row(services_ctx, "collect.cancel", key, outcome)
    if outcome == "unknown":
        assert (row.message or "").startswith(
            f"Stripe did not confirm the expiry of link {link.checkout_session_id} (a server "
            "error), so it may have been canceled; Sync from Stripe in Open requests"
        )


@pytest.mark.parametrize(("mode", "outcome"), FAULTS)
def test_a_microdeposit_verification_stripe_did_not_confirm(
    services_ctx: Services, simulator: Any, ops: Any, mode: str, outcome: str
) -> None:
    intent = _setup_intent(services_ctx, ops)
    simulator.manual_entry(intent, microdeposit_type="descriptor_code")
    simulator.microdeposits_arrive(intent)
    key = _key()
    calls = fault_before(services_ctx, simulator, "verify_microdeposits", mode)
    _caught(mode, lambda: microdeposits.verify_microdeposits(
        services_ctx, ops, intent, descriptor_code="SM11AA", idempotency_key=key
    ))
    assert calls
    row = _one_row(services_ctx, "collect.verify", key, outcome)
    if outcome == "unknown":
        assert row.message == (
            f"Stripe did not confirm the verification of {intent} (a server error), so it may "
            "have been verified; Sync from Stripe in Collect's Open requests shows its status."
        )


REFRESHES: dict[str, tuple[Callable[..., Any], str]] = {
    "balance": (
        lambda svc, actor, fca, key: refresh_balance.refresh(
            svc, actor, fca, "balance", idempotency_key=key
        ),
        "Accounts",
    ),
    "ownership": (
        lambda svc, actor, fca, key: orv.refresh_ownership(svc, actor, fca, idempotency_key=key),
        "Ownership",
    ),
    "transactions": (
        lambda svc, actor, fca, key: sync_transactions.refresh(svc, actor, fca, idempotency_key=key),
        "Transactions",
    ),
}


@pytest.mark.parametrize("feature", list(REFRESHES))
@pytest.mark.parametrize(("mode", "outcome"), FAULTS)
def test_a_refresh_stripe_did_not_confirm(
    services_ctx: Services, simulator: Any, admin: Any, mode: str, outcome: str, feature: str
) -> None:
    fca = _account(services_ctx, simulator)
    start, page = REFRESHES[feature]
    key = _key()
    calls = fault_before(services_ctx, simulator, "refresh_account", mode)
    _caught(mode, lambda: start(services_ctx, admin, fca, key))
    assert calls
    row = _one_row(services_ctx, "account.refresh", key, outcome)
    if outcome == "unknown":
        assert row.message == (
            f"Stripe did not confirm the {feature} refresh (a server error), so it may have "
            f"started; the account's {feature} refresh state ({page}) shows whether it did."
        )


@pytest.mark.parametrize("subscribe", [True, False], ids=["subscribe", "unsubscribe"])
@pytest.mark.parametrize(("mode", "outcome"), FAULTS)
def test_a_subscription_change_stripe_did_not_confirm(
    services_ctx: Services, simulator: Any, ops: Any, mode: str, outcome: str, subscribe: bool
) -> None:
    fca = _account(services_ctx, simulator)
    if not subscribe:
        sync_transactions.subscribe(services_ctx, ops, fca, idempotency_key=_key())
    change = sync_transactions.subscribe if subscribe else sync_transactions.unsubscribe
    method = "subscribe_transactions" if subscribe else "unsubscribe_transactions"
    key = _key()
    calls = fault_before(services_ctx, simulator, method, mode)
    _caught(mode, lambda: change(services_ctx, ops, fca, idempotency_key=key))
    assert calls
    action = "transactions.subscribe" if subscribe else "transactions.unsubscribe"
    row = _one_row(services_ctx, action, key, outcome)
    if outcome == "unknown":
        done = "subscribed" if subscribe else "unsubscribed"
        asked = "subscription" if subscribe else "unsubscription"
        assert row.message == (
            f"Stripe did not confirm the {asked} of {fca} (a server error), so it may be "
            f"{done} after all; Transactions shows whether the account is subscribed."
        )
