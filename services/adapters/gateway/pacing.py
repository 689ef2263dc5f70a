"""Who is waiting for a turn at Stripe on this thread: a job's sequential steps pace every HTTP
request they make (the SDK transport asks :func:`wait_turn` before each one, retries included)
with a limiter set by :func:`paced`. Nothing is set on other threads: a person's click, a
webhook's read, and the chunk workflows the Stripe queue's limiter already counts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

__all__ = ["current", "paced", "wait_turn"]


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
