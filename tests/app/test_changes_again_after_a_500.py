"""Cancel, a link's expiry and Subscribe after Stripe answered their POST with a 500 that made
nothing: the page says settle's sentence ("… reading it back shows it did not: trying again is
safe (a new request).") and it is: Stripe saved the 500 under the first key and would replay it
to the same key forever, so the next press sends a new key and makes the change once. The fault
is aimed at the POST itself (``fault_before``: the page's reads before it answer)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from tests.app.conftest import no_exceptions, open_page, webhooks_settled
from tests.app.conftest import shared_app as app
from tests.app.test_collect_link import create_link, with_customer
from tests.app.test_collect_page import PAGE, create_setup_intent, new_customer
from tests.app.test_transactions_page import _open
from tests.services.conftest import fault_before, linked_account

SAFE = "reading it back shows it did not: trying again is safe (a new request)."

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


def rows(action: str, target: str) -> list[tuple[str, str | None]]:
    """The outcome and key of each ``action`` audit row of ``target``, oldest first."""
    with session_scope(app().engine) as session:
        stmt = select(AuditEntry).where(AuditEntry.action == action, AuditEntry.target == target)
        found = session.exec(stmt.order_by(AuditEntry.id)).all()  # type: ignore[arg-type]
    return [(r.outcome, r.idempotency_key) for r in found]


def said_safe_then_made(at: Any, press: Any, action: str, target: str) -> None:
    """The first press met the 500: the sentence says trying again is safe; the second press
    makes the change under a new key."""
    no_exceptions(at)
    assert any(e.value.endswith(SAFE) for e in at.error), [e.value for e in at.error]
    press()
    no_exceptions(at)
    assert not at.error, [e.value for e in at.error]
    (first, key1), (second, key2) = rows(action, target)
    assert (first, second) == ("unknown", "ok")
    assert key1 != key2  # the same key would only replay the 500


def test_cancel_after_a_500_that_made_nothing_cancels_on_the_next_press(
    faulted: list[str],
) -> None:
    at = new_customer(open_page(PAGE, "ops"))
    intent_id = create_setup_intent(at)
    at.button(key="collect_open_reload").click().run()

    def press() -> None:
        at.selectbox(key="collect_cancel_open").set_value(intent_id).run()
        at.button(key="collect_cancel_open_button").click().run()

    calls = a_500_before(faulted, "cancel_setup_intent")
    press()
    assert calls
    said_safe_then_made(at, press, "collect.cancel", intent_id)
    assert app().gateway.retrieve_setup_intent(intent_id)["status"] == "canceled"


def test_a_links_expiry_after_a_500_that_made_nothing_expires_it_on_the_next_press(
    faulted: list[str],
) -> None:
    at = with_customer()
    intent_id = create_link(at)
    cs = at.session_state["collect_result"].checkout_session_id
    at.button(key="collect_open_reload").click().run()

    def press() -> None:
        at.selectbox(key="collect_cancel_open").set_value(intent_id).run()
        at.button(key="collect_cancel_open_button").click().run()

    calls = a_500_before(faulted, "expire_checkout_session")
    press()
    assert calls
    said_safe_then_made(at, press, "collect.cancel", intent_id)
    assert app().gateway.retrieve_checkout_session(cs)["status"] == "expired"


def test_subscribe_after_a_500_that_made_nothing_subscribes_on_the_next_press(
    faulted: list[str],
) -> None:
    open_page(None, None)  # builds the app with the test settings
    fca = linked_account(app().services.gateway, app().simulator, "sub500")
    at = _open("ops", fca)
    calls = a_500_before(faulted, "subscribe_transactions")
    at.button(key="txn_sub").click().run()
    assert calls
    said_safe_then_made(
        at, lambda: at.button(key="txn_sub").click().run(), "transactions.subscribe", fca
    )
    assert "transactions" in app().gateway.retrieve_account(fca)["subscriptions"]
    # Out of the shared store's active accounts: test_transactions_page opens the newest active
    # subscribed account and expects it to hold transactions (this one holds none).
    app().gateway.disconnect_account(fca, idempotency_key=None)
    webhooks_settled()
