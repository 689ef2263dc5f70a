"""Collect keeps the tab the person switches to in the address: switch to Open requests, reload,
and Open requests is still open (the address kept the tab the page was opened on, ?tab=open or
none, so a reload or a copied link opened another tab). Back and Forward walk the tabs switched
to, and Back from another page comes to the tab left. Headless Chromium: AppTest cannot click a
tab, and a reload is a new session."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.browser.conftest import sign_in
from tests.browser.test_config_to_conversion_journey import open_page, settle

NEW, OPEN, QUEUE = "New request", "Open requests", "Microdeposit queue"
NAMES = {NEW: None, OPEN: "open", QUEUE: "queue"}


def shows(page: Any, tab: str) -> None:
    """``tab`` is open and the address names it (the first tab: no ?tab=)."""
    settle(page)
    selected = page.get_by_role("tab", selected=True)
    selected.wait_for()
    assert str(selected.inner_text()).strip().endswith(tab), (selected.inner_text(), page.url)
    assert parse_qs(urlsplit(page.url).query).get("tab", [None])[0] == NAMES[tab], page.url
    body = page.inner_text("body")
    assert "Traceback" not in body and "StreamlitAPIException" not in body


def click_tab(page: Any, tab: str) -> None:
    page.get_by_role("tab", name=re.compile(re.escape(tab))).click()
    shows(page, tab)


def test_the_tab_switched_to_survives_a_reload_a_link_back_and_forward(
    page: Any, app_url: str
) -> None:
    sign_in(page, app_url, "ops", "fcops-ops-demo")
    open_page(page, "Collect accounts")
    shows(page, NEW)

    click_tab(page, OPEN)
    page.get_by_label("Find a request").first.wait_for()  # its content is drawn
    page.reload()
    shows(page, OPEN)

    click_tab(page, QUEUE)
    page.goto(page.url)  # the copied link, in a new session
    shows(page, QUEUE)
    page.go_back()  # the switch before
    shows(page, OPEN)
    page.go_forward()
    shows(page, QUEUE)

    click_tab(page, NEW)
    page.reload()
    shows(page, NEW)

    page.goto(f"{app_url}/collect?tab=open")  # Home's card link
    shows(page, OPEN)
    open_page(page, "Accounts")
    assert "tab=" not in page.url
    page.go_back()  # to the tab left
    shows(page, OPEN)
    click_tab(page, QUEUE)  # the tab bar follows clicks after a Back too
