"""Accounts detail: a Refresh click asks Stripe only what it needs.

The click's run reads the account to draw the page; the refresh used to read it a second time
before asking for the refresh (under a slow Stripe: "Reading the account from Stripe…", then
"Asking Stripe to refresh the balance…" over another read and the request). The refresh now
judges the page's read of the same run (seconds old) and sends its request straight away.
The sandbox's request log counts what reached Stripe.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.app.conftest import jobs_settled, no_exceptions, open_page, webhooks_settled
from tests.app.conftest import shared_app as app
from tests.app.test_accounts_page import new_customer

PAGE = "pages/accounts.py"


@pytest.fixture
def recording() -> Iterator[None]:
    yield
    app().simulator.clear_faults()
    app().simulator.record_requests(False)


def requests_for(account_id: str) -> list[tuple[str, str]]:
    """(method, what) of the recorded requests about ``account_id``, in order."""
    seen = []
    for r in app().simulator.recorded_requests()["data"]:
        path = str(r["path"])
        if path.endswith(f"/financial_connections/accounts/{account_id}"):
            seen.append((str(r["method"]), "account"))
        elif path.endswith(f"/financial_connections/accounts/{account_id}/refresh"):
            seen.append((str(r["method"]), "refresh"))
    return seen


def test_a_refresh_click_reads_the_account_once_before_asking_for_the_refresh(
    recording: None,
) -> None:
    _, account = new_customer(prefetch=[])  # no balance yet: Refresh balance is on
    at = open_page(PAGE, "ops")
    at.query_params["account"] = account["id"]
    at.run()
    jobs_settled()  # nothing in the background reads the account while the log records
    webhooks_settled()
    at.run()
    assert not at.button(key="acc_refresh_balance").disabled
    app().simulator.record_requests(True)
    at.button(key="acc_refresh_balance").click().run()
    no_exceptions(at)
    seen = requests_for(account["id"])
    assert ("POST", "refresh") in seen, seen
    before = seen[: seen.index(("POST", "refresh"))]
    assert before == [("GET", "account")], seen  # the page's read; the refresh judged that one
    assert seen.count(("POST", "refresh")) == 1
    assert not at.error, [e.value for e in at.error]


def test_a_refresh_started_from_a_stale_copy_is_judged_on_a_fresh_read(recording: None) -> None:
    """The page's copy is only reused while it is seconds old: an older one is read again."""
    from services.auth import Actor
    from services.usecases import browse_accounts, refresh_balance

    a = app()
    ops = Actor(username="ops", role="ops")
    _, account = new_customer(prefetch=[])
    detail = browse_accounts.account_detail(a.services, ops, account["id"])
    assert detail.read_at is not None
    jobs_settled()
    webhooks_settled()
    a.simulator.record_requests(True)
    refresh_balance.refresh(
        a.services, ops, account["id"], "balance", idempotency_key=f"t-{account['id']}-stale",
        seen=detail.account, seen_at=detail.read_at - refresh_balance.SEEN_FRESH_SECONDS - 1,
    )
    seen = requests_for(account["id"])
    assert seen[:2] == [("GET", "account"), ("POST", "refresh")], seen
