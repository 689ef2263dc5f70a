"""``store.retrying`` runs a transaction again when it lost a race, and only then.

PostgreSQL aborts one of two deadlocked transactions (SQLSTATE 40P01) and, under stricter
isolation, one that cannot be serialised (40001); nothing of it was written, so running it again
is right. A unique-key race (IntegrityError) was already retried. Any other error is raised at
once. The work functions here raise the errors themselves: no database is touched (the engine is
an in-memory SQLite one that the empty sessions never use).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError

from services.adapters import transactions
from services.adapters.store import retrying


class FakeDriverError(Exception):
    def __init__(self, sqlstate: str | None = None, pgcode: str | None = None) -> None:
        super().__init__(f"driver error {sqlstate or pgcode}")
        if sqlstate is not None:
            self.sqlstate = sqlstate  # psycopg 3
        if pgcode is not None:
            self.pgcode = pgcode  # psycopg 2


def lock_error(kind: type[DBAPIError] = OperationalError, **codes: str) -> DBAPIError:
    return kind("UPDATE fc_accounts …", {}, FakeDriverError(**codes))


class Work:
    """Raises ``errors`` one per call, then returns "done"; counts the calls."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self, _session: Any) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


@pytest.fixture
def engine() -> Any:
    return create_engine("sqlite://")


@pytest.mark.parametrize(
    "error",
    [
        lock_error(sqlstate="40P01"),
        lock_error(sqlstate="40001"),
        lock_error(pgcode="40P01"),
        lock_error(DBAPIError, sqlstate="40001"),
    ],
    ids=["deadlock", "serialization", "psycopg2-deadlock", "dbapi-serialization"],
)
def test_a_deadlock_or_serialization_failure_runs_the_work_again_after_a_short_pause(
    engine: Any, error: DBAPIError
) -> None:
    slept: list[float] = []
    work = Work(error, error)
    assert retrying(engine, work, sleep=slept.append) == "done"
    assert work.calls == 3
    assert len(slept) == 2 and all(0 < s <= 0.05 * 2 for s in slept)


def test_the_retries_of_a_deadlock_are_bounded_and_the_last_error_is_raised(engine: Any) -> None:
    slept: list[float] = []
    work = Work(*[lock_error(sqlstate="40P01") for _ in range(10)])
    with pytest.raises(OperationalError, match="40P01"):
        retrying(engine, work, sleep=slept.append)
    assert work.calls == transactions.LOCK_ATTEMPTS
    assert len(slept) == transactions.LOCK_ATTEMPTS - 1
    assert sum(slept) < 1.0  # a short pause each time


@pytest.mark.parametrize(
    "error",
    [
        lock_error(sqlstate="57014"),  # query_canceled: not a lost race
        lock_error(),  # no SQLSTATE at all (SQLite's "database is locked" after its timeout)
        lock_error(ProgrammingError, sqlstate="42P01"),
        ValueError("a bug in the work"),
    ],
    ids=["canceled", "no-sqlstate", "programming", "not-a-database-error"],
)
def test_other_errors_are_raised_at_once(engine: Any, error: BaseException) -> None:
    slept: list[float] = []
    work = Work(error)
    with pytest.raises(type(error)):
        retrying(engine, work, sleep=slept.append)
    assert work.calls == 1 and slept == []


def test_a_unique_key_race_is_still_run_again_up_to_three_times(engine: Any) -> None:
    duplicate = IntegrityError("INSERT …", {}, FakeDriverError(sqlstate="23505"))
    assert retrying(engine, Work(duplicate, duplicate)) == "done"
    work = Work(duplicate, duplicate, duplicate)
    with pytest.raises(IntegrityError):
        retrying(engine, work)
    assert work.calls == 3


def test_a_deadlock_then_a_unique_key_race_both_count_against_the_bound(engine: Any) -> None:
    duplicate = IntegrityError("INSERT …", {}, FakeDriverError(sqlstate="23505"))
    deadlock = lock_error(sqlstate="40P01")
    work = Work(deadlock, duplicate, deadlock, duplicate, deadlock, duplicate)
    with pytest.raises(DBAPIError):
        retrying(engine, work, sleep=lambda _s: None)
    assert work.calls == transactions.LOCK_ATTEMPTS
