"""ACH payment objects: bank-account payment methods, SetupIntents, PaymentIntents, mandates
(reference §2.5-2.8)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.copies import clone
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


def _intent_base() -> dict[str, Any]:
    """The fields a fresh SetupIntent and PaymentIntent share (each adds its own; every key is in
    both of Stripe's examples, so the result keeps the examples' key order)."""
    return {
        "application": None,
        "automatic_payment_methods": None,
        "cancellation_reason": None,
        "client_secret": None,
        "customer": None,
        "description": None,
        "excluded_payment_method_types": None,
        "metadata": {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["us_bank_account"],
        "status": "requires_payment_method",
    }


def setup_intent(state: State, **fields: Any) -> dict:
    base: dict[str, Any] = {
        **_intent_base(),
        "flow_directions": None,
        "last_setup_error": None,
        "latest_attempt": None,
        "mandate": None,
        "single_use_mandate": None,
        "usage": "off_session",
    }
    obj = build(state, "setup_intent", "seti_", base, fields)
    return with_client_secret(state, obj)


def payment_intent(state: State, *, amount: int, currency: str = "usd", **fields: Any) -> dict:
    base: dict[str, Any] = {
        **_intent_base(),
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application_fee_amount": None,
        "canceled_at": None,
        "capture_method": "automatic",
        "confirmation_method": "automatic",
        "currency": currency,
        "customer_account": None,
        "last_payment_error": None,
        "latest_charge": None,
        "managed_payments": {"enabled": False},
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
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


# Objects Stripe's fixtures have no example of: built field by field from the pinned types.


def setup_attempt(state: State, si: dict, pm: dict, *, status: str) -> dict:
    """A ``setup_attempt`` of ``si`` with ``pm`` (Stripe's fixtures have no example of one)."""
    return {
        "id": state.new_id("setatt_"),
        "object": "setup_attempt",
        "application": None,
        "attach_to_self": False,
        "created": state.now(),
        "customer": si["customer"],
        "customer_account": None,
        "flow_directions": None,
        "livemode": False,
        "on_behalf_of": None,
        "payment_method": pm["id"],
        "payment_method_details": {"type": "us_bank_account", "us_bank_account": {}},
        "setup_error": None,
        "setup_intent": si["id"],
        "status": status,
        "usage": si["usage"],
    }


def charge(state: State, pi: dict, pm: dict, *, mandate: str | None) -> dict:
    """The pending ``charge`` of an ACH debit (Stripe's fixtures have no example of one)."""
    uba = pm["us_bank_account"]
    return {
        "id": state.new_id("py_"),
        "object": "charge",
        "amount": pi["amount"],
        "amount_captured": pi["amount"],
        "amount_refunded": 0,
        "balance_transaction": None,
        "billing_details": clone(pm["billing_details"]),
        "captured": True,
        "created": state.now(),
        "currency": pi["currency"],
        "customer": pi["customer"],
        "description": pi["description"],
        "disputed": False,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": dict(pi["metadata"]),
        "outcome": None,
        "paid": False,
        "payment_intent": pi["id"],
        "payment_method": pm["id"],
        "payment_method_details": {
            "type": "us_bank_account",
            "us_bank_account": {
                "account_holder_type": uba["account_holder_type"],
                "account_type": uba["account_type"],
                "bank_name": uba["bank_name"],
                "fingerprint": uba["fingerprint"],
                "last4": uba["last4"],
                "mandate": mandate,
                "payment_reference": None,
                "routing_number": uba["routing_number"],
            },
        },
        "refunded": False,
        "statement_descriptor": pi["statement_descriptor"],
        "statement_descriptor_suffix": pi["statement_descriptor_suffix"],
        "status": "pending",
    }


# Dispute.Evidence's fields (all nullable) other than `enhanced_evidence`.
DISPUTE_EVIDENCE_FIELDS = (
    "access_activity_log",
    "appeal",
    "billing_address",
    "cancellation_policy",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "customer_signature",
    "duplicate_charge_documentation",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "receipt",
    "refund_policy",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "service_documentation",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_documentation",
    "shipping_tracking_number",
    "uncategorized_file",
    "uncategorized_text",
)


def dispute(state: State, charge: dict) -> dict:
    """A lost ``debit_not_authorized`` dispute of ``charge`` (no example in Stripe's fixtures)."""
    return {
        "id": state.new_id("du_"),
        "object": "dispute",
        "amount": charge["amount"],
        "balance_transactions": [],
        "charge": charge["id"],
        "created": state.now(),
        "currency": charge["currency"],
        "enhanced_eligibility_types": [],
        "evidence": {**dict.fromkeys(DISPUTE_EVIDENCE_FIELDS), "enhanced_evidence": {}},
        "evidence_details": {
            "due_by": None,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "submission_method": "not_submitted",
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": charge["payment_intent"],
        # The pinned Dispute type has payment method details for amazon_pay, card, klarna
        # and paypal only; for an ACH debit it is null.
        "payment_method_details": None,
        "reason": "debit_not_authorized",
        "status": "lost",
    }
