"""Unknown outcomes are resolved, not guessed (issue 10).

Stripe (the sandbox) is forced to answer a change too late for the client (a ``slow`` fault
longer than the gateway's timeout): the request runs at Stripe after the client gave up. The
service must read the object back (the account's refresh state, the intent, or Stripe's saved
answer for the same key) and tell the person what really happened, with exactly one audit row
holding the final outcome. When reading back cannot tell, the person reads that in a sentence.

The fault is forced right before the change's own POST (by wrapping that gateway method), so the
reads the use case makes before it are not the slow request.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import select

from bootstrap import SANDBOX_KEY
from services.adapters import backoff
from services.adapters.gateway import StripeGateway
from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.context import Services
from services.errors import OutcomeStillUnknown
from services.usecases import (
    collect_cancel,
    collect_customers,
    collection_requests,
    refresh_balance,
    sync_transactions,
)
from tests.conftest import quick_backoff

TIMEOUT = 0.4  # the client's patience
LATE = 1.2  # Stripe's answer comes this long after the request (it runs, then answers)


@pytest.fixture
def patient_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read back often and briefly, so the test waits about as long as Stripe is late."""
    monkeypatch.setattr(backoff, "READ_BACK", backoff.ReadBack(tries=12, pause_seconds=0.1))


def _svc(sandbox_handle: Any, engine: Any, *, retries: int = 0) -> Services:
    gateway = StripeGateway(
        SANDBOX_KEY,
        base_url=sandbox_handle.base_url,
        timeout_seconds=TIMEOUT,
        max_network_retries=retries,
        backoff=quick_backoff()[0],
    )
    return Services(gateway=gateway, engine=engine, mode="sandbox")


def _late(svc: Services, simulator: Any, method: str) -> list[int]:
    """Make the next call of ``gateway.<method>`` reach Stripe late; returns a call counter."""
    original: Callable[..., Any] = getattr(svc.gateway, method)
    calls: list[int] = []

    def late_call(*args: Any, **kwargs: Any) -> Any:
        if not calls:
            simulator.force_faults("slow", 1, seconds=LATE)
        calls.append(1)
        return original(*args, **kwargs)

    setattr(svc.gateway, method, late_call)
    return calls


def _rows(engine: Any, action: str, target: str) -> list[AuditEntry]:
    with session_scope(engine) as session:
        return list(
            session.exec(
                select(AuditEntry).where(AuditEntry.action == action, AuditEntry.target == target)
            ).all()
        )


def _customer(svc: Services, ops: Any) -> str:
    email = f"late-{secrets.token_hex(4)}@example.com"
    return collect_customers.create_customer(
        svc, ops, email=email, name="Late Answer", idempotency_key=f"cus-{email}"
    ).id


def _linked_account(
    svc: Services, simulator: Any, customer: str, permission: str = "balances"
) -> str:
    """An account with the ``permission`` and no refresh yet (so one may be asked for)."""
    gw = svc.gateway
    si = gw.create_setup_intent(
        {
            "customer": customer,
            "allowed_payment_method_types": ["us_bank_account"],
            "payment_method_options": {
                "us_bank_account": {
                    "financial_connections": {"permissions": ["payment_method", permission]}
                }
            },
        },
        idempotency_key=None,
    )
    simulator.link_bank(si["id"], institution="StripeBank")
    pm = gw.retrieve_payment_method(gw.retrieve_setup_intent(si["id"])["payment_method"])
    return str(pm["us_bank_account"]["financial_connections_account"])


def test_a_late_balance_refresh_is_reported_as_started_and_audited_once(
    sandbox_handle, engine, simulator, ops, patient_reads
) -> None:  # type: ignore[no-untyped-def]
    svc = _svc(sandbox_handle, engine)
    account_id = _linked_account(svc, simulator, _customer(svc, ops))
    _late(svc, simulator, "refresh_account")

    result = refresh_balance.refresh(
        svc, ops, account_id, "balance", idempotency_key=f"refresh-{secrets.token_hex(4)}"
    )

    assert result["balance_refresh"]["last_attempted_at"] is not None  # Stripe did refresh
    rows = _rows(engine, "account.refresh", account_id)
    assert [r.outcome for r in rows] == ["ok"]
    assert rows[0].params["read_back"] >= 1
    assert "confirmed by reading the account back" in (rows[0].message or "")


def test_a_late_setup_intent_create_returns_the_one_intent_stripe_made(
    sandbox_handle, engine, simulator, ops, patient_reads
) -> None:  # type: ignore[no-untyped-def]
    svc = _svc(sandbox_handle, engine)
    customer = _customer(svc, ops)
    calls = _late(svc, simulator, "create_setup_intent")

    created = collection_requests.create_setup_intent(
        svc, ops, customer_id=customer, idempotency_key=f"si-{secrets.token_hex(4)}"
    )

    assert len(calls) >= 2  # the late create, then the same request again to read it back
    made = [si["id"] for si in svc.gateway.iter_setup_intents(customer=customer)]
    assert made == [created.id]  # one SetupIntent, the one the person is told about
    rows = _rows(engine, "collect.create", created.id)
    assert [r.outcome for r in rows] == ["ok"]
    assert rows[0].params["read_back"] is True


def test_a_create_that_meets_its_own_running_request_409_settles_once(
    sandbox_handle, engine, simulator, ops, patient_reads
) -> None:  # type: ignore[no-untyped-def]
    """The SDK's own retry (same key) meets the first request still running: Stripe's 409."""
    svc = _svc(sandbox_handle, engine, retries=1)
    customer = _customer(svc, ops)
    _late(svc, simulator, "create_setup_intent")

    created = collection_requests.create_setup_intent(
        svc, ops, customer_id=customer, idempotency_key=f"si-{secrets.token_hex(4)}"
    )

    assert [si["id"] for si in svc.gateway.iter_setup_intents(customer=customer)] == [created.id]
    assert [r.outcome for r in _rows(engine, "collect.create", created.id)] == ["ok"]


def test_a_late_cancel_is_read_back_from_the_intent(
    sandbox_handle, engine, simulator, ops, patient_reads
) -> None:  # type: ignore[no-untyped-def]
    svc = _svc(sandbox_handle, engine)
    customer = _customer(svc, ops)
    request = collection_requests.create_setup_intent(
        svc, ops, customer_id=customer, idempotency_key=f"si-{secrets.token_hex(4)}"
    )
    _late(svc, simulator, "cancel_setup_intent")

    view = collect_cancel.cancel_request(
        svc, ops, request.id, reason="abandoned", idempotency_key=f"cx-{secrets.token_hex(4)}"
    )

    assert view.status == "canceled"
    assert svc.gateway.retrieve_setup_intent(request.id)["status"] == "canceled"
    rows = _rows(engine, "collect.cancel", request.id)
    assert [r.outcome for r in rows] == ["ok"]
    assert rows[0].params["read_back"] >= 1


def test_when_reading_back_cannot_tell_the_person_is_told_so_once(
    sandbox_handle, engine, simulator, ops, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    svc = _svc(sandbox_handle, engine)
    account_id = _linked_account(svc, simulator, _customer(svc, ops))
    # Two quick reads, long before Stripe runs the late request.
    monkeypatch.setattr(backoff, "READ_BACK", backoff.ReadBack(tries=2, pause_seconds=0.05))
    _late(svc, simulator, "refresh_account")

    with pytest.raises(OutcomeStillUnknown) as caught:
        refresh_balance.refresh(
            svc, ops, account_id, "balance", idempotency_key=f"refresh-{secrets.token_hex(4)}"
        )

    assert "may still happen" in str(caught.value)
    assert "reading it back 2 times" in str(caught.value)
    rows = _rows(engine, "account.refresh", account_id)
    # Stripe may still start it: the row is "unknown" (not "error") and says where to look.
    assert [(r.outcome, r.message) for r in rows] == [(
        "unknown",
        "Stripe did not confirm the balance refresh (no answer in time), so it may have started; "
        "the account's balance refresh state (Accounts) shows whether it did.",
    )]


def test_a_late_transactions_subscription_is_read_back_from_the_account(
    sandbox_handle, engine, simulator, ops, patient_reads
) -> None:  # type: ignore[no-untyped-def]
    svc = _svc(sandbox_handle, engine)
    account_id = _linked_account(svc, simulator, _customer(svc, ops), permission="transactions")
    _late(svc, simulator, "subscribe_transactions")

    account = sync_transactions.subscribe(
        svc, ops, account_id, idempotency_key=f"sub-{secrets.token_hex(4)}"
    )

    assert "transactions" in account["subscriptions"]
    rows = _rows(engine, "transactions.subscribe", account_id)
    assert [r.outcome for r in rows] == ["ok"]
    assert rows[0].params["read_back"] >= 1
