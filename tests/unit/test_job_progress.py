"""A running job's progress line: a bar only with a total or an estimate, never full while it
runs; a count and the time so far where Stripe's lists give no total."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from services.rules import job_progress

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_no_total_means_no_bar() -> None:
    assert job_progress.fraction(0, None) is None
    assert job_progress.fraction(5_000, None) is None
    assert job_progress.fraction(5_000, 0) is None


def test_a_bar_follows_the_total_and_is_never_full_while_running() -> None:
    assert job_progress.fraction(0, 3_000) == 0.0
    assert job_progress.fraction(1_500, 3_000) == 0.5
    # An estimate the walk went past (customers added since the last walk): still running.
    assert job_progress.fraction(3_050, 3_000) == job_progress.RUNNING_CAP < 1.0
    assert job_progress.fraction(3_000, 3_000) < 1.0


def test_the_time_so_far_moves_and_reads_naive_times_as_utc() -> None:
    assert job_progress.running_for(None, NOW) == ""
    assert job_progress.running_for(NOW - timedelta(seconds=12), NOW) == " · 12 s so far"
    assert job_progress.running_for(NOW - timedelta(minutes=13), NOW) == " · 13 min so far"
    naive = (NOW - timedelta(seconds=40)).replace(tzinfo=None)
    assert job_progress.running_for(naive, NOW) == " · 40 s so far"
    # A clock a little behind the store's never reads as negative time.
    assert job_progress.running_for(NOW + timedelta(seconds=2), NOW) == " · 0 s so far"


def test_an_estimate_is_named_only_while_it_is_ahead() -> None:
    assert job_progress.about(1_200, 3_000, "customers") == "1,200 of about 3,000 customers"
    assert job_progress.about(3_050, 3_000, "customers") == "3,050 customers"
    assert job_progress.about(1_200, None, "customers") == "1,200 customers"


def test_a_line_ending_in_an_ellipsis_gets_no_extra_full_stop() -> None:
    """"Reading changes from Stripe…." had four dots."""
    assert job_progress.as_sentence("Reading changes from Stripe…") == "Reading changes from Stripe…"
    assert job_progress.as_sentence("Synced 3 customers") == "Synced 3 customers."
    assert job_progress.as_sentence("Done!") == "Done!"
    assert job_progress.as_sentence("  ") == ""
    # a request ID after a sentence ends it; a bracket inside one does not
    ended = "Stripe had a temporary problem (HTTP 500). Try again in a minute. (Stripe request req_1)"
    assert job_progress.as_sentence(ended) == ended
    assert job_progress.as_sentence("Synced 3 (of 4)") == "Synced 3 (of 4)."


def test_the_retry_line_says_what_stripe_answered_and_which_attempt_comes() -> None:
    trouble = job_progress.stripe_trouble(
        "Stripe had a temporary problem (HTTP 503). Try again in a minute."
    )
    assert trouble == "Stripe answered HTTP 503"
    assert job_progress.retrying(trouble, 3, 5) == (
        "Stripe answered HTTP 503; trying again (attempt 3 of 5)…"
    )
    assert job_progress.retrying(trouble, 1, 5, (2, 6)) == (
        "Stripe answered HTTP 503; trying again (try 2 of 6)…"
    )
    assert job_progress.retrying(trouble, 1, 1, (3, 6)) == (
        "Stripe answered HTTP 503; trying again (try 3 of 6)…"
    )
    assert job_progress.retrying(trouble, 1, 1) == "Stripe answered HTTP 503; trying again…"
    # one count at a time: once DBOS runs the step again, its attempt, not the request's try
    assert job_progress.retrying(trouble, 2, 5, (2, 6)) == (
        "Stripe answered HTTP 503; trying again (attempt 2 of 5)…"
    )
    assert job_progress.stripe_trouble("x", rate_limited=True) == "Stripe is rate-limiting requests"
    assert job_progress.stripe_trouble("x", no_answer=True) == "Stripe did not answer"


def test_patient_reads_tell_the_listener_before_each_wait() -> None:
    from services.adapters.backoff import Backoff, patiently, told_of_retries
    from services.errors import StripeUnavailable

    failures = [StripeUnavailable("HTTP 500"), StripeUnavailable("HTTP 502")]

    def read() -> str:
        if failures:
            raise failures.pop(0)
        return "page"

    heard: list[tuple[str, int, int]] = []
    with told_of_retries(lambda err, n, of: heard.append((str(err), n, of))):
        assert patiently(read, Backoff(retries=3, sleep=lambda s: None)) == "page"
    assert heard == [("HTTP 500", 2, 4), ("HTTP 502", 3, 4)]  # the try that comes, of 4
    failures.append(StripeUnavailable("HTTP 500"))
    patiently(read, Backoff(retries=3, sleep=lambda s: None))  # no listener: nothing told
    assert heard == [("HTTP 500", 2, 4), ("HTTP 502", 3, 4)]


def test_a_jobs_first_retry_line_says_which_try_comes_too(monkeypatch: Any) -> None:
    """The first line said "Stripe answered HTTP 500; trying again…" with no count (a request of
    the step's first attempt asked again), then "… (attempt 2 of 5)…" once the step failed."""
    from services.adapters.backoff import Backoff, patiently
    from services.errors import StripeUnavailable
    from services.usecases import job_runs

    status = SimpleNamespace(current_attempt=0, max_attempts=5)
    monkeypatch.setattr(job_runs, "DBOS", SimpleNamespace(workflow_id="job-1", step_status=status))
    monkeypatch.setattr(job_runs.engine, "bound", lambda: SimpleNamespace(engine=None))
    lines: list[str] = []
    monkeypatch.setattr(
        job_runs.engine, "update_job", lambda _e, _id, message: lines.append(message)
    )
    fails = [StripeUnavailable("Stripe had a temporary problem (HTTP 500).")] * 3

    @job_runs._tells_retries
    def step() -> str:
        def read() -> str:
            raise fails.pop()
        return patiently(read, Backoff(retries=1, sleep=lambda s: None))

    with pytest.raises(StripeUnavailable):
        step()
    assert lines == [
        "Stripe answered HTTP 500; trying again (try 2 of 2)…",
        "Stripe answered HTTP 500; trying again (attempt 2 of 5)…",
    ]


def test_a_progress_line_does_not_say_twice_what_its_label_says() -> None:
    """It read "Reading intents from Stripe: Reading success events from Stripe…"."""
    line = job_progress.line
    assert line("Reading intents from Stripe", "Reading success events from Stripe…") == (
        "Reading intents from Stripe: success events…"
    )
    assert line("Reading customers and accounts from Stripe", "Reading customers from Stripe…") == (
        "Reading customers and accounts from Stripe: customers…"
    )
    assert line("Reading intents from Stripe", "1,200 intents read") == (
        "Reading intents from Stripe: 1,200 intents read"
    )
    assert line("Reading debit outcomes from Stripe", None) == (
        "Reading debit outcomes from Stripe: queued…"
    )
