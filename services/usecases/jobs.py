"""Jobs: syncs, batch checks and check-all as durable DBOS workflows that pages follow.

Starting a job returns at once with its ID; the work runs on a DBOS queue in whichever process
dequeues it, its progress and result live in the store (``jobs`` table) so any page, tab or
replica shows them, and a crash or restart resumes the workflow at its last finished step.

Each job's workflow ID is derived from its inputs (:func:`services.adapters.jobs.workflow_id`),
so a double click, a second tab or a second replica starting the same job gets the same ID and
DBOS runs it once. The ID ends with a one-minute window (``window``) so the same job can run
again later (a sync also when its data changed since: the store was emptied, say); while one is
queued or running, starting it again returns that one (for syncs and check-all: any one of that
kind, except that only a full walk answers a full walk).

Every job writes an audit row when it starts (``jobs.start``) and when it ends (``jobs.end``),
besides the rows the use cases it calls write. ``@counted_step``: see stripe_permits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dbos import DBOS, SetWorkflowID
from sqlmodel import col, select

from services import audit
from services.adapters import data_version
from services.adapters import jobs as engine
from services.adapters.job_models import JobRecord
from services.adapters.store import session_scope
from services.adapters.stripe_permits import counted_step
from services.auth import SYSTEM, Actor, require
from services.errors import Forbidden, ValidationError
from services.rules.batch_result import BatchResult, policy_words
from services.rules.debit_csv import PlannedDebit, RowError, batch_chunks
from services.usecases import review_ownership, sync_intents
from services.usecases.debit_policy import load_policy_version
from services.usecases.job_runs import (  # noqa: F401  (reading names re-exported for pages)
    ACTIVE,
    KINDS,
    JobView,
    SyncFailure,
    _actor,
    _count_run,
    _expected_customers,
    _job_ended,
    _job_started,
    _progress,
    _reason,
    _record_progress,
    _requests_per_start,
    _retry_id,
    _retry_unless_refused,
    _tells_retries,
    _view,
    _walk_progress,
    batch_result,
    failed_sync,
    job,
    job_of,
    queue_counts,
    recent_jobs,
    running_job,
)
from services.usecases.jobs_accounts import _incremental, accounts_sync_workflow
from services.usecases.jobs_batch import _batch_chunk, _pin_policy, merge_results

SYNC_WINDOW_SECONDS = 60  # two starts of the same sync within a minute are one job
# Rows per checkpointed step of a batch check; a crash redoes at most one step's rows. Each waits
# for its refreshes' events: at 250, 40 waits in 10,000 rows (bench_batch --job 1.21x; 1.12x).
BATCH_CHUNK_ROWS = 1_000
SOURCE_CHARS = 200  # a batch's file name kept with its job, cut to this
# The account sync (its walk in chunks, the changes since the cursor) is in jobs_accounts.


# --------------------------------------------------------------------------- intent sync


@DBOS.step(name="fcops.intents.sync", retries_allowed=True, max_attempts=5,
           should_retry=_retry_unless_refused)
@_tells_retries
@counted_step
def _intent_sync(job_id: str, username: str, role: str, full: bool) -> dict[str, Any]:
    svc = engine.bound()
    result = sync_intents.sync_intents(
        svc, _actor(username, role), progress=_progress(job_id), full=full, patient=True
    )
    return {"fetched": result.fetched, "inserted": result.inserted, "message": result.message}


@DBOS.workflow(name="fcops.jobs.intents_sync")
def intents_sync_workflow(username: str, role: str, full: bool, window: int) -> dict[str, Any]:
    job_id = DBOS.workflow_id or ""
    _count_run(job_id)
    _job_started(job_id, "intents.sync", username, role)
    try:
        result = _intent_sync(job_id, username, role, full)
    except Exception as err:
        _job_ended(job_id, "intents.sync", username, role, _reason(err), None, None)
        return {"error": _reason(err)}
    _job_ended(job_id, "intents.sync", username, role, None, result["message"], result)
    return result


# --------------------------------------------------------------------------- ownership


@DBOS.step(name="fcops.ownership.check_all", retries_allowed=True, max_attempts=3,
           should_retry=_retry_unless_refused)
@_tells_retries
@counted_step
def _check_all(job_id: str, username: str, role: str) -> dict[str, Any]:
    svc = engine.bound()
    result = review_ownership.check_all(svc, _actor(username, role), progress=_progress(job_id))
    message = f"Checked {result.checked} accounts" + (
        f"; {len(result.errors)} could not be read." if result.errors else "."
    )
    return {"checked": result.checked, "verdicts": result.verdicts, "errors": len(result.errors),
            "message": message, "why": result.errors[0][1] if result.errors else None}


@DBOS.workflow(name="fcops.jobs.ownership_check_all")
def ownership_check_all_workflow(username: str, role: str, window: int) -> dict[str, Any]:
    job_id = DBOS.workflow_id or ""
    _count_run(job_id)
    _job_started(job_id, "ownership.check_all", username, role)
    try:
        result = _check_all(job_id, username, role)
    except Exception as err:
        _job_ended(job_id, "ownership.check_all", username, role, _reason(err), None, None)
        return {"error": _reason(err)}
    _job_ended(job_id, "ownership.check_all", username, role, None, result["message"], result)
    return result


# --------------------------------------------------------------------------- batch check


@DBOS.workflow(name="fcops.jobs.batch_check")
def batch_check_workflow(
    username: str, role: str, planned: list[PlannedDebit], row_errors: list[RowError],
    refresh_stale: bool, rate: float,
) -> BatchResult | None:
    """Each chunk of rows is a checkpointed step: a crash resumes at the next chunk."""
    job_id = DBOS.workflow_id or ""
    kind = "balances.batch_check"
    _count_run(job_id)
    _job_started(job_id, kind, username, role)
    parts: list[BatchResult] = []
    total = len(planned) + len(row_errors)
    try:
        version = _pin_policy(job_id)  # one policy for every row, also after a resume
        stored = load_policy_version(engine.bound().engine, version)
        applied = policy_words(stored.policy, version, stored.currency)
        _record_progress(job_id, 0, f"Checking {total:,} rows · {applied}", total)
        chunks = batch_chunks(planned, BATCH_CHUNK_ROWS)  # one ID's rows in one chunk
        done = 0
        for n, chunk in enumerate(chunks or [[]]):
            errors = row_errors if n == 0 else []
            parts.append(_batch_chunk(
                username, role, chunk, errors, refresh_stale, rate, version, done, total, applied
            ))
            done = sum(len(p.rows) for p in parts)
            _record_progress(job_id, done, f"Checked {done:,} of {total:,} rows · {applied}", total)
    except Exception as err:
        _job_ended(job_id, kind, username, role, _reason(err), None, None)
        return None
    result = merge_results(parts)
    summary = result.summary()
    message = f"{summary.said()} {result.policy_text}."
    _job_ended(
        job_id, kind, username, role, None, message,
        {"rows": summary.rows, "checked": summary.checked, "errors": summary.errors,
         "counts": summary.counts, "refreshed": summary.refreshed, "requests": summary.requests,
         "policy_version": result.policy_version},
    )
    return result


# --------------------------------------------------------------------------- starting


def _window(svc_now: int) -> int:
    return svc_now // SYNC_WINDOW_SECONDS


def _active(kind: str, prefix: str | None, needs: dict[str, Any] | None = None) -> str | None:
    """The newest queued or running job of ``kind`` (whose ID starts with ``prefix``, and whose
    params hold ``needs``: a running incremental sync does not answer a full walk)."""
    svc = engine.bound()
    stmt = select(JobRecord).where(JobRecord.kind == kind, col(JobRecord.status).in_(ACTIVE))
    if prefix:
        stmt = stmt.where(col(JobRecord.id).startswith(prefix))
    with session_scope(svc.engine) as session:
        rows = session.exec(stmt.order_by(col(JobRecord.created_at).desc())).all()
        found = [r.id for r in rows if all(r.params.get(k) == v for k, v in (needs or {}).items())]
    return found[0] if found else None


def _allowed(actor: Actor, kind: str) -> None:
    """The role check, with a ``refused`` audit row when it fails (as every action has)."""
    try:
        require(actor, KINDS[kind][1])
    except Forbidden as err:
        audit.record(
            engine.bound().engine, actor=actor, action="jobs.start", target=None,
            outcome="refused", params={"kind": kind}, message=str(err),
        )
        raise


UNKEYED = ("window", "source")  # params that do not tell one job's work from another's


def _start(
    actor: Actor, kind: str, params: dict[str, Any], workflow: Any, *args: Any,
    reuse_active: bool = True,
) -> str:
    """Queue ``workflow`` as a job; the caller has passed :func:`_allowed` already (it must,
    before it reads the actor for the workflow's arguments)."""
    label, permission = KINDS[kind]
    svc = engine.bound()
    # The window picks the minute; a batch's file name is what it is called, not what it checks.
    base = engine.workflow_id(kind, {k: v for k, v in params.items() if k not in UNKEYED})
    needs = {"full": True} if params.get("full") else None
    running = _active(kind, None if reuse_active else base, needs)
    if running is not None:
        return running  # the same job is queued or running: follow that one
    job_id = _retry_id(f"{base}-{params['window']}", kind, params)  # a new run, not an echo
    engine.create_job(
        svc.engine, job_id, kind=kind, label=label, actor=actor.username, role=actor.role,
        params={k: v for k, v in params.items() if k not in ("rows",)},
    )
    queue = DBOS.retrieve_queue(engine.JOBS_QUEUE)
    assert queue is not None
    with SetWorkflowID(job_id):
        queue.enqueue(workflow, *args)
    return job_id


def start_account_sync(actor: Actor, *, full: bool = False) -> str:
    """Queue an account sync (full walk or changes since the cursor); returns the job ID. The ID
    carries the mirror's data version: a sync that finished this minute answers a second start
    only while the mirror has not changed since that sync started (emptied, say)."""
    _allowed(actor, "accounts.sync")
    window = _window(engine.bound().now())
    data = data_version.read(engine.bound().engine, data_version.ACCOUNTS)
    return _start(
        actor, "accounts.sync", {"full": full, "window": window, "data": data},
        accounts_sync_workflow, actor.username, actor.role, full, window,
    )


def start_intent_sync(actor: Actor, *, full: bool = False) -> str:
    _allowed(actor, "intents.sync")
    window = _window(engine.bound().now())
    data = data_version.read(engine.bound().engine, data_version.INTENTS)
    return _start(
        actor, "intents.sync", {"full": full, "window": window, "data": data},
        intents_sync_workflow, actor.username, actor.role, full, window,
    )


def start_ownership_check_all(actor: Actor) -> str:
    _allowed(actor, "ownership.check_all")
    window = _window(engine.bound().now())
    return _start(
        actor, "ownership.check_all", {"window": window},
        ownership_check_all_workflow, actor.username, actor.role, window,
    )


def start_batch_check(
    actor: Actor,
    planned: Sequence[PlannedDebit],
    row_errors: Sequence[RowError] = (),
    *,
    refresh_stale: bool,
    rate: float = 20.0,
    source: str | None = None,
) -> str:
    """Queue a batch pre-debit check. The same rows and option from the same person give the
    same job while it runs or within the minute (a double click, a reload or a second replica
    starts it once); later, the same file is checked afresh. Its result is the workflow's
    (:func:`batch_result`). ``source`` names the rows (the file's name, "the pasted text"): kept
    with the job, never the file's contents, so a reload or another tab still says which file
    is checked (:attr:`JobView.source`)."""
    _allowed(actor, "balances.batch_check")
    if not planned and not row_errors:
        raise ValidationError("The file has no rows to check.")
    params = {
        "refresh_stale": refresh_stale,
        "rows": [(d.row, d.target, d.amount, d.currency, d.reference) for d in planned],
        "errors": [(e.row, e.message) for e in row_errors],
        "by": actor.username,
        "window": _window(engine.bound().now()),
    }
    if source:
        params["source"] = source[:SOURCE_CHARS]
    return _start(
        actor, "balances.batch_check", params, batch_check_workflow,
        actor.username, actor.role, list(planned), list(row_errors), refresh_stale, rate,
        reuse_active=False,
    )


# --------------------------------------------------------------------------- scheduled work

SAFETY_SCHEDULE = "fcops-safety-sync"


@DBOS.step(name="fcops.safety.open")
def _open_scheduled(job_id: str) -> None:
    engine.create_job(
        engine.bound().engine, job_id, kind="accounts.sync", label="Scheduled sync (safety net)",
        actor=SYSTEM.username, role=SYSTEM.role, params={"scheduled": True},
    )


@DBOS.workflow(name="fcops.jobs.safety_sync")
def safety_sync_workflow(scheduled_at: datetime, context: Any) -> None:
    """Every few minutes: the account and intent changes since the cursors, in case a webhook
    was missed (the incremental syncs replay Stripe's events; a few requests when idle)."""
    job_id = DBOS.workflow_id or ""
    _open_scheduled(job_id)
    _count_run(job_id)
    _job_started(job_id, "accounts.sync", SYSTEM.username, SYSTEM.role)
    try:
        done = _incremental(job_id, SYSTEM.username, SYSTEM.role)
        intents = _intent_sync(job_id, SYSTEM.username, SYSTEM.role, False)
    except Exception as err:
        _job_ended(job_id, "accounts.sync", SYSTEM.username, SYSTEM.role, _reason(err), None, None)
        return
    message = f"{done['message']} {intents['message']}"
    _job_ended(job_id, "accounts.sync", SYSTEM.username, SYSTEM.role, None, message,
               {"accounts": done, "intents": intents})


def schedule_safety_sync(minutes: int) -> bool:
    """Run :func:`safety_sync_workflow` every ``minutes`` (0: never). One schedule for the
    whole deployment (DBOS keeps it in its database); True when this call changed it."""
    wanted = f"*/{minutes} * * * *" if minutes > 0 else None
    current = DBOS.get_schedule(SAFETY_SCHEDULE)
    if current is not None and (wanted is None or current["schedule"] != wanted):
        DBOS.delete_schedule(SAFETY_SCHEDULE)
        current = None
    if wanted is None or current is not None:
        return False
    try:
        DBOS.create_schedule(
            schedule_name=SAFETY_SCHEDULE, workflow_fn=safety_sync_workflow, schedule=wanted,
            queue_name=engine.JOBS_QUEUE,
        )
    except Exception:  # another process created it between our read and write
        return False
    return True
