"""Cancel, a link's expiry, Subscribe and Unsubscribe after Stripe answered their POST with a
500 and the read back right after it failed too: the change may have happened, so the page says
where to look before pressing the button again (``services.errors.read_failed``; the words:
tests/services/test_read_back_failed_words.py), with the 500's request ID (the audit row's), and
the row reads ``unknown``. The faults are aimed at the POST and the read after it
(``fault_before``: the page's reads before it answer)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import no_exceptions, open_page, webhooks_settled
from tests.app.conftest import shared_app as app
from tests.app.test_changes_again_after_a_500 import CANCELS, faulted, open_to_cancel, rows
from tests.app.test_transactions_page import _open
from tests.services.conftest import fault_before, linked_account
from tests.services.test_read_back_failed_words import CHANGES

__all__ = ["faulted"]  # the fixture, shared with the after-a-500 tests
pytestmark = pytest.mark.usefixtures("automatic_setup_intent_flow")


def said_where_to_look(
    at: AppTest, press: Callable[[], Any], method: str, action: str, case: str, **named: str
) -> None:
    """``press`` meets a 500 on its POST and on the read back: the page says the sentence of
    ``case`` with the 500's request ID (its audit row's, ``unknown``)."""
    calls = fault_before(app().services, app().simulator, method, "500", times=2)
    press()
    assert calls
    no_exceptions(at)
    [(outcome, _, rid)] = rows(action, named["request"])
    assert outcome == "unknown" and rid
    shown = [e.value for e in at.error]
    assert CHANGES[case].said.format(rid=rid, **named) in shown, shown


@pytest.mark.parametrize("case", list(CANCELS))
def test_a_cancel_whose_read_back_failed_says_where_to_look(
    faulted: list[str], case: str
) -> None:
    make, method, _, _ = CANCELS[case]
    at, request, changed, press = open_to_cancel(make)

    faulted.append(method)
    said_where_to_look(
        at, press, method, "collect.cancel", case,
        request=request, changed=changed,
    )  # fmt: skip


@pytest.mark.parametrize("case", ["subscribe", "unsubscribe"])
def test_a_subscription_change_whose_read_back_failed_says_where_to_look(
    faulted: list[str], case: str
) -> None:
    open_page(None, None)  # builds the app with the test settings
    fca = linked_account(app().services.gateway, app().simulator, case[:5] + "rbf")
    if case == "unsubscribe":  # Unsubscribe shows on a subscribed account
        app().gateway.subscribe_transactions(fca, idempotency_key=None)
        webhooks_settled()
    at = _open("ops", fca)
    button = "txn_sub" if case == "subscribe" else "txn_unsub"
    method = CHANGES[case].method
    faulted.append(method)
    said_where_to_look(
        at, lambda: at.button(key=button).click().run(), method, f"transactions.{case}", case,
        request=fca, changed=fca,
    )  # fmt: skip
    # Out of the shared store's active accounts: test_transactions_page opens the newest active
    # subscribed account and expects it to hold transactions (this one holds none).
    app().gateway.disconnect_account(fca, idempotency_key=None)
    webhooks_settled()
