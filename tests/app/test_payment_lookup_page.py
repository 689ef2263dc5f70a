"""Payment lookup page: intent → bank account, manual entry said plainly, bad IDs and errors."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app

PAGE = "pages/payment_lookup.py"




def setup_intent(*, manual: bool) -> dict[str, Any]:
    """A SetupIntent of a fresh customer, linked through FC or entered manually."""
    a = app()
    customer = a.gateway.create_customer(
        {"email": f"lee.{secrets.token_hex(4)}@example.org", "name": "Lee Park"},
        idempotency_key=None,
    )
    si = a.gateway.create_setup_intent(
        {"customer": customer["id"], "allowed_payment_method_types": ["us_bank_account"]},
        idempotency_key=None,
    )
    if manual:
        a.simulator.manual_entry(si["id"])
    else:
        a.simulator.link_bank(si["id"], institution="StripeBank")
    return si


def look_up(text: str, role: str = "ops") -> AppTest:
    at = open_page(PAGE, role)
    at.text_input(key="lookup_id").set_value(text)
    next(b for b in at.button if b.label == "Look up").click().run()
    return at


def test_a_linked_setup_intent_leads_to_its_account_with_a_link_to_it() -> None:
    si = setup_intent(manual=False)
    at = look_up(f"  {si['id']} ")
    no_exceptions(at)
    assert "Linked through Financial Connections" in " ".join(s.value for s in at.success)
    account_id = app().gateway.retrieve_setup_intent(si["id"], expand=["payment_method"])[
        "payment_method"
    ]["us_bank_account"]["financial_connections_account"]
    assert account_id in texts(at)
    links = at.get("page_link")
    assert links and "Open in Accounts" in str(links[0].proto)
    assert account_id in str(links[0].proto)


def test_a_manually_entered_account_is_said_plainly_to_have_no_data() -> None:
    si = setup_intent(manual=True)
    at = look_up(si["id"], "finance")
    no_exceptions(at)
    warning = " ".join(w.value for w in at.warning)
    assert "entered manually" in warning
    assert "no balance, ownership or transaction data" in warning
    assert not at.get("page_link")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter an ID"),
        ("hello world", "is not an ID this accepts"),
        ("pi_doesnotexist123", "Stripe has no PaymentIntent pi_doesnotexist123"),
    ],
)
def test_empty_malformed_and_unknown_ids_give_a_sentence(text: str, message: str) -> None:
    at = look_up(text)
    no_exceptions(at)
    assert message in " ".join(e.value for e in at.error)


def test_a_rejected_request_is_a_sentence_not_a_trace() -> None:
    at = open_page(PAGE, "ops")
    # one 429 for each attempt the gateway's back-off makes (the SDK retries none of them)
    app().simulator.force_faults("429", app().services.gateway.backoff.retries + 1)
    at.text_input(key="lookup_id").set_value("seti_anything123")
    next(b for b in at.button if b.label == "Look up").click().run()
    no_exceptions(at)
    assert "rate-limiting" in " ".join(e.value for e in at.error)


def test_a_customer_with_one_account_is_counted_in_words() -> None:
    si = setup_intent(manual=False)
    at = look_up(si["customer"])
    no_exceptions(at)
    assert "has 1 linked bank account." in " ".join(s.value for s in at.success)
