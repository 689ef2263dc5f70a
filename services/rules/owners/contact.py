"""Email addresses and phone numbers compared the way mail and phone systems treat them."""

from __future__ import annotations

import re

from services.rules.owners.text import as_text, missing_side, wordset

# --------------------------------------------------------------------------- email

_FREE_MAIL = wordset("""gmail.com googlemail.com yahoo.com ymail.com hotmail.com outlook.com live.com msn.com
    icloud.com me.com mac.com aol.com protonmail.com proton.me gmx.com mail.com yandex.com
    comcast.net verizon.net att.net sbcglobal.net""")
_ROLE_MAILBOXES = wordset("""info admin billing accounts accounting contact office hello support sales finance ap ar
    payments team mail noreply no-reply webmaster owner""")


def _split_email(raw: str) -> tuple[str, str] | None:
    raw = raw.strip().lower()
    if raw.count("@") != 1:
        return None
    local, domain = raw.split("@")
    return (local, domain) if local and domain else None


def _canonical_mailbox(local: str, domain: str) -> tuple[str, str]:
    """Gmail ignores dots and everything after '+'; most providers ignore '+tags'."""
    local = local.split("+", 1)[0]
    if domain in {"gmail.com", "googlemail.com"}:
        return local.replace(".", ""), "gmail.com"
    return local, domain


def compare_emails(customer: str, owner: str) -> tuple[int | None, str]:
    """Score two email addresses; None when either side has none."""
    a, b = _split_email(as_text(customer)), _split_email(as_text(owner))
    if a is None or b is None:
        return None, missing_side("email", customer if a else "", owner if b else "")
    if a == b:
        return 100, "same email address"
    ca, cb = _canonical_mailbox(*a), _canonical_mailbox(*b)
    if ca == cb:
        return 95, "same mailbox (plus-addressing or dots ignored)"
    if ca[0] == cb[0] and ca[0] not in _ROLE_MAILBOXES and len(ca[0]) >= 3:
        return 80, f"same user name at a different domain ({a[1]} vs {b[1]})"
    if a[1] == b[1] and a[1] not in _FREE_MAIL:
        return 40, f"same domain {a[1]}, different mailbox"
    return 0, "different email addresses"


# --------------------------------------------------------------------------- phone

_EXTENSION = re.compile(r"(?i)\s*(?:ext\.?|extension|x|#)\s*\d{1,6}\s*$")


def _phone_digits(raw: str) -> str | None:
    digits = re.sub(r"\D", "", _EXTENSION.sub("", raw))
    if digits.startswith("001"):
        digits = digits[3:]
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]  # US country code
    return digits if len(digits) >= 7 else None


def compare_phones(customer: str, owner: str) -> tuple[int | None, str]:
    """Score two phone numbers by their digits (a +1 country code is ignored)."""
    a, b = _phone_digits(as_text(customer)), _phone_digits(as_text(owner))
    if a is None or b is None:
        return None, missing_side("phone number", customer if a else "", owner if b else "")
    if a == b:
        return 100, "same phone number"
    if len(a) >= 10 and len(b) >= 10 and a[-10:] == b[-10:]:
        return 95, "same number with a different country or trunk prefix"
    if a[-7:] == b[-7:]:
        return 60, "same last 7 digits, different area code"
    return 0, "different phone numbers"
