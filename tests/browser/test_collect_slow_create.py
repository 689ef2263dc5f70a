"""Ops creates a link while Stripe is slow: a spinner says what is being created, and a reload
meanwhile says it is still being created and then shows the link (it showed nothing, and the
next click made a second link). Headless Chromium on a real server: a reload is a new session."""

from __future__ import annotations

import re
import secrets
import time

from sandbox.client import Simulator
from tests.browser.conftest import SANDBOX_URL, sign_in
from tests.browser.test_collect_reload import shown_link
from tests.browser.test_config_to_conversion_journey import new_customer, open_page, settle
from tests.browser.test_users_journey import choose


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


CREATING = re.compile(r"The link you asked for at .*?\((\d+) s ago\) is still being created")


def creating_ago(pg) -> int:  # type: ignore[no-untyped-def]
    note = pg.get_by_text(CREATING).first
    note.wait_for(timeout=10_000)
    found = CREATING.search(note.inner_text())
    assert found, note.inner_text()
    return int(found.group(1))


def test_a_create_for_a_customer_found_by_id_starts_at_once_and_is_followed_after_f5(  # type: ignore[no-untyped-def]
    page, app_url
) -> None:
    """The customer chosen by searching its cus_ ID: every run looks it up in Stripe, and the
    create waited behind that lookup (its only spinner "Searching for the customer…", 8 s), so
    an F5 then lost it: no message, nothing at Stripe. It starts first now; after the F5 the
    page says it is being created, its age counting up, then shows the link."""
    sign_in(page, app_url, "ops", "fcops-ops-demo")
    open_page(page, "Collect accounts")
    new_customer(page, f"slow-id-{secrets.token_hex(3)}@example.com")
    page.wait_for_url(re.compile(r"[?&]customer=cus_"))
    found = re.search(r"cus_\w+", page.url)
    assert found
    customer = found.group(0)
    page.goto(f"{app_url}/collect")  # a fresh page: the customer is found by its ID
    settle(page)
    search = page.get_by_label("Find a customer by name, email or ID")
    search.fill(customer)
    search.press("Enter")
    settle(page)
    choose(page, "Matching customers", customer)
    settle(page)
    simulator = Simulator(SANDBOX_URL)
    simulator.force_faults("slow", 3, seconds=7)
    try:
        page.get_by_role("button", name="Create link for the customer").click()
        page.get_by_text("Creating the link at Stripe…").wait_for(timeout=3_000)
        page.reload()
        first = creating_ago(page)
        began = time.monotonic()
        later = first
        # It counts up by the follow-up's runs (every 2 s; a busy machine may skip one): read it
        # until it has moved on, while the create (7 s at Stripe) is still running.
        while later == first and time.monotonic() - began < 4.5:
            page.wait_for_timeout(250)
            later = creating_ago(page)
        waited = time.monotonic() - began
        assert first < later <= first + waited + 3, (first, later, waited)
        link = shown_link(page)
        page.get_by_text("was created at Stripe: here it is").wait_for()
        assert link.startswith("https://checkout.stripe.com/")
    finally:
        simulator.clear_faults()
