"""The Stripe SDK, and the only module that imports it (the architecture test checks).

What the rest of the gateway needs from the pinned SDK: its client, its request and parameter
types, its exceptions turned into fcops' domain errors, and its webhook signature check. Above
the gateway nobody sees a ``stripe`` type or exception.
"""

from __future__ import annotations

from typing import Any

import stripe
from stripe import RequestOptions, StripeClient, StripeError, V1Services
from stripe.params import (
    CustomerCreateParams,
    CustomerListParams,
    CustomerSearchParams,
    EventListParams,
    InvoiceCreateParams,
    PaymentIntentCancelParams,
    PaymentIntentCreateParams,
    PaymentIntentListParams,
    PaymentIntentRetrieveParams,
    PaymentIntentVerifyMicrodepositsParams,
    PaymentMethodListParams,
    SetupIntentCancelParams,
    SetupIntentCreateParams,
    SetupIntentListParams,
    SetupIntentRetrieveParams,
    SetupIntentVerifyMicrodepositsParams,
    SubscriptionCreateParams,
    WebhookEndpointCreateParams,
)
from stripe.params.checkout import SessionCreateParams as CheckoutSessionCreateParams
from stripe.params.financial_connections import (
    AccountListParams,
    AccountOwnerListParams,
    AccountRetrieveParams,
    TransactionListParams,
    TransactionListParamsTransactedAt,
)
from stripe.params.financial_connections import SessionCreateParams as FcSessionCreateParams

from services.errors import (
    Conflict,
    FcopsError,
    NotFound,
    NoTransactionRefresh,
    OutcomeUnknown,
    RateLimited,
    RefreshNotAllowed,
    StripeAuthError,
    StripeRequestError,
    StripeUnavailable,
)
from services.rules.stripe_api import API_VERSION

# Stripe's FC error codes for a refresh that cannot start are only these (reference §10); other
# refusals carry no code and are judged by the account (services.rules.refresh_rule).
_REFRESH_CODES = {"financial_connections_account_inactive"}


__all__ = [
    "AccountListParams",
    "AccountOwnerListParams",
    "AccountRetrieveParams",
    "CheckoutSessionCreateParams",
    "CustomerCreateParams",
    "CustomerListParams",
    "CustomerSearchParams",
    "EventListParams",
    "FcSessionCreateParams",
    "InvoiceCreateParams",
    "PaymentIntentCancelParams",
    "PaymentIntentCreateParams",
    "PaymentIntentListParams",
    "PaymentIntentRetrieveParams",
    "PaymentIntentVerifyMicrodepositsParams",
    "PaymentMethodListParams",
    "RequestOptions",
    "SetupIntentCancelParams",
    "SetupIntentCreateParams",
    "SetupIntentListParams",
    "SetupIntentRetrieveParams",
    "SetupIntentVerifyMicrodepositsParams",
    "StripeError",
    "SubscriptionCreateParams",
    "TransactionListParams",
    "TransactionListParamsTransactedAt",
    "V1Services",
    "WebhookEndpointCreateParams",
    "new_client",
    "obj_to_dict",
    "signature_problem",
    "translate_error",
]


def new_client(
    api_key: str, *, base_url: str | None, timeout_seconds: float, max_network_retries: int
) -> StripeClient:
    """The SDK client at the pinned API version; ``base_url`` points it at the sandbox."""
    return StripeClient(
        api_key,
        stripe_version=API_VERSION,
        base_addresses={"api": base_url} if base_url else None,
        max_network_retries=max_network_retries,
        http_client=stripe.RequestsClient(timeout=timeout_seconds),
    )


def signature_problem(payload: bytes, signature: str, secret: str, tolerance: int) -> str | None:
    """Why ``signature`` does not sign this exact raw body with ``secret`` within ``tolerance``
    seconds (the SDK's check), or None when it does."""
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance)
    except stripe.SignatureVerificationError as err:
        return str(err.user_message or err)
    return None


# SDK errors that mean one thing whatever Stripe's message: the domain error and its sentence.
_FIXED_SENTENCES: tuple[tuple[type[StripeError], type[FcopsError], str], ...] = (
    (
        stripe.AuthenticationError,
        StripeAuthError,
        "Stripe rejected the API key. Check STRIPE_API_KEY in the settings.",
    ),
    (
        stripe.RateLimitError,
        RateLimited,
        "Stripe is rate-limiting requests. Wait a few seconds and try again.",
    ),
    (
        stripe.IdempotencyError,
        Conflict,
        "This request was already sent with different details; reload the page and try again.",
    ),
)


def obj_to_dict(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def translate_error(err: StripeError) -> FcopsError:
    """Turn an SDK exception into a domain error with a sentence a person can act on."""
    rid = getattr(err, "request_id", None)
    message = (
        getattr(err, "user_message", None) or str(getattr(err, "_message", "") or err)
    ).strip()
    code = getattr(err, "code", None)
    param = getattr(err, "param", None)
    suffix = f" (Stripe request {rid})" if rid else ""
    for kind, domain, sentence in _FIXED_SENTENCES:
        if isinstance(err, kind):
            return domain(f"{sentence}{suffix}", request_id=rid)
    if isinstance(err, stripe.APIConnectionError):
        return OutcomeUnknown(
            "Could not reach Stripe (the connection failed or timed out), so the outcome is not "
            "known. Trying again is safe: a repeated change is sent with the same idempotency key.",
            request_id=rid,
        )
    if getattr(err, "http_status", None) == 409 or code == "idempotency_key_in_use":
        return OutcomeUnknown(
            "Stripe is still working on the same request (sent twice?). Wait a moment and try "
            f"again: the retry repeats the same request, so it happens at most once.{suffix}",
            request_id=rid,
        )
    if isinstance(err, stripe.InvalidRequestError):
        if getattr(err, "http_status", None) == 404 or code == "resource_missing":
            return NotFound(f"{message}{suffix}", request_id=rid)
        if code in _REFRESH_CODES:
            return RefreshNotAllowed(f"{message}{suffix}", request_id=rid)
        if code == "financial_connections_no_successful_transaction_refresh":
            return NoTransactionRefresh(
                "No transaction refresh has succeeded yet for this account, so Stripe has no "
                f"transactions to list. Start a transaction refresh and sync when it has "
                f"finished. Stripe said: {message}{suffix}",
                request_id=rid,
            )
        return StripeRequestError(f"{message}{suffix}", request_id=rid, code=code, param=param)
    if isinstance(err, stripe.PermissionError):
        return StripeRequestError(
            f"The Stripe key may not do this (restricted key scope): {message}{suffix}",
            request_id=rid,
            code=code,
        )
    if isinstance(err, stripe.CardError):
        return StripeRequestError(f"{message}{suffix}", request_id=rid, code=code, param=param)
    if isinstance(err, stripe.APIError):
        return StripeUnavailable(
            f"Stripe had a temporary problem (HTTP {getattr(err, 'http_status', '5xx')}). "
            f"Try again in a minute.{suffix}",
            request_id=rid,
        )
    return StripeUnavailable(
        f"Stripe returned an unexpected error: {message}{suffix}", request_id=rid
    )
