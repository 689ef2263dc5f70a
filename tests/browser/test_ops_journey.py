"""Ops in a real browser: sign in, find a customer, open an account, refresh its balance.

The server's sandbox refreshes after 1.5 s, so the page must show "pending" first and then the
outcome by itself (the polling fragment), with no reload.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.browser.conftest import SANDBOX_URL, sign_in, wait_idle

pytestmark = pytest.mark.browser


def make_customer() -> dict[str, Any]:
    """A customer with one StripeBank account that has a balance but may refresh now."""
    from bootstrap import SANDBOX_KEY
    from sandbox.client import Simulator
    from services.adapters.gateway import StripeGateway

    gateway = StripeGateway(SANDBOX_KEY, base_url=SANDBOX_URL, max_network_retries=0)
    tag = secrets.token_hex(3)
    customer = gateway.create_customer(
        {"email": f"journey.{tag}@example.org", "name": f"Journey Tester {tag}"},
        idempotency_key=None,
    )
    session = gateway.create_fc_session(
        {
            "account_holder": {"type": "customer", "customer": customer["id"]},
            "permissions": ["balances", "payment_method"],
            "prefetch": [],
        },
        idempotency_key=None,
    )
    Simulator(SANDBOX_URL).complete_session(session["id"], institution="StripeBank", accounts=1)
    return customer


def click_first_row(page: Any, table: int) -> None:
    """Tick the selection box of the first row of the ``table``-th st.dataframe (canvas grid)."""
    grid = page.locator('[data-testid="stDataFrame"]').nth(table)
    grid.wait_for()
    page.wait_for_timeout(500)  # the grid draws on a canvas after it is attached
    grid.click(position={"x": 16, "y": 52})
    wait_idle(page)


def test_ops_finds_a_customer_opens_an_account_and_refreshes_its_balance(
    app_url: str, page: Any
) -> None:
    sign_in(page, app_url, "ops", "fcops-ops-demo")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Accounts", exact=True).click()
    wait_idle(page, timeout=90_000)  # the first visit syncs the empty store
    page.get_by_text("select a row to open it").wait_for()

    customer = make_customer()
    page.get_by_label("Find a customer").fill(customer["email"])
    page.get_by_test_id("stBaseButton-secondaryFormSubmit").click()
    wait_idle(page)
    page.get_by_text("1 customer found").wait_for()
    click_first_row(page, 0)  # the customer
    page.get_by_text(f"Accounts of {customer['name']}").wait_for()
    click_first_row(page, 1)  # their only account

    page.get_by_role("button", name="Back to accounts").wait_for()
    assert "account=fca_" in page.url
    page.get_by_text("StripeBank · StripeBank Checking").wait_for()
    refresh = page.get_by_role("button", name="Refresh balance")
    assert refresh.is_enabled()
    refresh.click()
    page.get_by_text("Balance refresh pending…").wait_for(timeout=10_000)
    page.get_by_text("Balance refresh succeeded.").wait_for(timeout=20_000)  # no reload
    assert page.get_by_role("button", name="Refresh balance").is_disabled()  # cooldown
    assert "Traceback" not in page.content()


def test_a_page_url_opened_while_signed_out_shows_only_the_login(app_url: str, page: Any) -> None:
    page.goto(f"{app_url}/accounts")
    wait_idle(page)
    page.get_by_label("Username").wait_for()
    assert page.get_by_role("button", name="Login").is_visible()
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "Accounts" not in body and "fca_" not in body and "cus_" not in body
    assert page.locator('[data-testid="stDataFrame"]').count() == 0
    nav = page.locator('[data-testid="stSidebarNav"]')
    assert nav.count() == 0 or "Accounts" not in nav.inner_text()
