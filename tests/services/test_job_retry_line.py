"""A Try again follows the failed job's line (its retry, that retry's retry …) to the newest job:
a Try again drawn before another admin's retry, which then failed too, queued a second retry of
the first failure and left the newest failure offered again. The newest failure is the one tried
again now, once, and the answer and the audit row say so."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from dbos import DBOS
from sqlalchemy import text
from sqlalchemy.engine import Engine

from services.adapters import jobs as engine
from services.auth import Actor
from services.context import Services
from services.errors import Forbidden, ValidationError
from services.usecases import job_runs, jobs_retry

ADMIN, OTHER = Actor("admin", "admin"), Actor("admin2", "admin")
PARAMS = {"full": False, "window": 7, "data": 0}


class HeldQueue:
    """Stands in for the job engine's queue: notes what is queued and runs nothing."""

    def __init__(self) -> None:
        self.queued: list[Callable[..., Any]] = []

    def enqueue(self, workflow: Callable[..., Any], *args: Any) -> None:
        self.queued.append(workflow)


@pytest.fixture
def queue(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldQueue]:
    held = HeldQueue()
    svc = Services(gateway=None, engine=sqlite_engine, mode="test")  # type: ignore[arg-type]
    monkeypatch.setattr(engine, "_bound", svc)
    monkeypatch.setattr(DBOS, "retrieve_queue", staticmethod(lambda name: held))
    yield held


def _job(job_id: str, status: str, retry_of: str | None = None, **more: Any) -> None:
    """A job of the line as the store keeps it (a retry marks the job it tries again)."""
    params = {**PARAMS, **more, **({"retry_of": retry_of} if retry_of else {})}
    kind, label = ("accounts.sync", "Account sync") if job_id.startswith("accounts.") else (
        "intents.sync", "Intent sync")  # fmt: skip
    engine.create_job(engine.bound().engine, job_id, kind=kind, label=label,
                      actor="admin", role="admin", params=params, retry_of=retry_of)  # fmt: skip
    engine.update_job(engine.bound().engine, job_id, status=status,
                      error="Stripe had a temporary problem." if status == "failed" else None)  # fmt: skip


def _messages(target: str) -> list[str]:
    with engine.bound().engine.connect() as conn:
        rows = conn.execute(
            text("select message from audit_log where action = 'jobs.retry' and target = :t "
                 "order by id"), {"t": target},
        ).all()  # fmt: skip
    return [str(r[0]) for r in rows]


def test_a_stale_try_again_of_a_job_whose_retry_failed_too_tries_that_retry_again(
    queue: HeldQueue,
) -> None:
    _job("intents.sync-line", "failed")
    _job("intents.sync-line-retry1", "failed", retry_of="intents.sync-line")

    started = jobs_retry.retry_job(OTHER, "intents.sync-line")  # drawn before the first retry

    assert started == "intents.sync-line-retry2"
    new = job_runs.job(started)
    assert new is not None and (new.params or {}).get("retry_of") == "intents.sync-line-retry1"
    first, retry = job_runs.job("intents.sync-line"), job_runs.job("intents.sync-line-retry1")
    assert first is not None and first.retried_as == "intents.sync-line-retry1"  # unchanged
    assert retry is not None and retry.retried_as == started  # the newest failure is handled
    assert len(queue.queued) == 1
    assert _messages("intents.sync-line") == [
        "Intent sync intents.sync-line was tried again as job intents.sync-line-retry1, which "
        "failed too; trying intents.sync-line-retry1 again as job intents.sync-line-retry2."
    ]
    views = [v for v in (new, retry, first) if v is not None]
    assert {k: v.id for k, v in jobs_retry.tried_again_as(views).items()} == {
        "intents.sync-line": started, "intents.sync-line-retry1": started,
    }  # no failure of the line is left to offer again


def test_the_line_is_followed_past_every_retry_that_failed(queue: HeldQueue) -> None:
    _job("intents.sync-long", "failed")
    _job("intents.sync-long-retry1", "failed", retry_of="intents.sync-long")
    _job("intents.sync-long-retry2", "failed", retry_of="intents.sync-long-retry1")

    started = jobs_retry.retry_job(OTHER, "intents.sync-long")

    assert started == "intents.sync-long-retry3"
    new = job_runs.job(started)
    assert new is not None and (new.params or {}).get("retry_of") == "intents.sync-long-retry2"
    assert job_runs.job("intents.sync-long-retry4") is None


def test_a_line_whose_newest_job_did_not_fail_starts_nothing(queue: HeldQueue) -> None:
    _job("intents.sync-ok", "failed")
    _job("intents.sync-ok-retry1", "failed", retry_of="intents.sync-ok")
    _job("intents.sync-ok-retry2", "succeeded", retry_of="intents.sync-ok-retry1")

    assert jobs_retry.retry_job(OTHER, "intents.sync-ok") == "intents.sync-ok-retry2"
    assert jobs_retry.retry_job(OTHER, "intents.sync-ok-retry1") == "intents.sync-ok-retry2"
    assert queue.queued == [] and job_runs.job("intents.sync-ok-retry3") is None
    assert "nothing new was started" in _messages("intents.sync-ok")[-1]


def test_two_admins_pressing_at_once_start_the_newest_failure_once(queue: HeldQueue) -> None:
    _job("intents.sync-both", "failed")
    _job("intents.sync-both-retry1", "failed", retry_of="intents.sync-both")

    with ThreadPoolExecutor(2) as pool:  # one from a stale page, one from the newest failure
        answers = list(pool.map(lambda pair: jobs_retry.retry_job(*pair), [
            (ADMIN, "intents.sync-both"), (OTHER, "intents.sync-both-retry1")]))  # fmt: skip

    assert answers == ["intents.sync-both-retry2"] * 2
    assert job_runs.job("intents.sync-both-retry3") is None
    with engine.bound().engine.connect() as conn:
        ids = conn.execute(text("select id from jobs where id like 'intents.sync-both%'")).all()
    assert sorted(r[0] for r in ids) == [
        "intents.sync-both", "intents.sync-both-retry1", "intents.sync-both-retry2"]


def test_a_newest_failure_that_cannot_be_tried_again_says_why(queue: HeldQueue) -> None:
    """A failed sync taken over by the scheduled safety net, which failed too: that one runs
    again by itself, so nothing is queued and the sentence says what happened."""
    _job("accounts.sync-mine", "failed")
    _job("accounts.sync-safety", "failed", scheduled=True)
    engine.mark_retried(engine.bound().engine, "accounts.sync-mine", "accounts.sync-safety")

    with pytest.raises(ValidationError, match="which failed too. The scheduled safety-net sync"):
        jobs_retry.retry_job(ADMIN, "accounts.sync-mine")
    assert queue.queued == []


def test_a_manager_may_start_a_sync_but_not_try_a_failed_one_again(queue: HeldQueue) -> None:
    """Try again is on the Jobs page (admins: ``jobs.view``); the service checked only the
    kind's permission, so a manager (``accounts.sync``) could try a failed account sync again
    by calling it. Refused with a sentence, audited, nothing queued."""
    _job("accounts.sync-managers", "failed")
    manager = Actor("manager", "manager")

    with pytest.raises(Forbidden, match=r"Your role \(manager\) may not do this \(jobs\.view\)"):
        jobs_retry.retry_job(manager, "accounts.sync-managers")

    assert queue.queued == [] and job_runs.job("accounts.sync-managers-retry1") is None
    with engine.bound().engine.connect() as conn:
        rows = conn.execute(text(
            "select actor, role, outcome from audit_log where action = 'jobs.retry' "
            "and target = 'accounts.sync-managers'")).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [("manager", "manager", "refused")]
