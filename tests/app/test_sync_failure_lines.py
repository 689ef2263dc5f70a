"""A failed intent sync is said next to the "last synced" line on Conversion and Home: a
manager read "490 intents stored · last synced 20:02" above the rates, and Home's "Intents last
synced 28 min ago", while the Jobs page said the sync at 20:13 had failed (HTTP 500)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import delete

from services.adapters import jobs as engine
from services.adapters.job_models import JobRecord
from services.adapters.models import utcnow
from services.adapters.store import session_scope
from services.auth import SYSTEM
from services.usecases import sync_intents
from tests.app.conftest import no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app

HTTP_500 = "Stripe had a temporary problem (HTTP 500). Try again in a minute."
SAID = "The last intent sync ("


def _job(status: str, ended_in: timedelta = timedelta(0), kind: str = "intents.sync") -> str:
    job_id = f"{kind}-syncfail{status}{time.time_ns()}"
    engine.create_job(
        app().engine, job_id, kind=kind, label="A sync", actor="admin",
        role="admin", params={"full": False, "window": time.time_ns() % 10**9, "data": 0},
    )
    engine.update_job(
        app().engine, job_id, status=status, finished_at=utcnow() + ended_in,
        error=HTTP_500 if status == "failed" else None,
    )
    return job_id


@pytest.fixture
def failed_after_sync() -> Iterator[str]:
    """The intents synced, then the latest sync failed (the row removed afterwards, so no later
    test reads it)."""
    sync_intents.sync_intents(app().services, SYSTEM)
    time.sleep(0.01)
    made = [_job("failed")]
    yield made[0]
    with session_scope(app().engine) as session:
        session.exec(delete(JobRecord).where(JobRecord.id.in_(made)))  # type: ignore[attr-defined]


def _failure_lines(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [w.value for w in at.warning if w.value.startswith(SAID)]


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_conversion_says_the_last_intent_sync_failed_and_how_old_the_figures_are(
    failed_after_sync: str, role: str
) -> None:
    at = open_page("pages/conversion.py", role, state={"conv_autosynced": True})
    no_exceptions(at)
    lines = _failure_lines(at)
    assert len(lines) == 1, texts(at)
    assert f"failed: {HTTP_500}" in lines[0]
    assert "The figures are as of " in lines[0] and "Try “Sync intents” again." in lines[0]


def test_home_says_the_last_intent_sync_failed(failed_after_sync: str) -> None:
    at = open_page(None, "manager")
    no_exceptions(at)
    lines = _failure_lines(at)
    assert len(lines) == 1, texts(at)
    assert f"failed: {HTTP_500}" in lines[0] and "on Conversion" in lines[0]


def test_a_sync_that_succeeded_since_says_nothing(failed_after_sync: str) -> None:
    time.sleep(0.01)
    sync_intents.sync_intents(app().services, SYSTEM)  # the store is current again
    at = open_page("pages/conversion.py", "manager", state={"conv_autosynced": True})
    no_exceptions(at)
    assert not _failure_lines(at), texts(at)


def test_returns_says_the_last_outcome_sync_failed() -> None:
    from services.adapters.store import mark_sync
    from services.usecases.debit_outcomes import SYNC_NAME

    now = app().services.now()
    mark_sync(app().engine, SYNC_NAME, cursor=str(now), last_finished_at=utcnow())
    time.sleep(0.01)
    made = [_job("failed", kind="returns.sync")]
    try:
        at = open_page("pages/returns.py", "finance", state={"_outcomes_autosynced": True})
        no_exceptions(at)
        lines = [w.value for w in at.warning if w.value.startswith("The last debit outcome sync (")]
        assert len(lines) == 1, texts(at)
        assert f"failed: {HTTP_500}" in lines[0] and "Try “Sync outcomes” again." in lines[0]
    finally:
        with session_scope(app().engine) as session:
            session.exec(delete(JobRecord).where(JobRecord.id.in_(made)))  # type: ignore[attr-defined]


@pytest.mark.parametrize(("role", "then"), [("ops", "Try “Sync from Stripe” again."),
                                            ("finance", "Try “Sync from Stripe” again.")])
def test_accounts_says_the_last_account_sync_failed(role: str, then: str) -> None:
    from services.usecases import sync_accounts

    sync_accounts.sync_accounts(app().services, SYSTEM)
    time.sleep(0.01)
    made = [_job("failed", kind="accounts.sync")]
    try:
        at = open_page("pages/accounts.py", role)
        no_exceptions(at)
        lines = [w.value for w in at.warning if w.value.startswith("The last account sync (")]
        assert len(lines) == 1, texts(at)
        assert f"failed: {HTTP_500}" in lines[0] and then in lines[0]
    finally:
        with session_scope(app().engine) as session:
            session.exec(delete(JobRecord).where(JobRecord.id.in_(made)))  # type: ignore[attr-defined]
