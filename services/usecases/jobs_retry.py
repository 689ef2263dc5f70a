"""Trying a failed job again: the same kind of job with the same inputs, started by a person.

A retry of job ``X`` is ``X-retry1`` (``X-retry2`` after that one failed too; see
:func:`~services.usecases.job_runs._retry_id`), so the list shows which job it tries again, and
a double click, a second tab or a second replica gets the one retry: while it is queued or
running, trying again answers with it (for syncs and check-all, with any running job of that
kind, which does the same work; the failed job then names it as the job that took it over,
``retried_as``). A Try again drawn before another admin's follows the failed job's line to its
newest job: that one answers, or, when it failed too, is the one tried again. The retry runs as
the person who asked for it (their role is checked, as a start of that kind checks it, and they
must open the Jobs page, where Try again is) and writes a ``jobs.retry`` audit row naming both
jobs, besides the new job's own ``jobs.start`` / ``jobs.end`` rows.

A batch check keeps its rows only in the job engine (the job's row keeps no uploaded rows): its
retry reads them from the failed workflow's inputs, so finance's rows are checked again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from dbos import DBOS, SetWorkflowID
from sqlmodel import col, select

from services import audit
from services.adapters import jobs as engine
from services.adapters.job_models import JobRecord
from services.adapters.models import utcnow
from services.adapters.store import session_scope
from services.auth import Actor, require, signed_in
from services.errors import Forbidden, NotFound, ValidationError
from services.usecases.job_runs import KINDS, JobView, _retry_id, _view, job, job_of
from services.usecases.jobs import (
    _active,
    batch_check_workflow,
    intents_sync_workflow,
    ownership_check_all_workflow,
)
from services.usecases.jobs_accounts import accounts_sync_workflow
from services.usecases.jobs_daily import nightly_refresh_workflow, transactions_sync_workflow
from services.usecases.jobs_outcomes import outcomes_sync_workflow

__all__ = ["failed_too", "retried_as", "retry_job", "tried_again_as", "tried_again_for",
           "tried_again_listed", "why_not_retried"]

# Kinds whose retry answers with any queued or running job of the kind (it does the same work).
SHARED_WORK = ("accounts.sync", "intents.sync", "ownership.check_all", "transactions.sync",
               "returns.sync")
SAFETY_NET = ("The scheduled safety-net sync is not tried again from here: it runs again by itself "
              "within minutes. To sync now, press Sync account changes, then Sync intents.")


def why_not_retried(view: JobView) -> str | None:
    """Why ``view`` cannot be tried again from the Jobs page, or None when it can (a failed job
    of a kind with a retry). A sentence a person can act on."""
    if view.status != "failed":
        return f"Only a failed job can be tried again; this one is {view.status}."
    if view.kind == "accounts.sync" and (view.params or {}).get("scheduled"):
        return SAFETY_NET
    if view.kind not in KINDS:
        return f"A job of kind {view.kind} cannot be tried again from here."
    return None


def tried_again_as(views: Sequence[JobView]) -> dict[str, JobView]:
    """Each failed job of ``views`` (newest first) that a person tried again, and the newest
    job in its line (a retry of a retry that failed too): the Jobs page reads a failed job
    whose retry went through as handled, and offers only the last failure of a line again. A
    failed job names the job that took it over (``retried_as``: its retry, or a running job of
    its kind); a retry names the job it tries again (``retry_of`` in its params)."""
    by_id = {view.id: view for view in views}
    newest: dict[str, JobView] = {}
    for view in views:
        newest.setdefault(str((view.params or {}).get("retry_of") or ""), view)

    def taker(view: JobView) -> JobView | None:
        return by_id.get(view.retried_as or "") or newest.get(view.id)

    found: dict[str, JobView] = {}
    for view in views:
        last, seen = taker(view), {view.id}
        while view.status == "failed" and last is not None and last.id not in seen:
            found[view.id] = last
            seen.add(last.id)
            last = taker(last)
    return found


TAKER_READS = 3  # queries for takers past the list: one each link of a line (one, nearly always)


def tried_again_listed(actor: Actor, listed: Sequence[JobView]) -> dict[str, JobView]:
    """:func:`tried_again_as` for the jobs a page lists (newest first), also when the job that
    took a failure over is not among them: a running sync that answered a retry started before
    the newest 200 jobs the Jobs page lists, and the failure read as unhandled (no "Tried again"
    line, offered again, outside the Failed tile's count). The takers missing from ``listed``
    are read in one query by primary key (a failed one's own taker, if missing too, in one more),
    only those ``actor`` may see (as :func:`~services.usecases.job_runs.recent_jobs`)."""
    actor = require(actor, "jobs.view")
    views, known = list(listed), {view.id for view in listed}
    missing = _missing_takers(views, known)
    for _ in range(TAKER_READS):
        if not missing:
            break
        stmt = select(JobRecord).where(col(JobRecord.id).in_(sorted(missing)))
        with session_scope(engine.bound().engine) as session:
            rows = list(session.exec(stmt).all())
        found = [_view(r) for r in rows if actor.can("audit.view")
                 or (r.kind in KINDS and actor.can(KINDS[r.kind][1]))]
        found.sort(key=lambda view: view.created_at, reverse=True)
        known |= missing
        views += found  # past the list, so older than every listed job (newest first holds)
        missing = _missing_takers(found, known)
    shown = {view.id for view in listed}
    return {failed: taker for failed, taker in tried_again_as(views).items() if failed in shown}


def _missing_takers(views: Sequence[JobView], known: set[str]) -> set[str]:
    return {v.retried_as for v in views if v.status == "failed" and v.retried_as} - known


def retried_as(actor: Actor, job_id: str) -> JobView | None:
    """The newest job in the line of the failed job ``job_id``, when someone tried it again:
    an admin's Try again of finance's batch runs as the admin, and finance's page showed the
    failure still. None when it was not tried again, or ``actor`` may not see that kind. Read
    by the failed jobs' ``retried_as`` (their primary keys: a failure on screen looks every few
    seconds)."""
    view = job_of(actor, job_id)
    if view is None or view.status != "failed" or not view.retried_as:
        return None
    line, taker = [view], job(view.retried_as)
    while taker is not None and taker.id not in {v.id for v in line}:
        line.append(taker)
        taker = job(taker.retried_as) if taker.status == "failed" and taker.retried_as else None
    return tried_again_as(line).get(view.id)


def tried_again_for(actor: Actor, job_id: str) -> JobView | None:
    """The job ``job_id`` when it is a Try again (its params name the job it tries again) in the
    line of a job ``actor`` started: Batch check says who tried your batch again, on every run
    and after a reload. One query, by primary key: the job and the first of its line (its ID
    without ``-retryN``, :func:`~services.usecases.job_runs._retry_id`)."""
    actor = signed_in(actor)
    first_id = re.sub(r"-retry[0-9]+$", "", job_id)
    if first_id == job_id:
        return None
    stmt = select(JobRecord).where(col(JobRecord.id).in_([job_id, first_id]))
    with session_scope(engine.bound().engine) as session:
        rows = {row.id: row for row in session.exec(stmt).all()}
    retry, first = rows.get(job_id), rows.get(first_id)
    if retry is None or first is None or first.actor != actor.username:
        return None
    if not (retry.params or {}).get("retry_of") or retry.kind not in KINDS:
        return None
    return _view(retry) if actor.can("audit.view") or actor.can(KINDS[retry.kind][1]) else None


def retry_job(actor: Actor, job_id: str) -> str:
    """Start the failed job ``job_id`` again with the same inputs, as ``actor``; returns the new
    job's ID (or the one already doing it). Refused (``Forbidden``, audited) when ``actor`` may
    not start that kind of job or open the Jobs page (``jobs.view``); ``ValidationError`` when
    the job cannot be tried again.

    A Try again drawn before another admin's went through follows the job's line to its newest
    job: while that one is queued, running or finished, it answers (nothing new starts); when
    it failed too, that newest failure is the one tried again (once: its retry's ID is
    deterministic, so two admins pressing at once start one job)."""
    view = job(job_id)
    actor = _allowed(actor, job_id, view.kind if view else None)
    if view is None:
        raise NotFound(f"There is no job {job_id}; it may have been removed. Reload the page.")
    why = why_not_retried(view)
    if why:
        raise ValidationError(why)
    newest = _newest_in_line(view)
    if newest.id != view.id and newest.status != "failed":  # a Try again drawn before another's
        audit.record(
            engine.bound().engine, actor=actor, action="jobs.retry", target=view.id, outcome="ok",
            params={"kind": view.kind, "job": newest.id},
            message=f"{view.label} was already tried again as {newest.id} ({newest.status}); "
            "nothing new was started.",
        )
        return newest.id
    if newest.id != view.id and (why := why_not_retried(newest)):
        raise ValidationError(
            f"{view.label} {view.id} was tried again as job {newest.id}, which failed too. {why}"
        )
    running = _start_again(actor, newest)
    said = f"{view.label} tried again as {running}."
    if newest.id != view.id:
        said = failed_too(view.label, view.id, newest.id, running)
    audit.record(
        engine.bound().engine, actor=actor, action="jobs.retry", target=view.id, outcome="ok",
        params={"kind": view.kind, "job": running,
                **({"failed_too": newest.id} if newest.id != view.id else {})},
        message=said,
    )
    return running


def failed_too(label: str, pressed: str, newest: str, started: str) -> str:
    """What a Try again of the failed job ``pressed`` did when its line's newest job,
    ``newest``, had failed too (a Try again drawn before another admin's): it tried ``newest``
    again as ``started``. The audit row's message, and the Jobs page's answer."""
    return (f"{label} {pressed} was tried again as job {newest}, which failed too; trying "
            f"{newest} again as job {started}.")


def _newest_in_line(view: JobView) -> JobView:
    """The newest job in the line of the failed job ``view``: the job that took it over
    (``retried_as``), that one's while it failed too, and so on; ``view`` itself when no one
    tried it again. By primary key, one read a link."""
    last, seen = view, {view.id}
    while last.status == "failed" and last.retried_as and last.retried_as not in seen:
        taker = job(last.retried_as)
        if taker is None:
            break
        last = taker
        seen.add(taker.id)
    return last


def _start_again(actor: Actor, view: JobView) -> str:
    """Queue the failed job ``view`` again (or let a queued or running job of its kind that does
    the same work take it over); the ID of the job that does it."""
    original = re.sub(r"-retry\d+$", "", view.id)
    params = dict(view.params or {})
    needs = {"full": True} if params.get("full") else None
    running = _active(view.kind, None if view.kind in SHARED_WORK else original, needs)
    if running is None:
        return _queue(actor, view, original, params)
    engine.mark_retried(engine.bound().engine, view.id, running)  # the failure is handled by it
    return running


def _allowed(actor: Actor | None, job_id: str, kind: str | None) -> Actor:
    """The role a start of ``kind`` needs (of a job not found: a sign-in) and the Jobs page's
    (``jobs.view``: a Try again is an admin's, from that page; a manager may start an account
    sync but not try another person's failed one again), with a ``refused`` audit row when one
    is missing."""
    try:
        if kind is not None:
            require(actor, KINDS[kind][1] if kind in KINDS else "audit.view")
        return require(actor, "jobs.view")
    except Forbidden as err:
        audit.record(
            engine.bound().engine, actor=actor, action="jobs.retry", target=job_id,
            outcome="refused", params={"kind": kind}, message=str(err),
        )
        raise


def _queue(actor: Actor, view: JobView, original: str, params: dict[str, Any]) -> str:
    new_id = _retry_id(original, view.kind, params)
    workflow, args = _workflow_and_args(actor, view, params)
    engine.create_job(
        engine.bound().engine, new_id, kind=view.kind, label=view.label, actor=actor.username,
        role=actor.role, params={**params, "retry_of": view.id}, retry_of=view.id,
    )
    queue = DBOS.retrieve_queue(engine.JOBS_QUEUE)
    assert queue is not None
    with SetWorkflowID(new_id):
        queue.enqueue(workflow, *args)
    return new_id


def _workflow_and_args(actor: Actor, view: JobView, params: dict[str, Any]) -> tuple[Any, list[Any]]:
    """The failed job's workflow and the arguments of its new run, the person being ``actor``."""
    who = [actor.username, actor.role]
    window = params.get("window", 0)
    full = bool(params.get("full"))
    if view.kind == "balances.batch_check":
        return batch_check_workflow, who + _batch_inputs(view.id)
    simple: dict[str, tuple[Any, list[Any]]] = {
        "accounts.sync": (accounts_sync_workflow, who + [full, window]),
        "intents.sync": (intents_sync_workflow, who + [full, window]),
        "returns.sync": (outcomes_sync_workflow, who + [full, window]),
        "ownership.check_all": (ownership_check_all_workflow, who + [window]),
        "transactions.sync": (transactions_sync_workflow, who + [window]),
        "balances.nightly_refresh": (
            nightly_refresh_workflow, [utcnow(), {"by": actor.username, "role": actor.role}]
        ),
    }
    return simple[view.kind]


def _batch_inputs(job_id: str) -> list[Any]:
    """The failed batch check's rows, row errors, option and rate, as its workflow got them."""
    found = DBOS.list_workflows(workflow_ids=[job_id], load_input=True, load_output=False)
    inputs = found[0].input if found else None
    args = list(inputs["args"]) if inputs else []
    if len(args) < 6:
        raise ValidationError(
            "This batch check's rows are no longer kept, so it cannot be tried again from here. "
            "Upload the file again on the Batch check page."
        )
    return args[2:6]
