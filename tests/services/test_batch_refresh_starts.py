"""A batch starts its balance refreshes several at once, and the shared bucket still sets the rate.

Stripe's answer to a refresh takes a round trip; started one after another, a batch could not
reach its request rate when that round trip is longer than the bucket's spacing (issue 11's batch
benchmark). These tests run against a private sandbox, with a gateway proxy that makes each
refresh slow and counts how many are in flight.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from typing import Any, cast

import pytest

from services.adapters import throttle
from services.auth import Actor
from services.context import Services
from services.errors import StripeAuthError
from services.rules.debit_csv import parse_debits_csv
from services.usecases import check_batch
from tests.services.test_debits import DAY, customer, link, set_balance


class SlowRefreshes:
    """Gateway proxy: each refresh waits ``seconds`` before going to Stripe; counts the peak of
    refreshes in flight and the refreshes sent; ``refuse`` makes every refresh a key refusal."""

    def __init__(self, gateway: Any, seconds: float, *, refuse: bool = False) -> None:
        self._gateway = gateway
        self._seconds = seconds
        self._refuse = refuse
        self._lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.sent: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gateway, name)

    def refresh_account(self, account_id: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.sent.append(account_id)
        try:
            time.sleep(self._seconds)
            if self._refuse:
                raise StripeAuthError("Stripe rejected the API key.")
            return self._gateway.refresh_account(account_id, *args, **kwargs)
        finally:
            with self._lock:
                self.in_flight -= 1


def stale_accounts(gw: Any, sim: Any, box: Any, count: int) -> list[str]:
    """``count`` linked accounts whose balance is two days old, a refresh allowed now."""
    found = [link(gw, sim, customer(gw)) for _ in range(count)]
    for account_id in found:
        set_balance(box, account_id, available=50_000, current=50_000, age=2 * DAY)
    return found


def test_refreshes_overlap_up_to_the_starters_and_keep_the_rows_order(
    gw: Any, sim: Any, box: Any, sqlite_engine: Any
) -> None:
    accounts = stale_accounts(gw, sim, box, 10)
    slow = SlowRefreshes(gw, 0.1)
    svc = Services(gateway=cast(Any, slow), engine=sqlite_engine, mode="sandbox", now=box.state.now)
    planned, _ = parse_debits_csv("id,amount\n" + "\n".join(f"{a},1.00" for a in accounts))
    result = check_batch.run_batch(
        svc, Actor("fin", "finance"), planned, refresh_stale=True, max_requests_per_second=1_000
    )
    assert 1 < slow.peak <= check_batch.REFRESH_STARTERS
    assert sorted(slow.sent) == sorted(accounts)
    assert result.refreshed == accounts  # the batch's order, whatever order they finished in
    assert [(r.account_id, r.verdict, r.refreshed) for r in result.rows] == [
        (a, "ok", True) for a in accounts
    ]


def test_a_key_refusal_stops_the_refreshes_not_yet_sent(
    gw: Any, sim: Any, box: Any, sqlite_engine: Any
) -> None:
    accounts = stale_accounts(gw, sim, box, 12)
    slow = SlowRefreshes(gw, 0.05, refuse=True)
    svc = Services(gateway=cast(Any, slow), engine=sqlite_engine, mode="sandbox", now=box.state.now)
    planned, _ = parse_debits_csv("id,amount\n" + "\n".join(f"{a},1.00" for a in accounts))
    with pytest.raises(StripeAuthError):
        check_batch.run_batch(
            svc, Actor("fin", "finance"), planned, refresh_stale=True,
            max_requests_per_second=1_000,
        )
    time.sleep(0.2)  # nothing still queued goes out after the batch ended
    assert 1 <= len(slow.sent) <= 2 * check_batch.REFRESH_STARTERS < len(accounts)


class SharedClock:
    """A fake clock four threads share: each sleeper moves time on by a quarter of its sleep."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.t = 100.0

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.t += max(0.0, seconds) / 4


def test_threads_sharing_a_bucket_never_exceed_its_rate() -> None:
    bucket = throttle.TokenBucket(10, clock=SharedClock())

    def take() -> None:
        for _ in range(200):
            bucket.acquire()

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads swap often, so they meet in the middle of a take
    try:
        threads = [threading.Thread(target=take) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    times = bucket.acquired
    assert len(times) == 800
    assert times == sorted(times)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.1 - 1e-9  # one token per 1/rate, never two at once


def test_the_progress_line_says_the_batch_waits_for_the_banks_and_for_how_long(
    gw: Any, sim: Any, box: Any, sqlite_engine: Any
) -> None:
    """A slow bank left "Checking 4 rows" at 0 % with no word of what was waited on."""
    accounts = stale_accounts(gw, sim, box, 3)
    svc = Services(gateway=gw, engine=sqlite_engine, mode="sandbox", now=box.state.now)
    planned, _ = parse_debits_csv("id,amount\n" + "\n".join(f"{a},1.00" for a in accounts))
    said: list[str] = []
    check_batch.run_batch(
        svc, Actor("fin", "finance"), planned, refresh_stale=True, max_requests_per_second=1_000,
        progress=lambda done, total, message: said.append(message), wait_seconds=45,
    )
    assert "Waiting for the banks to refresh 3 stale balances (up to 45 s)" in said


def test_a_batch_jobs_chunk_writes_what_it_waits_on_to_the_jobs_line(monkeypatch: Any) -> None:
    from services.usecases import jobs_batch

    written: list[str] = []
    monkeypatch.setattr(jobs_batch.engine, "bound", lambda: cast(Any, type("S", (), {"engine": 1})))
    monkeypatch.setattr(
        jobs_batch.engine, "update_job", lambda _e, _id, message: written.append(message)
    )
    tick = jobs_batch._chunk_progress("job-1", 200, 500, "Policy version 3")
    tick(0, 5, "Looking up 1 of 4 IDs")
    tick(1, 5, "Looking up 2 of 4 IDs")  # within the second: not written
    tick(4, 5, "Waiting for the banks to refresh 2 stale balances (up to 60 s)")
    assert written == [
        "Checked 200 of 500 rows · Looking up 1 of 4 IDs · Policy version 3",
        "Checked 200 of 500 rows · Waiting for the banks to refresh 2 stale balances (up to 60 s)"
        " · Policy version 3",
    ]


def test_a_jobs_progress_writes_a_forced_line_at_once_and_only_once(monkeypatch: Any) -> None:
    """The one throttled writer of a job's line (the batch chunk's is a prefix over it): a line
    a person waits on is written within the throttle, and not again while it is the last one."""
    from services.usecases import job_runs

    written: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(job_runs.engine, "bound", lambda: cast(Any, type("S", (), {"engine": 1})))
    monkeypatch.setattr(
        job_runs.engine, "update_job",
        lambda _e, _id, message, **fields: written.append((message, fields)),
    )
    report = job_runs._progress("job-1", every=60)
    report(1, 10, "Reading page 1")
    report(2, 10, "Reading page 2")  # within the minute: not written
    report(3, 10, "Waiting for the banks", force=True)
    report(3, 10, "Waiting for the banks", force=True)  # the line already shown
    report(10, 10, "Done")  # the last step always
    assert written == [
        ("Reading page 1", {"done": 1, "total": 10}),
        ("Waiting for the banks", {"done": 3, "total": 10}),
        ("Done", {"done": 10, "total": 10}),
    ]
