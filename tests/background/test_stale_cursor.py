"""An account sync job whose cursor is older than the events Stripe keeps (30 days: the
changes since it can no longer all be read) walks every customer as the full sync does: in
chunks on the rate-limited queue, each request retried on its own. It used to walk inline in
the changes-only path, one customer after another, outside the limiter, where one failed
request failed the job (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from dbos import DBOS

from services.adapters import data_version
from services.adapters.store import mark_sync, read_sync_cursor, session_scope
from services.usecases import jobs, sync_accounts
from tests.background.test_jobs import ADMIN, _sync_errors, wait_done


def test_a_sync_from_a_cursor_stripe_no_longer_keeps_events_for_walks_in_chunks(
    fcops: Any,
) -> None:
    app, _ = fcops
    wait_done(jobs.start_account_sync(ADMIN, full=True))
    svc = app.services
    old = svc.now() - sync_accounts.EVENT_RETENTION_SECONDS
    mark_sync(app.engine, sync_accounts.SYNC_NAME, cursor=str(old))
    assert sync_accounts.needs_walk(svc, read_sync_cursor(app.engine, sync_accounts.SYNC_NAME))
    with session_scope(app.engine) as session:  # a new job, not this minute's earlier one
        data_version.bump(session, data_version.ACCOUNTS)
    errors = _sync_errors(app.engine, "accounts.sync")
    app.simulator.force_faults("500", 3)
    try:
        job_id = jobs.start_account_sync(ADMIN)  # changes-only, as the safety net starts it
        view = wait_done(job_id)
    finally:
        app.simulator.clear_faults()
    assert view.status == "succeeded", view.error
    assert view.result is not None and view.result.get("full") is True, view.result
    chunks = DBOS.list_workflows(workflow_id_prefix=f"{job_id}:")
    assert chunks and all(c.name == "fcops.accounts.chunk" for c in chunks)
    assert _sync_errors(app.engine, "accounts.sync") == errors
    cursor = read_sync_cursor(app.engine, sync_accounts.SYNC_NAME)
    assert cursor is not None and not sync_accounts.needs_walk(svc, cursor)
