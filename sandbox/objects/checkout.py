"""Checkout Sessions (reference §2.10)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.templates import build

if TYPE_CHECKING:
    from sandbox.core import State


def checkout_session(state: State, *, mode: str = "setup", **fields: Any) -> dict:
    base: dict[str, Any] = {
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": None,
        "amount_total": None,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": None,
        "client_reference_id": None,
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "currency": None,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": None,
        "customer_account": None,
        "customer_creation": None,
        "customer_details": None,
        "customer_email": None,
        "discounts": None,
        "expires_at": state.now() + 24 * 3600,
        "integration_identifier": None,
        "invoice": None,
        "invoice_creation": None,
        "locale": None,
        "managed_payments": {"enabled": False},
        "metadata": {},
        "mode": mode,
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["us_bank_account"],
        "payment_status": "no_payment_required" if mode == "setup" else "unpaid",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": None,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted_page",
        "url": None,
        "wallet_options": None,
    }
    obj = build(state, "checkout.session", "cs_test_", base, fields)
    if obj.get("url") is None and obj["status"] == "open":
        obj["url"] = f"https://checkout.stripe.com/c/pay/{obj['id']}"
    return obj
