"""Read ahead: a sync's Stripe list read on a thread of its own while the caller writes.

A sync that reads a page, writes it, then reads the next leaves Stripe idle while it writes
and the store idle while it waits for Stripe. :class:`ReadAhead` iterates a source (an
iterable of pages: a list's pages, in order) on a thread of its own, up to ``depth`` pages
ahead of the caller, so the caller's writes overlap the next requests. One request at a time,
in the source's order: the same requests as reading inline.

Errors are not lost and not reordered: a source that raises ends the read, and the caller gets
the exception after the pages before it. When the caller stops early (an exception of its own,
a page script the person left), the thread stops after at most the request it is making, and
leaving the ``with`` block waits for that: nothing of the read outlives it. The thread does
nothing but iterate the source: the gateway's per-thread state (last Request-Id, 429 count) is
the thread's, so a source that needs it reads it itself (see ``sync_intents._listed``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

from services.adapters.gateway import pacing

T = TypeVar("T")
PUT_WAIT_SECONDS = 0.1  # how often a blocked reader checks whether the caller stopped


class _End:
    """The source finished; ``error`` when it raised."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class ReadAhead(Generic[T]):
    """The pages of ``source``, read on a thread of its own up to ``depth`` pages ahead of the
    caller. Use as a context manager: the thread starts on entry and is stopped and waited for
    on exit (however the block ends); iterating yields the pages in their order."""

    def __init__(self, source: Iterable[T], *, depth: int = 2, name: str = "fcops-read") -> None:
        self._out: queue.Queue[T | _End] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(source,), name=name, daemon=True)
        self._turns = pacing.current()  # the caller's pace at Stripe, if a job step set one

    def __enter__(self) -> ReadAhead[T]:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        """Stop the thread and wait for it: once the block is left, no request of it is still
        in flight (at most the one it is making is waited for)."""
        self._stop.set()
        self._thread.join()

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._out.get()
            if not isinstance(item, _End):
                yield item
                continue
            if item.error is not None:
                raise item.error
            return

    def _put(self, item: T | _End) -> bool:
        while not self._stop.is_set():
            try:
                self._out.put(item, timeout=PUT_WAIT_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def _read(self, source: Iterable[T]) -> None:
        if self._turns is not None:
            with pacing.paced(self._turns):
                return self._read_paced(source)
        return self._read_paced(source)

    def _read_paced(self, source: Iterable[T]) -> None:
        pages = iter(source)
        while not self._stop.is_set():  # checked before each page: a stopped read ends here
            try:
                page = next(pages)
            except StopIteration:
                self._put(_End(None))
                return
            except BaseException as err:  # handed to the caller, in order
                self._put(_End(err))
                return
            if not self._put(page):
                return
