"""What every job shares: its view, its progress row, and the steps that open and close it
(``jobs.start`` / ``jobs.end`` audit rows). The workflows are in :mod:`services.usecases.jobs`."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ParamSpec, Protocol, TypeVar

from dbos import DBOS
from dbos._error import DBOSMaxStepRetriesExceeded
from sqlmodel import col, func, select

from services import audit
from services.adapters import account_mirror as mirror
from services.adapters import jobs as engine
from services.adapters.backoff import told_of_retries
from services.adapters.job_models import JobRecord
from services.adapters.models import utcnow
from services.adapters.store import session_scope
from services.auth import SYSTEM, Actor, require, signed_in
from services.errors import (
    FcopsError,
    Forbidden,
    OutcomeUnknown,
    RateLimited,
    StripeUnavailable,
    ValidationError,
)
from services.rules import job_progress
from services.rules.batch_result import BatchResult

ACTIVE = ("queued", "running")
P = ParamSpec("P")
R = TypeVar("R")
log = logging.getLogger("fcops.jobs")

KINDS = {
    "accounts.sync": ("Account sync", "accounts.sync"),
    "intents.sync": ("Intent sync", "intents.sync"),
    "balances.batch_check": ("Batch pre-debit check", "balances.check"),
    "ownership.check_all": ("Ownership check of all accounts", "ownership.review"),
    "transactions.sync": ("Transaction sync (all subscribed accounts)", "transactions.manage"),
    "balances.nightly_refresh": ("Nightly refresh of tomorrow's debits", "balances.check"),
    "returns.sync": ("Debit outcome sync (returns)", "returns.sync"),
}


@dataclass(frozen=True)
class JobView:
    id: str
    kind: str
    label: str
    actor: str
    status: str  # queued | running | succeeded | failed
    done: int
    total: int | None
    message: str | None
    error: str | None
    attempts: int
    result: dict[str, Any] | None
    created_at: Any
    started_at: Any
    finished_at: Any
    params: dict[str, Any] | None = None  # the inputs it was started with (no uploaded rows)
    retried_as: str | None = None  # a failed job tried again: the job that took it over

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def source(self) -> str | None:
        """What a batch check's rows came from (a file's name), as kept in its params."""
        return str((self.params or {}).get("source") or "") or None


def _view(row: JobRecord) -> JobView:
    return JobView(
        id=row.id,
        kind=row.kind,
        label=row.label,
        actor=row.actor,
        status=row.status,
        done=row.done,
        total=row.total,
        message=row.message,
        error=row.error,
        attempts=row.attempts,
        result=row.result,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        params=dict(row.params or {}),
        retried_as=row.retried_as,
    )


def _actor(username: str, role: str) -> Actor:
    return Actor(username=username, role=role)


# --------------------------------------------------------------------------- shared steps


@DBOS.step(name="fcops.job_started")
def _job_started(job_id: str, kind: str, username: str, role: str) -> None:
    svc = engine.bound()
    engine.update_job(svc.engine, job_id, status="running", started_at=utcnow(), message="Started")
    audit.record(
        svc.engine,
        actor=_actor(username, role),
        action="jobs.start",
        target=job_id,
        outcome="ok",
        params={"kind": kind},
        message=f"{KINDS[kind][0]} started.",
    )


@DBOS.step(name="fcops.job_ended")
def _job_ended(
    job_id: str, kind: str, username: str, role: str, error: str | None,
    message: str | None, result: dict[str, Any] | None,
) -> None:
    svc = engine.bound()
    # The audit row first: whoever sees the job finished finds its row in the log.
    audit.record(
        svc.engine,
        actor=_actor(username, role),
        action="jobs.end",
        target=job_id,
        outcome="error" if error else "ok",
        params={"kind": kind},
        message=error or message,
    )
    engine.update_job(
        svc.engine,
        job_id,
        status="failed" if error else "succeeded",
        finished_at=utcnow(),
        error=error,
        message=message if not error else f"Failed: {error}",
        result=result,
    )


def _count_run(job_id: str) -> None:
    """Called in a workflow's body, outside any step, so it runs on every execution: the first
    and each resumption after a crash or restart (``attempts`` > 1: the job was resumed)."""
    svc = engine.bound()
    row = engine.get_job(svc.engine, job_id)
    engine.update_job(svc.engine, job_id, attempts=(row.attempts if row else 0) + 1)


class Report(Protocol):
    def __call__(
        self, done: int, total: int | None, message: str, *, force: bool = False
    ) -> None: ...


def _progress(job_id: str, *, every: float = 0.25, counts: bool = True) -> Report:
    """A ``progress(done, total, message)`` that writes the job row at most once every ``every``
    seconds, and always its last step (``done == total``) and a line passed with ``force=True``
    (one a person waits on: the banks' refresh) unless that line is the one written last.
    ``counts=False`` writes the message only (a chunk's steps are not the job's rows)."""
    svc = engine.bound()
    last: list[Any] = [0.0, None]  # when the row was written, and its message

    def report(done: int, total: int | None, message: str, *, force: bool = False) -> None:
        now = time.monotonic()
        due = now - last[0] >= every or (total is not None and done >= total)
        if not (due or (force and message != last[1])):
            return
        last[:] = [now, message]
        fields: dict[str, Any] = {"done": done, "total": total} if counts else {}
        engine.update_job(svc.engine, job_id, message=message, **fields)

    return report


def _reason(err: BaseException) -> str:
    """The sentence a failed job shows: the domain error behind it, also when DBOS gave up
    retrying a step (its exception carries the attempts' errors, the last one is the reason)."""
    cause = err
    while not isinstance(cause, FcopsError):
        if isinstance(cause, DBOSMaxStepRetriesExceeded) and cause.errors:
            cause = cause.errors[-1]
        elif cause.__cause__ is not None:
            cause = cause.__cause__
        else:
            break
    if isinstance(cause, FcopsError):
        return str(cause)
    return f"Unexpected error ({type(cause).__name__}); the details are in the server log."


def _retry_unless_refused(err: BaseException) -> bool:
    """Steps retry Stripe trouble, never a refusal or bad input (it would only fail again)."""
    return not isinstance(err, (Forbidden, ValidationError))


def _trouble(err: BaseException) -> str:
    """'Stripe answered HTTP 500' (or rate-limiting, no answer) for a job's retry line."""
    return job_progress.stripe_trouble(
        _reason(err), rate_limited=isinstance(err, RateLimited),
        no_answer=isinstance(err, OutcomeUnknown),
    )


def _say_retrying(
    job_id: str, err: BaseException, attempt: int, attempts: int,
    request: tuple[int, int] | None = None,
) -> None:
    """The job's line while Stripe fails and the step (or one request of it) asks again; a store
    hiccup here must not hide the Stripe error the step is handling (logged instead)."""
    try:
        line = job_progress.retrying(_trouble(err), attempt, attempts, request)
        engine.update_job(engine.bound().engine, job_id, message=line)
    except Exception:  # the line is a courtesy; the retry goes on
        log.warning("fcops: could not write job %s's retry line", job_id, exc_info=True)


def _tells_retries(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn``, a job's step that DBOS retries (``retries_allowed``), saying so on the job's line:
    while a request of it is asked again after Stripe failed ('Stripe answered HTTP 500; trying
    again (try 2 of 6)…'), and when the step failed and DBOS waits to
    run it again ('… (attempt 3 of 5)…').
    The attempt is DBOS's own (``DBOS.step_status``); a step of a child workflow (a chunk) has
    no job row of its own, so its lines go nowhere (``update_job`` of no row does nothing)."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        job_id = DBOS.workflow_id or ""
        status = DBOS.step_status
        attempt = (status.current_attempt or 0) + 1 if status else 1
        attempts = (status.max_attempts or 1) if status else 1

        def tell(err: StripeUnavailable, next_try: int, tries: int) -> None:
            _say_retrying(job_id, err, attempt, attempts, (next_try, tries))

        with told_of_retries(tell):
            try:
                return fn(*args, **kwargs)
            except Exception as err:
                if attempt < attempts and _retry_unless_refused(err):
                    _say_retrying(job_id, err, attempt + 1, attempts)
                raise

    return run


@DBOS.step(name="fcops.jobs.requests_per_start")
def _requests_per_start() -> int:
    """k for a workflow that cuts its work in chunks, recorded as a step: resumed by a process
    launched with another rate, the workflow replays the chunks it started, not a new cut."""
    return engine.requests_per_start()


ON_PURPOSE = ("ownership.check_all",)  # kinds only a person's click starts (no schedule)


def _retry_id(job_id: str, kind: str = "", params: dict[str, Any] | None = None) -> str:
    """``job_id``, or after a failed run of it the next retry's (``-retry1``, ``-retry2`` …): DBOS
    hands back a finished workflow's outcome for its ID, so a start right after a failure (the
    same inputs, the same minute) answered with that failure and asked Stripe nothing. A full
    re-read (``params["full"]``) and a kind in :data:`ON_PURPOSE` are asked for on purpose, so a
    run of them that succeeded is not echoed either ("Re-read everything" right after a walk
    answered with that walk, "Check all" with the check that had just ended). Two starts of the
    retry still get one ID, and one job."""
    again = kind in ON_PURPOSE or bool((params or {}).get("full"))
    svc, candidate, n = engine.bound(), job_id, 0
    ended = ("failed", "succeeded") if again else ("failed",)
    while (row := engine.get_job(svc.engine, candidate)) is not None and row.status in ended:
        n += 1
        candidate = f"{job_id}-retry{n}"
    return candidate


@DBOS.step(name="fcops.accounts.progress")
def _record_progress(job_id: str, done: int, message: str, total: int | None = None) -> None:
    engine.update_job(engine.bound().engine, job_id, done=done, total=total, message=message)


@DBOS.step(name="fcops.accounts.expected_customers")
def _expected_customers() -> int | None:
    """How many customers the walk will likely read, for its bar: the store's count (Stripe's
    list has no total); None on a store never synced. A step: a resumed walk keeps its estimate."""
    return mirror.mirrored_customer_count(engine.bound().engine) or None


def _walk_progress(job_id: str, customers: int, accounts: int, expected: int | None) -> None:
    """The walk's progress row: '1,200 of about 3,000 customers, 1,843 accounts'."""
    counted = job_progress.about(customers, expected, "customers")
    _record_progress(job_id, customers, f"{counted}, {accounts:,} accounts", expected)


# --------------------------------------------------------------------------- reading


def job(job_id: str) -> JobView | None:
    row = engine.get_job(engine.bound().engine, job_id)
    return _view(row) if row else None


def recent_jobs(
    actor: Actor, *, kinds: Sequence[str] | None = None, statuses: Sequence[str] | None = None,
    mine: bool = False, limit: int = 100,
) -> list[JobView]:
    """Newest first. Admins see every job; others see the jobs they may start."""
    actor = signed_in(actor)
    svc = engine.bound()
    stmt = select(JobRecord).order_by(col(JobRecord.created_at).desc()).limit(limit)
    if mine:
        stmt = stmt.where(JobRecord.actor == actor.username)
    if kinds:
        stmt = stmt.where(col(JobRecord.kind).in_(list(kinds)))
    if statuses:
        stmt = stmt.where(col(JobRecord.status).in_(list(statuses)))
    with session_scope(svc.engine) as session:
        rows = list(session.exec(stmt).all())
    visible = [r for r in rows if actor.can("audit.view") or actor.can(KINDS[r.kind][1])]
    return [_view(r) for r in visible]


def batch_result(actor: Actor, job_id: str, *, timeout: float = 0.0) -> BatchResult | None:
    """The finished batch's rows (None while it runs). Finance only, as the check itself."""
    require(actor, "balances.check")
    view = job(job_id)
    if view is None or view.kind != "balances.batch_check" or view.status != "succeeded":
        return None
    result: BatchResult | None = DBOS.retrieve_workflow(job_id).get_result()
    return result


def job_of(actor: Actor, job_id: str) -> JobView | None:
    """One job for a page: None when it does not exist or is of a kind ``actor`` may not start
    (admins see every job, as in :func:`recent_jobs`)."""
    actor = signed_in(actor)
    view = job(job_id)
    if view is None or not (actor.can("audit.view") or actor.can(KINDS[view.kind][1])):
        return None
    return view


def running_job(actor: Actor, kind: str) -> JobView | None:
    """The newest queued or running job of ``kind`` that a person started, for a page opened
    after it started (a reload, another tab, a colleague): the page follows that job instead
    of offering to start it again. Scheduled jobs (the safety net's few requests every few
    minutes) are not followed. None when ``actor`` may not see jobs of that kind."""
    actor = signed_in(actor)
    if kind not in KINDS or not (actor.can("audit.view") or actor.can(KINDS[kind][1])):
        return None
    stmt = (
        select(JobRecord)
        .where(col(JobRecord.status).in_(list(ACTIVE)), JobRecord.kind == kind)
        .where(JobRecord.actor != SYSTEM.username)
        .order_by(col(JobRecord.created_at).desc())
        .limit(1)
    )
    with session_scope(engine.bound().engine) as session:
        row = session.exec(stmt).first()
    return _view(row) if row is not None else None


SEEN_BY = {  # a sync's kind: who reads the figures it mirrors (and so must hear it failed)
    "accounts.sync": "accounts.view",
    "intents.sync": "conversion.view",
    "returns.sync": "returns.view",
}


@dataclass(frozen=True)
class SyncFailure:
    """The latest attempt of a sync failed after its last success: the figures are older."""

    job_id: str
    failed_at: datetime
    error: str
    can_retry: bool  # the person may start that sync again


def failed_sync(actor: Actor, kind: str, *, last_success: datetime | None) -> SyncFailure | None:
    """The sync ``kind``'s latest ended attempt when it failed after ``last_success`` (when
    the page's "last synced" says; None: never), else None. For whoever reads that sync's
    figures (:data:`SEEN_BY`)."""
    if kind not in SEEN_BY:
        raise ValidationError(f"No sync '{kind}'; use one of: {', '.join(SEEN_BY)}.")
    require(actor, SEEN_BY[kind])
    row = engine.newest_ended(engine.bound().engine, kind)
    if row is None or not job_progress.failed_since(row.status, row.finished_at, last_success):
        return None
    assert row.finished_at is not None
    return SyncFailure(
        job_id=row.id,
        failed_at=row.finished_at,
        error=row.error or "it did not finish.",
        can_retry=actor.can(KINDS[kind][1]),
    )


def queue_counts(actor: Actor) -> dict[str, int]:
    """Jobs queued and running in the whole deployment, per the store (the Jobs page), and the
    failed ones that need attention: ``failed`` counts those no one has tried again (a failed
    job whose retry went through read "Failed 1" as if it still needed someone), ``tried_again``
    the failed ones a retry took over (its own failure, if it fails, is counted as itself). One
    query on ``ix_jobs_status_retried``: a failure taken over names its taker (``retried_as``)."""
    require(actor, "jobs.view")
    svc = engine.bound()
    counts = {"queued": 0, "running": 0, "failed": 0}
    with session_scope(svc.engine) as session:
        found = session.exec(
            select(JobRecord.status, func.count(), func.count(col(JobRecord.retried_as)))
            .where(col(JobRecord.status).in_(list(counts)))
            .group_by(JobRecord.status)
        ).all()
    counts |= {status: int(n) for status, n, _ in found}
    taken = sum(int(t) for status, _, t in found if status == "failed")
    return counts | {"failed": counts["failed"] - taken, "tried_again": taken}
