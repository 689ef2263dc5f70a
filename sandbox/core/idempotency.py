"""Idempotency keys (reference §1.6): a POST with a key already used is replayed, refused or
told to wait, as Stripe does."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sandbox.core.errors import StripeError
from sandbox.core.wire import Request, canonical_params

IDEMPOTENCY_TTL = 24 * 60 * 60


@dataclass
class Entry:
    fingerprint: str
    created: int
    in_flight: bool = True
    status: int = 0
    body: dict = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class IdempotencyKeys:
    """Saved answers keyed by (API key, ``Idempotency-Key``); keys live 24 h of sandbox time."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], Entry] = {}
        self._lock = threading.Lock()

    def begin(self, req: Request, now: int) -> Entry | StripeError | None:
        """Claim ``req``'s key. Returns a finished entry to replay, an error, or None (run it)."""
        if not req.idempotency_key or req.method != "POST":
            return None
        key = (req.api_key or "", req.idempotency_key)
        fingerprint = f"{req.method} {req.path} {canonical_params(req.params)}"
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and now - entry.created >= IDEMPOTENCY_TTL:
                entry = None
            if entry is None:
                self._entries[key] = Entry(fingerprint=fingerprint, created=now)
                return None
            if entry.fingerprint != fingerprint:
                return StripeError(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with. Try using a key other than "
                    f"'{req.idempotency_key}' if you meant to execute a different request.",
                    type="idempotency_error",
                )
            if entry.in_flight:
                return StripeError(
                    409,
                    "There is currently another in-progress request using this Idempotent Key "
                    "(that probably means you submitted twice, and the other request is still "
                    "going through). Please retry this request later.",
                    code="idempotency_key_in_use",
                )
            return entry

    def finish(
        self, req: Request, status: int, body: dict, headers: dict[str, str], *, save: bool
    ) -> None:
        """Save the answer under the key (``save``), or free the key for a corrected retry."""
        if not req.idempotency_key or req.method != "POST":
            return
        key = (req.api_key or "", req.idempotency_key)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or not entry.in_flight:
                return
            if not save:
                del self._entries[key]
                return
            entry.in_flight, entry.status, entry.body, entry.headers = False, status, body, headers
