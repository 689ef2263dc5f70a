"""Mask secrets in any text before it reaches a page, a log line, a message or an audit row.

Covers passwords in URLs (``postgresql://user:PASSWORD@host``), ``password=…``-style pairs,
Stripe secret and restricted keys (``sk_…``, ``rk_…``), webhook secrets (``whsec_…``), client
secrets (``…_secret_…``) and bearer tokens. Pure text rules, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

MASK = "***"

# scheme://user:password@host — keep the user, hide the password (any scheme).
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s'\"]*:)(?P<pw>[^@\s'\"]+)(?=@)")
# password=..., "token": "...", api_key: ... (query strings, DSNs, dict reprs, JSON)
_PAIR = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd|secret|client_secret|token|api_key|apikey|access_token"
    r"|refresh_token|cookie_key|authorization)['\"]?\s*[=:]\s*['\"]?)(?P<value>[^\s'\"&,;}]+)",
    re.IGNORECASE,
)
# Stripe keys: secret/restricted (test or live), webhook signing secrets.
_STRIPE_KEY = re.compile(r"\b(?P<prefix>(?:sk|rk)_(?:test|live)_|whsec_)(?P<body>[A-Za-z0-9]{6,})")
# Client secrets of PaymentIntents, SetupIntents, FC sessions: <id>_secret_<rest>.
_CLIENT_SECRET = re.compile(r"(?P<head>_secret_)(?P<body>[A-Za-z0-9]+)")
_BEARER = re.compile(r"(?P<head>\bBearer\s+)(?P<body>[A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)


def _stripe_key(match: re.Match[str]) -> str:
    body = match["body"]
    tail = body[-4:] if len(body) >= 16 else ""
    return f"{match['prefix']}{MASK}{tail}"


def mask_secrets(text: str | None) -> str:
    """``text`` with every secret it contains replaced by ``***`` (keys keep their last 4)."""
    if not text:
        return text or ""
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}", text)
    text = _PAIR.sub(lambda m: f"{m['head']}{MASK}", text)
    text = _STRIPE_KEY.sub(_stripe_key, text)
    text = _CLIENT_SECRET.sub(lambda m: f"{m['head']}{MASK}", text)
    return _BEARER.sub(lambda m: f"{m['head']}{MASK}", text)


def mask_value(value: Any) -> Any:
    """Mask every string inside ``value`` (dicts, lists, tuples walked; other types kept)."""
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, Mapping):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [mask_value(v) for v in value]
    return value
