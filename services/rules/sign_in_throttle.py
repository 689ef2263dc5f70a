"""How sign-in slows down after failures: thresholds, waits, the keys counted. Pure rules.

Failures are counted per entered username (``user:NAME``, known or not) and per client address
(``client:ADDRESS``); the counts live in the store (``services.adapters.sign_in_store``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

MAX_USERNAME = 64


@dataclass(frozen=True)
class Policy:
    """How fast sign-in slows down. Per client the thresholds are higher: several people may
    share one address (an office NAT), and one attacker may try many usernames."""

    free_failures: int = 3
    base_delay: float = 1.0
    max_delay: float = 60.0
    lock_after: int = 10
    client_free_failures: int = 10
    client_lock_after: int = 30
    lock_seconds: float = 15 * 60
    window_seconds: float = 15 * 60  # failures older than this are forgotten

    def delay_after(self, failures: int, *, client: bool = False) -> float:
        free = self.client_free_failures if client else self.free_failures
        if failures <= free:
            return 0.0
        return float(min(self.base_delay * 2 ** (failures - free - 1), self.max_delay))

    def locks_at(self, *, client: bool = False) -> int:
        return self.client_lock_after if client else self.lock_after


POLICY = Policy()


class Counter(Protocol):
    """What is stored per key (``services.adapters.models.SignInThrottle``)."""

    key: str
    failures: int
    last_failure_at: float
    next_allowed_at: float
    locked_until: float
    refused: int | None  # tries refused unchecked while slowed down or locked


def normalise_username(raw: str) -> str:
    """What the login form's text becomes (streamlit-authenticator lowercases and strips)."""
    cleaned = "".join(ch for ch in (raw or "") if ch.isprintable())
    return cleaned.strip().lower()[:MAX_USERNAME]


def user_key(username: str) -> str:
    return f"user:{normalise_username(username)}"


def client_key(client: str) -> str:
    return f"client:{(client or 'unknown')[:100]}"


def is_client(key: str) -> bool:
    return key.startswith("client:")


def blocked_until(row: Counter | None, now: float, policy: Policy) -> tuple[float, bool]:
    """(time before which no attempt is checked, whether that is a lockout)."""
    if row is None:
        return 0.0, False
    if row.locked_until > now:
        return row.locked_until, True
    if row.last_failure_at and now - row.last_failure_at > policy.window_seconds:
        return 0.0, False
    return (row.next_allowed_at, False) if row.next_allowed_at > now else (0.0, False)


def still_counted(row: Counter, now: float, policy: Policy) -> bool:
    """Whether a counter's wrong passwords still count: locked, or the last one within the
    window (older ones are forgotten at the next failure)."""
    return row.locked_until > now or now - row.last_failure_at <= policy.window_seconds


def wait_message(until: float, now: float, locked: bool, key: str) -> str:
    seconds = max(1, math.ceil(until - now))
    if not locked:
        return f"Too many failed sign-ins. Wait {seconds} s before the next try."
    at = datetime.fromtimestamp(until, UTC).strftime("%H:%M UTC")
    who = "from this network" if is_client(key) else "for this username"
    return (
        f"Too many failed sign-ins {who}: sign-in is paused until {at} (about "
        f"{math.ceil(seconds / 60)} min). An admin can lift this sooner."
    )
