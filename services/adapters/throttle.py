"""Keeping a batch inside Stripe's rate limits: a clock seam, a token bucket, a throttled gateway.

Stripe allows 25 requests/s in test mode and 100 in live; a batch check spaces its requests with
a client-side token bucket and backs off on 429 on its own clock, so tests can run rate limits
and waits on a fake clock.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

from services.adapters.backoff import Backoff
from services.adapters.gateway import StripeGateway
from services.errors import RateLimited

__all__ = ["Clock", "Limiter", "SystemClock", "Throttled", "TokenBucket"]


class Clock(Protocol):
    """Monotonic time and sleeping, so tests can run rate limits and waits on a fake clock."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class Limiter(Protocol):
    """What :class:`Throttled` needs of a limiter: :class:`TokenBucket`, or the deployment-wide
    :class:`services.adapters.stripe_permits.QueueBucket`."""

    clock: Clock

    @property
    def requests(self) -> int:
        """How many requests it has let through."""
        ...

    def acquire(self) -> None: ...


class TokenBucket:
    """Client-side rate limiter: at most `rate` requests per second, bursts up to `burst`.

    The default burst of 1 spaces requests evenly, which keeps every one-second window at or
    under `rate` (a full bucket plus its refill could otherwise reach nearly twice the rate).
    Threads may share one bucket: a token is taken under a lock, and the wait for the next one
    is slept outside it.
    """

    def __init__(self, rate: float, *, burst: int = 1, clock: Clock | None = None) -> None:
        if rate <= 0:
            raise ValueError("The request rate must be positive.")
        self.rate = float(rate)
        self.burst = max(1, int(burst))
        self.clock: Clock = clock or SystemClock()
        self._tokens = float(self.burst)
        self._last = self.clock.monotonic()
        self.acquired: list[float] = []  # when each request was let through (for reports, tests)
        self._lock = threading.Lock()

    @property
    def requests(self) -> int:
        return len(self.acquired)

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = max(self._last, self.clock.monotonic())
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1 - 1e-9:  # float refill can land a hair under a whole token
                    self._tokens = max(0.0, self._tokens - 1)
                    self.acquired.append(now)
                    return
                wait = max((1 - self._tokens) / self.rate, 1e-6)
            self.clock.sleep(wait)


# Gateway methods that never reach Stripe: no bucket token, no back-off.
_LOCAL_CALLS = frozenset({"fresh_key", "without_backoff"})


class Throttled:
    """Gateway proxy: every call waits for the bucket and backs off on 429.

    Stripe does not ask the SDK to retry real rate limits, so the batch backs off itself,
    with the same jittered exponential delays as the gateway (``services.adapters.backoff``) but on the
    batch's clock, and takes a bucket token for every attempt; the gateway's own back-off is
    switched off for these calls so the two never stack.
    """

    def __init__(
        self,
        gateway: StripeGateway,
        limiter: Limiter,
        *,
        retries: int = 5,
        backoff: float = 0.5,
    ) -> None:
        self._gateway = gateway
        self._limiter = limiter
        self._backoff = Backoff(retries=retries, base_seconds=backoff, sleep=limiter.clock.sleep)
        self.rate_limited = 0
        self._count_lock = threading.Lock()  # calls may come from several threads

    @property
    def clock(self) -> Clock:
        return self._limiter.clock

    @property
    def requests(self) -> int:
        return self._limiter.requests

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._gateway, name)
        if not callable(target) or name in _LOCAL_CALLS:
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            for attempt in range(self._backoff.retries + 1):
                self._limiter.acquire()
                try:
                    with self._gateway.without_backoff():
                        return target(*args, **kwargs)
                except RateLimited:
                    with self._count_lock:
                        self.rate_limited += 1
                    if attempt == self._backoff.retries:
                        raise
                    self._backoff.sleep(self._backoff.delay(attempt))
            raise AssertionError("unreachable")  # pragma: no cover

        return call
