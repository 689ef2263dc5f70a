"""Collect: a create a click asked for is sent before anything else on the page asks Stripe.

A customer chosen by searching its cus_ ID is looked up in Stripe on every run of the page, 8 s
when Stripe was slow; the create waited behind that search (its only spinner "Searching for the
customer…"), and a reload meanwhile lost the click before the create was written: no message
after the reload and nothing at Stripe. Sent first, its row is written at once and a reload
follows it."""

from __future__ import annotations

import pytest

from services.usecases.collect_open import customer_requests
from tests.app.conftest import no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app
from tests.app.test_collect_cancel_reload import OPS
from tests.app.test_collect_page import PAGE, new_customer

pytestmark = pytest.mark.usefixtures("automatic_setup_intent_flow")


def test_a_create_is_sent_before_the_customer_search_reads_stripe() -> None:
    at = new_customer(open_page(PAGE, "ops"))
    customer = str(at.session_state["collect_customer"])
    at = open_page(PAGE, "ops")  # a customer found by its ID, as from a link or a paste
    at.text_input(key="collect_search").set_value(customer).run()
    at.selectbox(key="collect_pick").set_value(customer).run()
    no_exceptions(at)
    app().simulator.record_requests()
    try:
        at.button(key="collect_create_si").click().run()
        sent = app().simulator.recorded_requests()["data"]
    finally:
        app().simulator.record_requests(on=False)
    no_exceptions(at)
    made = at.session_state["collect_result"]
    assert made.customer_id == customer, texts(at)
    paths = [f"{r['method']} {r['path']}" for r in sent]
    create = paths.index("POST /v1/setup_intents")
    search = [i for i, p in enumerate(paths) if p == f"GET /v1/customers/{customer}"]
    assert search, paths  # the page did search for the customer on this run
    assert create < search[0], paths  # the create went first
    assert any(o.request_id == made.id for o in customer_requests(app().services, OPS, customer))
