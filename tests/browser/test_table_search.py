"""A whole ID pasted into a table's own search box (its toolbar's Search) finds its row.

The grid's search matches the text a cell draws. Batch check's ID cells drew the ID's kind and
its last 8 characters ("fca_…7g8h9i0j") and Jobs' drew the job's ID without its kind, so an ID
pasted from Stripe's Dashboard, an email, a job's note or Audit log found nothing ("0 results").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from tests.browser.conftest import APP_DATA, sign_in, upload_batch, wait_idle
from tests.browser.test_batch_journey import linked_account

pytestmark = pytest.mark.browser

TABLES = '[data-testid="stElementContainer"]:has([data-testid="stDataFrame"])'


def search(page: Any, table: int, typed: str) -> Any:
    """Type ``typed`` into the search box of the main column's ``table``-th table; its "N
    results" line."""
    box = page.locator(f'[data-testid="stMain"] {TABLES}').nth(table)
    grid = box.get_by_test_id("stDataFrame")
    grid.scroll_into_view_if_needed()
    grid.hover()
    box.get_by_test_id("stElementToolbar").get_by_role("button", name="Search").click()
    field = grid.get_by_test_id("search-input")
    field.wait_for()
    field.fill(typed)
    return grid.get_by_test_id("search-result-area")


def newest_job(kind: str) -> str:
    """The ID of the app_url server's newest job of ``kind`` (its store)."""
    engine = create_engine(f"sqlite:///{Path(APP_DATA['dir']) / 'fcops-sandbox.db'}")
    try:
        with engine.connect() as db:
            return str(db.execute(
                text("SELECT id FROM jobs WHERE kind = :k ORDER BY created_at DESC LIMIT 1"),
                {"k": kind},
            ).scalar_one())  # fmt: skip
    finally:
        engine.dispose()


def test_a_pasted_whole_id_finds_its_row_in_batch_checks_and_jobs_tables(
    app_url: str, browser: Any
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        sign_in(page, app_url, "admin", "fcops-admin-demo")
        first, second = linked_account(prefetch=True), linked_account(prefetch=True)
        rows = ["id,amount,currency,reference", f"{first['id']},1.00,usd,one",
                f"{second['id']},2.00,usd,two"]  # fmt: skip
        upload_batch(page, "s.csv", rows, "Ready: s.csv has 2 rows")
        page.get_by_role("button", name="Run batch check").click()
        page.get_by_text("Money at risk").wait_for()
        wait_idle(page)
        # No row failed: the rows' table is the only one. Each ID is in one cell of one row.
        expect(search(page, 0, second["id"])).to_have_text("1 result")

        job = newest_job("balances.batch_check")
        page.get_by_test_id("stSidebar").get_by_role("link", name="Jobs", exact=True).click()
        page.get_by_role("heading", name="Webhook events").wait_for()
        wait_idle(page)
        expect(search(page, 0, job)).to_have_text("1 result")
    finally:
        context.close()
