"""The account sync job (``accounts.sync``): the changes since the cursor, or a full walk of
every customer in chunks on the rate-limited Stripe queue. Started and scheduled from
:mod:`services.usecases.jobs` (which re-exports the workflow); the scheduled safety net runs
:func:`_incremental` too.

The DBOS names (``fcops.accounts.*``, ``fcops.jobs.accounts_sync``) are what a restart recovers
workflows by: they stay the same wherever the functions live.
"""

from __future__ import annotations

import time
from typing import Any

from dbos import DBOS, SetEnqueueOptions, SetWorkflowID

from services import audit
from services.adapters import account_mirror as mirror
from services.adapters import jobs as engine
from services.adapters.store import mark_finished, read_sync_cursor
from services.adapters.stripe_permits import counted_step
from services.auth import require
from services.rules.bank_account import SyncResult
from services.usecases import sync_accounts
from services.usecases.job_runs import (
    _actor,
    _count_run,
    _expected_customers,
    _job_ended,
    _job_started,
    _progress,
    _reason,
    _requests_per_start,
    _retry_unless_refused,
    _tells_retries,
    _walk_progress,
)

__all__ = ["accounts_sync_workflow", "customer_chunk_workflow"]

PAGES_AHEAD = 3  # customer pages whose chunks may be in flight while the walk reads on; when pages
# hold few chunks (k large), CHUNKS_AHEAD: the Stripe queue's 16 threads (k = 100: 0.3 s of 1.6 s).
CHUNKS_AHEAD = 16
RESULT_POLL_SECONDS = 0.05

@DBOS.step(name="fcops.accounts.newest_event", retries_allowed=True, max_attempts=6)
@_tells_retries
@counted_step
def _newest_event() -> int:
    svc = engine.bound()
    for event in svc.gateway.iter_events(types=mirror.SYNC_EVENTS):
        return int(event["created"])
    return svc.now()


@DBOS.step(name="fcops.accounts.customer_page", retries_allowed=True, max_attempts=6)
@_tells_retries
@counted_step
def _customer_page(starting_after: str | None) -> tuple[list[dict[str, Any]], bool]:
    return engine.bound().gateway.list_customers_page(limit=100, starting_after=starting_after)


@DBOS.step(name="fcops.accounts.chunk", retries_allowed=True, max_attempts=8)
def _mirror_chunk(customers: list[dict[str, Any]]) -> int:
    """The chunk's account lists (each request retried on its own), written in one transaction."""
    return sync_accounts.mirror_chunk(engine.bound(), customers, threads=engine.fetch_threads())


@DBOS.workflow(name="fcops.accounts.chunk")
def customer_chunk_workflow(customers: list[dict[str, Any]]) -> int:
    """Up to k customers' accounts (k Stripe requests: ``engine.requests_per_start``), on the
    rate-limited queue."""
    return _mirror_chunk(customers)


@DBOS.step(name="fcops.accounts.finish_walk")
def _finish_walk(
    username: str, role: str, cursor_after: int, seen: list[str], n_accounts: int, seconds: float
) -> int:
    """Forget customers Stripe no longer has, move the cursor, and write the ``accounts.sync``
    audit row the inline sync writes (so the log reads the same however a sync ran)."""
    svc = engine.bound()
    removed = mirror.forget_customers_except(svc.engine, set(seen), created_by=cursor_after)
    details = {"customers": len(seen), "accounts": n_accounts, "full": True, "events": 0,
               "removed": removed}
    mark_finished(svc.engine, sync_accounts.SYNC_NAME, str(cursor_after), details, seconds)
    audit.record(
        svc.engine, actor=_actor(username, role), action="accounts.sync", target=None,
        outcome="ok", params={"full": True, **details},
        message=f"Synced {len(seen)} customers and {n_accounts} accounts in {seconds} s.",
    )
    return removed


def _walk(job_id: str, username: str, role: str) -> dict[str, Any]:
    """Every customer page is a step; its customers go in chunks of k, each a child workflow on
    the rate-limited queue (the limiter lets ``rate // k`` chunks start a second). Up to
    ``PAGES_AHEAD`` pages of chunks, or ``CHUNKS_AHEAD`` chunks if that is more pages, run while
    the next page is read; a crash resumes at the first unfinished chunk (the others are done)."""
    started = time.time()
    cursor_after = _newest_event()
    queue = DBOS.retrieve_queue(engine.STRIPE_QUEUE)
    assert queue is not None
    k, expected = _requests_per_start(), _expected_customers()
    customers = n_accounts = turn = 0  # turn: chunks enqueued so far (their queue priority)
    seen: list[str] = []
    pending: list[tuple[int, list[Any]]] = []  # (customers, chunk handles) of pages in flight
    starting_after: str | None = None
    while True:
        page, has_more = _customer_page(starting_after)
        handles = []
        for chunk in (page[i : i + k] for i in range(0, len(page), k)):
            with SetWorkflowID(f"{job_id}:{chunk[0]['id']}"), SetEnqueueOptions(
                priority=engine.background_priority(turn)  # a later job's turns interleave
            ):
                handles.append(queue.enqueue(customer_chunk_workflow, chunk))
            turn += 1
        pending.append((len(page), handles))
        seen += [str(c["id"]) for c in page]
        done = not has_more or not page
        while pending and (done or (len(pending) > PAGES_AHEAD
                                    and sum(len(h) for _, h in pending) > CHUNKS_AHEAD)):
            n, oldest = pending.pop(0)
            # DBOS polls a queued child's result once a second by default, too slow per page:
            # the walk reads one row every 50 ms while it waits (at the end, or when it is ahead)
            n_accounts += sum(h.get_result(polling_interval_sec=RESULT_POLL_SECONDS) for h in oldest)
            customers += n
            _walk_progress(job_id, customers, n_accounts, expected)
        if done:
            break
        starting_after = str(page[-1]["id"])
    seconds = round(time.time() - started, 2)
    removed = _finish_walk(username, role, cursor_after, seen, n_accounts, seconds)
    summary = SyncResult(customers, n_accounts, 0, seconds, full=True, removed=removed)
    return {
        "customers": customers,
        "accounts": n_accounts,
        "full": True,
        "removed": removed,
        "message": sync_accounts.sync_message(summary),
    }


@DBOS.step(name="fcops.accounts.incremental", retries_allowed=True, max_attempts=5,
           should_retry=_retry_unless_refused)
@_tells_retries
@counted_step
def _incremental(job_id: str, username: str, role: str) -> dict[str, Any]:
    svc = engine.bound()
    result = sync_accounts.sync_accounts(
        svc, _actor(username, role), progress=_progress(job_id), patient=True
    )
    return {
        "customers": result.customers,
        "accounts": result.accounts,
        "full": result.full,
        "events": result.events,
        "message": sync_accounts.sync_message(result),
    }


@DBOS.workflow(name="fcops.jobs.accounts_sync")
def accounts_sync_workflow(username: str, role: str, full: bool, window: int) -> dict[str, Any]:
    job_id = DBOS.workflow_id or ""
    _count_run(job_id)
    _job_started(job_id, "accounts.sync", username, role)
    try:
        # No cursor, or one older than the events Stripe keeps: the walk in chunks on the
        # rate-limited queue, each request retried on its own (the changes-only sync would
        # walk inline, one customer after another, outside the limiter)
        cursor = read_sync_cursor(engine.bound().engine, sync_accounts.SYNC_NAME)
        walk = full or sync_accounts.needs_walk(engine.bound(), cursor)
        if walk:
            require(_actor(username, role), "accounts.sync")
        result = _walk(job_id, username, role) if walk else _incremental(job_id, username, role)
    except Exception as err:  # a job that gave up: recorded with its reason
        _job_ended(job_id, "accounts.sync", username, role, _reason(err), None, None)
        return {"error": _reason(err)}
    _job_ended(job_id, "accounts.sync", username, role, None, result["message"], result)
    return result
