"""Conversion of a debit that failed and whose PaymentIntent was updated since: Stripe then
clears ``last_payment_error`` (the pinned SDK's docs; the sandbox does it too) and only the
failed latest charge still says the attempt failed and with which payment method. The intent
sync lists PaymentIntents with that charge expanded, keeps its failure fields, and the funnel
reads the stored intent as it reads the intent expanded: failed, by its route."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import stripe
from sqlmodel import select

from sandbox.client import Simulator
from services.adapters.models import IntentRecord
from services.adapters.store import session_scope
from services.auth import Actor
from services.context import Services
from services.rules import funnel, intent_fields
from services.usecases import conversion_report, debit_outcomes, sync_intents
from tests.services.test_retry_debit import box_options, returned_debit  # noqa: F401

MANAGER = Actor("mgr", "manager")


def failed_instant_debit(svc: Services, box: Any) -> str:
    """A bank linked instantly (Financial Connections) holding $10, debited $50 by a
    PaymentIntent that asked for instant verification: back R01, insufficient funds."""
    return returned_debit(svc, box, verification_method="instant")[0]


def _client(box: Any) -> stripe.StripeClient:
    from bootstrap import SANDBOX_KEY

    return stripe.StripeClient(SANDBOX_KEY, base_addresses={"api": box.base_url})


def _stored(svc: Services, pi_id: str) -> IntentRecord:
    with session_scope(svc.engine) as session:
        [record] = session.exec(select(IntentRecord).where(IntentRecord.id == pi_id)).all()
        return record


def test_a_failed_debit_updated_since_reads_failed_in_conversion_after_the_sync(
    svc: Services, box: Any
) -> None:
    client = _client(box)
    pi_id = failed_instant_debit(svc, box)
    client.v1.payment_intents.update(pi_id, params={"metadata": {"crm_note": "called"}})
    expanded = client.v1.payment_intents.retrieve(
        pi_id, params={"expand": ["payment_method", "latest_charge"]}
    )
    assert expanded.status == "requires_payment_method" and expanded.last_payment_error is None
    assert expanded.payment_method is None  # a failed attempt leaves no payment method
    assert expanded.latest_charge.failure_code == "insufficient_funds"
    now = box.state.now()
    as_expanded = funnel.classify_intent(expanded.to_dict(), now=now)
    assert (as_expanded.path, as_expanded.stage) == ("instant", "failed")

    sim = Simulator(box.base_url)
    sim.record_requests()
    sync_intents.sync_intents(svc, MANAGER)
    lists = [
        (e["path"], unquote(e["query"]))
        for e in sim.recorded_requests()["data"]
        if e["path"] in ("/v1/setup_intents", "/v1/payment_intents")
    ]
    sim.record_requests(on=False)

    record = _stored(svc, pi_id)
    assert (record.path, record.outcome) == ("instant", "failed")  # what the funnel counts
    frame = conversion_report.outcomes(svc.engine, now=now)
    [row] = frame[frame["id"] == pi_id].to_dict("records")
    assert (row["path"], row["stage"]) == ("instant", "failed")  # the drill-down and CSV
    # A week later it still failed: it was not left waiting, so it is not "abandoned" either.
    later = conversion_report.outcomes(svc.engine, now=now + 8 * 86_400)
    assert later[later["id"] == pi_id]["stage"].tolist() == ["failed"]
    # One request per page, as before: the charge comes in the same one; SetupIntents have none.
    assert [path for path, _ in lists] == ["/v1/setup_intents", "/v1/payment_intents"]
    assert "data.latest_charge" in lists[1][1] and "latest_charge" not in lists[0][1]
    # The row keeps what the funnel reads of the charge, not the whole charge.
    charge = expanded.latest_charge
    assert record.raw["latest_charge"] == {
        "id": charge.id,
        "object": "charge",
        "status": "failed",
        "failure_code": "insufficient_funds",
        "failure_message": charge.failure_message,
        "payment_method": charge.payment_method,
        "payment_method_details": {"type": "us_bank_account"},
    }
    # The intent sync's page wrote the return to the outcome mirror too (from the charge).
    outcome = debit_outcomes.stored_rows(svc.engine, [pi_id])[pi_id]
    assert (outcome.status, outcome.failure_code) == ("returned", "insufficient_funds")

    # A webhook's re-read of the intent stores the same row, so the next sync finds it unchanged.
    raw, facts = record.raw, (record.path, record.outcome, record.verified)
    read = svc.gateway.retrieve_payment_intent(pi_id, expand=sync_intents.PAYMENT_EXPAND)
    assert sync_intents.store_intent(svc.engine, read) == "unchanged"
    again = sync_intents.sync_intents(svc, MANAGER)
    assert again.updated == 0 and again.unchanged == again.fetched
    record = _stored(svc, pi_id)
    assert (record.raw, (record.path, record.outcome, record.verified)) == (raw, facts)


def test_a_charge_that_did_not_fail_is_stored_by_its_id() -> None:
    """Only a failed charge's fields are kept (the rest of a stored intent is as listed)."""
    settled = {"id": "py_1", "object": "charge", "status": "succeeded", "failure_code": None,
               "amount": 5_000, "payment_method_details": {"type": "us_bank_account"}}  # fmt: skip
    intent = {"id": "pi_1", "object": "payment_intent", "latest_charge": settled,
              "client_secret": "pi_1_secret_x"}  # fmt: skip
    assert intent_fields.without_secrets(intent) == {
        "id": "pi_1", "object": "payment_intent", "latest_charge": "py_1"
    }  # fmt: skip
    unexpanded = {"id": "pi_2", "latest_charge": "py_2"}
    assert intent_fields.without_secrets(unexpanded) == unexpanded


def test_an_older_failed_debit_canceled_since_is_reread_with_its_charge(
    svc: Services, box: Any
) -> None:
    """An intent created before the sync's window whose status moved (canceled) is found
    through its event and retrieved on its own: with its latest charge too, so the stored
    intent still says which route the failed debit took (not "none")."""
    client = _client(box)
    pi_id = failed_instant_debit(svc, box)
    sync_intents.sync_intents(svc, MANAGER)
    box.state.clock.advance(20 * 86_400)
    failed_instant_debit(svc, box)  # a newer intent moves the cursor past the first one
    moved_on = sync_intents.sync_intents(svc, MANAGER)
    assert moved_on.cursor_after > _stored(svc, pi_id).created
    client.v1.payment_intents.update(pi_id, params={"metadata": {"crm_note": "called"}})
    client.v1.payment_intents.cancel(pi_id)

    sync_intents.sync_intents(svc, MANAGER)

    record = _stored(svc, pi_id)
    assert (record.status, record.outcome, record.path) == ("canceled", "canceled", "instant")
    assert record.raw["last_payment_error"] is None
    assert record.raw["latest_charge"]["failure_code"] == "insufficient_funds"
