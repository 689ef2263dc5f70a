"""Ops creates a link while Stripe is slow: a spinner says what is being created, and a reload
meanwhile says it is still being created and then shows the link (it showed nothing, and the
next click made a second link). Headless Chromium on a real server: a reload is a new session."""

from __future__ import annotations

import re
import secrets

from sandbox.client import Simulator
from tests.browser.conftest import SANDBOX_URL, sign_in
from tests.browser.test_collect_reload import shown_link
from tests.browser.test_config_to_conversion_journey import new_customer, open_page, settle


def test_a_slow_create_has_a_spinner_and_a_reload_shows_the_link_when_made(  # type: ignore[no-untyped-def]
    page, app_url
) -> None:
    sign_in(page, app_url, "ops", "fcops-ops-demo")
    open_page(page, "Collect accounts")
    new_customer(page, f"slow-{secrets.token_hex(3)}@example.com")
    page.wait_for_url(re.compile(r"[?&]customer=cus_"))
    Simulator(SANDBOX_URL).force_faults("slow", 1, seconds=6)
    page.get_by_role("button", name="Create link for the customer").click()
    page.get_by_text("Creating the link at Stripe…").wait_for(timeout=5_000)
    page.screenshot(path="/tmp/fcops-slow-create-spinner.png", full_page=True)

    page.reload()
    page.get_by_text("still being created at Stripe").wait_for(timeout=10_000)
    page.screenshot(path="/tmp/fcops-slow-create-reloaded.png", full_page=True)
    # Without a click, the link shows once Stripe has answered (the page follows it).
    link = shown_link(page)
    page.get_by_text("was created at Stripe: here it is").wait_for()
    page.wait_for_url(re.compile(r"[?&]request=cs_"))
    settle(page)
    page.screenshot(path="/tmp/fcops-slow-create-after.png", full_page=True)
    assert link.startswith("https://checkout.stripe.com/")
