"""The sign-in counters in the store, shared by every app replica (see
``services.rules.sign_in_throttle`` for what they mean)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from services.adapters.models import SignInThrottle
from services.adapters.store import retrying, session_scope
from services.rules.sign_in_throttle import Policy, is_client


def read(engine: Engine, keys: Iterable[str]) -> dict[str, SignInThrottle]:
    with session_scope(engine) as session:
        rows = session.exec(select(SignInThrottle).where(col(SignInThrottle.key).in_(list(keys))))
        return {row.key: row for row in rows}


def all_counters(engine: Engine) -> list[SignInThrottle]:
    with session_scope(engine) as session:
        return list(session.exec(select(SignInThrottle).order_by(col(SignInThrottle.key))).all())


def record_failure(
    engine: Engine, keys: list[str], t: float, policy: Policy
) -> dict[str, SignInThrottle]:
    """Count one failure on each key (row-locked on PostgreSQL) and set its wait and lockout."""

    def work(session: Session) -> dict[str, SignInThrottle]:
        rows = {
            row.key: row
            for row in session.exec(
                select(SignInThrottle).where(col(SignInThrottle.key).in_(keys)).with_for_update()
            )
        }
        for key in keys:
            row = rows.get(key)
            if row is None:
                row = SignInThrottle(key=key, first_failure_at=t)
                session.add(row)
                rows[key] = row
            elif row.last_failure_at and t - row.last_failure_at > policy.window_seconds:
                row.failures, row.first_failure_at, row.locked_until = 0, t, 0.0
                row.refused = 0
            row.failures += 1
            row.last_failure_at = t
            client = is_client(key)
            row.next_allowed_at = t + policy.delay_after(row.failures, client=client)
            if row.failures >= policy.locks_at(client=client):
                row.locked_until = max(row.locked_until, t + policy.lock_seconds)
        session.flush()
        return {k: SignInThrottle.model_validate(v.model_dump()) for k, v in rows.items()}

    return retrying(engine, work)


def record_refused(engine: Engine, keys: list[str]) -> None:
    """Count one try refused unchecked (sign-in was slowed down or locked) on each key's
    counter, so the Users page counts every try, not only the checked ones."""
    if not keys:
        return

    def work(session: Session) -> None:
        for row in session.exec(
            select(SignInThrottle).where(col(SignInThrottle.key).in_(keys)).with_for_update()
        ):
            row.refused = (row.refused or 0) + 1
        session.flush()

    retrying(engine, work)


def forget_old(engine: Engine, t: float, policy: Policy) -> None:
    """Drop counters nobody needs any more (past the window, not locked), so guessed usernames
    do not pile up in the table."""
    cutoff = t - policy.window_seconds
    with session_scope(engine) as session:
        session.exec(
            delete(SignInThrottle).where(  # type: ignore[call-overload]
                col(SignInThrottle.last_failure_at) < cutoff,
                col(SignInThrottle.locked_until) < t,
                col(SignInThrottle.next_allowed_at) < t,
            )
        )


def clear(engine: Engine, keys: list[str]) -> int:
    with session_scope(engine) as session:
        result = session.exec(delete(SignInThrottle).where(col(SignInThrottle.key).in_(keys)))  # type: ignore[call-overload]
        return int(result.rowcount or 0)
