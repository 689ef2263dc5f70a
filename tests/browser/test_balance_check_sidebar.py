"""Finance checks a debit, types another amount, goes to Accounts by the sidebar and comes back
by the sidebar: the check is shown again with the amount as typed, and the address has the check
back in place of the sidebar's entry, so Back leaves for Accounts (not to Accounts with a check
in its address, nor to an empty form first), Forward returns and a reload checks it again.
Before, the sidebar showed the empty form ("Customer", no amount, no verdict). Headless
Chromium: AppTest has no browser history."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import open_check
from tests.browser.test_balance_check_reload import history_length
from tests.browser.test_batch_journey import linked_account
from tests.browser.test_config_to_conversion_journey import settle

pytestmark = pytest.mark.browser
OK = "OK — the balance covers this debit"


def by_the_sidebar(page: Any, title: str) -> None:
    """A person's press (down, then up a moment later): the amount box loses focus, and its
    value reaches the server, on the press; a zero-length click raced that and stayed put."""
    page.get_by_test_id("stSidebar").get_by_role("link", name=title, exact=True).click(delay=120)
    settle(page)


def test_back_by_the_sidebar_shows_the_check_left_and_back_leaves(page: Any, app_url: str) -> None:
    fca = linked_account(prefetch=True)["id"]
    open_check(page, app_url, fca, "12.34")
    page.get_by_text(OK).wait_for()
    checked = page.url
    assert f"check={fca}" in checked
    page.get_by_role("textbox", name="Debit amount").fill("56.78")  # typed, not checked
    entries = history_length(page)

    by_the_sidebar(page, "Accounts")
    page.wait_for_url(re.compile(r"/accounts$"))
    by_the_sidebar(page, "Balance check")
    page.get_by_text(OK).wait_for()
    assert f"$12.34 on {fca}" in page.inner_text("body")
    assert page.get_by_role("textbox", name="Debit amount").input_value() == "56.78"
    page.wait_for_url(checked)  # the check back in the address ...
    assert history_length(page) == entries + 2  # ... in place: Accounts, Balance check

    page.go_back()
    page.wait_for_url(re.compile(r"/accounts$"))
    settle(page)
    page.go_forward()
    page.wait_for_url(checked)
    settle(page)
    page.get_by_text(OK).wait_for()
    page.reload()
    settle(page)
    page.get_by_text("Your last check of this debit").wait_for()
    assert f"$12.34 on {fca}" in page.inner_text("body")


def test_quick_sidebar_trips_after_typing_keep_the_check_and_the_boxes(
    page: Any, app_url: str
) -> None:
    """The tester's trip, with Playwright's plain (zero-length) clicks: type in the amount, go
    to Accounts and back by the sidebar at once. The typed value and the click reach the server
    in either order; in 2 of 6 trips the page came back as plain /balance_check with no ID, no
    amount and no verdict. Repeated: every trip keeps the check, the boxes and the address."""
    fca = linked_account(prefetch=True)["id"]
    open_check(page, app_url, fca, "12.34")
    page.get_by_text(OK).wait_for()
    for typed in ("77", "78", "79"):
        page.get_by_role("textbox", name="Debit amount").fill(typed)
        for title in ("Accounts", "Balance check"):
            page.get_by_test_id("stSidebar").get_by_role("link", name=title, exact=True).click()
            settle(page)
        page.wait_for_timeout(500)
        settle(page)
        assert page.get_by_role("textbox", name="ID to check").input_value() == fca, typed
        assert page.get_by_role("textbox", name="Debit amount").input_value() == typed
        assert f"$12.34 on {fca}" in page.inner_text("body"), typed
        page.wait_for_url(re.compile(rf"check={fca}&amount=12.34"))
