"""Finance asks for a balance refresh of a stale balance and, while fcops waits for the bank,
leaves by the sidebar (or reloads): back on Balance check the refresh is shown running since it
started and followed (a reload then shows the same); when the bank answers, the verdict uses the new balance.

Before (1ca15be), the click's run was stopped as the person left (at its spinner's end), so the
refresh Stripe had started never reached the page: back by the sidebar it showed the stale check
from before the click, "A balance refresh can be requested now.", and the button again.

Its own server: its sandbox's bank takes ten minutes to answer a refresh (the shared server's
answers in 1.5 s, within the click's wait), and the test ends it at /_sandbox/refreshes/complete.
The stale balance is the demo world's (the page judges ages by the app's clock, which a test
cannot move). One journey, so one server start and one sign-in."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest

from services.rules import wording
from tests.browser.conftest import (
    _port_below_ephemeral_range,
    open_check,
    serve_dashboard,
    wait_idle,
)
from tests.browser.test_balance_check_sidebar import by_the_sidebar

pytestmark = pytest.mark.browser
DAY = 86_400
STALE = "STALE — the balance is too old to trust"
OK = "OK — the balance covers this debit"
FINISHED = "The balance refresh finished; the verdict below uses the new balance."


class Bank:
    """The server's sandbox, as the test reads and drives it."""

    def __init__(self, url: str) -> None:
        from bootstrap import SANDBOX_KEY
        from sandbox.client import Simulator
        from services.adapters.gateway import StripeGateway

        self.gateway = StripeGateway(SANDBOX_KEY, base_url=url, max_network_retries=0)
        self.simulator = Simulator(url)
        self.taken: set[str] = set()

    def stale_account(self) -> str:
        """An active cash account with a balance days old, well over $1.00, at a bank whose
        refreshes succeed, that Stripe allows to refresh now (one no test took yet)."""
        failing = {b["name"] for b in self.simulator.institutions() if b["refresh_fails"]}
        now = int(time.time())
        for customer in self.gateway.list_customers_page(limit=100)[0]:
            for account in self.gateway.list_accounts(customer=customer["id"]):
                balance = account.get("balance") or {}
                available = ((balance.get("cash") or {}).get("available") or {}).get("usd") or 0
                refresh = account.get("balance_refresh") or {}
                if (
                    account["id"] not in self.taken
                    and account["status"] == "active"
                    and account["institution_name"] not in failing
                    and "balances" in account["permissions"]
                    and available > 100_000
                    and now - int(balance.get("as_of") or now) > 2 * DAY
                    and refresh.get("status") != "pending"
                    and int(refresh.get("next_refresh_available_at") or 0) < now - 60
                ):
                    self.taken.add(account["id"])
                    return str(account["id"])
        raise AssertionError("the demo world has no stale account left to refresh")

    def started(self, fca: str, timeout: float = 15.0) -> str:
        """Once Stripe has the balance refresh pending: when it started, as the page says it."""
        deadline = time.time() + timeout
        while True:
            refresh = self.gateway.retrieve_account(fca).get("balance_refresh") or {}
            if refresh.get("status") == "pending":
                return wording.timestamp(int(refresh["last_attempted_at"]))
            assert time.time() < deadline, f"Stripe never started the refresh: {refresh}"
            time.sleep(0.2)

    def answers(self) -> None:
        """The bank answers every refresh pending: a new balance, as of now."""
        assert self.simulator.complete_refreshes()["completed"] >= 1


@pytest.fixture(scope="module")
def slow_bank_app() -> Iterator[tuple[str, Bank]]:
    data_dir = tempfile.mkdtemp(prefix="fcops-browser-slow-bank-")
    sandbox_port = _port_below_ephemeral_range()
    env = {k: v for k, v in os.environ.items() if k != "STRIPE_API_KEY"}
    env.update(
        FCOPS_DATA_DIR=data_dir,
        FCOPS_SANDBOX_CUSTOMERS="40",
        FCOPS_SANDBOX_SEED="8",
        FCOPS_SANDBOX_REFRESH_DELAY="600",  # the bank answers when the test says so
        FCOPS_SANDBOX_PORT=str(sandbox_port),
    )
    from sandbox.client import SimulationError

    with serve_dashboard(env) as url:
        bank = Bank(f"http://127.0.0.1:{sandbox_port}")
        deadline = time.time() + 60
        while True:  # the sandbox starts with the server, beside it
            try:
                bank.simulator.health()
                break
            except SimulationError:
                assert time.time() < deadline, "the server's sandbox never answered"
                time.sleep(0.3)
        yield url, bank
    shutil.rmtree(data_dir, ignore_errors=True)


def ask_for_a_refresh(page: Any, url: str, bank: Bank) -> tuple[str, str]:
    """Finance checks $1.00 on a stale balance and presses "Refresh balance now"; returns
    (the account, when its refresh started) once Stripe has it pending (the page still waits)."""
    fca = bank.stale_account()
    open_check(page, url, fca, "1.00")
    page.get_by_text(STALE).wait_for()
    page.wait_for_url(re.compile(rf"[?&]check={fca}"))
    page.get_by_role("button", name="Refresh balance now").click()
    page.get_by_text("Refreshing the balance…").wait_for()
    return fca, bank.started(fca)


def running_since(page: Any, since: str) -> None:
    """The refresh shown running since it started, followed, and not offered again."""
    page.get_by_text(f"A balance refresh is running at the bank (started {since})").wait_for(
        timeout=15_000
    )
    assert "A balance refresh can be requested now." not in page.inner_text("body")
    assert page.get_by_role("button", name="Refresh balance now").count() == 0


def test_left_by_the_sidebar_while_the_bank_refreshes_back_and_reloaded(
    page: Any, slow_bank_app: tuple[str, Bank]
) -> None:
    """One journey (one server start, one sign-in): away by the sidebar and back, then F5,
    both while the bank works; then the bank answers."""
    url, bank = slow_bank_app
    fca, since = ask_for_a_refresh(page, url, bank)
    by_the_sidebar(page, "Accounts")  # before the click's wait ends
    page.wait_for_url(re.compile(r"/accounts$"))
    wait_idle(page)
    by_the_sidebar(page, "Balance check")
    running_since(page, since)
    assert f"$1.00 on {fca}" in page.inner_text("body")

    page.reload()  # a new session, the check in the address
    wait_idle(page)
    page.get_by_text("Your last check of this debit").wait_for()
    running_since(page, since)

    bank.answers()
    page.get_by_text(FINISHED).wait_for(timeout=15_000)  # the follower's next poll
    page.get_by_text(OK).wait_for()
    assert STALE not in page.inner_text("body")
    assert f"$1.00 on {fca}" in page.inner_text("body")
