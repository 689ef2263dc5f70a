"""Facts about the pinned Stripe API that the product and its sandbox share.

``API_VERSION`` is the one place the version is pinned: the gateway passes it to
``StripeClient(stripe_version=…)``, the flow previews and curl commands print it as the
``Stripe-Version`` header, and the sandbox renders its objects and events in it (and refuses
requests for another version it cannot render). It must equal the pinned SDK's own
``stripe.api_version`` (``tests/services/test_gateway.py`` checks), so upgrading the SDK is a
deliberate change here too. This module imports nothing from Stripe (the gateway is the only
module that does).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

API_VERSION: Final = "2026-10-28.endive"  # Final: a Literal, which mypy checks against the SDK's

# String length limits Stripe enforces (its API reference / OpenAPI `maxLength`), in one table
# for the sandbox (which refuses longer values) and the product (which checks before calling).
# Stripe's default for a string parameter is 5,000 characters; the ones below are shorter.
MAX_STRING_LENGTH = 5000
LENGTH_LIMITS: dict[str, dict[str, int]] = {
    # path of the create/update endpoints → top-level parameter → at most this many characters
    "/v1/customers": {"email": 512, "name": 256, "phone": 20},
    "/v1/setup_intents": {"description": 1000},
    "/v1/payment_intents": {"description": 1000},
}
# Metadata (reference §2.9): at most 50 keys, keys up to 40 characters, values up to 500.
METADATA_MAX_KEYS = 50
METADATA_KEY_LENGTH = 40
METADATA_VALUE_LENGTH = 500


def length_limit(path: str, param: str) -> int:
    """How many characters ``param`` may have on the endpoint at ``path`` (a route pattern)."""
    for prefix, limits in LENGTH_LIMITS.items():
        if (path == prefix or path.startswith(prefix + "/{")) and param in limits:
            return limits[param]
    return MAX_STRING_LENGTH


def rendered_elsewhere(event: Mapping[str, Any]) -> bool:
    """Whether Stripe rendered this event's ``data`` in another API version than ours.

    An event's ``data`` keeps the version it was rendered in when it happened (the account's
    default version, or the endpoint's ``api_version``), whatever version asks for it later (the
    SDK's ``Event.api_version``). A copy in an older version may lack fields the mirror reads
    (``status_details`` on an FC account, say), so the object is read again instead. Events
    without a version (hand-made in tests) are taken as they are."""
    version = event.get("api_version")
    return bool(version) and version != API_VERSION
