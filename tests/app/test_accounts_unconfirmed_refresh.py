"""Accounts detail: Refresh balance answered by a 500 may still have started at Stripe.

The refresh's own POST meets the sandbox's ``500`` (nothing done) or ``500_done`` (the refresh
went through, then the answer was a 500). The account is read back once: not started → the page
says Stripe did not confirm it, that the read shows it did not start, and that Refresh balance
again is safe (it is: the next press is a new request and starts the refresh); started → the
page follows the refresh as any other, with no error.
"""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from tests.app.test_accounts_page import new_customer
from tests.app.test_accounts_refresh_unreachable import detail
from tests.app.test_balance_check_unconfirmed_refresh import bank_delay, fault_on_refresh

__all__ = ["bank_delay", "fault_on_refresh"]  # the fixtures, shared with Balance check's tests

UNCONFIRMED = "Stripe did not confirm the balance refresh (a server error, Stripe request req_"


def said(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in [*at.error, *at.warning, *at.info, *at.success])


def test_a_500_that_started_nothing_says_refresh_again_is_safe(fault_on_refresh: Any) -> None:
    _, account = new_customer(prefetch=[])
    at = detail(account["id"])
    fault_on_refresh("500")
    at.button(key="acc_refresh_balance").click().run()
    assert not at.exception
    errors = "\n".join(str(e.value) for e in at.error)
    assert UNCONFIRMED in errors, said(at)
    assert (
        "so it may have started; the account read back shows Stripe did not start it: Refresh "
        "balance again is safe." in errors
    ), errors
    assert "Balance refresh pending" not in said(at)
    button = at.button(key="acc_refresh_balance")
    assert not button.disabled  # offered again, and it is safe:
    button.click().run()
    assert not at.exception
    assert UNCONFIRMED not in "\n".join(str(e.value) for e in at.error)
    assert "Balance refresh" in said(at), said(at)  # pending, or already succeeded


def test_a_500_after_the_refresh_started_is_followed_without_an_error(
    fault_on_refresh: Any, bank_delay: Any
) -> None:
    _, account = new_customer(prefetch=[])
    at = detail(account["id"])
    bank_delay(600.0)  # the bank takes ten minutes: still pending when read back
    fault_on_refresh("500_done")
    at.button(key="acc_refresh_balance").click().run()
    assert not at.exception
    assert not at.error, said(at)
    assert "Balance refresh pending…" in said(at), said(at)  # followed, as any refresh
    assert at.button(key="acc_refresh_balance").disabled
