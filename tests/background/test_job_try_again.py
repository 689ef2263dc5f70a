"""A failed job tried again by a person ("Try again" on the Jobs page): the same kind of job
with the same inputs, named ``<failed>-retry1``, once however often it is asked for, as the
person who asked (their role checked and audited); and a job's line while Stripe fails and a
step of it is tried again."""

from __future__ import annotations

import time
from typing import Any

import pytest

from services.adapters import jobs as engine
from services.adapters.backoff import NO_BACKOFF
from services.adapters.models import utcnow
from services.auth import Actor
from services.errors import Forbidden, ValidationError
from services.rules.debit_csv import parse_debits_csv
from services.usecases import browse_accounts, jobs, jobs_retry, sync_intents
from tests.background.test_jobs import audit_rows, wait_done

ADMIN = Actor("admin", "admin")
FINANCE = Actor("finance", "finance")
MANAGER = Actor("manager", "manager")


def _fail(job_id: str, reason: str = "Stripe had a temporary problem (HTTP 500).") -> None:
    """The job as the list shows a failed one (its run ended; the row says failed)."""
    engine.update_job(
        engine.bound().engine, job_id, status="failed", error=reason, finished_at=utcnow()
    )


def _failed_with_taker(app: Any) -> tuple[str, str]:
    """Two intent syncs of one kind, new to this test: the first failed, the second running (the
    job that takes the failure over when it is tried again)."""
    stamp = time.time_ns()
    failed, taker = f"intents.sync-failed{stamp}", f"intents.sync-taker{stamp}"
    for job_id in (failed, taker):
        engine.create_job(
            app.engine, job_id, kind="intents.sync", label="Intent sync", actor="manager",
            role="manager", params={"full": False, "window": stamp % 10**9, "data": 0},
        )
    _fail(failed)
    engine.update_job(app.engine, taker, status="running")
    return failed, taker


def test_a_failed_batch_check_tried_again_checks_finances_rows_again(fcops: Any) -> None:
    """The job's row keeps no uploaded rows; the retry reads them from the failed run's inputs,
    so an admin's Try again checks the very rows finance uploaded."""
    app, _ = fcops
    ids = [a.id for a in browse_accounts.list_accounts(app.services, ADMIN).rows[:2]]
    text = "account,amount,currency\n" + "".join(f"{i},7.{n}1,usd\n" for n, i in enumerate(ids))
    planned, bad = parse_debits_csv(text + f"nope,{time.time_ns() % 997},usd\n")
    failed = wait_done(jobs.start_batch_check(FINANCE, planned, bad, refresh_stale=False))
    _fail(failed.id)

    again = jobs_retry.retry_job(ADMIN, failed.id)
    assert again == f"{failed.id}-retry1"
    assert jobs_retry.retry_job(ADMIN, failed.id) == again  # a double click: one retry
    view = wait_done(again)
    assert view.status == "succeeded", view.error
    assert view.actor == "admin" and (view.params or {}).get("retry_of") == failed.id
    result = jobs.batch_result(FINANCE, again)
    assert result is not None
    assert [r.row for r in result.rows] == [d.row for d in planned] + [e.row for e in bad]
    assert audit_rows(app.engine, "jobs.retry", failed.id) >= 1


def test_a_role_that_may_not_start_the_job_may_not_try_it_again(fcops: Any) -> None:
    app, _ = fcops
    job_id = f"balances.batch_check-refused{time.time_ns()}"
    engine.create_job(
        app.engine, job_id, kind="balances.batch_check", label="Batch pre-debit check",
        actor="finance", role="finance", params={"refresh_stale": False},
    )
    _fail(job_id)
    before = audit_rows(app.engine, "jobs.retry", job_id)
    with pytest.raises(Forbidden, match="balances.check"):
        jobs_retry.retry_job(MANAGER, job_id)
    assert audit_rows(app.engine, "jobs.retry", job_id) == before + 1  # the refusal, audited
    assert jobs.job(f"{job_id}-retry1") is None  # nothing started


def test_a_job_that_did_not_fail_or_whose_rows_are_gone_says_why(fcops: Any) -> None:
    app, _ = fcops
    job_id = f"balances.batch_check-gone{time.time_ns()}"
    engine.create_job(
        app.engine, job_id, kind="balances.batch_check", label="Batch pre-debit check",
        actor="finance", role="finance", params={"refresh_stale": False},
    )
    with pytest.raises(ValidationError, match="Only a failed job"):
        jobs_retry.retry_job(ADMIN, job_id)
    _fail(job_id)  # a failed run the job engine no longer holds: its rows are gone
    with pytest.raises(ValidationError, match="Upload the file again"):
        jobs_retry.retry_job(ADMIN, job_id)


def test_the_line_says_stripe_is_failing_and_which_attempt_comes(
    fcops: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For a minute the line said "Reading success events from Stripe…" while every request
    failed and DBOS tried the step again; now it says what Stripe answered and which attempt."""
    app, _ = fcops
    monkeypatch.setattr(sync_intents, "REQUEST_RETRY", NO_BACKOFF)  # each attempt: one request
    monkeypatch.setattr(jobs, "_window", lambda now: 40_000_000 + time.time_ns() % 10_000)
    app.simulator.force_faults("500", 2)  # attempts 1 and 2 fail, 3 goes through
    lines: set[str] = set()
    try:
        job_id = jobs.start_intent_sync(MANAGER, full=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            view = jobs.job(job_id)
            if view is not None:
                lines.add(view.message or "")
                if not view.active:
                    break
            time.sleep(0.05)
    finally:
        app.simulator.clear_faults()
    assert view is not None and view.status == "succeeded", view
    assert "Stripe answered HTTP 500; trying again (attempt 2 of 5)…" in lines, lines
    assert "Stripe answered HTTP 500; trying again (attempt 3 of 5)…" in lines, lines


def test_a_sync_tried_again_while_one_of_its_kind_runs_is_handled_by_that_one(fcops: Any) -> None:
    """Trying a failed sync again while a sync of its kind runs answers with the running one (it
    does the same work); the failure named no job that took it over, so the Failed tile still
    counted it and the list offered it again. It now names the running sync."""
    app, _ = fcops
    failed, running = _failed_with_taker(app)
    try:
        before = jobs.queue_counts(ADMIN)
        assert jobs_retry.retry_job(ADMIN, failed) == running
        assert (jobs.job(failed) or pytest.fail()).retried_as == running
        after = jobs.queue_counts(ADMIN)
        assert after["failed"] == before["failed"] - 1, (before, after)
        assert after["tried_again"] == before["tried_again"] + 1, (before, after)
        assert getattr(jobs_retry.retried_as(ADMIN, failed), "id", None) == running
        views = [v for v in (jobs.job(running), jobs.job(failed)) if v is not None]
        assert jobs_retry.tried_again_as(views)[failed].id == running
    finally:
        engine.update_job(app.engine, running, status="succeeded", finished_at=utcnow())


def test_a_try_again_drawn_before_another_admins_retry_went_through_starts_nothing(
    fcops: Any,
) -> None:
    """Two admins on Jobs with one failed sync: A's Try again is answered by a running sync of its
    kind, which ends; B's Try again, drawn before, queued a second run of the same work (a
    `-retry1`). It now answers with the job that took the failure over, audited."""
    app, _ = fcops
    failed, taker = _failed_with_taker(app)
    assert jobs_retry.retry_job(ADMIN, failed) == taker
    engine.update_job(app.engine, taker, status="succeeded", finished_at=utcnow())
    before = audit_rows(app.engine, "jobs.retry", failed)
    assert jobs_retry.retry_job(Actor("admin2", "admin"), failed) == taker
    assert jobs.job(f"{failed}-retry1") is None  # nothing queued a second time
    assert audit_rows(app.engine, "jobs.retry", failed) == before + 1
