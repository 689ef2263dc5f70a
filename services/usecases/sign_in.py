"""Sign in with a username and password: growing delay, temporary lockout, audit.

Failures are counted per entered username (``user:NAME``, known or not, so the answer never
tells which usernames exist) and per client (``client:ADDRESS``) in the store, so every app
replica shares them. After ``free_failures`` failures each further one doubles the wait before
the next attempt is even checked; after ``lock_after`` failures the key is locked for
``lock_seconds``. A success clears the username's count. An admin lifts a lockout with
``python -m services.users unlock NAME`` (:func:`unlock`).

Unknown usernames cost the same bcrypt work as known ones (``services.users.verify``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from services import audit, users
from services.adapters.models import SignInThrottle
from services.adapters.store import retrying, session_scope
from services.auth import Actor, require
from services.errors import ValidationError
from services.rules.passwords import is_demo_password

SIGNED_OUT_ROLE = "signed-out"
MAX_USERNAME = 64


@dataclass(frozen=True)
class Policy:
    """How fast sign-in slows down. Per client the thresholds are higher: several people may
    share one address (an office NAT), and one attacker may try many usernames."""

    free_failures: int = 3
    base_delay: float = 1.0
    max_delay: float = 60.0
    lock_after: int = 10
    client_free_failures: int = 10
    client_lock_after: int = 30
    lock_seconds: float = 15 * 60
    window_seconds: float = 15 * 60  # failures older than this are forgotten

    def delay_after(self, failures: int, *, client: bool = False) -> float:
        free = self.client_free_failures if client else self.free_failures
        if failures <= free:
            return 0.0
        return float(min(self.base_delay * 2 ** (failures - free - 1), self.max_delay))

    def locks_at(self, *, client: bool = False) -> int:
        return self.client_lock_after if client else self.lock_after


POLICY = Policy()


@dataclass(frozen=True)
class SignInResult:
    ok: bool
    message: str
    user: users.User | None = None
    wait_seconds: float = 0.0  # >0: no attempt is checked before this many seconds pass
    locked: bool = False


def normalise_username(raw: str) -> str:
    """What the login form's text becomes (streamlit-authenticator lowercases and strips)."""
    cleaned = "".join(ch for ch in (raw or "") if ch.isprintable())
    return cleaned.strip().lower()[:MAX_USERNAME]


def user_key(username: str) -> str:
    return f"user:{normalise_username(username)}"


def client_key(client: str) -> str:
    return f"client:{(client or 'unknown')[:100]}"


def _is_client(key: str) -> bool:
    return key.startswith("client:")


def _read(session: Session, keys: Iterable[str]) -> dict[str, SignInThrottle]:
    rows = session.exec(select(SignInThrottle).where(col(SignInThrottle.key).in_(list(keys))))
    return {row.key: row for row in rows}


def _blocked_until(row: SignInThrottle | None, now: float, policy: Policy) -> tuple[float, bool]:
    """(time before which no attempt is checked, whether that is a lockout)."""
    if row is None:
        return 0.0, False
    if row.locked_until > now:
        return row.locked_until, True
    if row.last_failure_at and now - row.last_failure_at > policy.window_seconds:
        return 0.0, False
    return (row.next_allowed_at, False) if row.next_allowed_at > now else (0.0, False)


def _wait_message(until: float, now: float, locked: bool, key: str) -> str:
    seconds = max(1, math.ceil(until - now))
    if not locked:
        return f"Too many failed sign-ins. Wait {seconds} s before the next try."
    at = datetime.fromtimestamp(until, UTC).strftime("%H:%M UTC")
    who = "from this network" if _is_client(key) else "for this username"
    return (
        f"Too many failed sign-ins {who}: sign-in is paused until {at} (about "
        f"{math.ceil(seconds / 60)} min). An admin can lift this sooner."
    )


def sign_in(
    engine: Engine,
    *,
    users_file: Path,
    username: str,
    password: str,
    client: str,
    sandbox: bool,
    now: Callable[[], float] = time.time,
    policy: Policy = POLICY,
) -> SignInResult:
    """Check one sign-in attempt. Never raises for a wrong password; the result says why."""
    name = normalise_username(username)
    keys = [user_key(name), client_key(client)]
    t = now()
    with session_scope(engine) as session:
        stored = _read(session, keys)
    for key in keys:
        until, locked = _blocked_until(stored.get(key), t, policy)
        if until:
            return SignInResult(
                ok=False,
                message=_wait_message(until, t, locked, key),
                wait_seconds=until - t,
                locked=locked,
            )

    user = users.verify(users_file, name, password)
    reason = "wrong username or password"
    if user is not None and not sandbox and is_demo_password(password):
        user, reason = None, "published demo password outside sandbox mode"
    actor = Actor(username=name or "(blank)", role=user.role if user else SIGNED_OUT_ROLE)
    if user is not None:
        _clear(engine, [keys[0]])
        audit.record(
            engine, actor=actor, action="signin", target=name, outcome="ok",
            params={"client": client},
        )
        return SignInResult(ok=True, message="Signed in.", user=user)

    rows = _fail(engine, keys, t, policy)
    _forget_old(engine, t, policy)
    audit.record(
        engine, actor=actor, action="signin", target=name, outcome="refused",
        params={"client": client, "failures": rows[keys[0]].failures}, message=reason,
    )
    message = "Username or password is incorrect."
    wait, locked_now = 0.0, False
    for key in keys:
        row = rows[key]
        if row.locked_until > t and row.failures == policy.locks_at(client=_is_client(key)):
            locked_now = True
            audit.record(
                engine, actor=actor, action="signin.lockout", target=key, outcome="refused",
                params={"client": client, "failures": row.failures,
                        "locked_seconds": int(policy.lock_seconds)},
                message=f"{key} locked until {datetime.fromtimestamp(row.locked_until, UTC):%Y-%m-%d %H:%M:%S} UTC",
            )
        until, locked = _blocked_until(row, t, policy)
        if until - t > wait:
            wait = until - t
            message = f"Username or password is incorrect. {_wait_message(until, t, locked, key)}"
    return SignInResult(ok=False, message=message, wait_seconds=wait, locked=locked_now)


def _fail(engine: Engine, keys: list[str], t: float, policy: Policy) -> dict[str, SignInThrottle]:
    def work(session: Session) -> dict[str, SignInThrottle]:
        rows = {
            row.key: row
            for row in session.exec(
                select(SignInThrottle)
                .where(col(SignInThrottle.key).in_(keys))
                .with_for_update()
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
            row.failures += 1
            row.last_failure_at = t
            client = _is_client(key)
            row.next_allowed_at = t + policy.delay_after(row.failures, client=client)
            if row.failures >= policy.locks_at(client=client):
                row.locked_until = max(row.locked_until, t + policy.lock_seconds)
        session.flush()
        return {k: SignInThrottle.model_validate(v.model_dump()) for k, v in rows.items()}

    return retrying(engine, work)


def _forget_old(engine: Engine, t: float, policy: Policy) -> None:
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


def _clear(engine: Engine, keys: list[str]) -> int:
    with session_scope(engine) as session:
        result = session.exec(delete(SignInThrottle).where(col(SignInThrottle.key).in_(keys)))  # type: ignore[call-overload]
        return int(result.rowcount or 0)


@dataclass(frozen=True)
class Lockout:
    key: str
    failures: int
    locked_until: float | None  # None: slowed down, not locked
    next_allowed_at: float


def lockouts(engine: Engine, *, actor: Actor, now: Callable[[], float] = time.time) -> list[Lockout]:
    """Keys that are slowed down or locked right now (admins only)."""
    require(actor, "users.manage")
    t = now()
    with session_scope(engine) as session:
        rows = session.exec(select(SignInThrottle).order_by(col(SignInThrottle.key))).all()
    return [
        Lockout(
            key=row.key,
            failures=row.failures,
            locked_until=row.locked_until if row.locked_until > t else None,
            next_allowed_at=row.next_allowed_at,
        )
        for row in rows
        if row.locked_until > t or row.next_allowed_at > t
    ]


def unlock(engine: Engine, *, actor: Actor, username: str | None = None, client: str | None = None) -> int:
    """Lift the delay and lockout of a username and/or a client address (admins only, audited).

    Returns how many stored counters were cleared (0: nothing was slowed down or locked)."""
    keys = ([user_key(username)] if username else []) + ([client_key(client)] if client else [])
    target = ", ".join(keys) or None
    with audit.audited(engine, actor=actor, action="user.unlock", target=target) as ctx:
        require(actor, "users.manage")
        if not keys:
            raise ValidationError("Name a username or a client address to unlock.")
        cleared = _clear(engine, keys)
        ctx.params["cleared"] = cleared
        ctx.message = f"cleared {cleared} counter(s)"
    return cleared
