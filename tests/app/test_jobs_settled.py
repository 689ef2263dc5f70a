"""``jobs_settled``, the wait page tests make for background work, waits for every job that has
not finished: it read the newest 20 jobs only, so a job pushed past them by a busy test (a walk
started, then 20 others) ended the wait while it still ran, and the next test raced it."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from tests.app.conftest import jobs_settled, shared_app, unfinished_jobs

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)  # no page reads these rows as a sync's newest ended job


def _job(tag: str, status: str) -> str:
    from services.adapters import jobs as engine

    job_id = f"intents.sync-apptestsettled{tag}{time.time_ns()}"
    engine.create_job(
        shared_app().engine, job_id, kind="intents.sync", label="Test row", actor="apptest-settled",
        role="admin", params={},
    )
    ended = {"finished_at": LONG_AGO} if status in ("succeeded", "failed") else {}
    engine.update_job(shared_app().engine, job_id, status=status, **ended)
    return job_id


def test_a_job_pushed_past_the_newest_twenty_still_holds_the_wait() -> None:
    from services.adapters import jobs as engine

    jobs_settled()
    running = _job("running", "running")
    try:
        newer = [_job(f"done{n}", "succeeded") for n in range(25)]  # 25 jobs started after it
        assert running in unfinished_jobs() and not set(newer) & set(unfinished_jobs())
        with pytest.raises(AssertionError, match=running):
            jobs_settled(timeout=0.5)
    finally:
        engine.update_job(shared_app().engine, running, status="failed", finished_at=LONG_AGO,
                          error="Test row.")
    assert running not in unfinished_jobs()
    assert jobs_settled() is None  # every job ended: the wait ends at once
