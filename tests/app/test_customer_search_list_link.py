"""A Stripe Dashboard link that names no customer (the customer list's,
``https://dashboard.stripe.com/test/customers``) pasted into a customer search was searched as
text ("No customer matches"). Accounts, Collect and Balance check now say in one sentence that
the link names no customer and to paste the customer's own link or cus_ ID; a customer's own
link is still searched by its ID."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from services.rules.ids import NO_CUSTOMER_IN_LINK
from tests.app.conftest import jobs_settled, no_exceptions, open_page

LINKS = [
    "https://dashboard.stripe.com/test/customers",
    "https://dashboard.stripe.com/acct_1Nabcdef/test/customers?email=lee",
    "dashboard.stripe.com/customers",
]


def accounts(text: str) -> AppTest:
    at = open_page("pages/accounts.py", "ops")
    jobs_settled(at)  # a fresh store's first sync, whose end reruns the page
    at.text_input(key="acc_term").set_value(text)
    next(b for b in at.button if b.label == "Search").click().run()
    return at


def collect(text: str) -> AppTest:
    at = open_page("pages/collect.py", "ops")
    at.text_input(key="collect_search").set_value(text).run()
    return at


def balance_check(text: str) -> AppTest:
    at = open_page("pages/balance_check.py", "finance")
    at.text_input(key="bc_customer_query").set_value(text).run()
    return at


SEARCHES = {"accounts": accounts, "collect": collect, "balance_check": balance_check}


@pytest.mark.parametrize("page", sorted(SEARCHES))
@pytest.mark.parametrize("link", LINKS)
def test_a_dashboard_link_naming_no_customer_says_so_and_what_to_paste(
    page: str, link: str
) -> None:
    at = SEARCHES[page](link)
    no_exceptions(at)
    said = [e.value for e in at.error] + [i.value for i in at.info]
    assert NO_CUSTOMER_IN_LINK in said, said
    assert not any("No customer matches" in s for s in said), said


def test_the_sentence_is_one_a_person_can_act_on() -> None:
    assert NO_CUSTOMER_IN_LINK.count(". ") == 0 and NO_CUSTOMER_IN_LINK.endswith(".")
    assert "names no customer" in NO_CUSTOMER_IN_LINK and "cus_" in NO_CUSTOMER_IN_LINK
