"""Read ahead: a sync's Stripe lists read on threads of their own while the caller writes.

A sync that reads a page, writes it, then reads the next leaves Stripe idle while it writes
and the store idle while it waits for Stripe. :class:`ReadAhead` runs each source (an iterable
of pages: one list's pages, in order) on its own thread, up to ``depth`` pages ahead of the
caller, and yields every source's pages as they arrive (each source's in its own order; the
sources interleaved). The caller's writes then overlap the next requests.

Errors are not lost and not reordered within a source: a source that raises ends the read, and
the caller gets the exception where that source's next page would have been. When the caller
stops early (an exception of its own, a page script the person left), the threads stop after
at most the request each is making, and leaving the ``with`` block waits for that: nothing of
the read outlives it. Threads do nothing but iterate their source: the gateway's per-thread
state (last Request-Id, 429 count) is the thread's, so a source that needs it reads it itself
(see ``sync_intents._pages``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
PUT_WAIT_SECONDS = 0.1  # how often a blocked reader checks whether the caller stopped


class _End:
    """A source finished; ``error`` when it raised."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class ReadAhead(Generic[T]):
    """The pages of ``sources``, each read on a thread of its own up to ``depth`` pages ahead
    of the caller. Use as a context manager: the threads start on entry and are told to stop
    on exit (however the block ends); iterating yields the pages as they arrive."""

    def __init__(self, *sources: Iterable[T], depth: int = 2, name: str = "fcops-read") -> None:
        self._out: queue.Queue[T | _End] = queue.Queue(maxsize=max(1, depth) * max(1, len(sources)))
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._read, args=(source,), name=f"{name}-{n}", daemon=True)
            for n, source in enumerate(sources)
        ]
        self._running = len(self._threads)

    def __enter__(self) -> ReadAhead[T]:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        """Stop the threads and wait for them: once the block is left, no request of it is
        still in flight (at most each thread's current one is waited for)."""
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def __iter__(self) -> Iterator[T]:
        while self._running:
            item = self._out.get()
            if isinstance(item, _End):
                self._running -= 1
                if item.error is not None:
                    self._stop.set()
                    raise item.error
                continue
            yield item

    def _put(self, item: T | _End) -> bool:
        while not self._stop.is_set():
            try:
                self._out.put(item, timeout=PUT_WAIT_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def _read(self, source: Iterable[T]) -> None:
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
