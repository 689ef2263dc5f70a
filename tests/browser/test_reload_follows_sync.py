"""A manager starts an intent sync on Conversion and reloads the tab while it runs (a reload is a
new Streamlit session: nothing of the old one is left). The reloaded page follows the same job:
its progress line is there, "Sync intents" is disabled instead of offering it again, and when the
job ends the page says what it read."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.client import Simulator
from tests.browser.conftest import SANDBOX_URL, sign_in, wait_idle

pytestmark = pytest.mark.browser
PROGRESS = "Reading intents from Stripe"


def test_a_reload_mid_sync_follows_the_running_job(app_url: str, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        sign_in(page, app_url, "manager", "fcops-manager-demo")
        page.get_by_test_id("stSidebar").get_by_role("link", name="Conversion", exact=True).click()
        wait_idle(page)
        main = page.locator('[data-testid="stMain"]')
        # A first visit on a store never synced starts a sync of its own: let it end first.
        main.get_by_text(PROGRESS).wait_for(state="detached", timeout=90_000)
        sync = main.get_by_role("button", name="Sync intents")
        sync.wait_for()
        assert sync.is_enabled()

        main.get_by_text("Full rescan").click()  # a new job, not this minute's finished one
        wait_idle(page)
        Simulator(SANDBOX_URL).force_faults("slow", 2, seconds=4.0)  # it outlives the reload
        sync.click()
        main.get_by_text(PROGRESS).wait_for(timeout=30_000)

        page.reload()
        wait_idle(page, timeout=60_000)
        main = page.locator('[data-testid="stMain"]')
        main.get_by_text(PROGRESS).wait_for(timeout=30_000)
        assert main.get_by_text("runs in the background").count() > 0
        assert main.get_by_role("button", name="Sync intents").is_disabled()
        page.screenshot(path="artifacts/reload_follows_sync.png", full_page=True)

        # The job's own sentence, said once it ended, in an alert (not the progress line's text).
        main.locator('[data-testid="stAlert"]').filter(has_text="intents").first.wait_for(
            timeout=90_000
        )
        wait_idle(page)
        assert main.get_by_text(PROGRESS).count() == 0
        assert main.get_by_role("button", name="Sync intents").is_enabled()
    finally:
        Simulator(SANDBOX_URL).clear_faults()
        context.close()
