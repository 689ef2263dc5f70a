"""Ops creates a link to send a customer, then reloads, goes to another page and back, and
gives the address to a colleague: the same link shows each time. Headless Chromium on a real
server (a reload is a new Streamlit session, which AppTest cannot make)."""

from __future__ import annotations

import re
import secrets

from tests.browser.conftest import sign_in
from tests.browser.test_config_to_conversion_journey import new_customer, open_page, settle

LINK = re.compile(r"https://checkout\.stripe\.com/\S+")


def shown_link(pg) -> str:  # type: ignore[no-untyped-def]
    pg.get_by_text("Send this link to the customer").wait_for()
    code = pg.get_by_test_id("stCode").filter(has_text="checkout.stripe.com").first
    found = LINK.search(code.inner_text())
    assert found, code.inner_text()
    return found.group(0)


def test_a_created_link_survives_a_reload_a_page_change_and_a_colleagues_tab(  # type: ignore[no-untyped-def]
    browser, page, app_url
) -> None:
    sign_in(page, app_url, "ops", "fcops-ops-demo")
    open_page(page, "Collect accounts")
    new_customer(page, f"reload-{secrets.token_hex(3)}@example.com")
    page.get_by_role("button", name="Create link for the customer").click()
    settle(page)
    link = shown_link(page)
    page.wait_for_url(re.compile(r"[?&]request=cs_"))
    address = page.url

    page.reload()
    settle(page)
    assert shown_link(page) == link
    assert "Requests will be created for" in page.inner_text("body")  # same customer chosen
    # The same click after the reload answers with this link (it made a second one before).
    page.get_by_role("button", name="Create link for the customer").click()
    settle(page)
    page.get_by_text("Same request as before").wait_for()
    assert shown_link(page) == link

    open_page(page, "Accounts")
    assert "request=" not in page.url
    open_page(page, "Collect accounts")
    assert shown_link(page) == link
    page.wait_for_url(re.compile(r"[?&]request=cs_"))

    colleague = browser.new_context(viewport={"width": 1400, "height": 1800})
    try:
        other = colleague.new_page()
        other.set_default_timeout(30_000)
        sign_in(other, address, "admin", "fcops-admin-demo")
        settle(other)
        assert shown_link(other) == link
    finally:
        colleague.close()

    page.get_by_role("button", name="Start another request").click()
    settle(page)
    assert "request=" not in page.url
    page.reload()
    settle(page)
    assert page.get_by_text("Send this link to the customer").count() == 0
