"""Ownership review and Transactions keep the open account in the URL (``?account=``), as
Accounts does: a reload, a new tab or a colleague given the URL opens it again. Before, both
pages read the parameter once and removed it, so a reload showed an empty picker."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import no_exceptions, open_page
from tests.app.test_transactions_page import _param, demo_accounts  # noqa: F401  (fixture)

PAGES = {
    "pages/ownership.py": ("own_id_input", "Check"),
    "pages/transactions.py": ("txn_id_input", "Open"),
}


def opened_at(page: str, account_id: str) -> AppTest:
    """A new session (what a reload, a new tab or a shared URL is) at ``?account=…``."""
    at = open_page(page, "ops")
    at.query_params["account"] = account_id
    at.run()
    no_exceptions(at)
    return at


@pytest.mark.parametrize("page", sorted(PAGES))
def test_the_open_account_stays_in_the_url_and_a_new_session_opens_it(
    page: str, demo_accounts: dict[str, list[Any]]  # noqa: F811  (the fixture)
) -> None:
    first, second = (r.id for r in demo_accounts["subscribed"][:2])
    at = opened_at(page, first)
    box, button = PAGES[page]
    assert _param(at, "account") == first  # still there after the link was followed
    assert at.text_input(key=box).value == first
    # The person opens another account: the URL follows, and a reload opens that one.
    at.text_input(key=box).set_value(second)
    next(b for b in at.button if b.label == button).click().run()
    no_exceptions(at)
    assert _param(at, "account") == second
    again = opened_at(page, str(_param(at, "account")))
    assert at.text_input(key=box).value == second and again.text_input(key=box).value == second
    drawn = [h.value for h in again.subheader]  # its view is drawn, not just the box filled
    assert drawn and drawn == [h.value for h in at.subheader]
