"""Safe reading and folding of the text owner matching compares (pure, never raises)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# --------------------------------------------------------------------------- safe access


def safe_get(obj: Any, key: str) -> Any:
    """``obj[key]`` or None; Stripe objects support ``[]`` but not ``.get()``."""
    if obj is None:
        return None
    try:
        return obj[key]
    except Exception:  # odd input must never break the page
        return None


def as_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


# --------------------------------------------------------------------------- text folding

_SPECIAL_LETTERS = str.maketrans(
    {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
)
_APOSTROPHES = re.compile(r"['’‘`´ʼ]")


def fold(text: str) -> str:
    """Lowercase ASCII: accents dropped, apostrophes removed (O'Brien = OBrien)."""
    text = _APOSTROPHES.sub("", text.lower()).translate(_SPECIAL_LETTERS)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def display_word(token: str) -> str:
    return token.upper() if len(token) == 1 else token.capitalize()


def wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


def word_list(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text)


def name_text(value: Any) -> str:
    """A name is text; a number or a list in a name field is no name at all."""
    return value.strip() if isinstance(value, str) else ""


def missing_side(what: str, customer: Any, owner: Any) -> str:
    """Which side lacks data, in words (``what`` is e.g. "email" or "usable phone number")."""
    article = "an" if what[0] in "aeiou" else "a"
    if not as_text(customer) and not as_text(owner):
        return f"neither side has {article} {what}"
    return f"customer has no {what}" if not as_text(customer) else f"bank returned no {what}"
