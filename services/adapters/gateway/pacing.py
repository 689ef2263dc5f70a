"""Who is waiting for a turn at Stripe on this thread: a job's sequential steps pace every HTTP
request they make (the SDK transport asks :func:`wait_turn` before each one, retries included)
with a limiter set by :func:`paced`. Nothing is set on other threads: a person's click, a
webhook's read, and the chunk workflows the Stripe queue's limiter already counts.

And how long a person waits: a page's reads give up by :func:`read_deadline`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

__all__ = ["current", "paced", "read_deadline", "read_deadline_at", "wait_turn"]


class Turns(Protocol):
    def acquire(self) -> None: ...


_local = threading.local()


@contextmanager
def paced(limiter: Turns) -> Iterator[None]:
    """Every Stripe request this thread makes inside the block waits for ``limiter`` first."""
    before = getattr(_local, "limiter", None)
    _local.limiter = limiter
    try:
        yield
    finally:
        _local.limiter = before


def current() -> Turns | None:
    """This thread's limiter, for a helper thread that reads on its behalf to take on."""
    limiter: Turns | None = getattr(_local, "limiter", None)
    return limiter


def wait_turn() -> None:
    limiter = getattr(_local, "limiter", None)
    if limiter is not None:
        limiter.acquire()


# A person waiting on a read (``read_deadline``): the monotonic time this thread's GETs give up
# by, across the SDK's retries. Writes and other threads (the background jobs) are untouched.
_reads = threading.local()


@contextmanager
def read_deadline(seconds: float | None) -> Iterator[None]:
    """GETs sent by this thread in the block give up ``seconds`` from now, retries included
    (the SDK transport makes each attempt's timeout what is left and starts no retry after it).
    None: no deadline."""
    before = getattr(_reads, "deadline", None)
    _reads.deadline = None if seconds is None else time.monotonic() + seconds
    try:
        yield
    finally:
        _reads.deadline = before


def read_deadline_at() -> float | None:
    """The monotonic time this thread's GETs give up by (:func:`read_deadline`), or None."""
    deadline: float | None = getattr(_reads, "deadline", None)
    return deadline
