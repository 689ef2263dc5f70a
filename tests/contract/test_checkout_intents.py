"""The intent a Checkout Session made belongs to the session. Stripe's "Cancel a SetupIntent":
"You can't cancel the SetupIntent for a Checkout Session. Expire the Checkout Session instead."
(the Checkout Session's ``setup_intent`` / ``payment_intent`` fields say the same)."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from sandbox.server import SandboxHandle
from tests.contract.conftest import hook, raw
from tests.contract.test_payments import (
    ACCEPTANCE,
    ACH,
    event_types,
    new_customer,
    new_setup_intent,
)


def _session(client: stripe.StripeClient, mode: str) -> Any:
    params: dict[str, Any] = {
        "mode": mode,
        "success_url": "https://example.com/ok",
        "customer": new_customer(client).id,
        **ACH,
    }
    if mode == "setup":
        params["currency"] = "usd"
    else:
        params["line_items"] = [
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 1250,
                    "product_data": {"name": "Rent"},
                },
                "quantity": 1,
            }
        ]
    return client.v1.checkout.sessions.create(params=params)


@pytest.mark.parametrize("mode", ["setup", "payment"])
def test_the_intent_of_a_checkout_session_cannot_be_canceled_only_the_session_expired(
    client: stripe.StripeClient, mode: str
) -> None:
    session = _session(client, mode)
    intents = client.v1.setup_intents if mode == "setup" else client.v1.payment_intents
    intent_id = session.setup_intent if mode == "setup" else session.payment_intent
    title = "SetupIntent" if mode == "setup" else "PaymentIntent"
    with pytest.raises(stripe.InvalidRequestError) as err:
        intents.cancel(intent_id)
    assert err.value.http_status == 400
    assert err.value.error is not None and err.value.error.type == "invalid_request_error"
    assert f"cannot cancel this {title}" in str(err.value.user_message)
    assert "Expire the Checkout Session instead" in str(err.value.user_message)
    intent = intents.retrieve(intent_id)
    assert intent.status == "requires_payment_method"  # the refusal changed nothing
    expired = client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired"
    assert intents.retrieve(intent_id).status == "canceled"  # expiring cancels it


def test_an_intent_made_without_checkout_is_still_canceled_directly(
    client: stripe.StripeClient,
) -> None:
    si = new_setup_intent(client, new_customer(client).id)
    assert client.v1.setup_intents.cancel(si.id).status == "canceled"


def test_the_session_list_has_no_setup_intent_filter(client: stripe.StripeClient) -> None:
    """Stripe's SessionListParams has payment_intent but no setup_intent: an unknown param."""
    session = _session(client, "setup")
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.checkout.sessions.list(
            params={"setup_intent": session.setup_intent}  # type: ignore[typeddict-unknown-key]
        )
    assert err.value.code == "parameter_unknown" and err.value.param == "setup_intent"
    found = client.v1.checkout.sessions.list(
        params={"customer": str(session.customer), "status": "open"}
    )
    assert [s.id for s in found.data] == [session.id]


@pytest.mark.parametrize("mode", ["setup", "payment"])
def test_the_intent_of_a_checkout_session_cannot_be_confirmed_through_the_api(
    client: stripe.StripeClient, mode: str
) -> None:
    """The pinned SDK's checkout.Session.setup_intent / .payment_intent: "You can't confirm or
    cancel the SetupIntent for a Checkout Session." The customer confirms it on the page."""
    session = _session(client, mode)
    intents = client.v1.setup_intents if mode == "setup" else client.v1.payment_intents
    intent_id = session.setup_intent if mode == "setup" else session.payment_intent
    title = "SetupIntent" if mode == "setup" else "PaymentIntent"
    bank = {
        "type": "us_bank_account",
        "us_bank_account": {
            "routing_number": "110000000",
            "account_number": "000123456789",
            "account_holder_type": "individual",
        },
        "billing_details": {"name": "Casey Contract"},
    }
    with pytest.raises(stripe.InvalidRequestError) as err:
        intents.confirm(intent_id, params={"payment_method_data": bank, "mandate_data": ACCEPTANCE})
    assert err.value.http_status == 400
    assert f"cannot confirm this {title}" in str(err.value.user_message)
    assert "Checkout Session" in str(err.value.user_message)
    intent = intents.retrieve(intent_id)
    assert intent.status == "requires_payment_method" and intent.payment_method is None


def test_a_setup_session_without_allowed_types_needs_a_currency(
    client: stripe.StripeClient,
) -> None:
    """The pinned SDK's SessionCreateParams.currency: "Required in `setup` mode when
    `allowed_payment_method_types` is not set." With the types given it may be left out."""
    customer = new_customer(client).id
    base: dict[str, Any] = {
        "mode": "setup",
        "success_url": "https://example.com/ok",
        "customer": customer,
    }
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.checkout.sessions.create(params=base)
    assert err.value.code == "parameter_missing" and err.value.param == "currency"
    assert not client.v1.checkout.sessions.list(params={"customer": customer}).data
    made = client.v1.checkout.sessions.create(params={**base, "currency": "usd"})
    assert made.status == "open"
    made = client.v1.checkout.sessions.create(params={**base, **ACH})
    assert made.status == "open"


def test_a_session_expires_by_itself_at_its_expires_at(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    """Stripe's "Manage limited inventory": "Checkout supports both manual and timed session
    expiration. When a Checkout Session expires, its status property changes to expired." and
    "When a Checkout Session expires, Stripe sends the checkout.session.expired event." The
    timed expiry cancels the session's open intent as the expire endpoint does; the customer
    can no longer complete it, and the expire endpoint refuses it as it refuses any not open."""
    now = int(hook(sandbox, "clock/advance", seconds=0)["now"])
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "setup",
            "currency": "usd",
            "success_url": "https://example.com/ok",
            "customer": new_customer(client).id,
            "expires_at": now + 1800,
            **ACH,  # type: ignore[typeddict-item]
        }
    )
    done = _session(client, "setup")  # completed by the customer before its expiry
    hook(sandbox, f"setup_intents/{done.setup_intent}/link", institution="Test Institution")
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    hook(sandbox, "clock/advance", seconds=1801)
    expired = client.v1.checkout.sessions.retrieve(session.id)
    assert expired.status == "expired" and expired.url is None
    assert client.v1.setup_intents.retrieve(str(session.setup_intent)).status == "canceled"
    assert "checkout.session.expired" in event_types(client, session.id)
    status, body, _ = raw(
        sandbox.base_url,
        "POST",
        f"/_sandbox/setup_intents/{session.setup_intent}/link",
        {"institution": "Test Institution"},
        auth=False,
    )
    assert status == 400, body
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(session.id)
    assert client.v1.checkout.sessions.retrieve(done.id).status == "complete"
