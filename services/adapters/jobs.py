"""DBOS Transact wiring: the durable-workflow engine, its queues, and job progress rows.

One DBOS instance per process (DBOS is a process singleton). Its system database is a SQLite
file under ``data/`` by default and the app's PostgreSQL database (schema ``dbos``) when
``DATABASE_URL`` is PostgreSQL, so several processes share one set of queues: a workflow ID
runs once across all of them, and the queue rate limit holds for the whole deployment.

Queues (declared with ``DBOS.register_queue`` after ``DBOS.launch()``, as DBOS 3.x requires):

- ``fcops-stripe``: the deployment's Stripe request rate (``settings.rate_limit``, every process
  together). DBOS's limiter counts workflow starts, so each workflow on it may make up to
  :func:`requests_per_start` (k) Stripe requests and the limiter lets ``rate // k`` of them start
  per second: at most ``rate`` requests/s. k grows with the rate (a chunk of k customers' account
  lists in one workflow; a refresh or one account's transactions take a slot each), so the
  queue starts about ``CHUNKS_PER_SECOND`` workflows a second whatever the rate.
- ``fcops-jobs``: the jobs people start (syncs, batch checks, check-all), a few per process.
- ``fcops-events``: webhook event processing, partitioned by the object the event names with
  ``partition_concurrency=1``: two events about one account are applied one after the other
  (the mirror's newer-event check reads then writes, so concurrent writers could both pass it).
  No rate limiter: applying an account event makes no Stripe request (an intent event, or an
  account event tied on ``created``, makes one read). Polled every ``EVENTS_POLL_SECONDS``.

Workflows need the gateway and the store, which cannot be workflow arguments (they are not
serialisable); :func:`bind` makes them available to every workflow in this process.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from dbos import DBOS, DBOSConfig
from dbos._queue import QueueRateLimit  # the limiter's type (DBOS does not re-export it)
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlmodel import col, select

import services.adapters.job_models  # noqa: F401  (registers the tables)
from services.adapters.job_models import JobRecord
from services.adapters.models import utcnow
from services.adapters.settings import Settings
from services.adapters.store import normalise_url, retrying, session_scope
from services.context import Services

log = logging.getLogger("fcops.jobs")
T = TypeVar("T")

STRIPE_QUEUE = "fcops-stripe"
JOBS_QUEUE = "fcops-jobs"
# The Stripe queue's order (DBOS dequeues by priority, then age; no priority is 0, the first):
# a background walk's chunks and its steps' permits go after work a person waits on (a batch
# check's permits). FIFO kept each batch permit behind the walk's backlog of chunks: a 20-row
# batch took 27 s beside a first account sync instead of 3 s.
BACKGROUND_PRIORITY = 10
MAX_PRIORITY = 2**31 - 1  # DBOS takes 1 to 2^31 - 1
EVENTS_QUEUE = "fcops-events"
APP_NAME = "fcops"
# How often the jobs and Stripe queues are polled: each hop through a queue (a job's start, a
# page's first chunks) waits for the next poll, half of it on average, and a full sync makes a
# few such hops in a row (0.2 s before: ~0.1 s a hop on average). Idle polling costs CPU: with
# DBOS's own threads, an idle process here used 1.08 s of CPU in 10 s at 0.1 s, 0.69 s at 0.2.
POLL_SECONDS = 0.1
# The events queue is polled more often: a webhook event waits for the next poll before it is
# applied (part of the lag a user sees on a refreshed balance); an idle poll is a few reads.
EVENTS_POLL_SECONDS = 0.1
EVENTS_PER_WORKER = 16
# Workflow starts per second the Stripe queue aims at (k follows). Each child workflow costs DBOS
# an enqueue and a result read (tens of ms on SQLite on a busy machine), so fewer, larger chunks.
CHUNKS_PER_SECOND = 5
MAX_REQUESTS_PER_START = 100  # a customer list page: one chunk never spans two pages
# Requests in flight needed to keep up with the rate: rate × a list call's round trip to Stripe
# (roughly a quarter of a second), 8 to 32 threads per process (see :func:`fetch_threads`).
STRIPE_ROUND_TRIP_SECONDS = 0.25

_lock = threading.Lock()
_bound: Services | None = None
_launched_url: str | None = None
_per_start = 1
_rate = 1
_sqlite_engine: Engine | None = None


def requests_per_start(rate: float | None = None) -> int:
    """k: the Stripe requests one workflow on the Stripe queue may make. For ``rate`` (req/s),
    else for the rate this process launched with."""
    if rate is None:
        return _per_start
    return max(1, min(MAX_REQUESTS_PER_START, int(rate) // CHUNKS_PER_SECOND))


def background_priority(turn: int) -> int:
    """The Stripe queue priority of a background job's ``turn``-th chunk or permit (0 its first):
    ``BACKGROUND_PRIORITY + turn``. Background jobs share the rate by turns had, not by arrival:
    a job started beside another's backlog takes its first turns before that backlog (whose turns
    are already numbered past them), then the two alternate, turn for turn. At one priority every
    job queued behind the backlog of chunks any job had enqueued before it: the first intent sync
    read nothing while the first account walk ran (58 s of 83 at 2,000 customers; 3 minutes at
    5,000). A person's requests (priority 0) still go first. ``turn`` is counted from what the
    job's workflow enqueued (its steps' checkpointed results), never from a clock, so a workflow
    replayed after a crash enqueues the same chunks at the same priorities."""
    return min(MAX_PRIORITY, BACKGROUND_PRIORITY + max(0, turn))


def fetch_threads(rate: float | None = None) -> int:
    """Threads a process fetches chunks' account lists with (one keep-alive connection each):
    enough for ``rate`` at Stripe's round trip, 8 to 32. Against a local sandbox fewer are
    faster (every thread contends for one GIL), but against Stripe fewer would cap the rate."""
    rate = _rate if rate is None else rate
    return max(8, min(32, math.ceil(rate * STRIPE_ROUND_TRIP_SECONDS)))


def stripe_limiter(rate: float) -> QueueRateLimit:
    """DBOS's limiter for the Stripe queue: ``rate // k`` starts of k requests per second."""
    rate = max(1, int(round(rate)))
    return {"limit": max(1, rate // requests_per_start(rate)), "period": 1.0}


def system_database_url(settings: Settings) -> str:
    """Where DBOS keeps workflows and queues: the PostgreSQL store, or a SQLite file."""
    url = normalise_url(settings.database_url) if settings.database_url else ""
    if url.startswith("postgresql"):
        return url
    return f"sqlite:///{Path(settings.data_dir) / f'fcops-dbos-{settings.mode}.sqlite'}"


def dbos_config(settings: Settings, *, executor_id: str | None = None) -> DBOSConfig:
    config: DBOSConfig = {
        "name": APP_NAME,
        "system_database_url": system_database_url(settings),
        "log_level": "WARNING",
        "application_version": "fcops-1",  # stable: restarts recover the same workflows
        "notification_listener_polling_interval_sec": 0.1,
    }
    if system_database_url(settings).startswith("postgresql"):
        config["dbos_system_schema"] = settings.dbos_schema
    if executor_id:
        config["executor_id"] = executor_id
    return config


def bind(services: Services) -> None:
    """The gateway and store the workflows of this process use."""
    global _bound
    _bound = services


def bound() -> Services:
    if _bound is None:
        raise RuntimeError("The job engine is not started in this process (jobs.launch).")
    return _bound


def launched() -> bool:
    return _launched_url is not None


def launch(settings: Settings, services: Services, *, executor_id: str | None = None) -> None:
    """Start DBOS once per process: recover this executor's unfinished workflows, declare the
    queues and start dequeuing. Safe to call again.

    DBOS's synchronous start-up refuses to run on a thread with a running event loop (an ASGI
    lifespan, a test harness), so there it runs in a helper thread."""
    off_loop(_launch, settings, services, executor_id)


def off_loop(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``, in a helper thread when this thread runs an event loop (DBOS's synchronous
    calls refuse to run there), else here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args)
    result: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn(*args))
        except BaseException as err:  # re-raised in the caller's thread
            failure.append(err)

    helper = threading.Thread(target=run, name="fcops-dbos-call")
    helper.start()
    helper.join()
    if failure:
        raise failure[0]
    return result[0]


def _launch(settings: Settings, services: Services, executor_id: str | None) -> None:
    global _launched_url, _per_start, _rate, _sqlite_engine
    # The caller (bootstrap) has imported the workflow modules: DBOS registers them on import,
    # and recovery at launch needs them registered.

    with _lock:
        bind(services)
        if _launched_url is not None:
            return
        url = system_database_url(settings)
        config = dbos_config(settings, executor_id=executor_id or settings.executor_id)
        if url.startswith("sqlite"):
            _sqlite_engine = sqlite_system_engine(url)
            config["system_database_engine"] = _sqlite_engine
        DBOS(config=config)
        DBOS.launch()
        rate = max(1, int(round(settings.rate_limit)))
        _per_start = requests_per_start(rate)
        _rate = rate
        DBOS.register_queue(
            STRIPE_QUEUE,
            limiter=stripe_limiter(rate),
            worker_concurrency=min(rate, 16),
            polling_interval_sec=POLL_SECONDS,
            on_conflict="always_update",
        )
        DBOS.register_queue(
            JOBS_QUEUE, worker_concurrency=4, polling_interval_sec=POLL_SECONDS,
            on_conflict="always_update",
        )
        DBOS.register_queue(  # partitioned by the object an event names: one at a time each
            EVENTS_QUEUE, worker_concurrency=EVENTS_PER_WORKER, partition_concurrency=1,
            polling_interval_sec=EVENTS_POLL_SECONDS, on_conflict="always_update",
        )
        _launched_url = url
        log.info("fcops: job engine on %s, Stripe rate %s/s (%s per start)",
                 url.split("@")[-1], rate, _per_start)


def serving(timeout: float = 3.0) -> bool:
    """Wait until DBOS's worker threads for our queues run (True), at most ``timeout`` seconds.

    DBOS starts a queue's worker thread from a thread that looks for newly registered queues once
    a second, so a job queued just after :func:`launch` can wait up to a second before anything
    polls its queue. A bench that times jobs calls this first (a one-off at start-up, not part of
    any job); DBOS names those threads ``queue-worker-<queue>`` (3.4, ``dbos._queue``)."""
    wanted = {f"queue-worker-{name}" for name in (STRIPE_QUEUE, JOBS_QUEUE, EVENTS_QUEUE)}
    deadline = time.monotonic() + timeout
    while not wanted <= {thread.name for thread in threading.enumerate()}:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def sqlite_system_engine(url: str) -> Engine:
    """DBOS's SQLite system database, in WAL mode with ``synchronous=NORMAL`` (as the store).

    DBOS's own SQLite engine keeps SQLite's defaults: a rollback journal and ``synchronous=FULL``,
    about 18 ms of fsyncs per commit here with the write lock held throughout. Every workflow
    write takes that lock (an enqueue, a dequeue, each step's check and result, the outcome),
    so webhook events and job steps queued behind one another on it. WAL with NORMAL commits in
    well under a millisecond and survives the process being killed (SIGKILL) like the store;
    only an OS crash can lose the last commits, as for the store. The engine is otherwise DBOS's:
    IMMEDIATE transactions (writers serialise), a 30 s busy timeout, foreign keys on."""
    path = Path(url.split("///", 1)[1])
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_size=20, max_overflow=0, pool_timeout=30)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = "IMMEDIATE"
        dbapi_conn.execute("PRAGMA busy_timeout=30000")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")

    return engine


def shutdown() -> None:
    """Stop DBOS in this process (tests; a process that exits need not call it)."""
    global _launched_url, _sqlite_engine
    with _lock:
        if _launched_url is None:
            return
        off_loop(lambda: DBOS.destroy(workflow_completion_timeout_sec=0))
        if _sqlite_engine is not None:  # ours, so DBOS leaves it open
            _sqlite_engine.dispose()
            _sqlite_engine = None
        _launched_url = None


def workflow_id(kind: str, params: Mapping[str, Any]) -> str:
    """A deterministic ID from a job's kind and inputs: starting it twice starts it once."""
    digest = hashlib.sha256(
        json.dumps({"kind": kind, **params}, sort_keys=True, default=str).encode()
    ).hexdigest()[:20]
    return f"{kind}-{digest}"


# --------------------------------------------------------------------------- progress rows


def create_job(
    engine: Engine,
    job_id: str,
    *,
    kind: str,
    label: str,
    actor: str,
    role: str,
    params: Mapping[str, Any],
    retry_of: str | None = None,
) -> bool:
    """Insert the job's row unless it exists; True when this call created it. A retry of the
    failed job ``retry_of`` also marks that one as taken over by it (``retried_as``), in the
    same transaction (the Jobs page's counts read that column)."""

    def work(session: Any) -> bool:
        if retry_of is not None:
            _taken_over(session, retry_of, job_id)
        if session.get(JobRecord, job_id) is not None:
            return False
        session.add(
            JobRecord(
                id=job_id, kind=kind, label=label, actor=actor, role=role, params=dict(params)
            )
        )
        return True

    created: bool = retrying(engine, work)
    return created


def _taken_over(session: Any, failed_id: str, by: str) -> None:
    row = session.get(JobRecord, failed_id)
    if row is not None and row.retried_as != by:
        row.retried_as = by
        row.updated_at = utcnow()
        session.add(row)


def mark_retried(engine: Engine, failed_id: str, by: str) -> None:
    """The failed job ``failed_id`` is taken over by the job ``by`` (a running job of its kind
    that answered its retry)."""
    retrying(engine, lambda session: _taken_over(session, failed_id, by))


def update_job(engine: Engine, job_id: str, **changes: Any) -> None:
    def work(session: Any) -> None:
        row = session.get(JobRecord, job_id)
        if row is None:
            return
        for key, value in changes.items():
            setattr(row, key, value)
        row.updated_at = utcnow()
        session.add(row)

    retrying(engine, work)


def newest_ended(engine: Engine, kind: str) -> JobRecord | None:
    """The newest job of ``kind`` that ended (succeeded or failed), by when it ended: read
    backwards along ``ix_jobs_kind_finished`` (no sort of every job of the kind; four pages ask
    on every run)."""
    stmt = (
        select(JobRecord)
        .where(JobRecord.kind == kind, col(JobRecord.status).in_(["succeeded", "failed"]))
        .order_by(col(JobRecord.finished_at).desc())
        .limit(1)
    )
    with session_scope(engine) as session:
        row: JobRecord | None = session.exec(stmt).first()
        return row


def get_job(engine: Engine, job_id: str) -> JobRecord | None:
    with session_scope(engine) as session:
        row: JobRecord | None = session.get(JobRecord, job_id)
        return row


def now() -> datetime:
    return utcnow()
