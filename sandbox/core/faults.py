"""Fault injection and rate limits: forced faults (``/_sandbox/faults``), a seeded fault rate and
a token bucket (``--rate-limit``). See the README's "Request pipeline" for how each is answered."""

from __future__ import annotations

import random
import threading
import time
from typing import TYPE_CHECKING

from sandbox.core.errors import StripeError, invalid

if TYPE_CHECKING:
    from sandbox.core.state import SandboxConfig

# Forced faults (/_sandbox/faults mode=…): see README "Request pipeline". ``500_done`` (forced
# only, for tests): the request runs and its changes stay, then it answers 500 ("went through").
FAULT_MODES = ("429", "lock_timeout", "500", "500_done", "slow", "timeout")


def rate_limited(message: str = "Too many requests hit the API too quickly.") -> StripeError:
    """A real rate limit: no ``Stripe-Should-Retry: true``, so the SDK does not retry it (§10);
    clients back off themselves."""
    return StripeError(
        429,
        message + " We recommend an exponential backoff of your requests.",
        code="rate_limit",
        headers={"Stripe-Rate-Limited-Reason": "global-rate"},
    )


def lock_timeout() -> StripeError:
    """A 429 from a lock held by a concurrent request on the same object: the one 429 Stripe
    asks to retry (``Stripe-Should-Retry: true``)."""
    return StripeError(
        429,
        "This object cannot be accessed right now because another API request or Stripe "
        "process is currently accessing it. If you see this error intermittently, retry the "
        "request.",
        code="lock_timeout",
        headers={"Stripe-Should-Retry": "true"},
    )


class Faults:
    """Which /v1 requests fail: forced faults first, then the seeded rate; and the token bucket."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config  # read live: the faults hook changes ``fault_rate``
        self._forced: list[tuple[str, float | None]] = []
        self.request_count = 0  # /v1 requests that reached the fault check
        self._bucket = (float(config.rate_limit), time.monotonic())
        self._lock = threading.Lock()

    def force(self, mode: str, count: int, seconds: float | None = None) -> None:
        if mode not in FAULT_MODES:
            raise invalid(f"mode must be one of {', '.join(FAULT_MODES)}", param="mode")
        with self._lock:
            self._forced.extend([(mode, seconds)] * count)

    def clear(self) -> None:
        with self._lock:
            self._forced.clear()

    def pending(self) -> int:
        """How many forced faults have not fired yet (tests wait for one to be taken)."""
        with self._lock:
            return len(self._forced)

    def next(self) -> tuple[str, float | None] | None:
        """The fault for the next /v1 request: forced ones first, then the seeded fault rate."""
        with self._lock:
            self.request_count += 1
            if self._forced:
                return self._forced.pop(0)
            rate = self.config.fault_rate
            if rate <= 0:
                return None
            rng = random.Random(f"fault:{self.config.seed}:{self.request_count}")
            if rng.random() >= rate:
                return None
            return rng.choice(["429", "500", "slow"]), None

    def set_rate_limit(self, limit: float) -> None:
        """``limit`` req/s from now on (0 = off), starting with a full bucket (burst ``limit``)."""
        with self._lock:
            self.config.rate_limit = float(limit)
            self._bucket = (float(limit), time.monotonic())

    def take_token(self) -> bool:
        """Token bucket for ``--rate-limit N`` (N req/s, burst N); False means 429."""
        limit = self.config.rate_limit
        if limit <= 0:
            return True
        with self._lock:
            tokens, last = self._bucket
            now = time.monotonic()
            tokens = min(float(limit), tokens + (now - last) * limit)
            if tokens < 1:
                self._bucket = (tokens, now)
                return False
            self._bucket = (tokens - 1, now)
            return True
