"""A job that failed is tried again when it is started again, also within the same minute and
with the same inputs: DBOS hands back a finished workflow's outcome for its ID, so before, the
second click answered with the first one's failure at once and asked Stripe nothing."""

from __future__ import annotations

import time
from typing import Any

import pytest

from services.adapters.backoff import NO_BACKOFF
from services.auth import Actor
from services.usecases import jobs, sync_intents
from tests.background.test_jobs import wait_done

MANAGER = Actor("manager", "manager")


def test_a_failed_sync_started_again_in_the_same_minute_runs_again(
    fcops: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = fcops
    # One minute window for the whole test, whatever the clock does: the same job ID both times.
    window = 10_000_000 + int(time.time()) % 1_000
    monkeypatch.setattr(jobs, "_window", lambda now: window)
    monkeypatch.setattr(sync_intents, "REQUEST_RETRY", NO_BACKOFF)  # fail without a long wait
    app.simulator.force_faults("500", 10_000)
    try:
        failed = wait_done(jobs.start_intent_sync(MANAGER), timeout=120)
    finally:
        app.simulator.clear_faults()
    assert failed.status == "failed" and "HTTP 500" in (failed.error or "")

    # Started again twice at once (a double click, a second replica): one retry.
    again = jobs.start_intent_sync(MANAGER)
    assert jobs.start_intent_sync(MANAGER) == again
    retried = wait_done(again, timeout=120)
    assert retried.id != failed.id and retried.id.startswith(failed.id)
    assert retried.status == "succeeded", retried.error
    view = jobs.job(failed.id)
    assert view is not None and view.status == "failed"  # the failure stays on record


def test_a_full_re_read_started_right_after_a_walk_walks_again(
    fcops: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """"Re-read everything" is asked for on purpose: right after a walk that succeeded (the same
    minute, the same inputs) it used to answer with that walk and read nothing. A double click
    still starts one walk."""
    app, _ = fcops
    window = 20_000_000 + int(time.time()) % 1_000
    monkeypatch.setattr(jobs, "_window", lambda now: window)
    # A walk that changed nothing in the mirror (every account as it was, or none at all) keeps
    # the data version, so the ID's inputs are all the same.
    monkeypatch.setattr(jobs.data_version, "read", lambda engine, name: 7)
    admin = Actor("admin", "admin")
    first = wait_done(jobs.start_account_sync(admin, full=True), timeout=120)
    assert first.status == "succeeded", first.error
    app.simulator.record_requests()
    try:
        second = wait_done(jobs.start_account_sync(admin, full=True), timeout=120)
        asked = app.simulator.recorded_requests()["data"]
    finally:
        app.simulator.record_requests(False)
    assert second.id != first.id and second.status == "succeeded", second.error
    assert any(r["path"] == "/v1/customers" for r in asked)  # it read the customers again

    again = jobs.start_account_sync(admin, full=True)
    assert jobs.start_account_sync(admin, full=True) == again  # a double click: one walk
    assert wait_done(again, timeout=120).status == "succeeded"


def test_check_all_started_again_after_one_ended_checks_again(
    fcops: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ownership's "Check all" is only ever a person's click: a second click after a check
    ended (the same minute) checks again instead of answering with the check that ended."""
    window = 30_000_000 + int(time.time()) % 1_000
    monkeypatch.setattr(jobs, "_window", lambda now: window)
    ops = Actor("ops", "ops")
    first = wait_done(jobs.start_ownership_check_all(ops), timeout=180)
    assert first.status == "succeeded", first.error
    second = jobs.start_ownership_check_all(ops)
    assert second != first.id and jobs.start_ownership_check_all(ops) == second  # one job
    assert wait_done(second, timeout=180).status == "succeeded"
