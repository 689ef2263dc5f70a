"""Finance in a real browser: a debit comes back R01, the home card shows it, the Returns page
plans attempt 2 of 3 and finance sends the retry.

The return is made through the server's own sandbox: a linked account debited more than its
balance comes back ``insufficient_funds``.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import pytest

from tests.browser.conftest import SANDBOX_URL, sign_in, wait_idle
from tests.browser.test_batch_journey import gateway, shot

pytestmark = pytest.mark.browser


def returned_debit() -> str:
    from sandbox.client import Simulator

    gw = gateway()
    tag = secrets.token_hex(3)
    cus = gw.create_customer({"name": f"Returned Payer {tag}"}, idempotency_key=None)
    si = gw.create_setup_intent(
        {
            "customer": cus["id"],
            "allowed_payment_method_types": ["us_bank_account"],
            "payment_method_options": {
                "us_bank_account": {
                    "financial_connections": {
                        "permissions": ["payment_method", "balances"],
                        "prefetch": ["balances"],
                    }
                }
            },
        },
        idempotency_key=None,
    )
    Simulator(SANDBOX_URL).link_bank(si["id"], institution="StripeBank")
    si = gw.retrieve_setup_intent(si["id"], expand=["payment_method"])
    fca = gw.retrieve_account(
        si["payment_method"]["us_bank_account"]["financial_connections_account"]
    )
    deadline = time.time() + 20
    while fca.get("balance") is None and time.time() < deadline:  # the prefetch is asynchronous
        time.sleep(0.3)
        fca = gw.retrieve_account(fca["id"])
    balance = fca["balance"]
    assert balance, "the prefetched balance never arrived"
    available = (balance["cash"]["available"] or balance["current"])["usd"]
    pi = gw.create_payment_intent(
        {
            "amount": available + 10_000,
            "currency": "usd",
            "customer": cus["id"],
            "payment_method": si["payment_method"]["id"],
            "allowed_payment_method_types": ["us_bank_account"],
            "confirm": True,
            "off_session": True,
        },
        idempotency_key=None,
    )
    deadline = time.time() + 30
    while pi["status"] == "processing" and time.time() < deadline:  # the bank answers later
        time.sleep(0.5)
        pi = gw.retrieve_payment_intent(pi["id"])
    assert (pi["last_payment_error"] or {}).get("code") == "insufficient_funds", pi["status"]
    return str(pi["id"])


def test_finance_goes_from_a_return_on_the_home_card_to_a_retry(app_url: str, page: Any) -> None:
    sign_in(page, app_url, "finance", "fcops-finance-demo")
    pi_id = returned_debit()
    sidebar = page.get_by_test_id("stSidebar")

    sidebar.get_by_role("link", name="Returns", exact=True).click()
    wait_idle(page)
    # A fresh start: the first visit reads the outcomes as a job, never "last synced never".
    page.get_by_text("Outcomes last synced").wait_for(timeout=60_000)
    assert "never" not in page.get_by_text("Outcomes last synced").inner_text()
    wait_idle(page)
    page.get_by_role("button", name="Sync outcomes").click()
    page.get_by_text(re.compile(r"Read \d+ payment events")).wait_for(timeout=60_000)
    wait_idle(page)
    page.get_by_text("Did our check work?").wait_for()  # the demo world's checks, joined
    page.get_by_text(re.compile(r"\d+ of \d+ payments? sent had a check before them")).wait_for()

    sidebar.get_by_role("link", name="Home", exact=True).click()
    wait_idle(page)
    page.get_by_text("Returns, last 60 days").wait_for()
    shot(page, "returns_home")
    page.get_by_role("link", name=re.compile(f"Plan a retry for {pi_id}")).click()
    wait_idle(page)
    page.get_by_text(re.compile(r"Attempt 2 of 3 · deadline")).wait_for(timeout=30_000)
    shot(page, "returns_page")
    assert "Traceback" not in page.content()

    page.get_by_text("Send even if the balance check is not ok").click()
    wait_idle(page)
    page.get_by_role("button", name="Check the balance and send the retry").click()
    page.get_by_text(re.compile(f"Attempt 2 of 3 for {pi_id} was sent as pi_")).wait_for(
        timeout=60_000
    )
    wait_idle(page)
    shot(page, "returns_retried")
    assert "Traceback" not in page.content()
