"""The outcome sync against a private sandbox: the first run lists the window's PaymentIntents,
later runs read only the events since the cursor (no listing), pick up a new return, and a run
with nothing new changes no row."""

from __future__ import annotations

from typing import Any

import pytest

from services.context import Services
from services.rules.returns import sync_words
from services.usecases import debit_outcomes
from tests.services.test_retry_debit import FINANCE, box_options, returned_debit  # noqa: F401


@pytest.fixture
def listings(svc: Services, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times each sync listed PaymentIntents (the full read of the window)."""
    calls: list[int] = []
    real = svc.gateway.iter_payment_intents

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(svc.gateway, "iter_payment_intents", counted)
    return calls


def stored(svc: Services) -> dict[str, debit_outcomes.Outcome]:
    return {o.id: o for o in debit_outcomes.load_outcomes(svc.engine)}


def test_later_runs_read_events_since_the_cursor_and_pick_up_a_new_return(
    svc: Services, box: Any, listings: list[int]
) -> None:
    first_pi, _ = returned_debit(svc, box)
    first = debit_outcomes.sync_outcomes(svc, FINANCE)
    assert len(listings) == 1, "the first run lists the window's PaymentIntents"
    # One debit, one new row: its events insert it and the expanded read completes it, and
    # the run counts that debit once (not one new and one changed).
    assert (first.inserted, first.updated) == (1, 0)
    assert stored(svc)[first_pi].status == "returned"
    assert first.message.endswith("1 ACH debit (1 new to fcops, 0 changed, 0 unchanged).")

    second_pi, _ = returned_debit(svc, box)
    second = debit_outcomes.sync_outcomes(svc, FINANCE)
    assert len(listings) == 1, "a later run reads events only"
    assert second.inserted == 1  # the new debit; the first is read again, unchanged
    now = stored(svc)
    assert now[second_pi].status == "returned" and now[second_pi].return_code == "R01/R09"
    assert now[first_pi].status == "returned"

    quiet = debit_outcomes.sync_outcomes(svc, FINANCE)
    assert (quiet.inserted, quiet.updated) == (0, 0)
    assert len(listings) == 1

    full = debit_outcomes.sync_outcomes(svc, FINANCE, full=True)
    assert len(listings) == 2 and (full.inserted, full.updated) == (0, 0)


def test_the_sync_sentence_counts_add_up_to_the_intents_read() -> None:
    """"Read 50 payment events and 64 PaymentIntents: 0 new debits, 20 changed, 21 unchanged"
    left 23 intents unaccounted for (card payments, intents refused before the bank)."""
    words = sync_words(50, 64, {"updated": 20, "unchanged": 21, "skipped": 23})
    assert words == (
        "Read 50 payment events and 64 PaymentIntents: 41 ACH debits (0 new to fcops, "
        "20 changed, 21 unchanged); 23 are no ACH debit that reached a bank (another payment "
        "method, or refused before it was sent)."
    )
    assert sync_words(1, 1, {"inserted": 1}).endswith(
        "1 ACH debit (1 new to fcops, 0 changed, 0 unchanged)."
    )


def test_a_first_run_reads_a_return_whose_intent_was_updated_since_from_its_listed_charge(
    svc: Services, box: Any, listings: list[int]
) -> None:
    """A debit returned 31 days ago (its events out of Stripe's 30-day reach), whose intent was
    updated since (Stripe then clears last_payment_error): the first run's listing read it with
    no reason and skipped it, so Returns never counted it. The listing expands each intent's
    latest charge, whose failure_code still says why: in the same one request per page."""
    import stripe

    from bootstrap import SANDBOX_KEY
    from sandbox.client import Simulator

    pi_id, fca = returned_debit(svc, box)
    client = stripe.StripeClient(SANDBOX_KEY, base_addresses={"api": box.base_url})
    client.v1.payment_intents.update(pi_id, params={"metadata": {"crm_note": "called"}})
    box.state.clock.advance(31 * 86_400)
    listed = client.v1.payment_intents.list(params={"limit": 100, "expand": ["data.latest_charge"]})
    pi = next(p for p in listed.data if p.id == pi_id)
    assert pi.last_payment_error is None and pi.status == "requires_payment_method"
    assert pi.latest_charge.failure_code == "insufficient_funds"
    assert not client.v1.events.list(params={"limit": 100}).data, "its events are out of reach"
    sim = Simulator(box.base_url)
    sim.record_requests()

    first = debit_outcomes.sync_outcomes(svc, FINANCE)

    row = debit_outcomes.stored_rows(svc.engine, [pi_id])[pi_id]
    assert (row.status, row.failure_code, row.return_code, row.category) == (
        "returned", "insufficient_funds", "R01/R09", "other"
    )  # fmt: skip
    bank = pi.latest_charge.payment_method_details.us_bank_account
    assert (row.payment_method, row.institution, row.last4) == (
        pi.latest_charge.payment_method, bank.bank_name, bank.last4
    )  # fmt: skip
    assert row.account_id is None  # the charge names no FC account: no request per debit for it
    assert first.inserted >= 1 and len(listings) == 1  # (earlier tests' debits share the box)
    paths = [(e["method"], e["path"]) for e in sim.recorded_requests()["data"]]
    assert paths.count(("GET", "/v1/payment_intents")) == 1  # one page, one request
    assert [p for p in paths if p[1] != "/v1/payment_intents" and p[1] != "/v1/events"] == []
