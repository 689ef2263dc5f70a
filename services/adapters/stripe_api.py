"""Facts about the pinned Stripe API (version, lengths), kept in :mod:`services.rules.stripe_api`
so rules can use them; re-exported here for the gateway and the sandbox."""

from __future__ import annotations

from services.rules.stripe_api import (
    API_VERSION,
    LENGTH_LIMITS,
    MAX_STRING_LENGTH,
    METADATA_KEY_LENGTH,
    METADATA_MAX_KEYS,
    METADATA_VALUE_LENGTH,
    length_limit,
)

__all__ = [
    "API_VERSION",
    "LENGTH_LIMITS",
    "MAX_STRING_LENGTH",
    "METADATA_KEY_LENGTH",
    "METADATA_MAX_KEYS",
    "METADATA_VALUE_LENGTH",
    "length_limit",
]
