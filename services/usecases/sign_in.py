"""Sign in with a username and password: growing delay, temporary lockout, audit.

Failures are counted per entered username (known or not, so the answer never tells which
usernames exist) and per client, in the store, so every app replica shares them
(``services.rules.sign_in_throttle`` says how fast it slows down). A success clears the
username's count. An admin sees the counts and lifts a delay (a username's or an address's)
on the Users page (``services.usecases.manage_users``) or with ``python -m services.users unlock
NAME`` / ``--client ADDRESS``.

Unknown usernames cost the same bcrypt work as known ones (``services.users.verify``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from services import audit, users
from services.adapters import sign_in_store
from services.auth import Actor
from services.rules.passwords import is_demo_password
from services.rules.sign_in_throttle import (
    POLICY,
    Policy,
    blocked_until,
    client_key,
    is_client,
    normalise_username,
    user_key,
    wait_message,
)

__all__ = ["POLICY", "Policy", "SignInResult", "sign_in"]

SIGNED_OUT_ROLE = "signed-out"


@dataclass(frozen=True)
class SignInResult:
    ok: bool
    message: str
    user: users.User | None = None
    wait_seconds: float = 0.0  # >0: no attempt is checked before this many seconds pass
    locked: bool = False


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
    stored = sign_in_store.read(engine, keys)
    held = [(key, *blocked_until(stored.get(key), t, policy)) for key in keys]
    held = [(key, until, locked) for key, until, locked in held if until]
    if held:  # not checked, but counted: the Users page shows every try, not only checked ones
        sign_in_store.record_refused(engine, [key for key, _, _ in held])
        key, until, locked = held[0]
        return SignInResult(
            ok=False,
            message=wait_message(until, t, locked, key),
            wait_seconds=until - t,
            locked=locked,
        )

    user = users.verify(users_file, name, password)
    reason = "wrong username or password"
    if user is not None and not sandbox and is_demo_password(password):
        user, reason = None, "published demo password outside sandbox mode"
    actor = Actor(username=name or "(blank)", role=user.role if user else SIGNED_OUT_ROLE)
    if user is not None:
        sign_in_store.clear(engine, [keys[0]])
        audit.record(
            engine, actor=actor, action="signin", target=name, outcome="ok",
            params={"client": client},
        )
        return SignInResult(ok=True, message="Signed in.", user=user)

    rows = sign_in_store.record_failure(engine, keys, t, policy)
    sign_in_store.forget_old(engine, t, policy)
    audit.record(
        engine, actor=actor, action="signin", target=name, outcome="refused",
        params={"client": client, "failures": rows[keys[0]].failures}, message=reason,
    )
    message = "Username or password is incorrect."
    wait, locked_now = 0.0, False
    for key in keys:
        row = rows[key]
        if row.locked_until > t and row.failures == policy.locks_at(client=is_client(key)):
            locked_now = True
            audit.record(
                engine, actor=actor, action="signin.lockout", target=key, outcome="refused",
                params={"client": client, "failures": row.failures,
                        "locked_seconds": int(policy.lock_seconds)},
                message=f"{key} locked until {datetime.fromtimestamp(row.locked_until, UTC):%Y-%m-%d %H:%M:%S} UTC",
            )
        until, locked = blocked_until(row, t, policy)
        if until - t > wait:
            wait = until - t
            message = f"Username or password is incorrect. {wait_message(until, t, locked, key)}"
    return SignInResult(ok=False, message=message, wait_seconds=wait, locked=locked_now)
