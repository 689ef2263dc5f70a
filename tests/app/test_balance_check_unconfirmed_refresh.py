"""Balance check: "Refresh balance now" answered by a 500 may still have started at Stripe.

The page said "Stripe did not start the refresh: …" after any 500, which was false when the
refresh had gone through before the answer failed. Now it says Stripe did not confirm it and
that it may have started, and what one read of the account showed: not started ("Refresh
balance now" again is safe), running (followed, as a refresh left mid-wait is), or finished
(the new balance). The fault is forced on the refresh's own POST (the reads before it answer
normally).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import jobs_settled, no_exceptions, webhooks_settled
from tests.app.conftest import shared_app as app
from tests.app.test_balance_check_page import markdown
from tests.app.test_balance_check_refresh_return import (
    followed_until_the_bank_answers,
    stale_check,
)

UNCONFIRMED = "Stripe did not confirm the balance refresh (a server error"


@pytest.fixture
def fault_on_refresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``fault_on_refresh(mode)``: the next refresh POST of the app meets ``mode``."""
    gateway = app().services.gateway
    original = gateway.refresh_account
    modes: list[str] = []

    def faulted(*args: Any, **kwargs: Any) -> Any:
        while modes:
            app().simulator.force_faults(modes.pop(), 1)
        return original(*args, **kwargs)

    monkeypatch.setattr(gateway, "refresh_account", faulted)

    def arm(mode: str) -> None:
        jobs_settled()
        webhooks_settled()
        modes.append(mode)

    yield arm


@pytest.fixture
def bank_delay() -> Iterator[Any]:
    config = app().sandbox.state.config
    delay = config.refresh_delay

    def set_delay(seconds: float) -> None:
        config.refresh_delay = seconds

    yield set_delay
    config.refresh_delay = delay


def warnings(at: AppTest) -> str:
    return "\n".join(w.value for w in at.warning)


def refresh_met(at: AppTest, fault_on_refresh: Any, mode: str) -> str:
    """Press "Refresh balance now", its POST meeting ``mode``: the page's warnings."""
    fault_on_refresh(mode)
    at.button(key="bc_refresh_now").click().run()
    no_exceptions(at)
    return warnings(at)


def test_a_500_that_started_nothing_says_so_and_offers_the_refresh_again(
    fault_on_refresh: Any,
) -> None:
    _, at = stale_check()
    said = refresh_met(at, fault_on_refresh, "500")
    assert UNCONFIRMED in said and "so it may have started" in said, said
    assert (
        "the account read back shows Stripe did not start it: Refresh balance now again is safe."
        in said
    )
    assert "did not start the refresh" not in said
    assert "STALE" in markdown(at)
    assert [b for b in at.button if b.key == "bc_refresh_now"], "Refresh again is offered"


@pytest.mark.parametrize("delay", [600.0, 0.0], ids=["still-running", "finished"])
def test_a_500_after_the_refresh_went_through_ends_in_the_new_verdict(
    fault_on_refresh: Any, bank_delay: Any, delay: float
) -> None:
    """The bank takes ten minutes: the refresh is followed to the new verdict; the bank answers
    at once: the verdict uses the new balance at once."""
    fca, at = stale_check()
    bank_delay(delay)
    said = refresh_met(at, fault_on_refresh, "500_done")
    assert UNCONFIRMED in said and "the account read back shows it did." in said, said
    if delay:
        followed_until_the_bank_answers(at, fca)
        return
    assert any(
        s.value == "The balance refresh finished; the verdict below uses the new balance."
        for s in at.success
    )
    assert "OK — the balance covers this debit" in markdown(at)
