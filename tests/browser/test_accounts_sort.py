"""Sorting the Accounts list by balance in a real browser orders every account numerically,
across pages: page 2 continues page 1 (the sort runs in SQL, not on the 50 rows on screen)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import SANDBOX_URL, sign_in, wait_idle

pytestmark = pytest.mark.browser

MONEY = re.compile(r"^-?\$?[\d,]+(\.\d+)?$")


def cents(text: str) -> int | None:
    """A cell of the Balance column in cents: the grid exports the number it holds ("9233.32")
    or, for a formatted export, what it shows ("$9,233.32"); empty means no balance."""
    text = text.strip()
    if not MONEY.match(text):
        return None
    return int(Decimal(text.replace("$", "").replace(",", "")) * 100)


def link_more_accounts(count: int) -> None:
    """A new customer links ``count`` accounts through the server's sandbox."""
    from bootstrap import SANDBOX_KEY
    from sandbox.client import Simulator
    from services.adapters.gateway import StripeGateway

    gateway = StripeGateway(SANDBOX_KEY, base_url=SANDBOX_URL, max_network_retries=0)
    customer = gateway.create_customer({"name": "Sort Tester"}, idempotency_key=None)
    session = gateway.create_fc_session(
        {
            "account_holder": {"type": "customer", "customer": customer["id"]},
            "permissions": ["balances", "payment_method"],
            "prefetch": ["balances"],
        },
        idempotency_key=None,
    )
    Simulator(SANDBOX_URL).complete_session(session["id"], institution="StripeBank", accounts=count)


def shown_column(page: Any, header: str, tmp_path: Path, name: str) -> list[str]:
    """The ``header`` column of the rows on screen, in screen order, read from the grid's
    accessibility table (the grid draws on a canvas; the table beside it holds the cells of the
    rows in view, each with its row index). The grid's own CSV download is turned off
    (``client.disableDataExport``), so the test scrolls the grid and collects every row."""
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.wait_for()
    page.wait_for_timeout(800)  # the grid draws after it is attached
    table = grid.locator('table[role="grid"]')
    column = table.locator('th[role="columnheader"]', has_text=re.compile(f"^{header}$")).first
    index = column.get_attribute("aria-colindex")
    count = int(table.get_attribute("aria-rowcount") or "1") - 1  # the header row counts
    cells: dict[int, str] = {}
    grid.hover()
    page.mouse.wheel(0, -100_000)  # from the top: the grid keeps its scroll across reruns
    page.wait_for_timeout(300)
    for _ in range(200):
        for row in table.locator("tbody tr[aria-rowindex]").all():
            at = int(row.get_attribute("aria-rowindex") or "0") - 2
            cell = row.locator(f'td[aria-colindex="{index}"]')
            if at >= 0 and cell.count():
                cells[at] = cell.inner_text()
        if len(cells) >= count:
            break
        page.mouse.wheel(0, 250)
        page.wait_for_timeout(300)  # the accessibility table follows the scroll (debounced)
    assert len(cells) == count, f"read {len(cells)} of {count} rows of {name}"
    return [cells[i] for i in range(count)]


def counted(page: Any) -> int:
    """The list's total from its caption ("57 accounts · page 1 of 2")."""
    caption = page.get_by_text(re.compile(r"accounts? · page 1 of \d+")).inner_text()
    return int(re.findall(r"[\d,]+", caption)[0].replace(",", ""))


def test_sorting_by_balance_orders_all_accounts_numerically_across_pages(
    app_url: str, page: Any, tmp_path: Path
) -> None:
    sign_in(page, app_url + "/accounts?sort=balance_desc", "finance", "fcops-finance-demo")
    page.get_by_text("in the store").wait_for(timeout=90_000)
    page.get_by_text("select a row to open it").wait_for(timeout=90_000)
    wait_idle(page, timeout=90_000)
    # A first sync runs as a background job the page follows: let it end, so the list stops
    # growing while the test counts it.
    page.get_by_text("Reading customers and accounts from Stripe").first.wait_for(
        state="detached", timeout=180_000
    )
    wait_idle(page, timeout=90_000)
    before = counted(page)
    link_more_accounts(12)  # more than one page of 50, whatever the other tests linked
    page.get_by_role("button", name="Sync from Stripe").click()
    page.get_by_text(re.compile(r"accounts? · page 1 of [2-9]")).wait_for(timeout=60_000)
    wait_idle(page, timeout=60_000)
    # The new accounts land through the sync or through webhooks, on later reruns: read the
    # total once all 12 are in and it has stopped changing.
    caption, previous = "", None
    for _ in range(30):
        caption = page.get_by_text(re.compile(r"accounts? · page 1 of \d+")).inner_text()
        if caption == previous and counted(page) >= before + 12:
            break
        previous = caption
        page.wait_for_timeout(2_000)
        wait_idle(page, timeout=60_000)
    total, pages = (int(x.replace(",", "")) for x in re.findall(r"[\d,]+", caption)[:3:2])
    assert pages >= 2, f"the test world needs more than one page: {caption}"

    shown: list[str] = []
    for number in range(1, pages + 1):
        if number > 1:
            page.get_by_role("button", name="Next").click()
            page.get_by_text(f"page {number} of {pages}", exact=False).first.wait_for()
            wait_idle(page)
        shown += shown_column(page, "Balance", tmp_path, f"page{number}")
    assert len(shown) == total

    values = [cents(text) for text in shown]
    with_balance = [v for v in values if v is not None]
    assert with_balance == sorted(with_balance, reverse=True)  # numeric, across pages
    first_missing = values.index(None) if None in values else len(values)
    assert all(v is None for v in values[first_missing:])  # no balance: last
    assert len(with_balance) > 10
    assert "sort=balance_desc" in page.url
