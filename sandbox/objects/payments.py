"""ACH payment objects: bank-account payment methods, SetupIntents, PaymentIntents, mandates
(reference §2.5-2.8)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.templates import build
from sandbox.objects.common import address, fingerprint, with_client_secret

if TYPE_CHECKING:
    from sandbox.core import State


def us_bank_account_details(
    *,
    last4: str = "6789",
    routing_number: str = "110000000",
    bank_name: str = "STRIPE TEST BANK",
    financial_connections_account: str | None = None,
    account_holder_type: str | None = "individual",
    account_type: str | None = "checking",
    fingerprint_value: str | None = None,
    status_details: dict | None = None,
) -> dict:
    """The ``us_bank_account`` hash of an ACH payment method (§2.7)."""
    return {
        "account_holder_type": account_holder_type,
        "account_type": account_type,
        "bank_name": bank_name,
        "financial_connections_account": financial_connections_account,
        "fingerprint": fingerprint_value or fingerprint(routing_number, last4),
        "last4": last4,
        "networks": {"preferred": "ach", "supported": ["ach"]},
        "routing_number": routing_number,
        "status_details": status_details,
    }


def payment_method(state: State, **fields: Any) -> dict:
    """An ACH ``payment_method`` (type ``us_bank_account``); override ``us_bank_account``."""
    base: dict[str, Any] = {
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": address(),
            "email": None,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        "customer": None,
        "customer_account": None,
        "metadata": {},
        "type": "us_bank_account",
        "us_bank_account": us_bank_account_details(),
    }
    obj = build(state, "payment_method", "pm_", base, fields)
    obj.pop("card", None)  # the template is a card; the variant hash follows `type`
    return obj


def setup_intent(state: State, **fields: Any) -> dict:
    base: dict[str, Any] = {
        "application": None,
        "automatic_payment_methods": None,
        "cancellation_reason": None,
        "client_secret": None,
        "customer": None,
        "description": None,
        "excluded_payment_method_types": None,
        "flow_directions": None,
        "last_setup_error": None,
        "latest_attempt": None,
        "mandate": None,
        "metadata": {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["us_bank_account"],
        "single_use_mandate": None,
        "status": "requires_payment_method",
        "usage": "off_session",
    }
    obj = build(state, "setup_intent", "seti_", base, fields)
    return with_client_secret(state, obj)


def payment_intent(state: State, *, amount: int, currency: str = "usd", **fields: Any) -> dict:
    base: dict[str, Any] = {
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": None,
        "confirmation_method": "automatic",
        "currency": currency,
        "customer": None,
        "customer_account": None,
        "description": None,
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "managed_payments": {"enabled": False},
        "metadata": {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["us_bank_account"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }
    obj = build(state, "payment_intent", "pi_", base, fields)
    return with_client_secret(state, obj)


def mandate(state: State, *, payment_method: str, **fields: Any) -> dict:
    """A multi-use ACH ``mandate`` accepted online now (override ``customer_acceptance``)."""
    base: dict[str, Any] = {
        "customer_acceptance": {
            "accepted_at": state.now(),
            "online": {"ip_address": "127.0.0.1", "user_agent": "fcops-sandbox"},
            "type": "online",
        },
        "multi_use": {},
        "payment_method": payment_method,
        "payment_method_details": {
            "type": "us_bank_account",
            "us_bank_account": {"collection_method": None},
        },
        "status": "active",
        "type": "multi_use",
    }
    return build(state, "mandate", "mandate_", base, fields)
