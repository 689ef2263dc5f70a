"""The rule behind "the last sync failed" next to a page's "last synced" line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.rules.job_progress import failed_since

SUCCESS = datetime(2026, 12, 6, 20, 2, tzinfo=UTC)


def test_a_failure_after_the_last_success_is_said() -> None:
    assert failed_since("failed", SUCCESS + timedelta(minutes=11), SUCCESS)


def test_a_failure_before_the_last_success_is_not_said() -> None:
    assert not failed_since("failed", SUCCESS - timedelta(minutes=1), SUCCESS)


def test_a_latest_attempt_that_succeeded_says_nothing() -> None:
    assert not failed_since("succeeded", SUCCESS + timedelta(minutes=11), SUCCESS)


def test_a_failure_with_no_success_ever_is_said() -> None:
    assert failed_since("failed", SUCCESS, None)


def test_naive_times_are_utc() -> None:
    naive = (SUCCESS + timedelta(minutes=1)).replace(tzinfo=None)
    assert failed_since("failed", naive, SUCCESS)
    assert not failed_since("failed", naive, SUCCESS + timedelta(minutes=2))


def test_a_running_or_unfinished_attempt_says_nothing() -> None:
    assert not failed_since("running", None, SUCCESS)
    assert not failed_since("failed", None, SUCCESS)
