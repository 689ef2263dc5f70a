"""Collect: choose customer A, choose B, create a link for B; Back leaves the link (B's form),
Back shows A, Back the empty form; Forward A, Forward B, Forward the link again. Before, the page
wrote ?customer= on every run and put ?request= back whenever the URL had none, so Back stayed
on the link and on the customer. Headless Chromium: AppTest has no browser history."""

from __future__ import annotations

import re
import secrets
from typing import Any

from tests.browser.conftest import sign_in
from tests.browser.test_collect_reload import shown_link
from tests.browser.test_config_to_conversion_journey import new_customer, open_page, settle

EMPTY = "Choose or create a customer first (step 1)."


def shows(page: Any, email: str | None, *, link: bool = False) -> None:
    """The page shows ``email``'s customer chosen (None: the empty form) and, with ``link``, the
    link to send; the URL says the same, still so once the page's runs are over."""
    if email is None:
        page.wait_for_url(re.compile(r"/collect$"))
        page.get_by_text(EMPTY).first.wait_for()
    else:
        page.wait_for_url(re.compile(r"[?&]customer=cus_"))
        page.get_by_text(f"Requests will be created for {email}").wait_for()
    settle(page)
    body = page.inner_text("body")
    assert ("request=" in page.url) == link, page.url
    assert ("Send this link to the customer" in body) == link
    assert (email is None) == (EMPTY in body) and "Traceback" not in body


def test_collect_back_and_forward_walk_the_customers_and_the_link(page: Any, app_url: str) -> None:
    sign_in(page, app_url, "ops", "fcops-ops-demo")
    open_page(page, "Collect accounts")
    a, b = (f"back-{n}-{secrets.token_hex(3)}@example.com" for n in "ab")
    new_customer(page, a)
    shows(page, a)
    new_customer(page, b)
    shows(page, b)
    page.get_by_role("button", name="Create link for the customer").click()
    settle(page)
    link = shown_link(page)
    shows(page, b, link=True)
    page.go_back()
    shows(page, b)
    page.go_back()
    shows(page, a)
    page.go_back()
    shows(page, None)
    page.go_forward()
    shows(page, a)
    page.go_forward()
    shows(page, b)
    page.go_forward()
    shows(page, b, link=True)
    assert shown_link(page) == link
