"""Cancel, a link's expiry, Subscribe and Unsubscribe after Stripe answered their POST with a
500 that made nothing: the page says what Stripe did not confirm (with its request ID), what the
read back showed, and the button to press again ("…: Cancel request again is safe.";
``services.errors.not_made``), and it is safe: Stripe saved the 500 under the first key and would
replay it to the same key forever, so the next press sends a new key and makes the change once.
The fault is aimed at the POST itself (``fault_before``: the page's reads before it answer).
The audit row of the first press keeps its own sentence (``unknown``: Stripe did not confirm it;
tests/services/test_unconfirmed_changes.py holds its words)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from tests.app.conftest import no_exceptions, open_page, webhooks_settled
from tests.app.conftest import shared_app as app
from tests.app.test_collect_link import create_link, with_customer
from tests.app.test_collect_page import PAGE, create_setup_intent, new_customer
from tests.app.test_transactions_page import _open
from tests.services.conftest import fault_before, linked_account

pytestmark = pytest.mark.usefixtures("automatic_setup_intent_flow")


@pytest.fixture
def faulted() -> Iterator[list[str]]:
    """The gateway methods a test aimed a fault at (``fault_before``), unwrapped afterwards."""
    methods: list[str] = []
    yield methods
    for method in methods:
        vars(app().services.gateway).pop(method, None)


def a_500_before(faulted: list[str], method: str) -> list[int]:
    faulted.append(method)
    return fault_before(app().services, app().simulator, method, "500")


def rows(action: str, target: str) -> list[tuple[str, str | None, str | None]]:
    """The outcome, key and Stripe request ID of each ``action`` audit row of ``target``, oldest
    first."""
    with session_scope(app().engine) as session:
        stmt = select(AuditEntry).where(AuditEntry.action == action, AuditEntry.target == target)
        found = session.exec(stmt.order_by(AuditEntry.id)).all()  # type: ignore[arg-type]
    return [(r.outcome, r.idempotency_key, r.stripe_request_id) for r in found]


def said_safe_then_made(
    at: AppTest, press: Callable[[], Any], action: str, target: str, said: str, **named: str
) -> None:
    """The first press met the 500: the page says ``said`` with ``named`` filled in, and
    ``{error}`` the 500 with its Stripe request ID (the one the audit row keeps); the second
    press makes the change under a new key."""
    no_exceptions(at)
    shown = [e.value for e in at.error]
    press()
    no_exceptions(at)
    assert not at.error, [e.value for e in at.error]
    (first, key1, rid), (second, key2, _) = rows(action, target)
    assert rid, "the 500's request ID"
    assert said.format(error=f"a server error, Stripe request {rid}", **named) in shown, shown
    assert (first, second) == ("unknown", "ok")
    assert key1 != key2  # the same key would only replay the 500


def _setup_intent() -> tuple[AppTest, str, str]:
    """The Collect page, and a SetupIntent made there on its own (the request, and the object
    the cancel changes: itself)."""
    at = new_customer(open_page(PAGE, "ops"))
    intent_id = create_setup_intent(at)
    return at, intent_id, intent_id


def _link() -> tuple[AppTest, str, str]:
    """The Collect page, and a hosted link made there (its SetupIntent, and the link: the cancel
    expires it)."""
    at = with_customer()
    intent_id = create_link(at)
    return at, intent_id, str(at.session_state["collect_result"].checkout_session_id)


CANCELS = {  # made, the POST the 500 meets, the page's sentence, the object's status after
    "setup intent": (
        _setup_intent,
        "cancel_setup_intent",
        "Stripe did not confirm the cancellation of {changed} ({error}), so it may have been "
        "canceled; the SetupIntent read back is still requires_payment_method: Cancel request "
        "again is safe.",
        lambda changed: app().gateway.retrieve_setup_intent(changed)["status"] == "canceled",
    ),
    "link expiry": (
        _link,
        "expire_checkout_session",
        "Stripe did not confirm the expiry of link {changed} ({error}), so it may have expired; "
        "the link read back is still open, so {request} is not canceled: Cancel request again "
        "is safe.",
        lambda changed: app().gateway.retrieve_checkout_session(changed)["status"] == "expired",
    ),
}


def open_to_cancel(make: Callable[[], tuple[Any, str, str]]) -> tuple[Any, str, str, Callable[[], None]]:
    """Collect with ``make``'s request made and its list reloaded: (page, request, what the
    cancel changes, a press of Cancel request on that request in Open requests)."""
    at, request, changed = make()
    at.button(key="collect_open_reload").click().run()

    def press() -> None:
        at.selectbox(key="collect_cancel_open").set_value(request).run()
        at.button(key="collect_cancel_open_button").click().run()

    return at, request, changed, press


@pytest.mark.parametrize("case", list(CANCELS))
def test_cancel_after_a_500_that_made_nothing_cancels_on_the_next_press(
    faulted: list[str], case: str
) -> None:
    make, method, said, done = CANCELS[case]
    at, request, changed, press = open_to_cancel(make)

    calls = a_500_before(faulted, method)
    press()
    assert calls
    said_safe_then_made(at, press, "collect.cancel", request, said, changed=changed,
                        request=request)
    assert done(changed)


def test_a_cancel_after_a_500_that_made_nothing_is_said_on_its_request_with_one_again(
    faulted: list[str],
) -> None:
    """The next run says the cancel on its request: it read "…: Cancel request again is safe.
    The request is still listed as open: you can cancel it again." (the same thing twice)."""
    at, request, _, press = open_to_cancel(_setup_intent)
    a_500_before(faulted, "cancel_setup_intent")
    press()
    at.run()  # the next run (a click elsewhere, a reload's rerun) says it on the request
    no_exceptions(at)
    [note] = [w.value for w in at.warning if f"Cancel of {request} asked at" in w.value]
    assert note.endswith(
        "Cancel request again is safe. The request is still listed as open."
    ), note
    assert "you can cancel it again" not in note


SUBSCRIPTIONS = {  # button, POST, the page's sentence, subscribed after
    "subscribe": (
        "txn_sub",
        "subscribe_transactions",
        "Stripe did not confirm the transactions subscription ({error}), so it may have been "
        "made; the account read back is not subscribed: Subscribe again is safe.",
        True,
    ),
    "unsubscribe": (
        "txn_unsub",
        "unsubscribe_transactions",
        "Stripe did not confirm the end of the transactions subscription ({error}), so it may "
        "have ended; the account read back is still subscribed: Unsubscribe again is safe.",
        False,
    ),
}


@pytest.mark.parametrize("case", list(SUBSCRIPTIONS))
def test_a_subscription_change_after_a_500_that_made_nothing_is_made_on_the_next_press(
    faulted: list[str], case: str
) -> None:
    button, method, said, subscribed = SUBSCRIPTIONS[case]
    open_page(None, None)  # builds the app with the test settings
    fca = linked_account(app().services.gateway, app().simulator, case[:5] + "500")
    if not subscribed:  # Unsubscribe shows on a subscribed account
        app().gateway.subscribe_transactions(fca, idempotency_key=None)
        webhooks_settled()
    at = _open("ops", fca)
    calls = a_500_before(faulted, method)
    at.button(key=button).click().run()
    assert calls
    action = f"transactions.{case}"
    said_safe_then_made(at, lambda: at.button(key=button).click().run(), action, fca, said)
    assert ("transactions" in app().gateway.retrieve_account(fca)["subscriptions"]) == subscribed
    # Out of the shared store's active accounts: test_transactions_page opens the newest active
    # subscribed account and expects it to hold transactions (this one holds none).
    app().gateway.disconnect_account(fca, idempotency_key=None)
    webhooks_settled()
