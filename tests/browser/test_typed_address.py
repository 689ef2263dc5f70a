"""A typed address no page has says so, and a page's address in other letters' case opens it.

Before: /nope and /Users (the Users page is /users) both ran Home without a word of why (or
under Streamlit's "Page not found" pop-up, which a rerun could take away). Now /Users opens
Users at /users with its query, and /nope says "There is no page at /nope; here is Home."
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import sign_in, submit_login, wait_idle

pytestmark = pytest.mark.browser


def opened(page: Any, url: str) -> str:
    page.goto(url)
    wait_idle(page, timeout=90_000)
    page.wait_for_timeout(1_000)  # a rerun the browser asks for (the cookie's) has come
    wait_idle(page)
    return page.inner_text("body")


def test_a_page_in_other_letters_case_opens_at_its_own_address(app_url: str, page: Any) -> None:
    sign_in(page, app_url, "admin", "fcops-admin-demo")
    body = opened(page, f"{app_url}/Users?x=1")
    page.wait_for_url(f"{app_url}/users?x=1")
    assert "Page not found" not in body and "There is no page" not in body
    page.get_by_role("heading", name="Users").first.wait_for()


def test_an_address_no_page_has_says_so_signed_in_and_out(app_url: str, page: Any) -> None:
    body = opened(page, f"{app_url}/nope")
    assert "There is no page at /nope; sign in to open Home." in body, body
    submit_login(page, "ops", "fcops-ops-demo")
    body = opened(page, f"{app_url}/nope")  # signed in (the cookie's sign-in)
    assert "There is no page at /nope; here is Home." in body, body
    assert "Page not found" not in body
    page.get_by_text("Find customers and their linked bank accounts").wait_for()  # Home (ops)
    page.wait_for_url(f"{app_url}/")


def test_a_sidebar_title_opens_its_page_and_an_unknown_path_drops_its_query(
    app_url: str, page: Any
) -> None:
    """/audit_log (the sidebar's "Audit log"; the page is /audit) opened Home and kept
    "?actor=<script>" in Home's address."""
    sign_in(page, app_url, "admin", "fcops-admin-demo")
    body = opened(page, f"{app_url}/audit_log")
    page.wait_for_url(f"{app_url}/audit")
    assert "There is no page" not in body
    page.get_by_role("heading", name="Audit log").first.wait_for()
    body = opened(page, f"{app_url}/nope?actor=%3Cscript%3E")
    assert "There is no page at /nope; here is Home." in body, body
    page.wait_for_url(f"{app_url}/")  # the query meant for /nope is not Home's
