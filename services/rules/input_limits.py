"""Input limits in one place: text, search patterns, numbers and Stripe's field lengths.

Every use case passes what a person typed (or a crafted client sent) through these before it
touches the store or Stripe, so a bad value gets one sentence and changes nothing:

- text: NUL bytes and control characters refused (PostgreSQL cannot store NUL at all), surrounding
  space stripped, a length limit per field;
- search: :func:`like_contains` escapes ``%``, ``_`` and the escape character itself, so they match
  literally (use with ``column.like(pattern, escape=LIKE_ESCAPE)``);
- numbers: :func:`bounded_int` / :func:`bounded_number` refuse booleans, NaN, infinities and values
  outside the bounds the widgets show (a crafted client cannot store what the page would not allow);
- Stripe: :data:`STRIPE_LIMITS` and :func:`stripe_text` / :func:`stripe_metadata` enforce Stripe's
  field lengths before the call (reference: idempotency keys ≤ 255, metadata ≤ 50 keys of ≤ 40
  characters without ``[``/``]`` and values ≤ 500; customer name ≤ 256 and email ≤ 512 from the
  dashboard's probe of Stripe; statement descriptors ≤ 22 without ``< > ' "``).

Pure rules: no I/O.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from services.errors import ValidationError
from services.rules.stripe_api import (
    LENGTH_LIMITS,
    METADATA_KEY_LENGTH,
    METADATA_MAX_KEYS,
    METADATA_VALUE_LENGTH,
)

LIKE_ESCAPE = "\\"

# Our own limits for what people type into the dashboard.
SEARCH_MAX = 200
NOTE_MAX = 1_000
USERNAME_MAX = 64

# The debit policy's bounds are services.rules.policy_bounds (the page and the save service
# apply that one rule); they are not repeated here.
BATCH_ROWS_MAX = 50_000  # services.rules.debit_csv's limit for one uploaded file

# Stripe's lengths come from the one table the sandbox enforces too (services.rules.stripe_api,
# a module of constants that imports nothing), so the product and the sandbox cannot disagree.
STRIPE_LIMITS: dict[str, int] = {
    "customer.name": LENGTH_LIMITS["/v1/customers"]["name"],
    "customer.email": LENGTH_LIMITS["/v1/customers"]["email"],
    "customer.phone": LENGTH_LIMITS["/v1/customers"]["phone"],
    "setup_intent.description": LENGTH_LIMITS["/v1/setup_intents"]["description"],
    "payment_intent.description": LENGTH_LIMITS["/v1/payment_intents"]["description"],
    "idempotency_key": 255,
    "metadata.keys": METADATA_MAX_KEYS,
    "metadata.key": METADATA_KEY_LENGTH,
    "metadata.value": METADATA_VALUE_LENGTH,
    "statement_descriptor": 22,
    "statement_descriptor_suffix": 22,
}
_DESCRIPTOR_FORBIDDEN = set("<>'\"")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


_REFUSED_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")  # controls, format, separators


def _control_chars(text: str, *, newlines: bool) -> list[str]:
    allowed = {"\n", "\r", "\t"} if newlines else set()
    return [
        ch for ch in text if ch not in allowed and unicodedata.category(ch) in _REFUSED_CATEGORIES
    ]


def has_control_chars(text: str) -> bool:
    """True if ``text`` holds a NUL byte, a control, format or line-separator character."""
    return bool(_control_chars(text, newlines=False))


def clean_text(
    value: Any,
    *,
    field: str,
    max_length: int,
    required: bool = False,
    newlines: bool = False,
) -> str:
    """``value`` as stripped text, or a ValidationError naming ``field`` and what is wrong."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text.")
    bad = _control_chars(value, newlines=newlines)
    if bad:
        shown = "a NUL byte" if "\x00" in bad else f"a control character (U+{ord(bad[0]):04X})"
        raise ValidationError(f"{field} contains {shown}; remove it and try again.")
    text = value.strip()
    if required and not text:
        # "The name" starts the other sentences; mid-sentence it is "Enter the name."
        raise ValidationError(f"Enter {field[:1].lower() + field[1:]}.")
    if len(text) > max_length:
        raise ValidationError(
            f"{field} is {len(text):,} characters long; at most {max_length:,} are allowed."
        )
    return text


def text_list(
    values: Any, *, field: str, max_items: int = 50, max_length: int = 60
) -> tuple[str, ...]:
    """A list of chosen words (a multiselect's values) as clean text; ``None`` is none chosen.

    A crafted client may send one string, a number, thousands of entries or NUL bytes here."""
    if values is None:
        return ()
    if isinstance(values, str | bytes) or not isinstance(values, list | tuple | set | frozenset):
        raise ValidationError(f"{field} must be a list of choices.")
    if len(values) > max_items:
        raise ValidationError(
            f"{field} has {len(values):,} entries; at most {max_items} can be chosen."
        )
    return tuple(clean_text(v, field=field, max_length=max_length) for v in values)


def paging(page: Any, page_size: Any, *, max_size: int) -> tuple[int, int]:
    """A page number (1 or more) and a page size clamped to ``max_size``, both whole numbers:
    a crafted URL or client may send text, NaN or a float here."""
    number = bounded_int(page, field="The page number", minimum=-(2**62), maximum=2**62)
    size = bounded_int(page_size, field="The page size", minimum=-(2**62), maximum=2**62)
    return max(1, number), max(1, min(size, max_size))


# Quotes a phone or word processor types for ' and " (O’Connor, Trader Joe’s).
TYPED_QUOTES = {"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"'}
_STRAIGHT = str.maketrans(TYPED_QUOTES)


def as_searched(text: str) -> str:
    """``text`` as searches compare it: curly quotes straight and every run of whitespace one
    space, so ``o’connor`` finds O'Connor and ``Ana  García`` finds Ana García. Both sides go
    through it: the term here, stored names in :func:`services.rules.people.fold`."""
    return " ".join(text.translate(_STRAIGHT).split())


def search_term(value: Any, *, field: str = "The search") -> str:
    """Someone's search text, checked (control characters, length) and :func:`as_searched`."""
    return as_searched(clean_text(value, field=field, max_length=SEARCH_MAX))


def escape_like(term: str) -> str:
    """``term`` with LIKE's wildcards (and the escape character) matching literally."""
    return (
        term.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )


def like_contains(term: str) -> str:
    """A ``LIKE`` pattern matching ``term`` anywhere; pass ``escape=LIKE_ESCAPE`` with it."""
    return f"%{escape_like(term)}%"


def like_prefix(term: str) -> str:
    return f"{escape_like(term)}%"


def bounded_int(value: Any, *, field: str, minimum: int, maximum: int, unit: str = "") -> int:
    """An integer within ``[minimum, maximum]``; text digits are accepted, floats only if whole."""
    if isinstance(value, bool) or value is None:
        raise ValidationError(f"{field} must be a whole number.")
    if isinstance(value, str):
        text = clean_text(value, field=field, max_length=40, required=True).replace(",", "")
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValidationError(f"{field} must be a whole number, not '{text[:40]}'.")
        value = int(text)
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValidationError(f"{field} must be a whole number.")
        value = int(value)
    elif not isinstance(value, int):
        raise ValidationError(f"{field} must be a whole number.")
    return _within(value, field=field, minimum=minimum, maximum=maximum, unit=unit)


def bounded_number(
    value: Any, *, field: str, minimum: float, maximum: float, unit: str = ""
) -> float:
    """A finite number within ``[minimum, maximum]``."""
    if isinstance(value, bool) or value is None:
        raise ValidationError(f"{field} must be a number.")
    if isinstance(value, str):
        text = clean_text(value, field=field, max_length=40, required=True)
        try:
            value = float(text.replace(",", ""))
        except ValueError:
            raise ValidationError(f"{field} must be a number, not '{text[:40]}'.") from None
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"{field} must be a finite number.")
    return _within(float(value), field=field, minimum=minimum, maximum=maximum, unit=unit)


def _shown(number: float) -> str:
    return f"{number:,}" if abs(number) < 1e12 else f"{number:.3g}"


def _within(value: Any, *, field: str, minimum: Any, maximum: Any, unit: str) -> Any:
    if value < minimum or value > maximum:
        suffix = f" {unit}" if unit else ""
        raise ValidationError(
            f"{field} must be between {_shown(minimum)}{suffix} and {_shown(maximum)}{suffix}; "
            f"got {_shown(value)}{suffix}."
        )
    return value


# A Stripe field as a sentence names it ("Enter the customer's email."), where its dotted name
# would read as "Enter Customer email."
LABELS = {"customer.email": "the customer's email", "customer.name": "the customer's name"}


def stripe_text(value: Any, *, field: str, required: bool = False) -> str:
    """Text for a Stripe field named in :data:`STRIPE_LIMITS`, checked before the call."""
    limit = STRIPE_LIMITS[field]
    label = LABELS.get(field) or field.replace("_", " ").replace(".", " ")
    text = clean_text(
        value, field=label[:1].upper() + label[1:], max_length=limit, required=required
    )
    if field == "customer.email" and text and not _EMAIL.match(text):
        raise ValidationError(f"'{text[:80]}' is not a complete email address (name@example.com).")
    if field.startswith("statement_descriptor") and text:
        if _DESCRIPTOR_FORBIDDEN & set(text):
            raise ValidationError("Statement descriptors may not contain < > ' or \".")
        if not any(ch.isalpha() for ch in text):
            raise ValidationError("A statement descriptor needs at least one letter.")
    return text


def stripe_metadata(value: Mapping[str, Any] | None) -> dict[str, str]:
    """Metadata as Stripe takes it: ≤ 50 keys, keys ≤ 40 characters without brackets, values
    ≤ 500 characters, no control characters."""
    if not value:
        return {}
    if len(value) > STRIPE_LIMITS["metadata.keys"]:
        raise ValidationError(
            f"Metadata has {len(value)} keys; Stripe takes at most {STRIPE_LIMITS['metadata.keys']}."
        )
    clean: dict[str, str] = {}
    for key, raw in value.items():
        name = clean_text(
            key, field="A metadata key", max_length=STRIPE_LIMITS["metadata.key"], required=True
        )
        if "[" in name or "]" in name:
            raise ValidationError(f"Metadata key '{name}' may not contain [ or ].")
        clean[name] = clean_text(
            "" if raw is None else str(raw),
            field=f"Metadata '{name}'",
            max_length=STRIPE_LIMITS["metadata.value"],
        )
    return clean
