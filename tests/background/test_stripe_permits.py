"""A batch check's Stripe requests are counted by the Stripe queue's limiter, the one rate of
the whole deployment (``services.adapters.stripe_permits``): each k requests take a permit, a
workflow on that queue that the limiter lets start as it lets a chunk of k requests start. A
batch spaced them with a bucket of its own before, beside (not within) the rate every other job
kept to. On SQLite and on PostgreSQL (the package fixture)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from dbos import DBOS

from services.adapters import jobs as engine
from services.adapters.stripe_permits import AHEAD, QueueBucket
from services.rules.debit_csv import parse_debits_csv
from services.usecases import jobs
from tests.background.test_batch_live_mirror import (
    DAY,
    announce_balance,
    refreshable,
    wait_mirrored,
)
from tests.background.test_jobs import ADMIN, FINANCE, wait_done


def permits_of(owner: str) -> list[Any]:
    return [w for w in DBOS.list_workflows(workflow_id_prefix=f"permit:{owner}:")
            if w.name == "fcops.stripe.permit"]


def started(permits: list[Any]) -> list[Any]:
    return [w for w in permits if w.status == "SUCCESS"]


def test_a_queue_bucket_takes_a_permit_for_every_k_requests(fcops: Any) -> None:
    k = engine.requests_per_start()
    owner = f"test-{uuid.uuid4().hex[:8]}"
    bucket = QueueBucket(owner=owner)
    assert permits_of(owner) == [], "a bucket that makes no request asks for no permit"
    for _ in range(2 * k + 1):
        bucket.acquire()
    assert bucket.permits == 3 and bucket.requests == 2 * k + 1
    asked = permits_of(owner)
    assert 3 <= len(asked) <= 3 + AHEAD, "the permits used, and at most AHEAD asked ahead"
    assert len(started(asked)) >= 3


def test_a_batch_checks_requests_are_counted_by_the_stripe_queues_limiter(fcops: Any) -> None:
    app, _ = fcops
    stale = refreshable(app)[:3]
    assert stale
    for account_id in stale:  # stale, and Stripe allows a refresh now
        wait_mirrored(app, account_id, announce_balance(app, account_id, age=2 * DAY, next_in=-1))
    rows = "".join(f"{a},10.00\n" for a in stale)
    planned, _ = parse_debits_csv(f"id,amount\n{rows}")
    view = wait_done(jobs.start_batch_check(FINANCE, planned, refresh_stale=True))
    assert view.status == "succeeded", view.error
    result = jobs.batch_result(FINANCE, view.id)
    assert result is not None and result.requests >= len(stale)
    granted = started(permits_of(view.id))
    assert result.requests <= len(granted) * engine.requests_per_start(), (
        f"{result.requests} requests for {len(granted)} permits"
    )


def quiet(app: Any, timeout: float = 60.0) -> None:
    """Wait until the sandbox has delivered its events, the app has applied them, and no job is
    queued or running: their Stripe reads (a webhook's read-back, an earlier test's job still
    retrying through faults) would be counted as this test's (CI once saw 3 for 2 permits)."""
    import time

    from sqlmodel import func, select

    from services.adapters.job_models import JobRecord, WebhookEventRecord
    from services.adapters.store import session_scope

    deadline = time.monotonic() + timeout
    router = app.sandbox.state.extras.get("webhook_connector") if app.sandbox else None
    for dispatcher in router.dispatchers() if router is not None else []:
        dispatcher.wait_idle(timeout=max(0.1, deadline - time.monotonic()))
    while time.monotonic() < deadline:
        with session_scope(app.engine) as session:
            busy = session.exec(
                select(func.count()).select_from(WebhookEventRecord)
                .where(WebhookEventRecord.status == "received")
            ).one() + session.exec(
                select(func.count()).select_from(JobRecord)
                .where(JobRecord.status.in_(("queued", "running")))  # type: ignore[attr-defined]
            ).one()
        if not busy:
            return
        time.sleep(0.05)
    raise AssertionError(f"{busy} webhook event(s) or job(s) still running after {timeout} s")


def test_a_sync_jobs_requests_page_after_page_are_counted_by_the_limiter(
    fcops: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The intent sync reads page after page in one step (on a read-ahead thread of its own):
    every request it makes takes its turn from a permit under the job's ID. One request a
    permit here, so a request that took none shows (the limiter still lets 5 start a second)."""
    app, _ = fcops
    quiet(app)  # only the sync's requests are recorded: none of earlier tests' webhooks or jobs
    monkeypatch.setattr(engine, "_per_start", 1)
    app.simulator.record_requests(True)
    try:
        view = wait_done(jobs.start_intent_sync(ADMIN, full=True))
    finally:
        app.simulator.record_requests(False)
        made = len(app.simulator.recorded_requests()["data"])
    assert view.status == "succeeded", view.error
    assert made >= 2, "the sync read Stripe"
    granted = started(permits_of(view.id))
    assert made <= len(granted), f"{made} requests for {len(granted)} permits"


def test_a_permit_that_failed_is_not_asked_about_again(
    fcops: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A permit that could not be had (the job engine's database failing, say) fails the step
    that waited for it; the step's retry, on the same job's bucket, asks for a new one."""
    from services.adapters import stripe_permits

    owner = f"test-{uuid.uuid4().hex[:8]}"
    bucket = stripe_permits.bucket_of(owner)

    def broken(_: str, priority: int | None = None) -> None:
        raise RuntimeError("the engine's database did not answer")

    monkeypatch.setattr(stripe_permits, "_permit", broken)
    with pytest.raises(RuntimeError):
        bucket.acquire()
    monkeypatch.undo()
    bucket.acquire()  # the retry
    assert stripe_permits.bucket_of(owner) is bucket and bucket.permits == 1
    assert len(started(permits_of(owner))) >= 1


def test_a_persons_permit_goes_before_a_background_backlog(fcops: Any) -> None:
    """DBOS dequeues by priority, then age. A batch check's permits (no priority) go before the
    backlog of a background walk (``BACKGROUND_PRIORITY``); first come first served kept each
    of them behind the walk's chunks (a 20-row batch took 27 s beside a first sync, 3 s alone)."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from services.adapters import stripe_permits

    limit = int(engine.stripe_limiter(engine._rate)["limit"])  # starts a second
    backlog = 4 * limit
    tag = uuid.uuid4().hex[:8]
    walk, person = f"test-walk-{tag}", f"test-person-{tag}"
    with ThreadPoolExecutor(backlog) as pool:
        waits = [pool.submit(stripe_permits._permit, walk, engine.BACKGROUND_PRIORITY)
                 for _ in range(backlog)]
        deadline = time.monotonic() + 30
        while len(permits_of(walk)) < backlog and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(permits_of(walk)) == backlog, "the backlog is queued first"
        stripe_permits._permit(person)  # returns once it started
        for wait in waits:
            wait.result(timeout=60)
    (mine,) = permits_of(person)
    after = [w for w in permits_of(walk) if (w.dequeued_at or 0) > (mine.dequeued_at or 0)]
    assert len(after) >= limit, (
        f"only {len(after)} of {backlog} earlier background permits started after the person's"
    )
    job = stripe_permits.bucket_of(f"job-{tag}")
    assert job.next_priority() == engine.background_priority(0) >= engine.BACKGROUND_PRIORITY
    assert QueueBucket(owner=person).next_priority() is None  # a batch's bucket: first


def test_a_later_jobs_permits_take_turns_with_an_earlier_jobs_backlog(fcops: Any) -> None:
    """Background jobs share the rate turn for turn: a job's n-th chunk or permit is queued at
    ``background_priority(n)``. Job A's backlog (the account walk's chunks, enqueued as the walk
    does), then job B's permits (the intent sync's, from its bucket): B's first permits start
    before most of A's backlog. At one priority they waited behind all of it (the first intent
    sync read nothing while the first walk ran). A person's permit still goes before both."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from services.adapters import stripe_permits

    limit = int(engine.stripe_limiter(engine._rate)["limit"])  # starts a second
    backlog = 4 * limit
    tag = uuid.uuid4().hex[:8]
    walk, intents, person = f"test-walk-{tag}", f"test-intents-{tag}", f"test-person-{tag}"
    with ThreadPoolExecutor(backlog + 1) as pool:
        waits = [pool.submit(stripe_permits._permit, walk, engine.background_priority(turn))
                 for turn in range(backlog)]
        deadline = time.monotonic() + 30
        while len(permits_of(walk)) < backlog and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(permits_of(walk)) == backlog, "A's backlog is queued first"
        bucket = stripe_permits.bucket_of(intents)
        for _ in range(2 * bucket.per_permit):  # two permits' requests
            bucket.acquire()
        mine = pool.submit(stripe_permits._permit, person)
        mine.result(timeout=60)
        for wait in waits:
            wait.result(timeout=60)
    second = sorted(w.dequeued_at or 0 for w in started(permits_of(intents)))[1]
    after = [w for w in permits_of(walk) if (w.dequeued_at or 0) > second]
    assert len(after) >= backlog // 2, (
        f"only {len(after)} of A's {backlog} permits started after B's second"
    )
    (persons,) = permits_of(person)
    after = [w for w in permits_of(walk) if (w.dequeued_at or 0) > (persons.dequeued_at or 0)]
    assert len(after) >= limit, f"only {len(after)} of A's backlog started after the person's"
