"""Ops follows Blocked accounts' link to the customer's accounts, then presses Back once and is
on Blocked accounts again. The Accounts page used to take ``?customer=`` out of the URL on
arrival, which the browser records as one more history entry, so Back needed two presses.
Headless Chromium: AppTest has no browser history."""

from __future__ import annotations

import re

from tests.browser.conftest import sign_in
from tests.browser.test_config_to_conversion_journey import open_page, settle


def test_back_from_a_blocked_accounts_link_returns_in_one_press(  # type: ignore[no-untyped-def]
    page, app_url
) -> None:
    sign_in(page, app_url, "ops", "fcops-ops-demo")
    open_page(page, "Blocked accounts")
    page.get_by_text("Sync outcomes").wait_for()
    picker = page.get_by_test_id("stSelectbox").filter(has_text="Blocked account")
    picker.wait_for(timeout=60_000)  # the first visit reads the debit outcomes from Stripe
    picker.click()
    page.get_by_role("option").first.click()
    settle(page)
    page.get_by_role("link", name="Open the customer's accounts").click()
    settle(page)
    page.wait_for_url(re.compile(r"/accounts"))
    page.get_by_text(re.compile(r"^Accounts of ")).wait_for()
    settle(page)  # the page's first runs are done: nothing more changes the address

    page.go_back()
    settle(page)
    page.wait_for_url(re.compile(r"/blocked(\?|$)"))
    page.get_by_role("heading", name="Blocked accounts").wait_for()
