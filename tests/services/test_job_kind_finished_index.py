"""The failed-sync line (``job_runs.failed_sync``: a sync's newest ended job) runs on every run
of four pages; its query reads ``ix_jobs_kind_finished`` (kind, finished_at) backwards instead
of every job of the kind and a sort. A new store has the index, an older store gets it when
it opens (as ``ix_jobs_status_retried`` was added), and SQLite's plan names it. SQLite only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine

from services.adapters import jobs as engine
from services.adapters.store import open_store

INDEX = "ix_jobs_kind_finished"
KINDS = ("accounts.sync", "intents.sync", "balances.batch_check")


def _indexes(store: Engine) -> dict[str, list[str | None]]:
    return {i["name"]: i["column_names"] for i in inspect(store).get_indexes("jobs") if i["name"]}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Engine]:
    eng = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield eng
    eng.dispose()


def test_a_new_store_has_the_index(store: Engine) -> None:
    assert _indexes(store).get(INDEX) == ["kind", "finished_at"]


def test_an_older_store_gets_the_index_when_it_opens(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = open_store(url)
    with old.begin() as conn:  # the jobs table as it was before the index
        conn.execute(text(f'DROP INDEX "{INDEX}"'))
    assert INDEX not in _indexes(old)
    old.dispose()
    store = open_store(url)  # a start-up on that store
    assert _indexes(store).get(INDEX) == ["kind", "finished_at"]
    store.dispose()


def _jobs(store: Engine, n: int) -> list[dict[str, Any]]:
    """``n`` jobs of three kinds in turn, every fourth one and each kind's newest still running
    (no finished_at), some failed; the rows written."""
    start = datetime(2026, 1, 1)
    running = {i for i in range(n) if i % 4 == 3 or i >= n - len(KINDS)}
    rows = [
        {"id": f"job-{i}", "kind": KINDS[i % len(KINDS)],
         "status": "running" if i in running else ("failed" if i % 7 == 0 else "succeeded"),
         "at": start + timedelta(minutes=i),
         "done": None if i in running else start + timedelta(minutes=i, seconds=30)}
        for i in range(n)
    ]
    with store.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO jobs (id, kind, label, actor, role, status, done, attempts, "
                "params, created_at, updated_at, finished_at) VALUES (:id, :kind, '', 'ops', "
                "'ops', :status, 0, 1, '{}', :at, :at, :done)"
            ),
            rows,
        )
    return rows


def test_the_newest_ended_sync_is_read_along_the_index(store: Engine) -> None:
    rows = _jobs(store, 300)
    ended = [r for r in rows if r["kind"] == "intents.sync" and r["done"] is not None]
    newest = [r for r in rows if r["kind"] == "intents.sync"][-1]
    assert newest["status"] == "running"  # the kind's newest job has not ended
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM jobs" in statement:
            seen.append((statement, params))

    event.listen(store, "before_cursor_execute", record)
    try:
        row = engine.newest_ended(store, "intents.sync")
    finally:
        event.remove(store, "before_cursor_execute", record)
    assert row is not None and row.id == max(ended, key=lambda r: r["done"])["id"]
    assert len(seen) == 1
    statement, params = seen[0]
    with store.connect() as conn:
        plan = [r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)]
    assert any(INDEX in step for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan  # no sort of the kind's jobs

