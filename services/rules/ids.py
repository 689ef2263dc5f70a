"""Recognising Stripe object IDs typed or pasted by people."""

from __future__ import annotations

import re

from services.errors import ValidationError
from services.rules.input_limits import has_control_chars

PREFIXES: dict[str, str] = {
    "cus_": "customer",
    "fca_": "financial_connections.account",
    "pm_": "payment_method",
    "pi_": "payment_intent",
    "seti_": "setup_intent",
    "fcsess_": "financial_connections.session",
    "mandate_": "mandate",
    "evt_": "event",
}
_ID_RE = re.compile(r"^[a-z]+_[A-Za-z0-9_]{3,250}$")


def clean_id(text: str | None) -> str:
    """Strip what people paste around IDs (spaces, quotes, trailing punctuation); take the ID out
    of a Stripe Dashboard URL, and out of a client secret (``pi_…_secret_…``: its object's ID)."""
    value = from_url((text or "").strip().strip("'\"`.,;").strip())
    head, secret, _ = value.partition("_secret_")
    return head if secret and kind_of(head) else value


def from_url(text: str) -> str:
    """The ID in a Stripe Dashboard URL (``https://dashboard.stripe.com/test/payments/pi_…``):
    its last path segment with a known prefix; any other text as it is."""
    if "://" not in text and not text.startswith("dashboard.stripe.com/"):
        return text
    path = text.split("?", 1)[0].split("#", 1)[0]
    found = [part for part in path.split("/") if kind_of(part) and _ID_RE.match(part)]
    return found[-1] if found else text


def kind_of(object_id: str) -> str | None:
    for prefix, kind in PREFIXES.items():
        if object_id.startswith(prefix):
            return kind
    return None


def parse_id(text: str | None, *, allowed: tuple[str, ...] | None = None) -> tuple[str, str]:
    """Return ``(id, kind)`` or raise a ValidationError that says what would be accepted."""
    value = clean_id(text)
    if has_control_chars(value):
        raise ValidationError("The ID contains a control character or NUL byte; paste it again.")
    accepted = allowed or tuple(PREFIXES.values())
    names = ", ".join(p for p, k in PREFIXES.items() if k in accepted)
    if not value:
        raise ValidationError(f"Enter an ID. Accepted: {names}…")
    kind = kind_of(value)
    if kind is None or kind not in accepted or not _ID_RE.match(value):
        raise ValidationError(
            f"{as_typed(value)} is not an ID this accepts. Use one starting with {names}."
        )
    return value, kind


def is_id(text: str, prefix: str) -> bool:
    """Whether ``text`` is a well-formed ID with ``prefix`` (``cus_…`` from a link, say)."""
    return text.startswith(prefix) and bool(_ID_RE.match(text))


def as_typed(text: str, limit: int = 60) -> str:
    """Someone's text inside a sentence pages draw as Markdown: a code span, which draws
    nothing of it (a pasted ``[sign in](https://…)`` would be a link inside fcops' own error;
    a link's parameter can carry it to a colleague)."""
    shown = " ".join(text[:limit].replace("`", "'").split())
    return f"`{shown}`" if shown else "''"
