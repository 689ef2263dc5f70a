"""Balance check: a refresh asked for, the page left by the sidebar while fcops waited for the
bank, and back by the sidebar.

Streamlit stops a run at its next element once the person clicks elsewhere: the run of the
"Refresh balance now" click stopped as its spinner ended, so the refresh Stripe had started
never reached the page. Back on it, the check kept from before the click said "A balance
refresh can be requested now." (and offered the button again) beside a refresh pending at
Stripe, or already finished there. Now the page remembers the ask until its answer comes; a
later run that finds it unanswered checks the debit again against the account as Stripe has it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from streamlit.runtime.scriptrunner_utils.exceptions import StopException
from streamlit.testing.v1 import AppTest

from pages import _runtime as runtime
from services.rules import wording
from tests.app.conftest import no_exceptions, open_page
from tests.app.conftest import shared_app as app
from tests.app.test_balance_check_page import (
    DAY,
    PAGE,
    bank_answers,
    check_id,
    markdown,
    new_account,
    reopened,
)
from tests.app.test_balance_check_return import address_put_back, by_the_sidebar, form

CAN_REFRESH = "A balance refresh can be requested now."


def stale_check() -> tuple[str, AppTest]:
    """Finance's check of 100.00 on a new account whose balance is three days old: STALE."""
    _, fca = new_account(available=900_000, age=3 * DAY)
    at = check_id(open_page(PAGE, "finance"), fca, "100.00")
    assert "STALE" in markdown(at)
    return fca, at


def followed_until_the_bank_answers(at: AppTest, fca: str, since: str | None = None) -> None:
    """The refresh is shown running at the bank (started ``since``) and not offered again; the
    bank answers, and the follower's next poll shows the new verdict."""
    running = " ".join(i.value for i in at.info)
    started = f"(started {since})" if since else "(started"
    assert f"A balance refresh is running at the bank {started}" in running, running
    assert not any(b.key == "bc_refresh_now" for b in at.button)  # not offered again

    bank_answers(fca)
    at.run()  # the follower's next poll
    no_exceptions(at)
    assert "OK — the balance covers this debit" in markdown(at)
    assert any("balance refresh finished" in s.value for s in at.success)


def left_while_refreshing(
    monkeypatch: pytest.MonkeyPatch, at: AppTest, button: str = "bc_refresh_now"
) -> None:
    """Click "Refresh balance now" (``button``; "bc_check": Check debit, with "Refresh stale
    balances" ticked) and leave by the sidebar while fcops waits for the bank: Streamlit stops
    the click's run as its spinner ends (the next element it draws)."""
    waiting = runtime.waiting_for_stripe

    @contextmanager
    def stopped_at_the_end(doing: str) -> Iterator[None]:
        with waiting(doing):
            yield
        if doing == "Refreshing the balance…":
            raise StopException()

    with monkeypatch.context() as patch:
        patch.setattr(runtime, "waiting_for_stripe", stopped_at_the_end)
        at.button(key=button).click().run(timeout=20)


def started_at(fca: str) -> int:
    state = app().sandbox.state
    with state.lock:
        refresh = state.lookup(fca)["balance_refresh"]
        assert refresh["status"] == "pending", refresh  # Stripe started it
        return int(refresh["last_attempted_at"])


@pytest.fixture
def slow_bank() -> Iterator[None]:
    config = app().sandbox.state.config
    delay, config.refresh_delay = config.refresh_delay, 600.0  # the bank takes ten minutes
    try:
        yield
    finally:
        config.refresh_delay = delay


def test_back_during_the_refresh_shows_it_running_since_it_started_and_follows_it(
    monkeypatch: pytest.MonkeyPatch, slow_bank: None
) -> None:
    fca, at = stale_check()
    assert CAN_REFRESH in markdown(at)
    left_while_refreshing(monkeypatch, at)
    since = wording.timestamp(started_at(fca))

    back = by_the_sidebar(at)
    no_exceptions(back)
    said = markdown(back)
    assert CAN_REFRESH not in said, said
    assert f"A balance refresh is in progress (started {since})" in said, said
    followed_until_the_bank_answers(back, fca, since)


def test_back_after_the_refresh_finished_at_stripe_shows_the_new_balance(
    monkeypatch: pytest.MonkeyPatch, slow_bank: None
) -> None:
    fca, at = stale_check()
    left_while_refreshing(monkeypatch, at)
    started_at(fca)
    bank_answers(fca)  # the bank answers while the person is on another page

    back = by_the_sidebar(at)
    no_exceptions(back)
    said = markdown(back)
    assert "OK — the balance covers this debit" in said and CAN_REFRESH not in said, said
    assert any("balance refresh finished" in s.value for s in back.success)
    assert not any("running at the bank" in i.value for i in back.info)


RUNNING = "A balance refresh is running at the bank (started"


def ticked_check_left(monkeypatch: pytest.MonkeyPatch, at: AppTest, fca: str, amount: str) -> None:
    """Check debit of ``amount`` on ``fca`` with "Refresh stale balances" ticked, left mid-wait."""
    at.radio(key="bc_mode").set_value("Paste an ID").run()
    at.text_input(key="bc_target_id").set_value(fca).run()
    at.text_input(key="bc_amount").set_value(amount)
    at.checkbox(key="bc_refresh").set_value(True)
    left_while_refreshing(monkeypatch, at, "bc_check")
    started_at(fca)


def test_a_check_with_refresh_left_mid_wait_is_in_the_address_on_return(
    monkeypatch: pytest.MonkeyPatch, slow_bank: None
) -> None:
    """Check debit with "Refresh stale balances" ticked, left by the sidebar while the bank
    worked: back on the page it was checked again (the refresh shown running), but that check
    never reached the address, so a reload showed an empty form. Now it is put in the address
    (in place of the sidebar's entry, as a check shown is on return), and a reload checks it."""
    _, fca = new_account(available=900_000, age=3 * DAY)
    at = open_page(PAGE, "finance")
    ticked_check_left(monkeypatch, at, fca, "100.00")

    back = by_the_sidebar(at)
    assert RUNNING in " ".join(i.value for i in back.info)
    assert form(back) == ("Paste an ID", fca, "100.00", "USD", True)
    script = address_put_back(back)
    assert f"?check={fca}&amount=100.00&currency=USD&refresh=stale" in script, script
    back.query_params.update({"check": fca, "amount": "100.00", "currency": "USD",
                              "refresh": "stale"})  # fmt: skip
    back.run()  # the browser sends the address it was given: nothing moves
    no_exceptions(back)
    assert RUNNING in " ".join(i.value for i in back.info)
    assert form(back) == ("Paste an ID", fca, "100.00", "USD", True)

    again = reopened(back)  # F5
    no_exceptions(again)
    assert "Your last check of this debit" in " ".join(i.value for i in again.info)
    assert form(again) == ("Paste an ID", fca, "100.00", "USD", True)
    assert RUNNING in " ".join(i.value for i in again.info)


def test_a_second_check_with_refresh_left_mid_wait_keeps_its_boxes_and_takes_the_address(
    monkeypatch: pytest.MonkeyPatch, slow_bank: None
) -> None:
    """A check shown, then another amount checked with the refresh ticked and left mid-wait:
    back by the sidebar the boxes were emptied (the address still named the first check, the
    page read that as a move to no check). Now the boxes stay and the address names the second."""
    _, fca = new_account(available=900_000, age=3 * DAY)
    at = check_id(open_page(PAGE, "finance"), fca, "50.00")
    assert at.query_params["amount"] == "50.00"
    ticked_check_left(monkeypatch, at, fca, "100.00")

    back = by_the_sidebar(at)
    no_exceptions(back)
    assert form(back) == ("Paste an ID", fca, "100.00", "USD", True)
    assert f"$100.00 on `{fca}`" in " ".join(c.value for c in back.caption)
    script = address_put_back(back)
    assert f"?check={fca}&amount=100.00&currency=USD&refresh=stale" in script, script
    assert "amount=50.00" not in script


def test_a_check_with_refresh_stopped_on_the_page_gets_its_address_as_a_check_does(
    monkeypatch: pytest.MonkeyPatch, slow_bank: None
) -> None:
    """The run stopped by another click on the page itself (no page change): the next run
    checks again and writes the address as a check does (a new history entry)."""
    _, fca = new_account(available=900_000, age=3 * DAY)
    at = open_page(PAGE, "finance")
    ticked_check_left(monkeypatch, at, fca, "100.00")

    at.run()
    no_exceptions(at)
    assert RUNNING in " ".join(i.value for i in at.info)
    assert at.query_params["check"] == fca and at.query_params["amount"] == "100.00"
    assert at.query_params["refresh"] == "stale"
    assert not address_put_back(at)
