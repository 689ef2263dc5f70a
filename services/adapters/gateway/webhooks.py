"""Stripe webhook signatures: the SDK's check of ``Stripe-Signature`` on the raw body (through
:mod:`.sdk`), then the body read as an event."""

from __future__ import annotations

import json
from typing import Any

from services.adapters.gateway.sdk import signature_problem


class BadSignature(ValueError):
    """A webhook whose ``Stripe-Signature`` does not verify (or whose body is not an event)."""


def verify_webhook(
    payload: bytes, signature: str | None, secret: str, *, tolerance: int = 300
) -> dict[str, Any]:
    """The event in ``payload`` if ``signature`` signs this exact raw body with ``secret`` within
    ``tolerance`` seconds (the SDK's check), else :class:`BadSignature` saying why."""
    if not signature:
        raise BadSignature("The request has no Stripe-Signature header.")
    problem = signature_problem(payload, signature, secret, tolerance)
    if problem is not None:
        raise BadSignature(f"The Stripe-Signature does not verify: {problem}")
    try:
        event = json.loads(payload)
    except ValueError:
        raise BadSignature("The body is not JSON.") from None
    if not isinstance(event, dict) or event.get("object") != "event" or not event.get("id"):
        raise BadSignature("The body is not a Stripe event.")
    return event
