"""ReadAhead: a sync's list pages read on a thread of their own while the caller writes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from services.adapters.read_ahead import ReadAhead


class Source:
    """Pages 0..n-1 of one list, noting how far it was read; raises at ``fail_at``."""

    def __init__(self, name: str, n: int, *, fail_at: int | None = None, delay: float = 0.0) -> None:
        self.name, self.n, self.fail_at, self.delay = name, n, fail_at, delay
        self.read = 0
        self.threads: set[str] = set()

    def __iter__(self) -> Iterator[tuple[str, int]]:
        for page in range(self.n):
            self.threads.add(threading.current_thread().name)
            time.sleep(self.delay)
            if page == self.fail_at:
                raise RuntimeError(f"{self.name} failed at page {page}")
            self.read += 1
            yield self.name, page


def alive(prefix: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(prefix)]


def test_every_page_arrives_in_its_order_read_on_the_readers_thread() -> None:
    source = Source("a", 7)
    with ReadAhead(source, depth=2, name="t-order") as pages:
        got = list(pages)
    assert got == [("a", n) for n in range(7)]
    assert source.threads == {"t-order"}  # not the caller's thread
    assert not alive("t-order")


def test_the_source_is_read_ahead_of_the_caller_but_no_more_than_depth_pages() -> None:
    source = Source("a", 20)
    with ReadAhead(source, depth=3, name="t-ahead") as pages:
        first = next(iter(pages))
        deadline = time.monotonic() + 5
        while source.read < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # were it unbounded, it would read on
        # one page taken, three waiting, and at most one more read and waiting to be put
        assert first == ("a", 0)
        assert 4 <= source.read <= 5
    assert not alive("t-ahead")
    assert source.read <= 5  # leaving stopped it


def test_a_source_that_raises_hands_the_error_over_after_its_earlier_pages() -> None:
    bad = Source("bad", 5, fail_at=2)
    got: list[tuple[str, int]] = []
    with (
        pytest.raises(RuntimeError, match="bad failed at page 2"),
        ReadAhead(bad, depth=1, name="t-error") as pages,
    ):
        for page in pages:
            got.append(page)
    assert got == [("bad", 0), ("bad", 1)]
    assert not alive("t-error")


def test_leaving_early_stops_the_threads_and_waits_for_the_request_in_flight() -> None:
    slow = Source("slow", 100, delay=0.05)
    with pytest.raises(KeyError), ReadAhead(slow, depth=2, name="t-leave") as pages:
        for _ in pages:
            raise KeyError("the caller's own failure")
    assert not alive("t-leave"), "a thread of the read outlived the block"
    read = slow.read
    time.sleep(0.2)
    assert slow.read == read <= 4  # nothing more is read once the block is left


def test_an_empty_source_gives_no_pages() -> None:
    with ReadAhead(Source("none", 0), name="t-none") as pages:
        assert list(pages) == []
    assert not alive("t-none")
