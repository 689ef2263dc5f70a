"""What the sandbox shares with the product: the pinned API version, Stripe's length limits
(``services/rules/stripe_api.py``) and the US banking calendar (``services/rules/calendar.py``).

Both are pure facts without I/O, kept in one place for the product and its sandbox alike; this
is the only sandbox module that imports from ``services`` (``tests/unit/test_architecture.py``).
"""

from services.rules.calendar import is_business_day, next_business_day, on_or_before_business_day
from services.rules.stripe_api import (
    API_VERSION,
    MAX_STRING_LENGTH,
    METADATA_KEY_LENGTH,
    METADATA_MAX_KEYS,
    METADATA_VALUE_LENGTH,
    length_limit,
)

__all__ = [
    "API_VERSION",
    "MAX_STRING_LENGTH",
    "METADATA_KEY_LENGTH",
    "METADATA_MAX_KEYS",
    "METADATA_VALUE_LENGTH",
    "is_business_day",
    "length_limit",
    "next_business_day",
    "on_or_before_business_day",
]
