"""Each flow's create call, built as the pinned SDK's own request type, and its previews.

One typed builder per Stripe endpoint (``SetupIntentCreateParams``, ``PaymentIntentCreateParams``,
Checkout's and FC's ``SessionCreateParams``, ``InvoiceCreateParams``,
``SubscriptionCreateParams``): a parameter the pinned API version does not accept is a mypy
error here, not a 400 in production. The collection service sends the SetupIntent one; the
Flow configuration page shows the same builders' output as JSON and as curl (with the
``Stripe-Version`` header the gateway sends), so what admins read is what goes out.

Reference §9: the pinned version (endive) refuses ``payment_method_types`` on PaymentIntent,
SetupIntent and Checkout Session create; ``allowed_payment_method_types`` filters the
dynamically eligible methods instead, and is mutually exclusive with
``automatic_payment_methods`` (what the Payment Element uses). Invoices and Subscriptions keep
``payment_settings.payment_method_types``.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from services.adapters.gateway import (
    CheckoutSessionCreateParams,
    InvoiceCreateParams,
    PaymentIntentCreateParams,
    SetupIntentCreateParams,
    SubscriptionCreateParams,
)
from services.errors import ValidationError
from services.rules.flow_config import FLOWS, FlowConfig
from services.rules.stripe_api import API_VERSION

API_BASE = "https://api.stripe.com"
PREVIEW_AMOUNT = 1099  # minor units, usd; only an example for the create calls that need one
ACH_ONLY = ["us_bank_account"]
PATHS: dict[str, str] = {
    "payment_intent": "/v1/payment_intents",
    "payment_element": "/v1/payment_intents",
    "setup_intent": "/v1/setup_intents",
    "checkout_session": "/v1/checkout/sessions",
    "invoice": "/v1/invoices",
    "subscription": "/v1/subscriptions",
}
# The keys a flow's configuration contributes (the rest is the caller's own: customer, amount…).
FRAGMENT_KEYS = (
    "allowed_payment_method_types",
    "automatic_payment_methods",
    "payment_method_options",
    "payment_settings",
)


# -- typed builders --------------------------------------------------------------------------------
# The `payment_method_options[us_bank_account]` literal repeats on purpose: each endpoint has its
# own TypedDict for it (SetupIntent's lacks PaymentIntent's `setup_future_usage`, Checkout's lacks
# `mandate_options`, …), and only a literal written in place is checked against the right one.


def setup_intent_create(
    config: FlowConfig, *, customer: str, metadata: dict[str, str] | None = None
) -> SetupIntentCreateParams:
    params: SetupIntentCreateParams = {
        "customer": customer,
        "allowed_payment_method_types": ACH_ONLY,
        "payment_method_options": {
            "us_bank_account": {
                "verification_method": config.verification_method,
                "financial_connections": {
                    "permissions": list(config.permissions),
                    "prefetch": list(config.prefetch),
                },
            }
        },
    }
    if metadata:
        params["metadata"] = metadata
    return params


def payment_intent_create(
    config: FlowConfig, *, customer: str, amount: int = PREVIEW_AMOUNT
) -> PaymentIntentCreateParams:
    params: PaymentIntentCreateParams = {
        "amount": amount,
        "currency": "usd",
        "customer": customer,
        "payment_method_options": {
            "us_bank_account": {
                "verification_method": config.verification_method,
                "financial_connections": {
                    "permissions": list(config.permissions),
                    "prefetch": list(config.prefetch),
                },
            }
        },
    }
    if config.flow == "payment_element":
        # The Payment Element offers the methods enabled in the Dashboard (dynamic payment
        # methods); the us_bank_account options apply when the customer picks a bank account.
        params["automatic_payment_methods"] = {"enabled": True}
    else:
        params["allowed_payment_method_types"] = ACH_ONLY
    return params


def checkout_session_create(
    config: FlowConfig,
    *,
    customer: str,
    success_url: str = "https://example.com/success?session_id={CHECKOUT_SESSION_ID}",
    cancel_url: str | None = "https://example.com/cancel",
    metadata: dict[str, str] | None = None,
) -> CheckoutSessionCreateParams:
    """Checkout in ``setup`` mode: the hosted page saves a bank account (its own SetupIntent,
    which carries ``metadata``). No ``payment_method_types``: endive refuses it (§9)."""
    params: CheckoutSessionCreateParams = {
        "mode": "setup",
        "currency": "usd",
        "customer": customer,
        "success_url": success_url,
        "allowed_payment_method_types": ACH_ONLY,
        "payment_method_options": {
            "us_bank_account": {
                "verification_method": config.verification_method,
                "financial_connections": {
                    "permissions": list(config.permissions),
                    "prefetch": list(config.prefetch),
                },
            }
        },
    }
    if cancel_url:
        params["cancel_url"] = cancel_url
    if metadata:
        params["setup_intent_data"] = {"metadata": metadata}
        params["metadata"] = metadata
    return params


def invoice_create(config: FlowConfig, *, customer: str) -> InvoiceCreateParams:
    return {
        "customer": customer,
        "collection_method": "send_invoice",
        "days_until_due": 30,
        "payment_settings": {
            "payment_method_types": ACH_ONLY,
            "payment_method_options": {
                "us_bank_account": {
                    "verification_method": config.verification_method,
                    "financial_connections": {
                        "permissions": list(config.permissions),
                        "prefetch": list(config.prefetch),
                    },
                }
            },
        },
    }


def subscription_create(config: FlowConfig, *, customer: str) -> SubscriptionCreateParams:
    return {
        "customer": customer,
        "items": [{"price": "price_123"}],
        "payment_behavior": "default_incomplete",
        "payment_settings": {
            "save_default_payment_method": "on_subscription",
            "payment_method_types": ACH_ONLY,
            "payment_method_options": {
                "us_bank_account": {
                    "verification_method": config.verification_method,
                    "financial_connections": {
                        "permissions": list(config.permissions),
                        "prefetch": list(config.prefetch),
                    },
                }
            },
        },
    }


def create_params(config: FlowConfig, *, customer: str) -> Mapping[str, Any]:
    """The flow's typed create params (before the SDK's encoding drops empty values)."""
    if config.flow not in FLOWS:
        raise ValidationError(f"Unknown flow '{config.flow}'. Choose one of: {', '.join(FLOWS)}.")
    if config.flow in ("payment_intent", "payment_element"):
        return payment_intent_create(config, customer=customer)
    if config.flow == "setup_intent":
        return setup_intent_create(config, customer=customer)
    if config.flow == "checkout_session":
        return checkout_session_create(config, customer=customer)
    if config.flow == "invoice":
        return invoice_create(config, customer=customer)
    return subscription_create(config, customer=customer)


# -- what goes on the wire ------------------------------------------------------------------------


def on_the_wire(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` as the SDK sends them: None, empty lists and empty hashes produce nothing
    (``stripe/_encode.py``), so an empty ``prefetch`` is simply absent."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, Mapping):
            value = on_the_wire(value)
        elif isinstance(value, list | tuple):
            value = [on_the_wire(v) if isinstance(v, Mapping) else v for v in value]
        if value is None or value == [] or value == {}:
            continue
        out[key] = value
    return out


def preview_request(
    config: FlowConfig, *, customer: str = "cus_123"
) -> tuple[str, str, dict[str, Any]]:
    """(HTTP method, path, params exactly as sent) of the flow's create call."""
    params = on_the_wire(create_params(config, customer=customer))
    return "POST", PATHS[config.flow], params


def fragment(config: FlowConfig) -> dict[str, Any]:
    """The part of the create call this flow's configuration decides (merge it into yours)."""
    _m, _p, params = preview_request(config)
    return {k: v for k, v in params.items() if k in FRAGMENT_KEYS}


def headers() -> dict[str, str]:
    """The request headers besides auth that the gateway sends with every call."""
    return {"Stripe-Version": API_VERSION}


def form_pairs(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's form encoding as (key, value) pairs: ``a[b][]=x`` for lists of scalars,
    ``a[0][b]=x`` for lists of objects, ``true``/``false`` for booleans, None omitted (§1.2)."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        pairs.extend(_pairs_for(name, value))
    return pairs


def _pairs_for(name: str, value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return form_pairs(value, name)
    if isinstance(value, list | tuple):
        pairs: list[tuple[str, str]] = []
        for i, item in enumerate(value):
            if isinstance(item, Mapping):
                pairs.extend(form_pairs(item, f"{name}[{i}]"))
            else:
                pairs.extend(_pairs_for(f"{name}[]", item))
        return pairs
    if isinstance(value, bool):
        return [(name, "true" if value else "false")]
    return [(name, str(value))]


_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


def _curl_arg(key: str, value: str) -> str:
    # -d sends its text as it is, so values with reserved characters go through --data-urlencode
    # (curl encodes the part after the first '='); the key keeps its brackets as Stripe expects.
    flag = "-d" if value and set(value) <= _PLAIN else "--data-urlencode"
    return f"{flag} {shlex.quote(f'{key}={value}')}"


def curl_command(config: FlowConfig, *, customer: str = "cus_123") -> str:
    """A copyable curl for the create call, with the pinned ``Stripe-Version`` header; the key
    comes from $STRIPE_SECRET_KEY, never inline."""
    method, path, params = preview_request(config, customer=customer)
    lines = [f"curl {API_BASE}{path}", '-u "$STRIPE_SECRET_KEY:"']
    lines += [f"-H {shlex.quote(f'{name}: {value}')}" for name, value in headers().items()]
    if method != "POST":
        lines.append(f"-X {method}")
    lines += [_curl_arg(k, v) for k, v in form_pairs(params)]
    return " \\\n  ".join(lines)


def retry_payment_intent_create(
    *,
    amount: int,
    currency: str,
    customer: str | None,
    payment_method: str,
    metadata: dict[str, str],
) -> PaymentIntentCreateParams:
    """A re-initiation of a returned ACH debit: the same amount on the same, already authorized
    bank account, confirmed at once off session (the original mandate covers it)."""
    params: PaymentIntentCreateParams = {
        "amount": amount,
        "currency": currency,
        "payment_method": payment_method,
        "allowed_payment_method_types": ACH_ONLY,
        "confirm": True,
        "off_session": True,
        "metadata": metadata,
    }
    if customer:
        params["customer"] = customer
    return params
