"""Collect page: a Create Stripe answers with a server error is looked for at Stripe, and the
person reads what Stripe did (it only told them to press "Sync from Stripe" in Open requests and
look for a request made at HH:MM UTC before creating again)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import force_faults, no_exceptions, texts
from tests.app.conftest import shared_app as app
from tests.app.test_collect_link import with_customer

pytestmark = pytest.mark.usefixtures("automatic_setup_intent_flow")


def setup_intents(customer: str) -> list[str]:
    return [si["id"] for si in app().gateway.iter_setup_intents(customer=customer)]


def create_si(at: AppTest) -> None:
    at.button(key="collect_create_si").click().run()
    no_exceptions(at)


def test_a_create_stripe_made_but_answered_500_says_so_and_lists_it() -> None:
    at = with_customer()
    customer = at.session_state["collect_customer"]
    force_faults("500_done", 1)
    create_si(at)

    [made] = setup_intents(customer)
    said = [s.value for s in at.success]
    assert any(s.startswith(f"Stripe made the request after all: {made} (shown in Open "
                            "requests), though it answered with a server error.") for s in said), texts(at)
    assert not at.error, texts(at)
    assert "collect_result" not in at.session_state
    # Listed above the buttons now (mirrored into the store), with its Open button.
    assert "This customer already has 1 open request" in texts(at)
    assert made in texts(at)
    # Create again is a new request, asked first beside the one made: not a second at Stripe.
    create_si(at)
    assert any("Nothing was created" in w.value for w in at.warning), texts(at)
    assert setup_intents(customer) == [made]


def test_a_create_stripe_did_not_make_says_create_again_is_safe() -> None:
    at = with_customer()
    customer = at.session_state["collect_customer"]
    force_faults("500", 1)
    create_si(at)

    [error] = [e.value for e in at.error]
    assert error.startswith("Stripe did not confirm the new SetupIntent: it had a server error. "
                            "Stripe did not make it: Create again is safe, and sends a new "
                            "request (fcops looked at this customer's SetupIntents at Stripe"), error
    assert "Sync from Stripe" not in error and "made at" not in error
    assert setup_intents(customer) == []
    create_si(at)  # and it is: one SetupIntent, shown
    assert not at.error, texts(at)
    assert setup_intents(customer) == [at.session_state["collect_result"].id]


def test_when_stripe_cannot_be_asked_either_the_advice_to_look_first_stays() -> None:
    at = with_customer()
    force_faults("500", 2)  # the create, then the look-up's list
    create_si(at)

    [error] = [e.value for e in at.error]
    assert "press Sync from Stripe in Open requests and look for a request for this customer " \
           "made at" in error, error
    assert "Create again is safe" not in error


def test_a_link_stripe_made_but_answered_500_opens_with_its_address_to_send() -> None:
    """It said "Send the customer that one" of the link's SetupIntent, and Open showed that
    SetupIntent with "No hosted page for this request": the link made was nowhere to send."""
    from tests.app.test_collect_link import with_customer as link_customer

    at = link_customer()
    force_faults("500_done", 1)
    at.button(key="collect_create_link").click().run()
    no_exceptions(at)

    [session] = [
        s for s in app().gateway.iter_checkout_sessions(customer=at.session_state["collect_customer"])
    ]
    [said] = [s.value for s in at.success]
    assert said.startswith(f"Stripe made the link after all: {session['id']} (its SetupIntent "), said
    assert f"Checkout link `{session['id']}`" in texts(at)  # listed above the buttons as a link
    at.button(key="collect_open_existing_0").click().run()
    no_exceptions(at)
    shown = at.session_state["collect_result"]
    assert shown.checkout_session_id == session["id"]
    assert shown.hosted_url and shown.hosted_url in [c.value for c in at.code]
    assert "No hosted page for this request" not in texts(at)


def test_the_audit_log_reads_unknown_not_error_for_a_create_stripe_made_after_all() -> None:
    """The Audit log read "collect.create — error" for a request that exists: the create's row
    now says Stripe did not confirm it (``unknown``, a filter of its own) and what fcops found."""
    from tests.app.conftest import open_page
    from tests.app.test_audit_page import PAGE as AUDIT
    from tests.app.test_audit_page import table

    at = with_customer()
    force_faults("500_done", 1)
    create_si(at)
    [made] = setup_intents(at.session_state["collect_customer"])

    log = open_page(AUDIT, "admin")
    assert "unknown" in log.selectbox(key="audit_outcome").options
    for name, value in {"action": "collect.create", "outcome": "unknown", "target": made}.items():
        log.query_params[name] = value
    log.run()
    no_exceptions(log)
    assert not log.warning, texts(log)  # the link's outcome is understood
    assert log.selectbox(key="audit_outcome").value == "unknown"
    rows = table(log)
    assert list(rows["outcome"]) == ["unknown"], rows
    assert rows["message"].iloc[0].startswith(
        "Stripe did not confirm the new SetupIntent (a server error), so it may have been made. "
        "fcops looked for it at Stripe (the collect.lookup entry): Stripe made it after all: "
    ), rows["message"].iloc[0]
    log.selectbox(key="audit_outcome").set_value("error").run()  # and it is not an error
    assert "No audit entries match these filters" in texts(log)
