"""Collect: the address (``?customer=``, ``?request=``) is the truth on every step of the
browser's history. Choose A, choose B: Back shows A, Back the empty form, Forward A, Forward B.
Create a request: Back leaves it (the form it was made from), Forward opens it again. The page
used to write ``?customer=`` on every run and put ``?request=`` back whenever the address had
none, so Back could neither leave a customer nor a request.

A request opened from the address that can no longer be used (its link expired or was finished,
its SetupIntent canceled) is not answered with "Same request as before": Create makes a new one
and says why, and a second click is the same new one."""

from __future__ import annotations

import secrets

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app
from tests.app.test_collect_address import address, opened_at
from tests.app.test_collect_link import create_link

PAGE = "pages/collect.py"
NO_CUSTOMER = "Choose or create a customer first (step 1)."

pytestmark = pytest.mark.usefixtures("automatic_setup_intent_flow")


def choose_new_customer(at: AppTest) -> str:
    """The person creates a customer (step 1), which chooses them; their cus_ ID."""
    if at.radio(key="collect_mode").value != "New customer":
        at.radio(key="collect_mode").set_value("New customer").run()
    at.text_input(key="collect_new_email").set_value(f"back-{secrets.token_hex(4)}@example.com")
    at.button(key="FormSubmitter:collect_new_customer-Create customer").click().run()
    no_exceptions(at)
    return str(at.session_state["collect_customer"])


def shown(at: AppTest) -> tuple[str | None, str | None, str | None]:
    """(the address's ?customer=, the customer the requests will be made for, the request shown),
    after checking the page agrees with itself."""
    no_exceptions(at)
    customer = at.session_state.get("collect_customer")
    result = at.session_state.get("collect_result")
    words = texts(at)
    if customer:
        assert f"({customer})." in words and NO_CUSTOMER not in words
    else:
        assert NO_CUSTOMER in words and "Requests will be created for" not in words
    value = at.query_params.get("customer")
    return (str(value) if value else None, customer or None, result.id if result else None)


def history(at: AppTest, customer: str | None, request: str | None = None) -> AppTest:
    """The browser's Back or Forward: that history entry's address, and a run of the page."""
    for name, value in (("customer", customer), ("request", request)):
        if value:
            at.query_params[name] = value
        else:
            at.query_params.pop(name, None)
    return at.run()


def test_back_and_forward_walk_the_customers_chosen_and_end_on_the_empty_form() -> None:
    at = open_page(PAGE, "ops")
    assert shown(at) == (None, None, None)
    a = choose_new_customer(at)
    assert shown(at) == (a, a, None)
    at.run()  # a plain rerun changes nothing
    assert shown(at) == (a, a, None)
    b = choose_new_customer(at)
    assert shown(at) == (b, b, None)
    history(at, a)  # Back
    assert shown(at) == (a, a, None)
    at.run()
    assert shown(at) == (a, a, None)
    history(at, None)  # Back: no customer (B used to be written straight back here)
    assert shown(at) == (None, None, None)
    at.run()
    assert shown(at) == (None, None, None)
    assert at.button(key="collect_create_link").disabled
    history(at, a)  # Forward
    assert shown(at) == (a, a, None)
    history(at, b)  # Forward
    assert shown(at) == (b, b, None)


def test_back_leaves_a_created_request_and_forward_opens_it_again() -> None:
    at = open_page(PAGE, "ops")
    a = choose_new_customer(at)
    made = create_link(at)
    ref = address(at)
    assert ref and ref.startswith("cs_") and shown(at) == (a, a, made)
    at.run()
    assert address(at) == ref and shown(at) == (a, a, made)
    history(at, a)  # Back: the form it was made from (the request used to come straight back)
    assert shown(at) == (a, a, None) and address(at) is None
    assert "Send this link to the customer" not in texts(at)
    at.run()
    assert shown(at) == (a, a, None) and address(at) is None
    history(at, None)  # Back again: the empty form
    assert shown(at) == (None, None, None)
    history(at, a)  # Forward
    assert shown(at) == (a, a, None)
    history(at, a, ref)  # Forward: the request, as Stripe has it
    assert shown(at) == (a, a, made) and address(at) == ref
    assert "Send this link to the customer" in texts(at)
    # The same click answers with it, nothing new is made.
    at.button(key="collect_create_link").click().run()
    no_exceptions(at)
    assert shown(at) == (a, a, made) and address(at) == ref
    said = f"Same request as before: Checkout link `{ref}` already exists"  # the link, not seti_
    assert any(said in i.value for i in at.info), texts(at)


def test_coming_back_from_another_page_shows_the_request_left_here() -> None:
    """The sidebar's link has no query: what was left here comes back, and the address with it."""
    at = open_page(PAGE, "ops")
    a = choose_new_customer(at)
    made = create_link(at)
    ref = address(at)
    at.query_params.clear()
    at.switch_page("pages/accounts.py").run()
    at.query_params.clear()  # Streamlit drops a page's query on a sidebar page change
    at.switch_page(PAGE).run()
    assert shown(at) == (a, a, made) and address(at) == ref
    history(at, None)  # Back from there: the empty form, not the request again
    assert shown(at) == (None, None, None) and address(at) is None


def expire(made: str, ref: str) -> str:
    app().services.gateway.v1.checkout.sessions.expire(ref)
    return "its link expired"


def cancel(made: str, ref: str) -> str:
    app().services.gateway.cancel_setup_intent(made, reason=None, idempotency_key=None)
    return "it was canceled"


def finish(made: str, ref: str) -> str:
    app().simulator.link_bank(made, institution="Test Institution")
    return "the customer already finished it"


@pytest.mark.parametrize(
    ("kind", "end"),
    [("link", expire), ("link", finish), ("setup_intent", cancel), ("setup_intent", finish)],
)
def test_a_request_opened_from_the_address_that_ended_is_not_the_same_request(
    kind: str, end: object
) -> None:
    button = "collect_create_link" if kind == "link" else "collect_create_si"
    at = open_page(PAGE, "ops")
    customer = choose_new_customer(at)
    at.button(key=button).click().run()
    no_exceptions(at)
    made = str(at.session_state["collect_result"].id)
    ref = str(address(at))
    assert callable(end)
    why = end(made, ref)

    again = opened_at(ref)  # a reload, a new tab, a colleague's link
    no_exceptions(again)
    assert again.session_state["collect_result"].id == made
    again.button(key=button).click().run()
    no_exceptions(again)
    new = again.session_state["collect_result"]
    assert new.id != made and new.customer_id == customer
    assert not any("Same request as before" in i.value for i in again.info), texts(again)
    # A link is named by its Checkout Session (what was sent), a SetupIntent by itself.
    name = f"Checkout link `{ref}`" if kind == "link" else f"SetupIntent `{made}`"
    assert any(
        f"{name} can no longer be used ({why}), so this is a new request." in i.value
        for i in again.info
    ), texts(again)
    assert address(again) == (new.checkout_session_id or new.id)
    # A second click (a double click) is the same new request, not a third one.
    again.button(key=button).click().run()
    no_exceptions(again)
    assert again.session_state["collect_result"].id == new.id
    new_name = (
        f"Checkout link `{new.checkout_session_id}`" if kind == "link" else f"SetupIntent `{new.id}`"
    )
    assert any(f"Same request as before: {new_name}" in i.value for i in again.info)
