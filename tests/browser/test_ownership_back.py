"""Ownership review: check account X, then Y; Back shows X, Back again the empty form, Forward X
and Forward Y. Before, the second Back left the URL at ``?account=X`` (the page wrote the
account it still held back into an URL without one), so Forward never reached Y again.
Headless Chromium: AppTest has no browser history."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.conftest import sign_in
from tests.browser.test_config_to_conversion_journey import open_page, settle


def linked_accounts(count: int) -> list[str]:
    """A new customer links ``count`` accounts (with ownership) through the server's sandbox."""
    from bootstrap import SANDBOX_KEY
    from sandbox.client import Simulator
    from services.adapters.gateway import StripeGateway
    from tests.browser.conftest import SANDBOX_URL

    gateway = StripeGateway(SANDBOX_KEY, base_url=SANDBOX_URL, max_network_retries=0)
    customer = gateway.create_customer({"name": "Back Forward"}, idempotency_key=None)
    session = gateway.create_fc_session(
        {
            "account_holder": {"type": "customer", "customer": customer["id"]},
            "permissions": ["ownership", "payment_method"],
        },
        idempotency_key=None,
    )
    Simulator(SANDBOX_URL).complete_session(
        session["id"], institution="StripeBank", accounts=count
    )
    return sorted(str(a["id"]) for a in gateway.list_accounts(customer=customer["id"]))


def shows(page: Any, account_id: str | None) -> None:
    """The page shows ``account_id`` (its report's caption) and the URL names it; None: the
    empty form and no ``?account=``, still so once the page's runs are over."""
    if account_id:
        page.wait_for_url(re.compile(rf"/ownership\?account={account_id}$"))
        page.get_by_text(f"{account_id}", exact=True).first.wait_for()
    else:
        page.wait_for_url(re.compile(r"/ownership$"))
        page.get_by_text("Enter an account ID, or open one from the review list.").wait_for()
    settle(page)
    assert page.url.endswith(f"?account={account_id}" if account_id else "/ownership")
    assert "Traceback" not in page.content()


def test_ownership_back_and_forward_walk_the_accounts_checked(page: Any, app_url: str) -> None:
    first, second = linked_accounts(2)
    sign_in(page, app_url, "ops", "fcops-ops-demo")
    open_page(page, "Ownership review")
    page.get_by_text("Enter an account ID").wait_for(timeout=90_000)  # after the first sync
    settle(page)
    for account_id in (first, second):
        page.get_by_label("Account", exact=True).fill(account_id)
        page.get_by_role("button", name="Check", exact=True).click()
        shows(page, account_id)
    page.go_back()
    shows(page, first)
    page.go_back()
    shows(page, None)
    page.go_forward()
    shows(page, first)
    page.go_forward()
    shows(page, second)
