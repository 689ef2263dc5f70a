"""Finance starts a batch check in the browser, closes the tab while it runs, and finds the
result on the page when coming back in a new session: the check is a background job."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.browser.conftest import sign_in, upload_batch, wait_idle
from tests.browser.test_batch_journey import linked_account

pytestmark = pytest.mark.browser
UNKNOWN = 300  # one request each at the sandbox's pace: longer than the page waits


def metrics(page: Any) -> dict[str, str]:
    main = page.locator('[data-testid="stMain"]')
    return {
        m.locator('[data-testid="stMetricLabel"]').inner_text().strip(): m.locator(
            '[data-testid="stMetricValue"]'
        ).inner_text()
        for m in main.locator('[data-testid="stMetric"]').all()
    }


def start_batch(page: Any, name: str, tag: str) -> None:
    """Finance, signed in: upload one funded row and UNKNOWN unknown IDs as ``name``, click Run
    and wait until the check has started."""
    funded = linked_account(prefetch=True)
    rows = ["id,amount,currency,reference", f"{funded['id']},1.00,usd,small"]
    rows += [f"fca_{n:020d}{tag},1.00,usd,unknown {n}" for n in range(UNKNOWN)]
    upload_batch(page, name, rows, f"Ready: {name} has {UNKNOWN + 1} rows")
    page.get_by_role("button", name="Run batch check").click()
    page.get_by_text("Checked 0 of").or_(page.get_by_text("Checking")).or_(
        page.get_by_text("Starting…")
    ).or_(page.get_by_text("Queued…")).first.wait_for(timeout=30_000)


def assert_whole_batch(page: Any) -> None:
    """The result of :func:`start_batch`'s file: every row, the funded one checked."""
    summary = metrics(page)
    assert summary["Rows"] == f"{UNKNOWN + 1}"
    assert summary["Checked"] == "1" and summary["Errors"] == f"{UNKNOWN}"
    assert "Traceback" not in page.content()


def test_a_batch_started_in_the_browser_finishes_after_the_tab_is_closed(
    app_url: str, browser: Any
) -> None:
    first = browser.new_context(viewport={"width": 1400, "height": 1600})
    page = first.new_page()
    page.set_default_timeout(30_000)
    sign_in(page, app_url, "finance", "fcops-finance-demo")
    start_batch(page, "big.csv", "gone")
    started = time.monotonic()
    first.close()  # the tab goes away mid-run

    second = browser.new_context(viewport={"width": 1400, "height": 1600})
    try:
        page = second.new_page()
        page.set_default_timeout(30_000)
        sign_in(page, app_url, "finance", "fcops-finance-demo")
        page.get_by_test_id("stSidebar").get_by_role("link", name="Batch check", exact=True).click()
        # Either it is still running (the page follows it) or it is done; then the result shows.
        page.get_by_text("Money at risk").wait_for(timeout=90_000)
        wait_idle(page)
        assert time.monotonic() - started > 3  # it did not finish before the tab closed
        assert_whole_batch(page)
    finally:
        second.close()


def test_leaving_while_a_batch_starts_and_coming_back_shows_it(app_url: str, browser: Any) -> None:
    """Finance clicks Run, goes to another page at once (the page was still waiting for a small
    batch to finish), and comes back in the same tab: the batch is followed and its result
    shows, not an empty form that invites running it again."""
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        sign_in(page, app_url, "finance", "fcops-finance-demo")
        start_batch(page, "away.csv", "away")
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_role("link", name="Balance check", exact=True).click()  # mid-wait
        page.get_by_role("heading", name="Balance check").wait_for()
        wait_idle(page)
        sidebar.get_by_role("link", name="Batch check", exact=True).click()
        page.get_by_role("heading", name="Batch check").wait_for()
        # Still running (followed, with its file named) or done (its result, with its file named).
        page.get_by_text("away.csv").first.wait_for(timeout=15_000)
        page.get_by_text("Money at risk").wait_for(timeout=90_000)
        wait_idle(page)
        assert_whole_batch(page)
    finally:
        context.close()
