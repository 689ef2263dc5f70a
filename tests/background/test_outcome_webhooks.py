"""A debit's outcome arrives by webhook: the sandbox returns a debit R01 and delivers its
``payment_intent.*`` events to the app's endpoint, and the outcome mirror (what Returns, Home's
cards and the retry planner read) holds the return with its date, with no outcome sync run."""

from __future__ import annotations

import time
from typing import Any

from sqlmodel import select

from services.adapters import account_mirror
from services.adapters.job_models import WebhookEventRecord
from services.adapters.models import DebitOutcomeRecord, IntentRecord
from services.adapters.store import read_sync_cursor, session_scope
from services.auth import SYSTEM
from services.usecases import debit_outcomes, sync_accounts


def set_available(app: Any, account_id: str, amount: int) -> None:
    state = app.sandbox.state
    with state.lock:
        account = state.lookup(account_id)
        now = state.now()
        account["balance"] = {
            "as_of": now, "type": "cash", "current": {"usd": amount},
            "cash": {"available": {"usd": amount}},
        }  # fmt: skip


def returned_debit(app: Any) -> str:
    """A linked account holding $10, debited $50: the bank sends it back insufficient_funds."""
    from sandbox.client import Simulator

    gw = app.gateway
    cus = gw.create_customer({"name": "Webhook Return"}, idempotency_key=None)
    si = gw.create_setup_intent(
        {
            "customer": cus["id"],
            "allowed_payment_method_types": ["us_bank_account"],
            "payment_method_options": {
                "us_bank_account": {"financial_connections": {"permissions": ["payment_method"]}}
            },
        },
        idempotency_key=None,
    )
    Simulator(app.sandbox.base_url).link_bank(si["id"], institution="StripeBank")
    si = gw.retrieve_setup_intent(si["id"], expand=["payment_method"])
    set_available(app, si["payment_method"]["us_bank_account"]["financial_connections_account"], 1_000)
    pi = gw.create_payment_intent(
        {
            "amount": 5_000, "currency": "usd", "customer": cus["id"],
            "payment_method": si["payment_method"]["id"],
            "allowed_payment_method_types": ["us_bank_account"],
            "confirm": True, "off_session": True,
        },
        idempotency_key=None,
    )  # fmt: skip
    return str(pi["id"])


def stored(app: Any, pi_id: str) -> DebitOutcomeRecord | None:
    with session_scope(app.engine) as session:
        return session.get(DebitOutcomeRecord, pi_id)


def test_a_return_reaches_the_outcome_mirror_by_webhook_without_a_sync(fcops: Any) -> None:
    app, _ = fcops
    if not account_mirror.mirrored_account_count(app.engine):
        # Read the world first: the webhooks of the bank linked below must not be all the
        # mirror holds (test_webhooks looks for an account no event has written yet).
        sync_accounts.sync_accounts(app.services, SYSTEM, full=True)
    cursor = read_sync_cursor(app.engine, debit_outcomes.SYNC_NAME)
    pi_id = returned_debit(app)
    deadline = time.monotonic() + 30
    row = stored(app, pi_id)
    while (row is None or row.status != "returned") and time.monotonic() < deadline:
        time.sleep(0.1)
        row = stored(app, pi_id)
    assert row is not None, "no outcome row: the webhook did not reach the mirror"
    assert (row.status, row.failure_code, row.return_code) == (
        "returned", "insufficient_funds", "R01/R09",
    )  # fmt: skip
    assert row.returned_at is not None and row.account_id and row.institution
    assert read_sync_cursor(app.engine, debit_outcomes.SYNC_NAME) == cursor, "no sync ran"


def _wait_for(app: Any, pi_id: str, *types: str) -> DebitOutcomeRecord | None:
    """The outcome row once the intent's events of ``types`` are received and processed."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with session_scope(app.engine) as session:
            events = [e for e in session.exec(select(WebhookEventRecord))
                      if e.payload.get("data", {}).get("object", {}).get("id") == pi_id]  # fmt: skip
        done = {e.type for e in events if e.status != "received"}
        if set(types) <= done and not [e for e in events if e.status == "received"]:
            break
        time.sleep(0.1)
    return stored(app, pi_id)


def test_a_later_event_of_a_return_updated_since_still_records_it_from_the_charge(
    fcops: Any,
) -> None:
    """A return fcops missed (its payment_failed event never processed: the row is removed to
    stand for that), whose intent was then updated (Stripe clears last_payment_error) and
    canceled: the canceled event's intent, re-read with only its payment method expanded, said
    no reason, and the return stayed unknown. The re-read (one request, as before) expands the
    latest charge too, whose failure_code still says why."""
    import stripe

    from bootstrap import SANDBOX_KEY

    app, _ = fcops
    pi_id = returned_debit(app)
    first = _wait_for(app, pi_id, "payment_intent.processing", "payment_intent.payment_failed")
    assert first is not None and first.status == "returned"
    with session_scope(app.engine) as session:
        session.delete(session.get(DebitOutcomeRecord, pi_id))
    client = stripe.StripeClient(SANDBOX_KEY, base_addresses={"api": app.sandbox.base_url})
    client.v1.payment_intents.update(pi_id, params={"metadata": {"crm_note": "called"}})
    client.v1.payment_intents.cancel(pi_id)
    now = client.v1.payment_intents.retrieve(pi_id, params={"expand": ["latest_charge"]})
    assert now.status == "canceled" and now.last_payment_error is None

    row = _wait_for(app, pi_id, "payment_intent.canceled")

    assert row is not None, "the canceled event's re-read did not find the return"
    assert (row.status, row.failure_code, row.return_code) == (
        "returned", "insufficient_funds", "R01/R09",
    )  # fmt: skip
    bank = now.latest_charge.payment_method_details.us_bank_account
    assert (row.institution, row.last4) == (bank.bank_name, bank.last4)
    with session_scope(app.engine) as session:  # the intent is kept as the intent sync lists it
        record = session.get(IntentRecord, pi_id)
        assert record is not None
    # the failed charge's failure fields only (intent_fields.kept_charge), not the whole charge
    kept = record.raw["latest_charge"]
    assert (kept["id"], kept["failure_code"], kept["payment_method"]) == (
        now.latest_charge.id, "insufficient_funds", now.latest_charge.payment_method,
    )  # fmt: skip
    assert "payment_method_details" in kept and "amount" not in kept
    # canceled, by the route the failed charge's payment method says (not "none")
    assert (record.outcome, record.path) == ("canceled", "unknown")
