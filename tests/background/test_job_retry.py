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
