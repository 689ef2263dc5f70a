"""Jobs as DBOS workflows: started once per ID, audited at start and end, followed from the
store, and resumed after the process running them is SIGKILLed (SQLite, one process)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS
from sqlmodel import func, select

from services.adapters import account_mirror, transaction_store
from services.adapters.models import AuditEntry, CustomerRecord
from services.adapters.store import session_scope
from services.auth import Actor
from services.errors import Forbidden
from services.rules.debit_csv import parse_debits_csv
from services.usecases import browse_accounts, jobs
from services.usecases.jobs_daily import start_transaction_sync
from services.usecases.jobs_outcomes import start_outcome_sync

ROOT = Path(__file__).resolve().parents[2]
ADMIN = Actor("admin", "admin")
FINANCE = Actor("finance", "finance")


def wait_done(job_id: str, timeout: float = 60) -> jobs.JobView:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = jobs.job(job_id)
        if view is not None and not view.active:
            return view
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {jobs.job(job_id)}")


def audit_rows(engine: Any, action: str, target: str | None) -> int:
    with session_scope(engine) as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == action, AuditEntry.target == target)
                if target is not None
                else select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
            ).one()
        )


def test_a_double_start_is_one_job_run_once_with_audit_rows_at_start_and_end(fcops: Any) -> None:
    app, _ = fcops
    with session_scope(app.engine) as session:  # earlier modules share this store: count anew
        before = session.exec(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "accounts.sync")).one()
    account_mirror.upsert_customer(app.engine, {"id": "cus_deletedinstripe", "object": "customer",
                                          "created": 1, "email": None, "name": "Gone"})
    with session_scope(app.engine) as session:
        stored = session.exec(select(func.count()).select_from(CustomerRecord)).one()
    first = jobs.start_account_sync(ADMIN, full=True)
    second = jobs.start_account_sync(ADMIN, full=True)
    assert first == second
    view = wait_done(first)
    assert view.status == "succeeded", view.error
    assert view.result and view.result["customers"] == 12
    assert view.result["removed"] == 1  # the walk saw every customer: the deleted one goes
    # Stripe's list has no total: the walk's bar measured itself against the store's count.
    assert (view.done, view.total) == (12, stored)
    assert audit_rows(app.engine, "accounts.sync", None) == before + 1  # as the inline sync writes
    assert audit_rows(app.engine, "jobs.start", first) == 1
    assert audit_rows(app.engine, "jobs.end", first) == 1
    assert view.attempts == 1
    assert len(DBOS.list_workflows(workflow_ids=[first])) == 1
    with session_scope(app.engine) as session:
        assert session.exec(select(func.count()).select_from(CustomerRecord)).one() == 12
    assert account_mirror.mirrored_account_count(app.engine) > 0
    # The customers' account lists ran in chunks of k (10 at this 50 req/s) as workflows on the
    # rate-limited Stripe queue, whose limiter lets 50 // 10 of them start a second.
    from services.adapters import jobs as engine

    assert engine.requests_per_start() == 10
    assert engine.stripe_limiter(50) == {"limit": 5, "period": 1.0}
    children = DBOS.list_workflows(workflow_id_prefix=f"{first}:")
    assert len(children) == 2
    assert {w.queue_name for w in children} == {"fcops-stripe"}


def test_jobs_check_the_role_before_queueing(fcops: Any) -> None:
    with pytest.raises(Forbidden):
        jobs.start_batch_check(Actor("manager", "manager"), [], [], refresh_stale=False)
    with pytest.raises(Forbidden):
        jobs.start_ownership_check_all(FINANCE)


def test_a_batch_check_runs_as_a_job_and_its_result_is_read_back(fcops: Any) -> None:
    app, _ = fcops
    ids = [a.id for a in browse_accounts.list_accounts(app.services, ADMIN).rows[:3]]
    assert ids
    text = "account,amount,currency\n" + "".join(f"{i},12.34,usd\n" for i in ids) + "nope,1,usd\n"
    planned, bad = parse_debits_csv(text)
    job_id = jobs.start_batch_check(FINANCE, planned, bad, refresh_stale=False)
    assert jobs.start_batch_check(FINANCE, planned, bad, refresh_stale=False) == job_id
    view = wait_done(job_id)
    assert view.status == "succeeded", view.error
    result = jobs.batch_result(FINANCE, job_id)
    assert result is not None
    assert [r.row for r in result.rows] == sorted(r.row for r in result.rows)
    assert len(result.rows) == len(ids) + len(bad)
    assert view.result and view.result["rows"] == len(result.rows)


def test_intent_sync_and_check_all_run_as_jobs(fcops: Any) -> None:
    intents = jobs.start_intent_sync(ADMIN)
    check = jobs.start_ownership_check_all(ADMIN)
    assert wait_done(intents).status == "succeeded"
    assert wait_done(check).status == "succeeded"
    kinds = {j.kind for j in jobs.recent_jobs(ADMIN)}
    assert {"intents.sync", "ownership.check_all"} <= kinds


@pytest.mark.parametrize(
    "kind", ["intents.sync", "returns.sync", "accounts.sync", "transactions.sync"]
)
def test_a_sync_job_goes_through_stripe_faults_in_one_attempt(fcops: Any, kind: str) -> None:
    """Stripe failing a few requests slows a job's sync down; it does not fail the step and
    start the sync over (every failed attempt would write an error row). The account sync is
    the changes-only one (its full walk retries each request on its own already). The
    transaction sync's steps are one account each, five attempts: one failed read used to
    end an attempt (an error row each) and read the account again."""
    app, _ = fcops
    if kind == "transactions.sync":
        wait_done(jobs.start_account_sync(ADMIN, full=True))  # the mirror says who subscribed
        assert transaction_store.subscribed_account_ids(app.engine), "no account to sync"
        start = start_transaction_sync
    elif kind == "accounts.sync":
        wait_done(jobs.start_account_sync(ADMIN, full=True))  # a cursor: the next one replays
        start = partial(jobs.start_account_sync, full=False)
    else:
        start = {"intents.sync": partial(jobs.start_intent_sync, full=True),
                 "returns.sync": partial(start_outcome_sync, full=True)}[kind]
    errors = _sync_errors(app.engine, kind)
    app.simulator.force_faults("500", 3)  # the job's first requests: its events pages
    try:
        view = wait_done(start(ADMIN))
    finally:
        app.simulator.clear_faults()
    assert view.status == "succeeded", view.error
    assert _sync_errors(app.engine, kind) == errors


def _sync_errors(engine: Any, action: str) -> int:
    with session_scope(engine) as session:
        return int(session.exec(
            select(func.count()).select_from(AuditEntry)
            .where(AuditEntry.action == action, AuditEntry.outcome == "error")
        ).one())


def test_a_job_survives_sigkill_of_its_process_and_completes_once(tmp_path: Path) -> None:
    env = {**os.environ, "FCOPS_STRIPE_RATE_LIMIT": "6", "FCOPS_SANDBOX_CUSTOMERS": "30",
           "PYTHONPATH": str(ROOT)}
    # Mid-run: some of its 30 per-customer workflows done (6 requests/s), not all.
    job_id = kill_mid_walk(tmp_path, env, children=30)
    from services.adapters import jobs as engine_rows
    from services.adapters.store import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'fcops-sandbox.db'}")
    killed = engine_rows.get_job(engine, job_id)
    assert killed is not None and killed.status == "running" and killed.done < 30, killed
    outcome = resume_walk(tmp_path, env, job_id)
    assert outcome["result"]["customers"] == 30
    assert audit_rows(engine, "jobs.start", job_id) == 1
    assert audit_rows(engine, "jobs.end", job_id) == 1
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(CustomerRecord)).one() == 30
    # The Stripe queue's limit held, across the kill and the resume: never more than 6
    # per-customer workflows (one Stripe request each) started within one second.
    starts = sorted(r[1] / 1000 for r in dbos_children(tmp_path, job_id) if r[1] is not None)
    assert len(starts) == 30
    worst = max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)
    assert worst <= 6, f"{worst} Stripe requests started within one second"


def kill_mid_walk(data: Path, env: dict[str, str], *, children: int) -> str:
    """Start a full account sync in a process, SIGKILL it once 3 or more of its ``children``
    chunk workflows are done (not all); the job's ID."""
    start = subprocess.Popen(
        [sys.executable, "-m", "tests.background.process", "start", str(data)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert start.stdout is not None
        job_id = start.stdout.readline().strip()
        assert job_id.startswith("accounts.sync-")
        assert 3 <= children_done(data, job_id) < children
        os.kill(start.pid, signal.SIGKILL)
        start.wait(10)
    finally:
        if start.poll() is None:
            start.kill()
    return job_id


def resume_walk(data: Path, env: dict[str, str], job_id: str) -> dict[str, Any]:
    """Start the app again on ``data``: DBOS recovers the killed job, which succeeds, resumed
    once (its start step is not run again). The job as the process saw it at the end."""
    resumed = subprocess.run(
        [sys.executable, "-m", "tests.background.process", "resume", str(data), job_id],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    outcome: dict[str, Any] = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert outcome["status"] == "succeeded"
    assert outcome["attempts"] == 2
    return outcome


def dbos_children(data: Path, job_id: str) -> list[tuple[str, int | None]]:
    """``(status, started_at_epoch_ms)`` of the job's per-customer workflows in DBOS's SQLite."""
    import sqlite3

    with sqlite3.connect(data / "fcops-dbos-sandbox.sqlite", timeout=10) as conn:
        return conn.execute(
            "SELECT status, started_at_epoch_ms FROM workflow_status WHERE workflow_uuid LIKE ?",
            (f"{job_id}:%",),
        ).fetchall()


def children_done(data: Path, job_id: str, *, at_least: int = 3, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done = sum(1 for status, _ in dbos_children(data, job_id) if status == "SUCCESS")
        except Exception:  # the file or its tables are being created
            done = 0
        if done >= at_least:
            return done
        time.sleep(0.05)
    raise AssertionError(f"{job_id}: fewer than {at_least} customers done in {timeout} s")


def test_the_safety_net_sync_is_one_schedule_that_runs_as_a_job(fcops: Any) -> None:
    from datetime import UTC, datetime

    assert jobs.schedule_safety_sync(5) is True
    assert jobs.schedule_safety_sync(5) is False  # already there: nothing changes
    assert DBOS.get_schedule(jobs.SAFETY_SCHEDULE)["schedule"] == "*/5 * * * *"
    assert jobs.schedule_safety_sync(0) is False
    assert DBOS.get_schedule(jobs.SAFETY_SCHEDULE) is None
    # What the schedule runs, started by hand as DBOS would.
    handle = DBOS.start_workflow(jobs.safety_sync_workflow, datetime.now(UTC), None)
    handle.get_result()
    view = jobs.job(handle.workflow_id)
    assert view is not None and view.status == "succeeded" and view.actor == "system"
