"""The daily jobs (SQLite and PostgreSQL, one process): the transaction sync of every subscribed
account and the nightly refresh of tomorrow's debits (the last uploaded batch's accounts), each
a workflow with a deterministic ID, audited at start and end, its accounts as child workflows
on the rate-limited Stripe queue; the nightly one is an optional schedule, off by default."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS
from sqlmodel import col, delete, func, select

from services.adapters import jobs as engine
from services.adapters import transaction_store
from services.adapters.models import AuditEntry, SyncState, TransactionRecord
from services.adapters.settings import load_settings
from services.adapters.store import session_scope
from services.auth import Actor
from services.errors import ConfigurationError, Forbidden
from services.rules.debit_csv import parse_debits_csv
from services.usecases import browse_accounts, jobs, jobs_daily, sync_accounts, sync_transactions
from tests.background.test_jobs import audit_rows, wait_done

ADMIN = Actor("admin", "admin")
FINANCE = Actor("finance", "finance")


def mirrored_rows(app: Any) -> list[Any]:
    """The mirror's accounts, synced from the sandbox first unless an earlier test did: a store
    holding only another file's few accounts (test_nightly_refresh_after_500 run before this
    file) is not enough, so it syncs while fewer than 6 are active."""
    rows = list(browse_accounts.list_accounts(app.services, ADMIN, page_size=100).rows)
    if sum(r.status == "active" for r in rows) < 6:
        sync_accounts.sync_accounts(app.services, ADMIN, full=True)
        rows = list(browse_accounts.list_accounts(app.services, ADMIN, page_size=100).rows)
    return rows


def accounts_of(children: list[Any]) -> list[str]:
    """The accounts the chunk workflows were given (their third argument)."""
    return [fca for w in children for fca in w.input["args"][2]]


def test_the_transaction_sync_job_syncs_every_subscribed_account_once(fcops: Any) -> None:
    app, _ = fcops
    rows = mirrored_rows(app)
    if not transaction_store.subscribed_account_ids(app.engine):
        row = next(
            r for r in rows if r.status == "active" and "transactions" in r.permissions
        )
        sync_transactions.subscribe(
            app.services, ADMIN, row.id, idempotency_key=f"test-{secrets.token_hex(6)}"
        )
    subscribed = transaction_store.subscribed_account_ids(app.engine)
    assert subscribed
    forget_transactions(app.engine)  # every account lists all its pages: a first sync
    with pytest.raises(Forbidden):
        jobs_daily.start_transaction_sync(Actor("manager", "manager"))
    app.simulator.record_requests(True)
    try:
        job_id = jobs_daily.start_transaction_sync(ADMIN)
        assert jobs_daily.start_transaction_sync(ADMIN) == job_id  # a double start: one job
        view = wait_done(job_id)
    finally:
        app.simulator.record_requests(False)
    made = [e for e in app.simulator.recorded_requests()["data"]
            if e["path"].startswith("/v1/financial_connections/")]
    assert view.status == "succeeded", view.error
    assert view.result is not None
    assert view.result["accounts"] == len(subscribed) and view.result["errors"] == 0
    assert view.attempts == 1
    assert audit_rows(app.engine, "jobs.start", job_id) == 1
    assert audit_rows(app.engine, "jobs.end", job_id) == 1
    children = DBOS.list_workflows(workflow_id_prefix=f"{job_id}:")
    first = [w for w in children if not w.workflow_id.startswith(f"{job_id}:r")]
    assert sorted(accounts_of(first)) == sorted(subscribed)  # each account in one chunk, once
    assert all(w.workflow_id == f"{job_id}:{accounts_of([w])[0]}" for w in first)
    assert {w.queue_name for w in children} == {"fcops-stripe"}
    # The shared rate limit counts every request: the limiter lets a chunk start as k requests,
    # and no chunk made more. An account with more pages than a part reads goes on in later
    # rounds, its pages in new chunks (listed in one step, they made 50 requests per 5,000
    # transactions where the limiter counted 2).
    budget = len(children) * engine.requests_per_start()
    assert len(made) <= budget, f"{len(made)} requests for {len(children)} chunk starts"
    pages = [e for e in made if e["path"] == "/v1/financial_connections/transactions"]
    assert len(pages) > len(subscribed), "no account had a second page: rounds untested"
    assert view.result["rounds"] > 1
    # A later round's chunks take the job's next turns on the queue, not its first ones again
    # (``background_priority``: a job's n-th chunk; a job with fewer turns had goes first).
    later = [w for w in children if w.workflow_id.startswith(f"{job_id}:r")]
    assert max(w.priority for w in first) < min(w.priority for w in later)
    assert min(w.priority for w in first) == engine.background_priority(0)
    for fca in subscribed:  # what the parts stored is what Stripe lists, page joins included
        listed = {t["id"] for t in app.gateway.iter_transactions(fca)}
        with session_scope(app.engine) as session:
            stored = set(session.exec(
                select(TransactionRecord.id).where(TransactionRecord.account_id == fca)
            ).all())
        assert stored == listed, fca
    with session_scope(app.engine) as session:  # each account's sync wrote its own audit row
        synced = session.exec(
            select(AuditEntry.target).where(AuditEntry.action == "transactions.sync")
        ).all()
    assert set(subscribed) <= set(synced)


def forget_transactions(store: Any) -> None:
    with session_scope(store) as session:
        session.exec(delete(TransactionRecord))  # type: ignore[call-overload]
        session.exec(delete(SyncState).where(col(SyncState.name).startswith("txns:")))  # type: ignore[call-overload]


def test_the_nightly_refresh_refreshes_the_accounts_of_the_last_batch(fcops: Any) -> None:
    app, _ = fcops
    ids = sorted({r.id for r in mirrored_rows(app) if r.status == "active"})[3:6]
    assert len(ids) == 3
    text = "account,amount,currency\n" + "".join(f"{i},5.00,usd\n" for i in ids + ids[:1])
    planned, bad = parse_debits_csv(text)
    batch = jobs.start_batch_check(FINANCE, planned, bad, refresh_stale=False)
    assert wait_done(batch).status == "succeeded"
    with pytest.raises(Forbidden):
        jobs_daily.start_nightly_refresh(Actor("ops", "ops"))
    before = refresh_rows(app, ids)
    job_id = jobs_daily.start_nightly_refresh(FINANCE)
    assert jobs_daily.start_nightly_refresh(FINANCE) == job_id  # once a day
    view = wait_done(job_id)
    assert view.status == "succeeded", view.error
    assert view.result is not None
    assert view.result["batch"] == batch
    assert view.result["accounts"] == 3  # distinct accounts, the repeated row counted once
    assert view.result["errors"] == 0, view.result
    assert view.result["started"] + view.result["skipped"] == 3
    assert refresh_rows(app, ids) - before == 3  # one audited refresh attempt per account
    assert audit_rows(app.engine, "jobs.start", job_id) == 1
    assert audit_rows(app.engine, "jobs.end", job_id) == 1
    children = DBOS.list_workflows(workflow_id_prefix=f"{job_id}:")
    assert sorted(accounts_of(children)) == ids  # each account of the batch once


def refresh_rows(app: Any, ids: list[str]) -> int:
    with session_scope(app.engine) as session:
        return int(
            session.exec(
                select(func.count()).select_from(AuditEntry).where(
                    AuditEntry.action == "account.refresh", col(AuditEntry.target).in_(ids)
                )
            ).one()
        )


def test_the_nightly_refresh_is_one_optional_schedule(fcops: Any) -> None:
    assert DBOS.get_schedule(jobs_daily.NIGHTLY_SCHEDULE) is None  # off by default
    assert jobs_daily.schedule_nightly_refresh(2) is True
    assert jobs_daily.schedule_nightly_refresh(2) is False  # already there
    assert DBOS.get_schedule(jobs_daily.NIGHTLY_SCHEDULE)["schedule"] == "0 2 * * *"
    assert jobs_daily.schedule_nightly_refresh(-1) is False
    assert DBOS.get_schedule(jobs_daily.NIGHTLY_SCHEDULE) is None
    # What the schedule runs, started as DBOS would (no person: the system actor).
    handle = DBOS.start_workflow(jobs_daily.nightly_refresh_workflow, datetime.now(UTC), None)
    handle.get_result()
    view = jobs.job(handle.workflow_id)
    assert view is not None and view.status == "succeeded" and view.actor == "system", view
    assert view.kind == "balances.nightly_refresh"
    assert audit_rows(fcops[0].engine, "jobs.end", handle.workflow_id) == 1


def test_the_nightly_hour_setting_is_off_unless_an_hour_is_given(tmp_path: Path) -> None:
    def hour(value: str | None) -> int:
        env = {"FCOPS_DATA_DIR": str(tmp_path)}
        if value is not None:
            env["FCOPS_NIGHTLY_REFRESH_HOUR"] = value
        return load_settings(env, secrets_path=tmp_path / "absent.toml").nightly_refresh_hour

    assert hour(None) == -1 and hour("") == -1
    assert hour("0") == 0 and hour("23") == 23
    for bad in ("24", "-1", "two"):
        with pytest.raises(ConfigurationError, match="FCOPS_NIGHTLY_REFRESH_HOUR"):
            hour(bad)
