"""Ownership review and Transactions at ``?account=cus_…``: their boxes take a customer ID and find
the customer's accounts, but the address refused one ("paste a fca_… ID"). Now the address is
looked up as the box looks it up (the same service call): the customer's one account opens,
several are the box's pick (and the pick goes into the address, as an account's does), and an
unknown customer gets the box's sentence."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import jobs_settled, no_exceptions, open_page, typed_in
from tests.app.test_first_run import fresh_store, mirrored  # noqa: F401  (fixture)
from tests.app.test_pages_follow_jobs import active_jobs, slow_stripe  # noqa: F401  (fixture)
from tests.app.test_transactions_page import _param, demo_accounts  # noqa: F401  (fixture)

OWN, TXN = "pages/ownership.py", "pages/transactions.py"
UNKNOWN = "cus_NoSuchCustomer0001"
REFUSED = "paste a fca_"  # the address's old refusal


def at_address(page: str, value: str) -> AppTest:
    """A new session (a link, a reload, a new tab) at ``?account=value``."""
    at = open_page(page, "ops")
    at.query_params["account"] = value
    at.run()
    no_exceptions(at)
    assert not any(REFUSED in e.value for e in at.error), [e.value for e in at.error]
    return at


def customers_address(page: str, customers: dict[str, str], kind: str) -> tuple[str, AppTest]:
    """The customer of ``kind`` ("one" account, or "several") and ``page`` at their address."""
    customer = customers[kind]
    return customer, at_address(page, customer)


def said(at: AppTest) -> list[str]:
    """The page's errors, without the Stripe request ID (new at every call)."""
    return [re.sub(r" \(Stripe request [^)]*\)", "", e.value) for e in at.error]


def pick_kept_then_back(at: AppTest, picker: str, options: list[str], customer: str) -> None:
    """The last of the customer's accounts picked in ``picker``: it goes into the address, as a
    picked fca_ does; then Back, to the customer's address again."""
    picked = options[-1].rsplit(" · ", 1)[-1]
    at.selectbox(key=picker).set_value(picked).run()
    no_exceptions(at)
    assert _param(at, "account") == picked and at.subheader  # as a picked fca_ is kept
    at.query_params["account"] = customer  # Back: the customer's pick again
    at.run()
    no_exceptions(at)


# --------------------------------------------------------------------------- Ownership review


def own_box(value: str) -> AppTest:
    return typed_in(OWN, "own_id_input", value, press="Check")


def own_options(at: AppTest) -> list[str] | None:
    picks = [s for s in at.selectbox if s.key == "own_choice"]
    return list(picks[0].options) if picks else None


@pytest.fixture(scope="module")
def own_customers(demo_accounts: dict[str, list[Any]]) -> dict[str, str]:  # noqa: F811
    """A customer with one account and one with several, as the box's own lookup finds them."""
    from pages import _runtime as runtime
    from services.auth import SYSTEM
    from services.usecases import browse_accounts
    from services.usecases import review_ownership as orv

    svc = runtime.get_app().services
    rows = browse_accounts.list_accounts(svc, SYSTEM, page_size=500).rows
    found: dict[str, str] = {}
    for customer in sorted({r.customer_id for r in rows if r.customer_id}):
        pick = orv.find_account(svc, SYSTEM, customer)
        found.setdefault("one" if pick.account_id else "several", customer)
        if len(found) == 2:
            return found
    pytest.fail(f"the demo world lacks a customer with one account or several: {found}")


def test_ownership_opens_the_one_account_of_the_address_s_customer(
    own_customers: dict[str, str],
) -> None:
    customer, at = customers_address(OWN, own_customers, "one")
    box = own_box(customer)
    assert at.subheader and [h.value for h in at.subheader] == [h.value for h in box.subheader]
    assert at.text_input(key="own_id_input").value == customer
    assert _param(at, "account") == customer  # the link is not rewritten (Back would return here)


def test_ownership_offers_the_box_s_pick_for_the_address_s_customer_and_the_pick_is_kept(
    own_customers: dict[str, str],
) -> None:
    customer, at = customers_address(OWN, own_customers, "several")
    options = own_options(at)
    assert options and options == own_options(own_box(customer))
    assert not at.subheader
    pick_kept_then_back(at, "own_choice", options, customer)
    assert own_options(at) == options and not at.subheader


def test_ownership_says_of_an_unknown_customer_in_the_address_what_the_box_says() -> None:
    at = at_address(OWN, UNKNOWN)
    assert said(at) and said(at) == said(own_box(UNKNOWN))
    assert UNKNOWN in said(at)[0] and not at.subheader


# --------------------------------------------------------------------------- Transactions


def txn_picker(at: AppTest) -> Any:
    return next(s for s in at.selectbox if s.key == "txn_pick")


def txn_box(value: str) -> AppTest:
    """The search box ("Find an account") given ``value``."""
    return typed_in(TXN, "txn_search", value)


@pytest.fixture(scope="module")
def txn_customers(demo_accounts: dict[str, list[Any]]) -> dict[str, str]:  # noqa: F811
    """A customer with one account with the transactions permission and one with several."""
    counts = Counter(
        r.customer_id for r in demo_accounts["subscribed"] + demo_accounts["unsubscribed"]
    )
    one = next((c for c, n in counts.items() if c and n == 1), None)
    several = next((c for c, n in counts.items() if c and n > 1), None)
    assert one and several, counts
    return {"one": one, "several": several}


def test_transactions_opens_the_one_account_of_the_address_s_customer(
    txn_customers: dict[str, str],
) -> None:
    customer = txn_customers["one"]
    box = txn_box(customer)
    (only,) = txn_picker(box).options
    at = at_address(TXN, customer)
    assert at.subheader and "transactions stored" in " ".join(c.value for c in at.caption)
    assert txn_picker(at).value == only.rsplit(" · ", 1)[-1]  # the picker names it
    assert at.text_input(key="txn_search").value == customer
    assert _param(at, "account") == customer


def test_transactions_offers_the_box_s_pick_for_the_address_s_customer_and_the_pick_is_kept(
    txn_customers: dict[str, str],
) -> None:
    customer, at = customers_address(TXN, txn_customers, "several")
    picker = txn_picker(at)
    assert len(picker.options) > 1 and picker.options == txn_picker(txn_box(customer)).options
    assert picker.value is None and not at.subheader
    pick_kept_then_back(at, "txn_pick", list(picker.options), customer)
    assert txn_picker(at).value is None and not at.subheader


def test_transactions_says_of_an_unknown_customer_in_the_address_what_the_box_says() -> None:
    at = at_address(TXN, UNKNOWN)
    box = txn_box(UNKNOWN)
    assert txn_picker(at).placeholder == txn_picker(box).placeholder == "No account matches"
    assert not at.error and not at.subheader


@pytest.mark.usefixtures("slow_stripe")
def test_transactions_opens_the_address_s_customer_s_one_account_once_the_first_sync_ends(
    txn_customers: dict[str, str], fresh_store: None  # noqa: F811  (fresh_store: after the sync above)
) -> None:
    """On a brand-new store the address's customer has no account yet: the box was filled but,
    once the first account sync ended, the customer's one account waited to be picked (on a
    store that had it, it opens at once)."""
    customer = txn_customers["one"]
    at = at_address(TXN, customer)  # the first account sync is still running (Stripe is slow)
    assert active_jobs("accounts.sync"), "the sync ended before the page could wait for it"
    assert at.text_input(key="txn_search").value == customer and not at.subheader
    # not "No account matches": the customer's accounts are still being read
    assert txn_picker(at).placeholder == (
        "Still reading the accounts from Stripe: the customer's account opens when that ends"
    )
    jobs_settled(at)
    no_exceptions(at)
    assert mirrored() > 0
    (only,) = txn_picker(at).options
    assert at.subheader, "the customer's one account is open"
    assert txn_picker(at).value == only.rsplit(" · ", 1)[-1]
    assert _param(at, "account") == customer  # the link itself is not rewritten
