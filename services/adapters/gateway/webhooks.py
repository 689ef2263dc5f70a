"""Stripe webhooks: the SDK's check of ``Stripe-Signature`` on the raw body (through
:mod:`.sdk`), then the body read as an event; and the ``webhook_endpoints`` calls the gateway
makes to register the app's endpoint."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from services.adapters.gateway import sdk
from services.adapters.gateway.sdk import signature_problem
from services.rules.stripe_api import API_VERSION


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


class _Calls(Protocol):
    """What the endpoint calls use of :class:`~services.adapters.gateway.StripeGateway`."""

    @property
    def v1(self) -> sdk.V1Services: ...

    def _one(self, fn: Callable[[], Any]) -> dict[str, Any]: ...

    def _iter(self, path: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]: ...


class WebhookEndpointCalls:
    """Stripe's ``webhook_endpoints`` API, as part of the gateway (the app registers its own
    endpoint in sandbox mode; see :func:`bootstrap.start_background`)."""

    def create_webhook_endpoint(
        self: _Calls, url: str, enabled_events: Sequence[str], *, description: str | None = None
    ) -> dict[str, Any]:
        """Register ``url``; Stripe answers the signing ``secret`` only in this response."""
        params: sdk.WebhookEndpointCreateParams = {
            "url": url,
            "enabled_events": list(enabled_events),  # type: ignore[arg-type]
            # Events keep the version they are rendered in; without this, the account's default
            # (perhaps older than ours, and missing fields the mirror reads).
            "api_version": API_VERSION,
        }
        if description:
            params["description"] = description
        return self._one(lambda: self.v1.webhook_endpoints.create(params=params))

    def list_webhook_endpoints(self: _Calls) -> list[dict[str, Any]]:
        params: sdk.WebhookEndpointListParams = {"limit": 100}
        return list(self._iter("/v1/webhook_endpoints", params))

    def delete_webhook_endpoint(self: _Calls, endpoint_id: str) -> dict[str, Any]:
        return self._one(lambda: self.v1.webhook_endpoints.delete(endpoint_id))
