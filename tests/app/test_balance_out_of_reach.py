"""An account no refresh can reach (disconnected, no ``balances`` permission) and no balance yet:
Payment lookup and Accounts say why none can be fetched, instead of pointing at Refresh balance,
which is off for it."""

from __future__ import annotations

from tests.app.conftest import no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app
from tests.app.test_accounts_page import detail, new_customer

LOOKUP = "pages/payment_lookup.py"
POINTS_AT_REFRESH = ("open it in Accounts to refresh one", "Use Refresh balance to fetch one")


def disconnected_account_without_balance() -> str:
    _, account = new_customer(prefetch=[])
    state = app().sandbox.state
    with state.lock:  # as Stripe has it after the customer disconnected it
        state.lookup(account["id"])["status"] = "disconnected"
    return str(account["id"])


def look_up(text: str) -> str:
    at = open_page(LOOKUP, "finance")
    at.text_input(key="lookup_id").set_value(text)
    next(b for b in at.button if b.label == "Look up").click().run()
    no_exceptions(at)
    return texts(at)


def test_lookup_of_a_disconnected_account_says_no_refresh_can_fetch_its_balance() -> None:
    shown = look_up(disconnected_account_without_balance())
    assert "No balance fetched yet" in shown
    assert "disconnected, so Stripe cannot refresh its data" in shown
    assert not any(point in shown for point in POINTS_AT_REFRESH)


def test_lookup_of_an_account_without_the_balances_permission_says_so() -> None:
    _, account = new_customer(prefetch=[], permissions=["payment_method", "ownership"])
    shown = look_up(account["id"])
    assert "'balances' permission was not granted" in shown
    assert not any(point in shown for point in POINTS_AT_REFRESH)


def test_lookup_of_an_account_a_refresh_can_reach_still_points_at_accounts() -> None:
    _, account = new_customer(prefetch=[])
    assert "open it in Accounts to refresh one" in look_up(account["id"])


def test_accounts_says_why_a_disconnected_accounts_balance_cannot_be_fetched() -> None:
    at = detail(disconnected_account_without_balance(), "finance")
    no_exceptions(at)
    shown = texts(at)
    assert at.button(key="acc_refresh_balance").disabled
    assert "Stripe has no balance for this account yet" in shown
    assert "Use Refresh balance to fetch one" not in shown
    assert "Refresh balance is off" in shown
    assert "disconnected, so Stripe cannot refresh its data" in shown  # under the button
