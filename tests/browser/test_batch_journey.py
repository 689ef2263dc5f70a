"""Finance in a real browser: sign in, upload a CSV of planned debits with good and bad rows,
read the summary and download the result.

The accounts are made through the server's own sandbox (its port is chosen here and read by
the app_url fixture), with their balances prefetched at link time.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import SANDBOX_URL, sign_in, upload_batch, wait_idle

SHOTS = os.environ.get("FCOPS_SCREENSHOTS")  # a folder, to look at the page while developing

pytestmark = pytest.mark.browser


def gateway() -> Any:
    from bootstrap import SANDBOX_KEY
    from services.adapters.gateway import StripeGateway

    return StripeGateway(SANDBOX_KEY, base_url=SANDBOX_URL, max_network_retries=0)


def linked_account(*, prefetch: bool) -> dict[str, Any]:
    """A new customer's StripeBank account; with `prefetch`, wait until its balance is in."""
    from sandbox.client import Simulator

    gw = gateway()
    tag = secrets.token_hex(3)
    customer = gw.create_customer({"name": f"Batch Payer {tag}"}, idempotency_key=None)
    session = gw.create_fc_session(
        {
            "account_holder": {"type": "customer", "customer": customer["id"]},
            "permissions": ["balances", "payment_method"],
            "prefetch": ["balances"] if prefetch else [],
        },
        idempotency_key=None,
    )
    Simulator(SANDBOX_URL).complete_session(session["id"], institution="StripeBank")
    account = gw.list_accounts(session=session["id"])[0]
    deadline = time.time() + 20
    while prefetch and account.get("balance") is None and time.time() < deadline:
        time.sleep(0.3)
        account = gw.retrieve_account(account["id"])
    assert not prefetch or account.get("balance"), "the prefetched balance never arrived"
    return account


def shot(page: Any, name: str) -> None:
    if SHOTS:
        page.wait_for_timeout(2000)  # charts and grids draw after the script finishes
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_finance_uploads_a_batch_with_bad_rows_and_downloads_the_result(
    app_url: str, page: Any, tmp_path: Path
) -> None:
    sign_in(page, app_url, "finance", "fcops-finance-demo")  # also starts the server's sandbox
    funded = linked_account(prefetch=True)
    never_refreshed = linked_account(prefetch=False)
    available = funded["balance"]["cash"]["available"]["usd"]
    too_much = f"{(available + 100_000) / 100:.2f}"
    rows = [
        "id,amount,currency,reference",
        f"{funded['id']},1.00,usd,=1+2",  # a formula from outside, as a reference
        f"{funded['id']},{too_much},usd,too much",
        f"{never_refreshed['id']},5.00,usd,no balance yet",
        "fca_000000000000nobody,5.00,usd,unknown",
        f"{funded['id']},five,usd,bad amount",
    ]

    upload_batch(page, "debits.csv", rows, "Ready: debits.csv has 5 rows, 4 to check")
    shot(page, "batch_ready")
    page.get_by_role("button", name="Run batch check").click()
    page.get_by_text("Money at risk").wait_for(timeout=60_000)
    wait_idle(page)
    shot(page, "batch_check")

    main = page.locator('[data-testid="stMain"]')
    summary = {
        m.locator('[data-testid="stMetricLabel"]').inner_text().strip(): m.locator(
            '[data-testid="stMetricValue"]'
        ).inner_text()
        for m in main.locator('[data-testid="stMetric"]').all()
    }
    assert (summary["Rows"], summary["Checked"], summary["Errors"]) == ("5", "3", "2")
    assert (summary["OK"], summary["Insufficient"], summary["Unavailable"]) == ("1", "1", "1")
    page.get_by_text("2 rows could not be checked").wait_for()
    assert "Traceback" not in page.content()

    with page.expect_download() as info:
        page.get_by_role("button", name="Download results (CSV)").click()
    saved = tmp_path / "result.csv"
    info.value.save_as(saved)
    result = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert [r["verdict"] for r in result] == ["ok", "insufficient", "unavailable", "error", "error"]
    assert [r["row"] for r in result] == ["2", "3", "4", "5", "6"]
    assert result[1]["amount"] == too_much and result[1]["reference"] == "too much"
    assert "five" in result[4]["error"]
    assert result[0]["reference"] == "'=1+2"  # the spreadsheet shows text, runs nothing

    # The table's own toolbar offers no unaudited, unescaped "Download as CSV" (issue 10).
    grid = main.locator(
        '[data-testid="stElementContainer"]', has=page.locator('[data-testid="stDataFrame"]')
    ).first
    grid.hover()
    toolbar = grid.locator('[data-testid="stElementToolbar"]')
    toolbar.get_by_role("button").first.wait_for(timeout=10_000)  # the toolbar is there…
    labels = [b.get_attribute("aria-label") or "" for b in toolbar.get_by_role("button").all()]
    assert "Search" in labels and "Download as CSV" not in labels, labels  # …without the CSV
