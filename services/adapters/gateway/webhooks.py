"""Stripe webhook signatures: the SDK's check of ``Stripe-Signature`` on the raw body."""

from __future__ import annotations

import json
from typing import Any

import stripe


class BadSignature(ValueError):
    """A webhook whose ``Stripe-Signature`` does not verify (or whose body is not an event)."""


def verify_webhook(
    payload: bytes, signature: str | None, secret: str, *, tolerance: int = 300
) -> dict[str, Any]:
    """The event in ``payload`` if ``signature`` signs this exact raw body with ``secret`` within
    ``tolerance`` seconds (the SDK's check), else :class:`BadSignature` saying why."""
    if not signature:
        raise BadSignature("The request has no Stripe-Signature header.")
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance)
    except stripe.SignatureVerificationError as err:
        raise BadSignature(f"The Stripe-Signature does not verify: {err.user_message or err}") from None
    try:
        event = json.loads(payload)
    except ValueError:
        raise BadSignature("The body is not JSON.") from None
    if not isinstance(event, dict) or event.get("object") != "event" or not event.get("id"):
        raise BadSignature("The body is not a Stripe event.")
    return event
