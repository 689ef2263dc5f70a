"""Log out: end this browser's sign-in everywhere it is open, and audit it.

Every password sign-in gets a random id (``new_sign_in_id``) that its cookie carries, so every
tab of that browser restored from the cookie shares it; another browser or device signs in with
its own id. Log out records the id as ended (``services.adapters.ended_sign_ins``) and each run of
any tab asks :func:`has_ended` before doing anything, so the other tabs are signed out at their
next click instead of acting on behalf of someone who left. Other sign-ins of the same user stay.

:func:`has_ended` is on every run of every tab: one primary-key read, remembered for a second
(an ended id is remembered for good: it never comes back).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable

from sqlalchemy.engine import Engine

from services import audit
from services.adapters import ended_sign_ins
from services.auth import Actor, signed_in
from services.context import Services

__all__ = ["has_ended", "new_sign_in_id", "sign_out", "sign_in_id_of_token"]

RECHECK_SECONDS = 1.0
_MAX_REMEMBERED = 10_000
_lock = threading.Lock()
_seen: dict[tuple[int, str], tuple[float, bool]] = {}  # (engine, id) -> (read at, ended)


def new_sign_in_id() -> str:
    """A fresh id for one sign-in (random; names nobody)."""
    return secrets.token_urlsafe(18)


def sign_in_id_of_token(token: str) -> str:
    """The id of a sign-in whose cookie was written before sign-ins had ids: derived from the
    cookie itself, so every tab of that browser still shares it."""
    return "t-" + hashlib.sha256(token.encode()).hexdigest()[:32]


def _remember(engine: Engine, sign_in_id: str, ended: bool, t: float) -> None:
    with _lock:
        if len(_seen) >= _MAX_REMEMBERED:
            _seen.clear()
        _seen[(id(engine), sign_in_id)] = (t, ended)


def sign_out(
    svc: Services,
    actor: Actor | None,
    sign_in_id: str,
    *,
    expires_at: float,
    now: Callable[[], float] = time.time,
) -> None:
    """End the sign-in ``sign_in_id`` of ``actor`` (every tab that shares it is signed out at its
    next run) and write a ``signout`` audit row. ``expires_at`` is when its cookie expires: the
    record is dropped after that."""
    engine = svc.engine
    with audit.audited(engine, actor=actor, action="signout",
                       target=actor.username if isinstance(actor, Actor) else None) as ctx:
        who = signed_in(actor)
        ctx.target = who.username
        if sign_in_id:
            t = now()
            ended_sign_ins.end(engine, sign_in_id, username=who.username, t=t, expires_at=expires_at)
            _remember(engine, sign_in_id, True, time.monotonic())
        else:  # a sign-in from before sign-ins had ids, with no cookie to name it by
            ctx.message = "This tab only: the sign-in had no id."


def has_ended(svc: Services, sign_in_id: str | None) -> bool:
    """Whether the sign-in ``sign_in_id`` was logged out (in any tab, on any replica)."""
    engine = svc.engine
    if not sign_in_id:
        return False
    key, t = (id(engine), sign_in_id), time.monotonic()
    with _lock:
        seen = _seen.get(key)
    if seen is not None and (seen[1] or t - seen[0] < RECHECK_SECONDS):
        return seen[1]
    ended = ended_sign_ins.has_ended(engine, sign_in_id)
    _remember(engine, sign_in_id, ended, t)
    return ended
