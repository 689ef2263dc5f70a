"""Builders for every Stripe object the sandbox serves, field-for-field like Stripe's examples.

Each builder deep-copies Stripe's own example object (``stripe_templates.json``, from
stripe/openapi, MIT), replaces the example values with sandbox defaults (nulls where a fresh
object has nulls), gives it a fresh id and ``created``, then applies the caller's overrides
(top-level keys, replaced wholesale). Builders do NOT store the object: call
``state.add(objects.customer(state, email=...))``.

Starting from the template means a field Stripe adds to its examples shows up here too, and
``tests/contract/test_fixture_shapes.py`` checks the result against the fixture.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from sandbox.core.templates import _templates, build, template  # noqa: F401 (tests read them)

if TYPE_CHECKING:
    from sandbox.core import State

# Fields (dotted paths) that Stripe documents as nullable but whose example value is filled
# in. A fresh sandbox object has null there; the shape test allows null only for these.
NULLABLE: dict[str, frozenset[str]] = {
    "customer": frozenset(
        {"address", "discount", "currency", "shipping", "invoice_settings.rendering_options"}
    ),
    "financial_connections.account": frozenset(
        {"balance", "balance_refresh", "ownership_refresh", "transaction_refresh", "account_holder"}
    ),
    "financial_connections.account_owner": frozenset(
        {"email", "phone", "raw_address", "refreshed_at"}
    ),
    "financial_connections.account_ownership": frozenset(),
    "financial_connections.session": frozenset({"client_secret"}),
    "financial_connections.transaction": frozenset({"status_transitions.posted_at"}),
    "mandate": frozenset({"customer_acceptance.online", "customer_acceptance.accepted_at"}),
    "payment_intent": frozenset(
        {
            "automatic_payment_methods",
            "canceled_at",
            "last_payment_error",
            "next_action",
            "payment_method_configuration_details",
            "processing",
            "shipping",
            "transfer_data",
        }
    ),
    "payment_method": frozenset(
        {
            "billing_details.address.city",
            "billing_details.address.country",
            "billing_details.address.line1",
            "billing_details.address.postal_code",
            "billing_details.address.state",
            "billing_details.email",
            "billing_details.phone",
        }
    ),
    "setup_intent": frozenset(
        {
            "automatic_payment_methods",
            "client_secret",
            "last_setup_error",
            "next_action",
            "payment_method_configuration_details",
        }
    ),
    "checkout.session": frozenset(
        {
            "after_expiration",
            "cancel_url",
            "automatic_tax.liability",
            "collected_information",
            "consent",
            "consent_collection",
            "currency_conversion",
            "custom_text.after_submit",
            "custom_text.shipping_address",
            "custom_text.submit",
            "custom_text.terms_of_service_acceptance",
            "customer_details",
            "expires_at",
            "invoice_creation",
            "payment_intent",
            "payment_method_configuration_details",
            "permissions",
            "saved_payment_method_options",
            "shipping_address_collection",
            "shipping_cost",
            "success_url",
            "total_details.amount_discount",
            "total_details.amount_tax",
            "url",
            "wallet_options",
        }
    ),
    "event": frozenset(),
}


def fingerprint(*parts: str) -> str:
    """A stable 16-character fingerprint (same bank account → same value)."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def empty_list(url: str) -> dict:
    return {"object": "list", "data": [], "has_more": False, "url": url}


def address(**fields: Any) -> dict:
    base: dict[str, Any] = dict.fromkeys(
        ("city", "country", "line1", "line2", "postal_code", "state")
    )
    base.update(fields)
    return base


# --------------------------------------------------------------------------- customers


def customer(state: State, **fields: Any) -> dict:
    base: dict[str, Any] = {
        "address": None,
        "balance": 0,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": None,
        "invoice_prefix": state.new_id("")[:8].upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }
    return build(state, "customer", "cus_", base, fields)


def deleted_customer(id: str) -> dict:
    return {"id": id, "object": "customer", "deleted": True}


# --------------------------------------------------------------------------- financial connections


def refresh_state(status: str, *, last_attempted_at: int, next_at: int | None = None) -> dict:
    """A ``balance_refresh``/``ownership_refresh`` value (§4)."""
    return {
        "last_attempted_at": last_attempted_at,
        "next_refresh_available_at": next_at,
        "status": status,
    }


def fc_account(state: State, **fields: Any) -> dict:
    """``financial_connections.account``; pass ``account_holder={"type": "customer", "customer": id}``."""
    base: dict[str, Any] = {
        "account_holder": None,
        "account_numbers": None,
        "balance": None,
        "balance_refresh": None,
        "category": "cash",
        "display_name": "Sample Checking Account",
        "institution_name": "StripeBank",
        "last4": "6789",
        "ownership": None,
        "ownership_refresh": None,
        "permissions": [],
        "status": "active",
        "status_details": None,
        "subcategory": "checking",
        "subscriptions": [],
        "supported_payment_method_types": ["us_bank_account"],
        "transaction_refresh": None,
    }
    return build(state, "financial_connections.account", "fca_", base, fields)


def balance(
    *,
    as_of: int,
    current: int,
    available: int | None = None,
    currency: str = "usd",
    type: str = "cash",
) -> dict:
    """A Stripe balance hash: only the sub-hash matching ``type`` is filled (§2.1)."""
    bal: dict[str, Any] = {"as_of": as_of, "type": type, "current": {currency: current}}
    if type == "cash":
        bal["cash"] = {"available": None if available is None else {currency: available}}
    else:
        bal["credit"] = {"used": None if available is None else {currency: available}}
    return bal


def ownership(
    state: State, *, account: str, owners: list[dict] | None = None, **fields: Any
) -> dict:
    """``…account_ownership`` with its owners inline (a list envelope)."""
    base: dict[str, Any] = {
        "owners": {
            "object": "list",
            "data": list(owners or []),
            "has_more": False,
            "url": f"/v1/financial_connections/accounts/{account}/owners",
        }
    }
    return build(state, "financial_connections.account_ownership", "fcaowns_", base, fields)


def owner(state: State, *, ownership: str, name: str, **fields: Any) -> dict:
    base: dict[str, Any] = {
        "email": None,
        "name": name,
        "ownership": ownership,
        "phone": None,
        "raw_address": None,
        "refreshed_at": None,
    }
    return build(state, "financial_connections.account_owner", "fcaown_", base, fields)


def transaction(state: State, *, account: str, amount: int, **fields: Any) -> dict:
    now = state.now()
    base: dict[str, Any] = {
        "account": account,
        "amount": amount,
        "currency": "usd",
        "description": "",
        "status": "posted",
        "status_transitions": {"posted_at": now, "void_at": None},
        "transacted_at": now,
        "transaction_refresh": None,
        "updated": now,
    }
    return build(state, "financial_connections.transaction", "fctxn_", base, fields)


def fc_session(state: State, **fields: Any) -> dict:
    base: dict[str, Any] = {
        "account_holder": None,
        "accounts": empty_list("/v1/financial_connections/accounts"),
        "client_secret": None,
        "filters": None,
        "limits": None,
        "manual_entry": None,
        "permissions": [],
        "prefetch": [],
        "return_url": None,
    }
    obj = build(state, "financial_connections.session", "fcsess_", base, fields)
    if obj.get("client_secret") is None:
        obj["client_secret"] = state.secret(obj["id"])
    return obj


# --------------------------------------------------------------------------- payments


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
    if obj.get("client_secret") is None:
        obj["client_secret"] = state.secret(obj["id"])
    return obj


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
    if obj.get("client_secret") is None:
        obj["client_secret"] = state.secret(obj["id"])
    return obj


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
