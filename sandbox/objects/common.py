"""Small pieces several builders share."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.core import State


def fingerprint(*parts: str) -> str:
    """A stable 16-character fingerprint (same bank account → same value)."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def empty_list(url: str) -> dict:
    return {"object": "list", "data": [], "has_more": False, "url": url}


def address(**fields: Any) -> dict:
    base: dict[str, Any] = dict.fromkeys(
        ("city", "country", "line1", "line2", "postal_code", "state")
    )
    base.update(fields)
    return base


def with_client_secret(state: State, obj: dict) -> dict:
    """Give ``obj`` its ``client_secret`` (``<id>_secret_…``) unless the caller set one."""
    if obj.get("client_secret") is None:
        obj["client_secret"] = state.secret(obj["id"])
    return obj
