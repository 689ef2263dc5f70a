"""Ops cancels a request while Stripe is slow and reloads: the request says its cancel is still
running at Stripe, asked "(N s ago)", and N counts up while the person watches (it stayed at the
age of the reload: "(3 s ago)" for as long as Stripe took). Headless Chromium on a real server:
a reload is a new session, and the count is a fragment's rerun, which AppTest does not run."""

from __future__ import annotations

import re
import secrets
import time

from sandbox.client import Simulator
from tests.browser.conftest import SANDBOX_URL, sign_in
from tests.browser.test_config_to_conversion_journey import new_customer, open_page, settle
from tests.browser.test_users_journey import choose

SETI = re.compile(r"seti_\w+")
ASKED = re.compile(r"Cancel of (seti_\w+) asked at .*?\((\d+) s ago\)")


def asked_ago(pg, intent_id: str) -> int:  # type: ignore[no-untyped-def]
    note = pg.get_by_text(f"Cancel of {intent_id} asked at").first
    note.wait_for(timeout=10_000)
    found = ASKED.search(note.inner_text())
    assert found and found.group(1) == intent_id, note.inner_text()
    return int(found.group(2))


def test_a_running_cancels_age_counts_up_after_a_reload(page, app_url) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, app_url, "ops", "fcops-ops-demo")
    open_page(page, "Collect accounts")
    new_customer(page, f"cancel-follow-{secrets.token_hex(3)}@example.com")
    page.get_by_role("button", name="Create SetupIntent").click()
    settle(page)
    page.wait_for_url(re.compile(r"[?&]request=seti_"))
    found = SETI.search(page.url)
    assert found
    intent_id = found.group(0)
    # Both "Flow configuration" tiles (step 2's and the request's) show their whole figure at
    # 1,400 px: "fcops' built-in defaults" was cut to "fcops' built-…".
    tiles = page.locator('[data-testid="stMetric"]').filter(has_text="Flow configuration")
    assert tiles.count() == 2, tiles.count()
    for tile in tiles.all():
        cut = tile.locator('[data-testid="stMetricValue"]').evaluate(
            "v => [v, ...v.querySelectorAll('*')].filter(e => e.scrollWidth > e.clientWidth + 1)"
            ".map(e => e.tagName)"
        )
        assert cut == [], (tile.inner_text(), cut)

    # Open requests afresh: the address naming the request would read it from slow Stripe first.
    page.goto(f"{app_url}/collect?tab=open")
    settle(page)
    page.get_by_role("button", name="Sync from Stripe").filter(visible=True).first.click()
    settle(page)
    choose(page, "Request to cancel", intent_id)
    # The button's whole label fits beside the Reason box at 1,400 px (it read "Cancel …", while
    # the page's sentences say "press Cancel request").
    button = page.get_by_role("button", name="Cancel request").filter(visible=True).first
    clipped = button.evaluate(
        "b => [b, ...b.querySelectorAll('*')].filter(e => e.scrollWidth > e.clientWidth + 1)"
        ".map(e => e.tagName)"
    )
    assert clipped == [], clipped
    simulator = Simulator(SANDBOX_URL)
    simulator.force_faults("slow", 2, seconds=15)
    try:
        page.get_by_role("button", name="Cancel request").filter(visible=True).first.click()
        page.wait_for_timeout(2_000)  # the click's run is waiting on Stripe
        simulator.clear_faults()  # only the cancel is slow
        page.goto(f"{app_url}/collect?tab=open")  # F5: a new session
        first = asked_ago(page, intent_id)
        began = time.monotonic()
        later = first
        # It counts up by the fragment's runs (every 2 s; a busy machine may skip one): read it
        # until it has moved on, while the cancel (15 s at Stripe) is still running.
        while later == first and time.monotonic() - began < 6:
            page.wait_for_timeout(250)
            later = asked_ago(page, intent_id)
        waited = time.monotonic() - began
        page.screenshot(path="/tmp/fcops-cancel-follow.png", full_page=True)
        assert first < later <= first + waited + 3, (first, later, waited)
    finally:
        simulator.clear_faults()
