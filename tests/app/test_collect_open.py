"""Collect page: a customer's open requests are named before a second one is made, and a
reload during a slow create shows it being created and then the request (it was lost, and the
next click made a duplicate)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from services.auth import Actor
from services.usecases import collection_requests
from services.usecases.collect_open import customer_requests
from tests.app.conftest import force_faults, no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app
from tests.app.test_collect_link import create_link, with_customer

PAGE = "pages/collect.py"
OPS = Actor(username="ops", role="ops")  # the demo user the AppTest signs in as

pytestmark = pytest.mark.usefixtures("automatic_setup_intent_flow")


def customer_page(customer: str, role: str = "ops") -> AppTest:
    """A new session (a reload, another tab, a colleague) at ``?customer=customer``."""
    at = open_page(PAGE, role)
    at.query_params["customer"] = customer
    at.run()
    no_exceptions(at)
    return at


def setup_intents(customer: str) -> list[str]:
    return [si["id"] for si in app().gateway.iter_setup_intents(customer=customer)]


def test_a_colleague_is_shown_the_open_link_and_asked_before_a_second_one() -> None:
    at = with_customer()
    customer = at.session_state["collect_customer"]
    create_link(at)
    made = at.session_state["collect_result"]

    colleague = customer_page(customer, "admin")
    said = texts(colleague)
    assert "already has 1 open request" in said
    assert made.checkout_session_id in said and made.id in said and "by ops" in said
    colleague.button(key="collect_create_link").click().run()
    no_exceptions(colleague)
    assert "collect_result" not in colleague.session_state
    assert any("Nothing was created" in w.value for w in colleague.warning), texts(colleague)
    assert setup_intents(customer) == [made.id]  # no second link
    # "Open" shows the link the customer already has, to send again.
    colleague.button(key="collect_open_existing_0").click().run()
    no_exceptions(colleague)
    assert colleague.session_state["collect_result"].id == made.id
    assert colleague.query_params["request"] in (made.checkout_session_id, [made.checkout_session_id])
    # Confirming makes the second one, knowingly.
    again = customer_page(customer, "admin")
    again.button(key="collect_create_si").click().run()
    again.button(key="collect_create_anyway").click().run()
    no_exceptions(again)
    second = again.session_state["collect_result"].id
    assert sorted(setup_intents(customer)) == sorted([made.id, second])
    # The notice above the new one counts the others as others ("already has 1" read as if the
    # new one had not been made)
    assert "Besides the request below, this customer has 1 other open request." in texts(again)


def test_a_reload_during_a_slow_create_shows_it_being_created_then_the_request() -> None:
    at = with_customer()
    customer = at.session_state["collect_customer"]
    made: list[Any] = []

    def slow_create() -> None:  # the click of the tab that was reloaded, still waiting on Stripe
        made.append(collection_requests.create_hosted_link(
            app().services, OPS, customer_id=customer, idempotency_key="reloaded-tab-click",
            open_seen=(),
        ))

    force_faults("slow", 1, seconds=4)
    clicked = threading.Thread(target=slow_create)
    clicked.start()
    try:
        deadline = time.monotonic() + 3
        while not customer_requests(app().services, OPS, customer) and time.monotonic() < deadline:
            time.sleep(0.05)
        reloaded = customer_page(customer)
        said = texts(reloaded)
        assert "still being created at Stripe" in said, said
        assert "collect_result" not in reloaded.session_state
        # Creating again meanwhile is asked first: it would be a second link.
        reloaded.button(key="collect_create_link").click().run()
        assert any("Nothing was created" in w.value for w in reloaded.warning), texts(reloaded)
    finally:
        clicked.join(timeout=30)
    [link] = made
    reloaded.run()  # what the page's follow-up does once Stripe has answered
    no_exceptions(reloaded)
    assert reloaded.session_state["collect_result"].id == link.id
    assert link.checkout_session_id in str(reloaded.query_params["request"])
    assert "was created at Stripe: here it is" in texts(reloaded)
    assert setup_intents(customer) == [link.id]


def test_a_create_made_whose_read_back_fails_after_a_reload_says_it_was_made() -> None:
    """The create finished at Stripe while the page was reloaded, then the page's read of the
    link failed: it showed only "Could not reach Stripe …; nothing was changed" beside the new
    link listed below, which read as a create that failed."""
    at = with_customer()
    customer = at.session_state["collect_customer"]
    made: list[Any] = []

    def slow_create() -> None:
        made.append(collection_requests.create_hosted_link(
            app().services, OPS, customer_id=customer, idempotency_key="reloaded-tab-read-fails",
            open_seen=(),
        ))

    force_faults("slow", 1, seconds=4)
    clicked = threading.Thread(target=slow_create)
    clicked.start()
    try:
        deadline = time.monotonic() + 3
        while not customer_requests(app().services, OPS, customer) and time.monotonic() < deadline:
            time.sleep(0.05)
        reloaded = customer_page(customer)
        assert "still being created at Stripe" in texts(reloaded)
    finally:
        clicked.join(timeout=30)
    [link] = made
    app().simulator.force_faults("500", 8)  # every read of the link fails, retries too
    try:
        reloaded.run()
    finally:
        app().simulator.clear_faults()
    no_exceptions(reloaded)
    said = texts(reloaded)
    assert f"was created at Stripe (`{link.checkout_session_id}`), but reading it back failed" in said, said
    assert "was not created" not in said


def test_a_reload_during_a_create_stripe_did_not_confirm_says_not_confirmed_not_not_created() -> None:
    """The create's row ends ``unknown`` when Stripe did not confirm it and fcops could not see
    whether it was made (tests/services/test_collect_lookup.py). A reload during it said "was not
    created: Stripe did not confirm … so it may have been made"; it says it is not confirmed."""
    from services.adapters import collect_starts as starts

    at = with_customer()
    customer = at.session_state["collect_customer"]
    engine = app().services.engine
    start = starts.begin(engine, customer_id=customer, kind="setup_intent", username="ops",
                         key=f"k-{time.time_ns()}", at=int(time.time()))
    reloaded = customer_page(customer)
    assert "still being created at Stripe" in texts(reloaded)
    why = ("Stripe did not confirm the new SetupIntent (a server error), so it may have been made. "
           "fcops looked for it at Stripe (the collect.lookup entry): the look-up failed too, so "
           "it is still unknown: press Sync from Stripe in Open requests and look for it.")
    starts.finish(engine, start, outcome="unknown", at=int(time.time()), message=why)
    reloaded.run()
    no_exceptions(reloaded)
    said = texts(reloaded)
    assert f"is not confirmed: {why}" in said, said
    assert "was not created" not in said
