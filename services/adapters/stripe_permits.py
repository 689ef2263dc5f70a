"""The deployment's one Stripe rate for requests a job makes itself, outside the Stripe queue.

The Stripe queue's limiter (:mod:`services.adapters.jobs`) counts workflow starts, each worth k
requests (:func:`~services.adapters.jobs.requests_per_start`), for every process together. Work
that runs as chunks on that queue (the account walk, the transaction sync's parts, the nightly
refreshes) is counted by it; a batch check's requests were not: it spaced them with a bucket of
its own at the deployment's rate, so a batch beside a sync, or two batches, went over the rate
(Stripe's 429s then slowed everyone, people's clicks included).

:class:`QueueBucket` takes a batch's tokens from the same limiter: k tokens for each *permit*, a
workflow on the Stripe queue that does nothing but start when the limiter lets it (the limiter
counts it like a chunk of k requests), and whose caller then makes those k requests itself.
``AHEAD`` permits are asked for at once, so the next k are ready when the last are spent; a
bucket that makes no request asks for none, and a job's steps share one bucket per process
(:func:`bucket_of`), so steps of one request each (the walk's pages) do not take a permit each.
Permits are enqueued from threads of their own: DBOS starts no workflow from inside a step, and
a batch's requests are made inside one.

A job's sequential steps (:func:`counted_step`: the walk's pages, the changes-only account
sync, the intent, outcome and ownership syncs) take their turns the same way, through the SDK
transport (:mod:`services.adapters.gateway.pacing`). A person's click and a webhook's read are
not paced: they are one request each, made when someone or Stripe asks.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from dbos import DBOS, SetEnqueueOptions, SetWorkflowID

from services.adapters import jobs as engine
from services.adapters.gateway import pacing
from services.adapters.throttle import Clock, SystemClock

P = ParamSpec("P")
R = TypeVar("R")

__all__ = ["QueueBucket", "bucket_of", "counted", "counted_step", "stripe_permit"]

PERMIT_POLL_SECONDS = 0.05  # how often a permit's start is looked for once it is enqueued
# Permits asked for ahead of need: a permit takes a queue poll and a start (0.1-0.2 s here), as
# long as k requests take at the rate (0.2 s); with one ahead the batch waited for them.
AHEAD = 2
KEPT_BUCKETS = 256  # jobs' buckets kept in a process, the least recently used dropped
_buckets: OrderedDict[str, QueueBucket] = OrderedDict()
_buckets_lock = threading.Lock()
_askers = ThreadPoolExecutor(8, thread_name_prefix="fcops-permit")


@DBOS.workflow(name="fcops.stripe.permit")
def stripe_permit() -> None:
    """k Stripe requests its caller makes once this starts (:class:`QueueBucket`)."""


def _permit(owner: str, priority: int | None = None) -> None:
    queue = DBOS.retrieve_queue(engine.STRIPE_QUEUE)
    assert queue is not None, "the Stripe queue is registered at launch"
    # named apart from the owner's children ("<job>:…"), and new each time: counted anew
    with SetWorkflowID(f"permit:{owner}:{uuid.uuid4().hex[:16]}"), SetEnqueueOptions(
        priority=priority
    ):
        handle = queue.enqueue(stripe_permit)
    handle.get_result(polling_interval_sec=PERMIT_POLL_SECONDS)


class QueueBucket:
    """A :class:`~services.adapters.throttle.TokenBucket` stand-in whose tokens come from the
    Stripe queue's limiter, k per permit, spent as they are asked for: a permit's k may go at
    once, as a chunk of k makes its requests (spacing them one by one as well, at the rate, made
    bench_batch --job 1.23-1.28x of requests ÷ rate; 1.17x without). Threads may share one."""

    def __init__(
        self, *, owner: str, clock: Clock | None = None, background: bool = False
    ) -> None:
        self.owner = owner  # permits are named "permit:<owner>:<random>" (the job's ID)
        # on the Stripe queue: a person's permits first (no priority); a background job's in
        # turns, its n-th permit at engine.background_priority(n) (interleaved with other jobs')
        self.background = background
        self.asked = 0  # permits asked for so far
        self.clock: Clock = clock or SystemClock()
        self.per_permit = engine.requests_per_start()
        self.permits = 0  # granted so far
        self.requests = 0  # let through so far (a count: a job's bucket is kept, and long jobs)
        self._tokens = 0
        self._asked: deque[Future[None]] = deque()  # oldest first
        self._lock = threading.Lock()

    def _ask(self, ahead: int) -> None:
        """Have ``ahead`` permits asked for; under the lock."""
        while len(self._asked) < ahead:
            self._asked.append(_askers.submit(_permit, self.owner, self.next_priority()))
            self.asked += 1

    def next_priority(self) -> int | None:
        """The priority the next permit is asked for at (None: a person's, first)."""
        return engine.background_priority(self.asked) if self.background else None

    def acquire(self) -> None:
        while True:
            with self._lock:
                if self._tokens > 0:
                    self._tokens -= 1
                    self.requests += 1
                    return
                self._ask(AHEAD)
                oldest = self._asked[0]
            try:
                oldest.result()
            except Exception:  # the step fails and is retried, with new permits: the others
                with self._lock:  # asked with this one may have failed alike
                    self._asked.clear()
                raise
            with self._lock:
                if self._asked and self._asked[0] is oldest:  # granted: its k tokens
                    self._asked.popleft()
                    self._tokens += self.per_permit
                    self.permits += 1


def bucket_of(owner: str) -> QueueBucket:
    """``owner``'s bucket in this process (a new one the first time): a job's steps share its
    tokens, so a step of one request (a page of the walk) does not take a permit of k alone.
    A background job's: its permits go after a person's, in turns with other jobs' work
    (:func:`~services.adapters.jobs.background_priority`). Permits are not part of the job's
    workflow (a new one each time, never replayed), so a bucket new after a restart counting
    its turns from 0 again only moves the resumed job ahead of longer ones."""
    with _buckets_lock:
        bucket = _buckets.pop(owner, None) or QueueBucket(owner=owner, background=True)
        _buckets[owner] = bucket  # the most recently used last
        while len(_buckets) > KEPT_BUCKETS:
            _buckets.popitem(last=False)
    return bucket


@contextmanager
def counted(owner: str) -> Iterator[None]:
    """Every Stripe request this thread makes inside the block takes its turn from ``owner``'s
    :class:`QueueBucket` (a job's sequential steps: pages of a sync, account after account of a
    check; not its chunks on the Stripe queue, which the limiter counts already)."""
    with pacing.paced(bucket_of(owner)):
        yield


def counted_step(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn``, a job's sequential step (or a function its workflow calls), with its Stripe
    requests :func:`counted` under its workflow's ID."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with counted(DBOS.workflow_id or fn.__name__):
            return fn(*args, **kwargs)

    return run
