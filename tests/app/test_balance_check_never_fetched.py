"""Balance check page: a balance never fetched can be fetched from the page, and is judged on it."""

from __future__ import annotations

import itertools
from typing import Any

from streamlit.testing.v1 import AppTest

from tests.app.conftest import jobs_settled, no_exceptions, open_page, webhooks_settled
from tests.app.conftest import shared_app as app
from tests.app.test_balance_check_page import PAGE, check_id, markdown

_n = itertools.count(1)


def never_fetched(*, permissions: tuple[str, ...] = ("balances", "payment_method")) -> str:
    """A freshly linked account whose balance was never fetched."""
    a = app()
    n = next(_n)
    cus = a.gateway.create_customer({"name": f"Never Fetched {n}"}, idempotency_key=None)["id"]
    session = a.gateway.create_fc_session(
        {"account_holder": {"type": "customer", "customer": cus}, "permissions": list(permissions)},
        idempotency_key=None,
    )
    a.simulator.complete_session(session["id"], institution="StripeBank")
    fca = str(a.gateway.list_accounts(session=session["id"])[0]["id"])
    assert a.gateway.retrieve_account(fca)["balance"] is None
    webhooks_settled()  # its account.created event lands now, not mid-test
    return fca


def fetch_button(at: AppTest) -> list[Any]:
    return [b for b in at.button if b.key == "bc_refresh_now"]


def test_a_balance_never_fetched_offers_fetch_the_balance_now_and_is_judged_on_it() -> None:
    fca = never_fetched()
    at = check_id(open_page(PAGE, "finance"), fca, "100.00")
    no_exceptions(at)
    assert "UNAVAILABLE" in markdown(at)
    assert "The balance has never been refreshed, so there is no figure yet." in markdown(at)
    jobs_settled(at)  # a first-visit sync may rerun the page: click on the page it leaves
    [button] = fetch_button(at)
    assert button.label == "Fetch the balance now"
    at.button(key="bc_refresh_now").click().run()
    no_exceptions(at)
    assert "OK — the balance covers this debit" in markdown(at)
    captions = "\n".join(c.value for c in at.caption)
    assert "Before the refresh the verdict was **unavailable**" in captions
    assert app().gateway.retrieve_account(fca)["balance"] is not None


def test_ticking_refresh_stale_balances_fetches_a_balance_never_fetched() -> None:
    fca = never_fetched()
    at = check_id(open_page(PAGE, "finance"), fca, "100.00", refresh=True)
    no_exceptions(at)
    assert "OK — the balance covers this debit" in markdown(at)
    assert any("fetched for the first time" in s.value for s in at.success)
    assert not fetch_button(at)


def test_a_balance_that_cannot_be_fetched_offers_no_button() -> None:
    fca = never_fetched(permissions=("payment_method",))
    at = check_id(open_page(PAGE, "finance"), fca, "100.00", refresh=True)
    no_exceptions(at)
    assert "UNAVAILABLE" in markdown(at)
    assert "did not grant access to balances" in markdown(at)
    assert not fetch_button(at)
    assert app().gateway.retrieve_account(fca)["balance_refresh"] is None
