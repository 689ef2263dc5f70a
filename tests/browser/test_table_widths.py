"""Tables fit a 1,400 px wide window with the sidebar open: no sideways scroll, measured in
Chromium on the grid's own scroller (its scroll width against its width).

AppTests add up the columns' configured widths (tests/app/conftest.py PAGE_WIDTH); this is
where the page draws them. Users' Sign-in column was cut ("Locked until 23:52 UTC (7 wrong
passwords, 1 m…"). Batch check's rows table was 1,322 px wide in 938 px (the reasons,
reference and ID were behind a sideways scroll); a picked row shows the whole of it below.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine

from services import users
from services.adapters import sign_in_store
from services.rules.sign_in_throttle import POLICY, user_key
from tests.browser.conftest import APP_DATA, sign_in, upload_batch, wait_idle
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


CURSOR = """() => getComputedStyle(
    document.querySelector('[data-testid="stMain"] [data-testid="stDataFrame"] canvas')).cursor"""
TEXT_PX = """(text) => { const c = document.createElement('canvas').getContext('2d');
    const main = document.querySelector('[data-testid="stMain"]');
    c.font = '14px ' + getComputedStyle(main).fontFamily; return c.measureText(text).width; }"""


def column_edges(page: Any, grid: Any) -> list[float]:
    """The x of each column's right edge in ``grid``, where its header shows the resize cursor
    (the grid draws on a canvas: this is how its columns can be measured), then the grid's."""
    box = grid.bounding_box()
    hits: list[list[int]] = []
    for x in range(int(box["x"]), int(box["x"] + box["width"]), 2):
        page.mouse.move(x, box["y"] + 18)
        if page.evaluate(CURSOR) == "col-resize":
            if hits and x - hits[-1][-1] <= 6:
                hits[-1].append(x)
            else:
                hits.append([x])
    edges = [sum(xs) / len(xs) for xs in hits]
    return edges + [box["x"] + box["width"]]  # the last column ends at the grid's end at most


def locked_user(name: str, *, clear: bool = False) -> None:
    """Add ``name`` to the app's users file with as many wrong passwords as lock it and a try
    refused during the lockout (its store is the app_url server's); ``clear``: take them both
    out again."""
    data = Path(APP_DATA["dir"])
    engine = create_engine(f"sqlite:///{data / 'fcops-sandbox.db'}")
    try:
        if clear:
            sign_in_store.clear(engine, [user_key(name)])
            users.remove_user(data / "users.yaml", name)
            return
        users.add_user(data / "users.yaml", username=name, password="plum-orbit-canvas-42",
                       role="ops", name="Wide Table Colleague",
                       email=f"{name}.colleague@finance-operations.example.com")
        for i in range(POLICY.lock_after):
            sign_in_store.record_failure(engine, [user_key(name)], time.time() - 60 + i, POLICY)
        sign_in_store.record_refused(engine, [user_key(name)])  # a try during the lockout
    finally:
        engine.dispose()


def pick_first_row(page: Any, grid: Any) -> None:
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    grid.click(position={"x": 16, "y": 52})  # the first row's picker, under the header
    wait_idle(page)


def test_batch_check_audit_log_and_users_tables_fit_1400_px_beside_the_sidebar(
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
        upload_batch(page, "w.csv", rows, "Ready: w.csv has 4 rows")
        page.get_by_role("button", name="Run batch check").click()
        page.get_by_text("Money at risk").wait_for()
        wait_idle(page)
        widths = drawn_grids(page, 2)  # the problems, then every row
        assert len(widths) == 2 and all(s <= w for s, w in widths), widths

        pick_first_row(page, page.locator('[data-testid="stDataFrame"]').last)
        detail = page.locator(".st-key-batch_row_detail")
        detail.wait_for()
        assert funded["id"] in detail.inner_text()  # the whole ID, which the column cuts

        page.get_by_test_id("stSidebar").get_by_role("link", name="Audit log", exact=True).click()
        page.get_by_text("matching entries").wait_for()
        wait_idle(page)
        widths = drawn_grids(page, 1)
        assert len(widths) == 1 and all(s <= w for s, w in widths), widths
        # The table's toolbar, shown on hover, covered the end of "Export CSV (all matching rows)".
        page.locator('[data-testid="stDataFrame"]').first.hover()
        toolbar = page.get_by_test_id("stElementToolbar").first
        toolbar.wait_for()
        page.wait_for_timeout(500)  # it fades in
        bar = toolbar.bounding_box()
        export = page.get_by_role("button", name="Export CSV (all matching rows)").bounding_box()
        assert bar and export and (
            bar["x"] >= export["x"] + export["width"] or bar["y"] >= export["y"] + export["height"]
        ), (bar, export)
        pick_first_row(page, page.locator('[data-testid="stDataFrame"]').first)
        # The newest entry (a sign-in); its box can be attached before its text is drawn.
        expect(page.locator(".st-key-audit_entry")).to_contain_text("By: admin as admin")

        # Users: the Sign-in column read "Locked until 23:52 UTC (7 wrong passwords, 1 m…",
        # cut at 1,400 px. A locked user (a username of its own) reads whole, with no scroll.
        name = f"wide{secrets.token_hex(3)}"
        try:
            locked_user(name)
            page.get_by_test_id("stSidebar").get_by_role("link", name="Users", exact=True).click()
            page.get_by_text("who sign in with a password").wait_for()
            wait_idle(page)
            widths = drawn_grids(page, 1)
            assert widths and all(s <= w for s, w in widths), widths
            grid = page.locator('[data-testid="stDataFrame"]').first
            states = grid.locator('td[aria-colindex="5"]').all_text_contents()  # Sign-in
            assert any(re.fullmatch(r"Locked until \d\d:\d\d UTC", t) for t in states), states
            edges = column_edges(page, grid)
            width = edges[4] - edges[3]  # the Sign-in column, the 5th
            needed = max(page.evaluate(TEXT_PX, t) for t in states) + 16  # and its padding
            assert needed <= width, (needed, width, states)  # read whole, not cut
        finally:
            locked_user(name, clear=True)
    finally:
        context.close()
