"""A failed job someone tried again names the job that took it over (``jobs.retried_as``): the
Jobs page's Failed tile counts those in one indexed query instead of decoding every retry's
params on each run, and an older store (no such column) gets it, filled from its retries."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import event, inspect, text

from services.adapters import jobs as engine
from services.adapters.store import create_schema, open_store
from services.auth import Actor
from services.context import Services
from services.usecases import job_runs, jobs_retry

ADMIN = Actor("admin", "admin")


def _job(conn: Any, job_id: str, status: str, created: str, retry_of: str | None = None) -> None:
    """A job row as a store from before the column wrote it."""
    params = {"full": False, **({"retry_of": retry_of} if retry_of else {})}
    conn.execute(
        text(
            "INSERT INTO jobs (id, kind, label, actor, role, status, done, attempts, params, "
            "created_at, updated_at) VALUES (:id, 'intents.sync', 'Intent sync', 'admin', "
            "'admin', :status, 0, 1, :params, :created, :created)"
        ),
        {"id": job_id, "status": status, "params": json.dumps(params), "created": created},
    )


def test_an_older_store_gets_the_column_filled_from_its_retries(db_url: str) -> None:
    store = open_store(db_url)
    with store.begin() as conn:  # the jobs table as it was before the column
        conn.execute(text("DROP INDEX IF EXISTS ix_jobs_status_retried"))
        conn.execute(text('ALTER TABLE jobs DROP COLUMN "retried_as"'))
        _job(conn, "x", "failed", "2026-01-01 10:00:00")
        _job(conn, "x-retry1", "failed", "2026-01-01 10:01:00", retry_of="x")
        _job(conn, "x-retry2", "succeeded", "2026-01-01 10:02:00", retry_of="x-retry1")
        _job(conn, "y", "failed", "2026-01-01 10:03:00")  # no one tried it again
        _job(conn, "y-retry1", "succeeded", "2026-01-01 10:04:00")  # a new start, not a retry
    create_schema(store)  # what open_store does at start-up
    with store.connect() as conn:
        taken = dict(conn.execute(text("SELECT id, retried_as FROM jobs")).all())
    assert taken == {"x": "x-retry1", "x-retry1": "x-retry2", "x-retry2": None, "y": None,
                     "y-retry1": None}
    assert "ix_jobs_status_retried" in {i["name"] for i in inspect(store).get_indexes("jobs")}
    store.dispose()


@pytest.fixture
def bound(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    store = open_store(db_url)
    monkeypatch.setattr(engine, "_bound", Services(gateway=None, engine=store, mode="test"))  # type: ignore[arg-type]
    yield store
    store.dispose()


def _failed(store: Any, job_id: str, retry_of: str | None = None) -> None:
    params = {"full": False, **({"retry_of": retry_of} if retry_of else {})}
    engine.create_job(store, job_id, kind="intents.sync", label="Intent sync", actor="admin",
                      role="admin", params=params, retry_of=retry_of)
    engine.update_job(store, job_id, status="failed", error="Stripe had a temporary problem.")


def test_the_failed_tile_is_one_query_that_reads_no_params(bound: Any) -> None:
    _failed(bound, "a")
    _failed(bound, "a-retry1", retry_of="a")  # a retry that failed in turn: counted as itself
    _failed(bound, "b")
    engine.create_job(bound, "b-retry1", kind="intents.sync", label="Intent sync", actor="admin",
                      role="admin", params={"retry_of": "b"}, retry_of="b")  # queued
    seen: list[str] = []
    listen = lambda *args: seen.append(args[2])  # noqa: E731  (the statement's SQL)
    event.listen(bound, "before_cursor_execute", listen)
    try:
        counts = job_runs.queue_counts(ADMIN)
    finally:
        event.remove(bound, "before_cursor_execute", listen)
    assert counts == {"queued": 1, "running": 0, "failed": 1, "tried_again": 2}
    assert len(seen) == 1 and "params" not in seen[0], seen
    views = job_runs.recent_jobs(ADMIN)
    again = {failed: view.id for failed, view in jobs_retry.tried_again_as(views).items()}
    assert again == {"a": "a-retry1", "b": "b-retry1"}  # the list agrees with the tile
    assert getattr(jobs_retry.retried_as(ADMIN, "a"), "id", None) == "a-retry1"
    assert getattr(jobs_retry.retried_as(ADMIN, "b"), "id", None) == "b-retry1"
    assert jobs_retry.retried_as(ADMIN, "a-retry1") is None


def test_a_failure_taken_over_by_a_job_past_the_list_still_names_it(bound: Any) -> None:
    """The Jobs page lists the newest 200 jobs: a running sync that answered the retries of
    failures started after it, pushed past those 200, left each failure unlinked (offered again,
    no "Tried again" line). The takers the list lacks are read in one query, not one a row."""
    for taker in ("run-1", "run-2"):  # older than the list
        engine.create_job(bound, taker, kind="intents.sync", label="Intent sync", actor="admin",
                          role="admin", params={"full": False})
    engine.update_job(bound, "run-1", status="running")
    for failed, taker in (("x", "run-1"), ("y", "run-1"), ("z", "run-2")):
        _failed(bound, failed)
        engine.mark_retried(bound, failed, taker)  # what retry_job does while a sync runs
    _failed(bound, "w")  # no one tried it again
    listed = [v for v in job_runs.recent_jobs(ADMIN) if not v.id.startswith("run-")]
    assert jobs_retry.tried_again_as(listed) == {}  # the list alone links none of them
    seen: list[str] = []
    listen = lambda *args: seen.append(args[2])  # noqa: E731  (the statement's SQL)
    event.listen(bound, "before_cursor_execute", listen)
    try:
        again = jobs_retry.tried_again_listed(ADMIN, listed)
    finally:
        event.remove(bound, "before_cursor_execute", listen)
    assert {failed: (v.id, v.status) for failed, v in again.items()} == {
        "x": ("run-1", "running"), "y": ("run-1", "running"), "z": ("run-2", "queued")}
    assert len(seen) == 1, seen
    everything = job_runs.recent_jobs(ADMIN)  # all listed: no extra query, the same answer
    event.listen(bound, "before_cursor_execute", listen)
    try:
        assert jobs_retry.tried_again_listed(ADMIN, everything) == jobs_retry.tried_again_as(
            everything)
    finally:
        event.remove(bound, "before_cursor_execute", listen)
    assert len(seen) == 1, seen


def test_a_taker_past_the_list_that_failed_in_turn_leads_to_its_own(bound: Any) -> None:
    """A line past the list: x failed, taken over by run-1, which failed too and was taken over
    by run-2 (both older than the list): x names the newest of its line, run-2."""
    for taker in ("run-2", "run-1"):
        engine.create_job(bound, taker, kind="intents.sync", label="Intent sync", actor="admin",
                          role="admin", params={"full": False})
    engine.update_job(bound, "run-1", status="failed", error="Stripe had a temporary problem.")
    engine.mark_retried(bound, "run-1", "run-2")
    engine.update_job(bound, "run-2", status="running")
    _failed(bound, "x")
    engine.mark_retried(bound, "x", "run-1")
    listed = [v for v in job_runs.recent_jobs(ADMIN) if v.id == "x"]
    again = jobs_retry.tried_again_listed(ADMIN, listed)
    assert {failed: v.id for failed, v in again.items()} == {"x": "run-2"}
