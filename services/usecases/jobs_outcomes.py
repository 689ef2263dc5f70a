"""The debit-outcome sync (``returns.sync``) as a job pages follow.

Same shape as :mod:`services.usecases.jobs`: a durable DBOS workflow whose ID comes from its
inputs and the minute (a double start, a second tab or replica runs it once), a ``jobs`` row
the Returns and Blocked accounts pages follow, ``jobs.start`` / ``jobs.end`` audit rows besides
the sync's own ``returns.sync`` row. A store whose outcomes were never synced starts it on the
first visit, so those pages never sit at "last synced never" waiting for a click.
"""

from __future__ import annotations

from typing import Any

from dbos import DBOS

from services.adapters import data_version
from services.adapters import jobs as engine
from services.adapters.stripe_permits import counted_step
from services.auth import Actor
from services.usecases import debit_outcomes
from services.usecases.jobs import (  # the shared job steps, re-exported there
    _actor,
    _allowed,
    _count_run,
    _job_ended,
    _job_started,
    _progress,
    _reason,
    _retry_unless_refused,
    _start,
    _tells_retries,
    _window,
)

KIND = "returns.sync"

__all__ = ["KIND", "outcomes_sync_workflow", "start_outcome_sync"]


@DBOS.step(name="fcops.outcomes.sync", retries_allowed=True, max_attempts=5,
           should_retry=_retry_unless_refused)
@_tells_retries
@counted_step
def _outcome_sync(job_id: str, username: str, role: str, full: bool) -> dict[str, Any]:
    result = debit_outcomes.sync_outcomes(
        engine.bound(), _actor(username, role), full=full, progress=_progress(job_id),
        patient=True,
    )
    return {"events": result.events, "intents": result.intents, "inserted": result.inserted,
            "updated": result.updated, "message": result.message}


@DBOS.workflow(name="fcops.jobs.outcomes_sync")
def outcomes_sync_workflow(username: str, role: str, full: bool, window: int) -> dict[str, Any]:
    job_id = DBOS.workflow_id or ""
    _count_run(job_id)
    _job_started(job_id, KIND, username, role)
    try:
        result = _outcome_sync(job_id, username, role, full)
    except Exception as err:  # a job that gave up: recorded with its reason
        _job_ended(job_id, KIND, username, role, _reason(err), None, None)
        return {"error": _reason(err)}
    _job_ended(job_id, KIND, username, role, None, result["message"], result)
    return result


def start_outcome_sync(actor: Actor, *, full: bool = False) -> str:
    """Queue the outcome sync (events since the cursor; the first run, or ``full``, also lists
    the last 90 days of PaymentIntents); returns the job ID, the running one if there is one."""
    _allowed(actor, KIND)
    window = _window(engine.bound().now())
    # The data version too: a sync that finished this minute answers a second start only while
    # no outcome changed since it started (the mirror emptied, say, or a webhook's return).
    data = data_version.read(engine.bound().engine, data_version.OUTCOMES)
    return _start(
        actor, KIND, {"full": full, "window": window, "data": data},
        outcomes_sync_workflow, actor.username, actor.role, full, window,
    )
