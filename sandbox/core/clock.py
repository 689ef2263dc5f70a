"""Sandbox time and the jobs that run when it comes (refresh completions, settlements, timeouts)."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox.core.errors import invalid


class Clock:
    """Sandbox time: real time plus an offset that hooks can advance (never rewind)."""

    def __init__(self, now: int | None = None) -> None:
        self._offset = 0.0 if now is None else now - time.time()

    def now_float(self) -> float:
        return time.time() + self._offset

    def now(self) -> int:
        return int(self.now_float())

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise invalid("The clock can only move forward.", param="seconds")
        self._offset += seconds


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    fn: Callable[[], object] = field(compare=False)


class Jobs:
    """Functions that run (with the state lock held) once sandbox time reaches their due time."""

    def __init__(self, clock: Clock, lock: threading.RLock) -> None:
        self._clock = clock
        self._lock = lock
        self._queue: list[_Job] = []
        self._seq = itertools.count()

    def schedule(self, delay_seconds: float, fn: Callable[[], object]) -> None:
        """Run ``fn`` once ``delay_seconds`` of sandbox time have passed.

        A delay of 0 runs before the next request is answered, so tests see the pending
        state in the reply that started a job and the finished state in the next one.
        """
        with self._lock:
            due = self._clock.now_float() + max(0.0, delay_seconds)
            heapq.heappush(self._queue, _Job(due, next(self._seq), fn))

    def run_due(self, *, everything: bool = False) -> int:
        """Run due jobs (all pending ones when ``everything``); returns how many ran."""
        ran = 0
        with self._lock:
            while self._queue and (everything or self._queue[0].due <= self._clock.now_float()):
                job = heapq.heappop(self._queue)
                try:
                    job.fn()
                except Exception:  # a broken job must not wedge the sandbox
                    traceback.print_exc()
                ran += 1
                if ran > 100_000:
                    break
        return ran

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)
