"""Balance check: "Refresh balance now" answered by a 500 may still have started at Stripe.

The page said "Stripe did not start the refresh: …" after any 500, which was false when the
refresh had gone through before the answer failed. Now it says Stripe did not confirm it and
that it may have started, and what one read of the account showed: not started (Refresh again
is safe), running (followed, as a refresh left mid-wait is), or finished (the new balance).
The fault is forced on the refresh's own POST (the reads before it answer normally).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import jobs_settled, no_exceptions, open_page, webhooks_settled
from tests.app.conftest import shared_app as app
from tests.app.test_balance_check_page import (
    DAY,
    PAGE,
    bank_answers,
    check_id,
    markdown,
    new_account,
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


def stale_check() -> tuple[str, AppTest]:
    _, fca = new_account(available=900_000, age=3 * DAY)
    at = check_id(open_page(PAGE, "finance"), fca, "100.00")
    assert "STALE" in markdown(at)
    return fca, at


def test_a_500_that_started_nothing_says_so_and_offers_the_refresh_again(
    fault_on_refresh: Any,
) -> None:
    _, at = stale_check()
    fault_on_refresh("500")
    at.button(key="bc_refresh_now").click().run()
    no_exceptions(at)
    said = warnings(at)
    assert UNCONFIRMED in said and "so it may have started" in said, said
    assert "the account read back shows Stripe did not start it: Refresh again is safe." in said
    assert "did not start the refresh" not in said
    assert "STALE" in markdown(at)
    assert [b for b in at.button if b.key == "bc_refresh_now"], "Refresh again is offered"


def test_a_500_after_the_refresh_started_follows_it_to_the_new_verdict(
    fault_on_refresh: Any, bank_delay: Any
) -> None:
    fca, at = stale_check()
    bank_delay(600.0)  # the bank takes ten minutes
    fault_on_refresh("500_done")
    at.button(key="bc_refresh_now").click().run()
    no_exceptions(at)
    said = warnings(at)
    assert UNCONFIRMED in said and "the account read back shows it did." in said, said
    running = " ".join(i.value for i in at.info)
    assert "A balance refresh is running at the bank (started" in running, running
    assert not any(b.key == "bc_refresh_now" for b in at.button)

    bank_answers(fca)
    at.run()  # the follower's next poll
    no_exceptions(at)
    assert "OK — the balance covers this debit" in markdown(at)
    assert any("balance refresh finished" in s.value for s in at.success)


def test_a_500_after_the_refresh_finished_uses_the_new_balance(
    fault_on_refresh: Any, bank_delay: Any
) -> None:
    _, at = stale_check()
    bank_delay(0)  # the bank answers at once
    fault_on_refresh("500_done")
    at.button(key="bc_refresh_now").click().run()
    no_exceptions(at)
    said = warnings(at)
    assert UNCONFIRMED in said and "the account read back shows it did." in said, said
    assert any(
        s.value == "The balance refresh finished; the verdict below uses the new balance."
        for s in at.success
    )
    assert "OK — the balance covers this debit" in markdown(at)
