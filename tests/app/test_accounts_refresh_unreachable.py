"""Accounts detail: Refresh clicked while Stripe does not answer costs one wait, says so once.

The click's rerun reads the account first (a person's read gives up at the interactive budget)
and, finding Stripe unreachable, draws the stored copy. The refresh used to start anyway and
read the account a second time, so a person waited twice the budget (30 s) and read "Could not
reach Stripe … nothing was changed" twice, and the buttons stayed enabled beside the stored copy.
Here the sandbox really holds the requests (its ``timeout`` fault) and the budget is half a
second, so the test is quick.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import jobs_settled, no_exceptions, open_page, webhooks_settled
from tests.app.conftest import shared_app as app
from tests.app.test_accounts_page import new_customer

PAGE = "pages/accounts.py"
UNREACHABLE = "Could not reach Stripe"


@pytest.fixture
def quick_budget(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A person's reads give up after half a second (instead of 15 s)."""
    import services.adapters.gateway as gateway_module

    monkeypatch.setattr(gateway_module, "INTERACTIVE_READ_SECONDS", 0.5)
    yield
    app().simulator.clear_faults()
    app().simulator.record_requests(False)


def detail(account_id: str) -> AppTest:
    at = open_page(PAGE, "ops")
    at.query_params["account"] = account_id
    at.run()
    no_exceptions(at)
    jobs_settled()  # nothing in the background may take the faults forced below
    webhooks_settled()
    at.run()
    return at


def account_reads(account_id: str) -> list[dict[str, Any]]:
    return [
        r
        for r in app().simulator.recorded_requests()["data"]
        if r["method"] == "GET"
        and r["path"].endswith(f"/financial_connections/accounts/{account_id}")
    ]


def refresh_posts() -> list[dict[str, Any]]:
    return [
        r for r in app().simulator.recorded_requests()["data"]
        if r["method"] == "POST" and r["path"].endswith("/refresh")
    ]  # fmt: skip


def unreachable_sentences(at: AppTest) -> list[str]:
    return [str(e.value) for e in at.error if UNREACHABLE in str(e.value)]


def test_refresh_while_stripe_does_not_answer_reads_once_and_says_so_once(
    quick_budget: None,
) -> None:
    _, account = new_customer(prefetch=[])
    at = detail(account["id"])
    assert not at.error and not at.warning
    assert not at.button(key="acc_refresh_balance").disabled
    app().simulator.force_faults("timeout", 5, seconds=3)
    app().simulator.record_requests(True)
    at.button(key="acc_refresh_balance").click().run()
    no_exceptions(at)
    assert len(account_reads(account["id"])) == 1  # the page's read; no second one to refresh
    assert not refresh_posts()
    [sentence] = unreachable_sentences(at)  # one sentence, not two
    assert "nothing was changed" in sentence
    warnings = " ".join(str(w.value) for w in at.warning)
    assert "showing what fcops stored" in warnings
    # One "try again" time on the page, the failed read's (it says nothing was changed too):
    # the stored copy's banner said "Try again in a moment." beside "Try again in a minute.".
    assert "Try again in a minute." in sentence
    assert "try again in a" not in warnings.lower(), warnings
    # Beside the stored copy the buttons are off and say why (no click costs another wait).
    for feature in ("balance", "ownership", "transactions"):
        button = at.button(key=f"acc_refresh_{feature}")
        assert button.disabled
        assert "Try again" in (button.help or "")
    captions = [str(c.value) for c in at.caption]
    assert sum("Refreshes are off while Stripe cannot be read" in c for c in captions) == 1


def test_beside_the_stored_copy_a_role_reason_still_comes_first(quick_budget: None) -> None:
    """Finance may not refresh owner data at all: that stays its button's reason."""
    _, account = new_customer(prefetch=[])
    at = open_page(PAGE, "finance")
    at.query_params["account"] = account["id"]
    at.run()
    jobs_settled()
    webhooks_settled()
    app().simulator.force_faults("timeout", 5, seconds=3)
    at.run()
    no_exceptions(at)
    assert len(unreachable_sentences(at)) == 1
    ownership = at.button(key="acc_refresh_ownership")
    assert ownership.disabled and "may not refresh owner data" in (ownership.help or "")
    balance = at.button(key="acc_refresh_balance")
    assert balance.disabled and "Try again" in (balance.help or "")
