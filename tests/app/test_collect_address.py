"""Collect page: the request made here stays in the address (?request=…), so a new session (a
reload, a new tab, a colleague given the address) shows the same request again; an address
naming no request says so and changes nothing."""

from __future__ import annotations

import os
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import DASHBOARD, no_exceptions, open_page, refused, signed_in, texts
from tests.app.test_collect_link import create_link, status_shown, with_customer

PAGE = "pages/collect.py"

pytestmark = pytest.mark.usefixtures("automatic_setup_intent_flow")


def address(at: AppTest) -> str | None:
    value: Any = at.query_params.get("request")
    if isinstance(value, list):
        return str(value[0]) if value else None
    return str(value) if value else None


def opened_at(ref: str, role: str = "ops") -> AppTest:
    """A new session (what a reload or another tab is) opening the page at ``?request=ref``."""
    at = open_page(PAGE, role)
    at.query_params["request"] = ref
    at.run()
    return at


def test_a_created_link_is_in_the_address_and_a_new_session_shows_the_same_link() -> None:
    at = with_customer()
    create_link(at)
    made = at.session_state["collect_result"]
    assert address(at) == made.checkout_session_id
    again = opened_at(str(made.checkout_session_id))
    no_exceptions(again)
    shown = again.session_state["collect_result"]
    assert (shown.id, shown.hosted_url, shown.customer_id) == (
        made.id,
        made.hosted_url,
        made.customer_id,
    )
    assert made.hosted_url in [c.value for c in again.code]
    assert status_shown(again) == "requires_payment_method"
    # The create buttons act for the same customer again.
    assert again.session_state["collect_customer"] == made.customer_id
    assert not again.button(key="collect_create_link").disabled


def test_a_setup_intent_in_the_address_opens_for_another_ops_user_as_stripe_has_it() -> None:
    at = with_customer()
    at.button(key="collect_create_si").click().run()
    made = at.session_state["collect_result"]
    assert address(at) == made.id
    again = opened_at(made.id, role="admin")
    no_exceptions(again)
    assert again.session_state["collect_result"].id == made.id
    assert f"SetupIntent `{made.id}`" in texts(again) or made.id in texts(again)


def test_start_another_request_clears_the_address() -> None:
    at = with_customer()
    create_link(at)
    at.button(key="collect_another").click().run()
    no_exceptions(at)
    assert address(at) is None
    assert "collect_result" not in at.session_state


@pytest.mark.parametrize(
    ("ref", "words"),
    [
        ("seti_00000000000000missing", "Stripe has no request seti_00000000000000missing"),
        ("pi_123", "this page cannot open"),
        ("seti_[x](https://evil.example)", "this page cannot open"),
        ("fcsess_000000missing", "not made on this page"),
    ],
)
def test_an_address_naming_no_request_says_so_and_shows_a_fresh_page(ref: str, words: str) -> None:
    at = opened_at(ref)
    no_exceptions(at)
    assert any(words in e.value for e in at.error), [e.value for e in at.error]
    assert not any("evil" in e.value for e in at.error)  # the address's text is not echoed
    assert "collect_result" not in at.session_state
    assert address(at) is None
    at.run()  # the next run no longer asks Stripe, nor repeats the sentence
    assert not any(words in e.value for e in at.error)


def test_a_role_without_collect_gets_no_request_from_the_address() -> None:
    at = with_customer()
    create_link(at)
    made = at.session_state["collect_result"]
    refused(PAGE, "finance")  # not in finance's navigation
    direct = AppTest.from_file(os.path.join(os.path.dirname(DASHBOARD), PAGE), default_timeout=60)
    signed_in(direct, "finance")
    direct.query_params["request"] = str(made.checkout_session_id)
    direct.run()
    no_exceptions(direct)
    assert "cannot open this page" in texts(direct)
    assert made.hosted_url not in texts(direct) and made.id not in texts(direct)
    assert "collect_result" not in direct.session_state


def test_stripe_failing_keeps_the_request_in_the_address_for_a_reload() -> None:
    from tests.app.conftest import shared_app

    at = with_customer()
    at.button(key="collect_create_si").click().run()
    made = at.session_state["collect_result"]
    simulator = shared_app().simulator
    simulator.force_faults("500", 10_000)
    try:
        failing = opened_at(made.id)
        no_exceptions(failing)
        assert failing.error, "Stripe's failure is said"
        assert address(failing) == made.id  # kept: a reload tries again
        assert "collect_result" not in failing.session_state
        failing.run()  # a rerun does not ask Stripe again; it says how to
        no_exceptions(failing)
        assert any("reload the page to try again" in w.value for w in failing.warning)
    finally:
        simulator.clear_faults()
    reloaded = opened_at(made.id)  # Stripe is back: the reload shows it
    no_exceptions(reloaded)
    assert reloaded.session_state["collect_result"].id == made.id


def test_a_crafted_customer_link_chooses_nobody_and_is_shown_as_typed() -> None:
    at = open_page(PAGE, "ops")
    # No waiting for the first visit's syncs: their end reruns the page, and the warning stays.
    at.query_params["customer"] = "cus_x) Session expired: [sign in](https://evil.example) ("
    at.run()
    no_exceptions(at)
    warned = [w.value for w in at.warning if "not a customer ID" in w.value]
    assert len(warned) == 1 and warned[0].count("`") == 2, warned
    assert "collect_customer" not in at.session_state or not at.session_state["collect_customer"]
    assert "evil.example" not in " ".join(e.value for e in at.error)


@pytest.mark.parametrize("kind", ["link", "setup_intent"])
def test_creating_again_after_a_reload_answers_with_the_request_shown_not_a_second_one(
    kind: str,
) -> None:
    """The idempotency keys live in the session: after a reload (or in a new tab) the same
    Create click made a second request, and the customer got two open links."""
    button = "collect_create_link" if kind == "link" else "collect_create_si"
    at = with_customer()
    if kind == "link":
        create_link(at)
    else:
        at.button(key=button).click().run()
    made = at.session_state["collect_result"]
    name = (
        f"Checkout link `{made.checkout_session_id}`" if kind == "link"
        else f"SetupIntent `{made.id}`"
    )
    again = opened_at(str(address(at)))
    again.button(key=button).click().run()
    no_exceptions(again)
    shown = again.session_state["collect_result"]
    assert shown.id == made.id
    assert any(
        f"Same request as before: {name}" in i.value and "Start another request" in i.value
        for i in again.info
    ), texts(again)
    # "Start another request", then Create: a new request, as ops asked for, once they confirm
    # it beside the open one the page names.
    again.button(key="collect_another").click().run()
    again.button(key=button).click().run()
    assert "collect_result" not in again.session_state
    again.button(key="collect_create_anyway").click().run()
    no_exceptions(again)
    assert again.session_state["collect_result"].id != made.id
