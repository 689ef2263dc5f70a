"""The outcome sync against a private sandbox: the first run lists the window's PaymentIntents,
later runs read only the events since the cursor (no listing), pick up a new return, and a run
with nothing new changes no row."""

from __future__ import annotations

from typing import Any

import pytest

from services.context import Services
from services.rules.returns import sync_words
from services.usecases import debit_outcomes
from tests.services.test_retry_debit import FINANCE, box, returned_debit, svc  # noqa: F401


@pytest.fixture
def listings(svc: Services, monkeypatch: pytest.MonkeyPatch) -> list[int]:  # noqa: F811
    """How many times each sync listed PaymentIntents (the full read of the window)."""
    calls: list[int] = []
    real = svc.gateway.iter_payment_intents

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(svc.gateway, "iter_payment_intents", counted)
    return calls


def stored(svc: Services) -> dict[str, debit_outcomes.Outcome]:  # noqa: F811
    return {o.id: o for o in debit_outcomes.load_outcomes(svc.engine)}


def test_later_runs_read_events_since_the_cursor_and_pick_up_a_new_return(
    svc: Services, box: Any, listings: list[int]  # noqa: F811
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
