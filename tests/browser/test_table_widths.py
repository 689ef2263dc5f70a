"""Tables fit a 1,400 px wide window with the sidebar open: no sideways scroll, measured in
Chromium on the grid's own scroller (its scroll width against its width).

AppTests add up the columns' configured widths (tests/app/conftest.py PAGE_WIDTH); this is
where the page draws them. Batch check's rows table was 1,322 px wide in 938 px (the reasons,
reference and ID were behind a sideways scroll); a picked row shows the whole of it below.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import sign_in, wait_idle
from tests.browser.test_batch_journey import linked_account

pytestmark = pytest.mark.browser

GRIDS = """() => [...document.querySelectorAll('[data-testid="stMain"] .dvn-scroller')]
    .map(e => [e.scrollWidth, e.clientWidth])"""


def drawn_grids(page: Any, count: int) -> list[list[int]]:
    """[scroll width, width] of each table in the main column, once ``count`` are drawn."""
    page.wait_for_function(
        f"document.querySelectorAll('[data-testid=\"stMain\"] .dvn-scroller').length >= {count}"
    )
    page.wait_for_timeout(1000)  # the grid sizes its columns after it is attached
    return list(page.evaluate(GRIDS))


def pick_first_row(page: Any, grid: Any) -> None:
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    grid.click(position={"x": 16, "y": 52})  # the first row's picker, under the header
    wait_idle(page)


def test_batch_check_and_audit_log_tables_fit_1400_px_beside_the_sidebar(
    app_url: str, browser: Any
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        sign_in(page, app_url, "admin", "fcops-admin-demo")
        assert page.get_by_test_id("stSidebar").bounding_box()["width"] > 200  # open
        funded = linked_account(prefetch=True)
        never_refreshed = linked_account(prefetch=False)
        rows = [
            "id,amount,currency,reference",
            f"{funded['id']},1.00,usd,Invoice 1001 for March services",
            f"{never_refreshed['id']},5.00,usd,no balance yet",
            "fca_000000000000nobody,5.00,usd,unknown",
            f"{funded['id']},10.00,eur,other currency",  # a second currency: its column shows
        ]
        page.get_by_test_id("stSidebar").get_by_role("link", name="Batch check", exact=True).click()
        wait_idle(page)
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
            files=[{"name": "w.csv", "mimeType": "text/csv", "buffer": "\n".join(rows).encode()}]
        )
        page.get_by_text("Ready: w.csv has 4 rows").wait_for()
        wait_idle(page)
        page.get_by_role("button", name="Run batch check").click()
        page.get_by_text("Money at risk").wait_for()
        wait_idle(page)
        widths = drawn_grids(page, 2)  # the problems, then every row
        assert len(widths) == 2 and all(s <= w for s, w in widths), widths

        pick_first_row(page, page.locator('[data-testid="stDataFrame"]').last)
        detail = page.locator(".st-key-batch_row_detail")
        detail.wait_for()
        assert funded["id"] in detail.inner_text()  # the whole ID the cell shortens

        page.get_by_test_id("stSidebar").get_by_role("link", name="Audit log", exact=True).click()
        page.get_by_text("matching entries").wait_for()
        wait_idle(page)
        widths = drawn_grids(page, 1)
        assert len(widths) == 1 and all(s <= w for s, w in widths), widths
        pick_first_row(page, page.locator('[data-testid="stDataFrame"]').first)
        entry = page.locator(".st-key-audit_entry")
        entry.wait_for()
        assert "By: admin as admin" in entry.inner_text()  # the newest entry (a sign-in)
    finally:
        context.close()
