"""Scaled out: two worker processes on one PostgreSQL (private schemas). A job whose process is
SIGKILLed resumes when that executor restarts and completes once; the per-customer work is
shared by both workers without running anything twice; the Stripe rate limit (a DBOS queue
limiter) holds across the processes together."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlmodel import func, select

from services.adapters import jobs as engine_rows
from services.adapters.models import AuditEntry, CustomerRecord
from services.adapters.store import make_engine, session_scope
from tests.background.conftest import PG_CUSTOMERS, PG_RATE
from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[2]
RATE = PG_RATE
CUSTOMERS = PG_CUSTOMERS


def spawn(
    command: str, data: Path, env: dict[str, str], executor: str, *extra: str
) -> subprocess.Popen[str]:
    data.mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.background.process", command, str(data), *extra],
        cwd=ROOT,
        env={**env, "FCOPS_EXECUTOR_ID": executor},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def audit_rows(engine: object, action: str, target: str) -> int:
    with session_scope(engine) as session:  # type: ignore[arg-type]
        return int(
            session.exec(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == action, AuditEntry.target == target)
            ).one()
        )


def dbos_rows(env: dict[str, str], pattern: str) -> list[tuple[Any, ...]]:
    """``(workflow_uuid, executor_id, status, started_at_epoch_ms)`` from DBOS's own table."""
    import psycopg

    with psycopg.connect(PG_URL.replace("+psycopg", "")) as conn:
        return conn.execute(
            f"SELECT workflow_uuid, executor_id, status, started_at_epoch_ms "
            f'FROM "{env["FCOPS_DBOS_SCHEMA"]}".workflow_status WHERE workflow_uuid LIKE %s',
            (pattern,),
        ).fetchall()


def owner_mid_run(env: dict[str, str], job_id: str, *, done: int, timeout: float = 60) -> str:
    """The executor running the job, once it is running and ``done`` of its per-customer
    workflows have finished (so the kill lands mid-run, whichever worker dequeued it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        parent = dbos_rows(env, job_id)
        children = dbos_rows(env, f"{job_id}:%")
        finished = sum(1 for r in children if r[2] == "SUCCESS")
        if parent and parent[0][2] == "PENDING" and finished >= done:
            assert finished < CUSTOMERS, "the job finished before it could be killed"
            return str(parent[0][1])
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not get {done} customers in within {timeout} s")


def test_two_workers_on_postgres_share_the_work_once_resume_after_sigkill_and_keep_the_rate(
    pg_env: dict[str, str], tmp_path: Path
) -> None:
    other = spawn("worker", tmp_path / "w2", pg_env, "w2")
    procs = [other]
    try:
        # One process first: it creates the schemas (two first starts at once race on DDL).
        assert other.stdout is not None and other.stdout.readline().strip() == "ready"
        first = spawn("start", tmp_path / "w1", pg_env, "w1")
        procs.append(first)
        assert first.stdout is not None
        job_id = first.stdout.readline().strip()
        assert job_id.startswith("accounts.sync-")
        # The other process starts the same job too (a second replica, a double click): it
        # gets the same job, which runs once (one jobs.start row, Runs 2 only after the kill).
        assert other.stdin is not None
        other.stdin.write("start\n")
        other.stdin.flush()
        assert other.stdout.readline().strip() == job_id
        # The job is on a shared queue: either worker may have dequeued it. SIGKILL the one
        # DBOS says owns it (killing the other would leave the job running untouched).
        owner = owner_mid_run(pg_env, job_id, done=3)
        by_executor = {"w1": first, "w2": other}
        assert owner in by_executor, owner
        survivor = "w2" if owner == "w1" else "w1"
        os.kill(by_executor[owner].pid, signal.SIGKILL)
        by_executor[owner].wait(10)
        store = make_engine(pg_env["DATABASE_URL"])
        killed = engine_rows.get_job(store, job_id)
        assert killed is not None and killed.status == "running", killed
        # The same executor restarts (as a supervisor would) and resumes the job.
        resumed = spawn("resume", tmp_path / f"{owner}b", pg_env, owner, job_id)
        procs.append(resumed)
        out, _ = resumed.communicate(timeout=120)
        outcome = json.loads(out.strip().splitlines()[-1])
        assert outcome["status"] == "succeeded", outcome
        assert outcome["attempts"] == 2, outcome  # run by its owner, resumed by its restart
        assert outcome["result"]["customers"] == CUSTOMERS
        assert audit_rows(store, "jobs.start", job_id) == 1
        assert audit_rows(store, "jobs.end", job_id) == 1
        with session_scope(store) as session:
            assert session.exec(select(func.count()).select_from(CustomerRecord)).one() == CUSTOMERS

        # Look at the per-customer workflows in DBOS's own tables.
        rows = dbos_rows(pg_env, f"{job_id}:%")
        assert len(rows) == CUSTOMERS
        assert {r[2] for r in rows} == {"SUCCESS"}
        assert survivor in {r[1] for r in rows}  # the other worker took its share
        starts = sorted(r[3] / 1000 for r in rows if r[3] is not None)
        assert len(starts) == CUSTOMERS
        worst = max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)
        assert worst <= RATE, f"{worst} starts within one second across both workers"
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
