"""Backing off when Stripe rate-limits, and which failures leave an idempotency key spent.

Stripe's real rate-limit 429s carry no ``Stripe-Should-Retry: true`` (only ``lock_timeout``
429s do), so the SDK retries none of them; the gateway backs off itself on every call:
bounded, exponential, with jitter (reference §1.8: no ``Retry-After`` is documented).

Idempotency (reference §1.6): once Stripe started executing a request it saves the answer —
errors and 500s included — and replays it for the same key. After such a *definite* answer a
person's retry must be a new request with a new key, or it gets the same failure back. Only
when no answer arrived (timeout, connection error) or the first request is still in flight
(409 ``idempotency_key_in_use``) is the outcome unknown, and then the retry must reuse the key
so Stripe does the work at most once.

Settling (:func:`settle`): after such an unknown outcome on a change, the person is not told
"temporary problem" and left to guess. The service reads the object back (the account's refresh
state, the intent, or Stripe's saved answer for the same key) a few times, and reports what
really happened; only if it still cannot tell does it say so, in one sentence. A 5xx on a
change is a definite answer but not a confirmation: Stripe may have made the change before
failing. Its saved answer is the 5xx, so the object is read back once (no replay: the same key
would only answer the 5xx again) and the read decides: made, not made (trying again, as a new
request, is safe), or the read failed too.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from services.errors import (
    ChangeNotMade,
    OutcomeStillUnknown,
    OutcomeUnknown,
    RateLimited,
    ReadBackFailed,
    StripeUnavailable,
)

__all__ = [
    "Backoff",
    "NO_BACKOFF",
    "READ_BACK",
    "REQUEST_RETRY",
    "ReadBack",
    "Settled",
    "after_server_error",
    "key_variant",
    "SpentKeys",
    "outcome_unknown",
    "patiently",
    "settle",
    "tell_retry",
    "told_of_retries",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """How often and how long to wait after a 429 before asking again.

    ``delay(n)`` is "equal jitter": between half and all of ``base * 2**n`` (capped at
    ``max_seconds``), so clients that were limited together do not come back together.
    ``sleep`` and ``jitter`` are injectable so tests never wait longer than they must.
    """

    retries: int = 4
    base_seconds: float = 0.5
    max_seconds: float = 8.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    jitter: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, attempt: int) -> float:
        cap = min(self.max_seconds, self.base_seconds * 2**attempt)
        return cap / 2 + cap / 2 * min(1.0, max(0.0, self.jitter()))


NO_BACKOFF = Backoff(retries=0)
# A background sync's read, retried on its own after the gateway's back-off, so one failed
# request does not make the sync start over and repeat every request before it.
REQUEST_RETRY = Backoff(retries=5, base_seconds=0.2, max_seconds=2.0)


_listening = threading.local()


@contextmanager
def told_of_retries(tell: Callable[[StripeUnavailable, int, int], None]) -> Iterator[None]:
    """In this block, this thread's waits before asking Stripe again (:func:`patiently`'s, the
    gateway's after a 429) are told to ``tell(err, next_try, tries)`` first: a job's progress
    line says Stripe is failing and which try comes, instead of "Reading changes from Stripe…"
    for a minute."""
    before = getattr(_listening, "tell", None)
    _listening.tell = tell
    try:
        yield
    finally:
        _listening.tell = before


def tell_retry(err: StripeUnavailable, next_try: int, tries: int) -> None:
    """Tell this thread's listener (:func:`told_of_retries`), if any, that the request ``err``
    answered is asked again: its try ``next_try`` of ``tries`` at most."""
    tell = getattr(_listening, "tell", None)
    if tell is not None:
        tell(err, next_try, tries)


def patiently(read: Callable[[], T], retry: Backoff | None = REQUEST_RETRY) -> T:
    """``read()``, asked again after ``retry``'s delays while Stripe is unavailable (a 5xx, a
    timeout, a 429 past the gateway's back-off); ``retry`` None asks once. For reads only: a
    GET changes nothing, so asking again is always safe."""
    attempt = 0
    while True:
        try:
            return read()
        except StripeUnavailable as err:
            if retry is None or attempt >= retry.retries:
                raise
            tell_retry(err, attempt + 2, retry.retries + 1)
            retry.sleep(retry.delay(attempt))
            attempt += 1


def outcome_unknown(err: BaseException) -> bool:
    """True when Stripe's answer never arrived or the request is still running (reuse the key)."""
    return bool(getattr(err, "outcome_unknown", False))


class SpentKeys:
    """Idempotency keys Stripe answered with a definite failure, so a derived key can move on.

    Services that derive a key from what they see (e.g. a balance refresh keyed by the
    account's refresh state) would otherwise send the spent key again and get the saved
    failure replayed. Kept in memory (bounded): another app process learns it on its first
    replay. Thread-safe enough for CPython: one set add / membership test per call.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._spent: dict[str, None] = {}
        self._limit = limit

    def spend(self, key: str) -> None:
        self._spent[key] = None
        while len(self._spent) > self._limit:
            self._spent.pop(next(iter(self._spent)))

    def fresh(self, key: str) -> str:
        """``key`` itself, or its next variant (``key~2``, ``key~3`` …) not yet spent."""
        candidate, n = key, 1
        while candidate in self._spent:
            n += 1
            candidate = key_variant(key, n)
        return candidate


def key_variant(key: str, n: int) -> str:
    """The ``n``-th key derived as ``key``: itself for 1, then ``key~2``, ``key~3`` …"""
    return key if n == 1 else f"{key}~{n}"


@dataclass(frozen=True)
class ReadBack:
    """How often and how patiently :func:`settle` reads an object back: ``tries`` reads, the
    n-th after ``pause_seconds * n`` (0.5, 1, 1.5 … s: a request Stripe is still running
    usually lands within a few seconds). ``sleep`` is injectable so tests never wait long."""

    tries: int = 4
    pause_seconds: float = 0.5
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)


READ_BACK = ReadBack()


@dataclass(frozen=True)
class Settled(Generic[T]):
    """What a change returned, or what reading back showed; ``read_back`` says which.
    ``server_error``: Stripe answered the change with this 5xx, and the read shows it was made
    all the same (Stripe did not confirm it: its audit row reads ``unknown``)."""

    value: T
    read_back: bool = False
    reads: int = 0
    server_error: StripeUnavailable | None = None


def settle(
    change: Callable[[], T],
    read_back: Callable[[], T],
    done: Callable[[T], bool],
    *,
    what: str,
    policy: ReadBack | None = None,
    same_key: bool = False,
) -> Settled[T]:
    """Make ``change``; if its outcome is unknown (no answer, or 409: still running), read the
    object back until ``done`` says the change is there, and return what was read.

    ``read_back`` re-reads the object (or, ``same_key`` True, sends the same request with the
    same idempotency key, which replays Stripe's saved answer). ``done`` returns True when the
    change shows, False while it does not yet; it raises a domain error when the read shows the
    change can no longer happen (the real outcome). A definite error from ``read_back`` is the
    real outcome too and propagates. If no read shows it, :class:`OutcomeStillUnknown` says so in
    a sentence (``seen``: some read answered).

    After a 5xx (:func:`after_server_error`) the object is read once: made → ``Settled`` with
    ``server_error``; not made → :class:`ChangeNotMade`; the read failing → :class:`ReadBackFailed`.
    With ``same_key`` the 5xx is raised as it is (a replay would only answer it again).
    """
    try:
        return Settled(change())
    except RateLimited:
        raise
    except OutcomeUnknown as err:
        first = err
    except StripeUnavailable as err:  # a 5xx: Stripe answered, and may have made it first
        if same_key:
            raise
        return after_server_error(err, read_back, done, what=what)
    policy = policy or READ_BACK
    seen = False
    for n in range(1, policy.tries + 1):
        policy.sleep(policy.pause_seconds * n)
        try:
            current = read_back()
        except RateLimited:
            continue
        except OutcomeUnknown:
            continue  # still running at Stripe, or still unreachable: read again
        if done(current):
            return Settled(current, read_back=True, reads=n)
        seen = True
    still = OutcomeStillUnknown(
        f"Stripe did not confirm {what} in time, and reading it back {policy.tries} times has "
        "not shown it yet, so it may still happen. Look again in a minute before trying again; "
        "a retry repeats the same request, so Stripe does it at most once.",
        request_id=first.request_id,
    )
    still.seen = seen
    raise still


def after_server_error(
    err: StripeUnavailable,
    read_back: Callable[[], T],
    done: Callable[[T], bool],
    *,
    what: str,
) -> Settled[T]:
    """Stripe answered a change with the 5xx ``err``: one read of the object says what it did.
    Stripe saved the 5xx under the key, so nothing more comes of that request: no waiting, no
    second read. ``done`` as for :func:`settle` (it may raise the real outcome)."""
    rid = f", Stripe request {err.request_id}" if err.request_id else ""
    said = f"Stripe did not confirm {what} (a server error{rid}), so it may have happened"
    try:
        current = read_back()
    except StripeUnavailable as again:
        raise ReadBackFailed(
            f"{said}, and reading it back failed too: {again}", server_error=err, read_error=again
        ) from None
    if done(current):
        return Settled(current, read_back=True, reads=1, server_error=err)
    raise ChangeNotMade(
        f"{said}; reading it back shows it did not: trying again is safe (a new request).",
        server_error=err,
        current=current,
    )
