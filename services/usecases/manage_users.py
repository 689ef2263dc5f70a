"""Admins manage who may sign in with a password: the users file the command line writes too
(``python -m services.users``), read fresh on every click, so a change applies at once (a removed
user is signed out at their next click, a new one can sign in now).

Every change is admin-only (``users.manage``), audited, and keyed: the same key again (a double
click, a rerun) answers with what the first did and changes nothing more. An admin cannot remove
themself or change their own role, and the last admin cannot be removed or demoted, so nobody
locks the team out of its own dashboard.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import col, select

from services import users
from services.adapters import sign_in_store
from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.audit import audited
from services.auth import ROLES, Actor, require
from services.context import Services
from services.errors import ValidationError
from services.rules.sign_in_throttle import user_key


@dataclass(frozen=True)
class Person:
    """A user as the Users page lists them."""

    username: str
    name: str
    email: str
    role: str
    failures: int  # wrong passwords counted now (0: none)
    locked_until: float | None  # epoch seconds; None: not locked
    slowed_until: float | None  # the next try allowed; None: not slowed


def people(svc: Services, actor: Actor, path: Path) -> list[Person]:
    """Every password user, with their role and whether sign-in is slowed or locked for them."""
    require(actor, "users.manage")
    now = time.time()
    locks = {lock.key: lock for lock in users.lockouts(svc.engine, actor=actor, now=lambda: now)}
    found = []
    for user in users.list_users(path):
        lock = locks.get(user_key(user.username))
        found.append(
            Person(
                username=user.username,
                name=user.name,
                email=user.email,
                role=user.role,
                failures=lock.failures if lock else 0,
                locked_until=lock.locked_until if lock else None,
                slowed_until=lock.next_allowed_at if lock and lock.next_allowed_at > now else None,
            )
        )
    return found


def _done_before(svc: Services, action: str, target: str, key: str | None) -> str | None:
    """The message of this change already made with ``key`` (a double click, a rerun), if any."""
    if not key:
        return None
    stmt = select(AuditEntry.message).where(
        AuditEntry.action == action,
        AuditEntry.target == target,
        AuditEntry.idempotency_key == key,
        AuditEntry.outcome == "ok",
    )
    with session_scope(svc.engine) as session:
        message = session.exec(stmt.order_by(col(AuditEntry.id).desc())).first()
    return f"Already done: {message}" if message else None


def _user(path: Path, username: str) -> users.User:
    found = users.get_user(path, username)
    if found is None:
        raise ValidationError(f"There is no user '{username}' (removed meanwhile?).")
    return found


def _keep_an_admin(path: Path, actor: Actor, username: str, doing: str) -> None:
    if username == actor.username:
        raise ValidationError(
            f"You cannot {doing} yourself; ask another admin, so someone can always sign in "
            "as admin."
        )
    admins = [u for u in users.list_users(path) if u.role == "admin" and u.username != username]
    if not admins:
        raise ValidationError(f"'{username}' is the only admin; add another admin first.")


def add_person(
    svc: Services, actor: Actor, path: Path, *, username: str, role: str, password: str,
    name: str = "", email: str = "", idempotency_key: str | None = None,
) -> str:
    """Add a user who can sign in at once; returns the sentence to show."""
    username = username.strip().lower()
    with audited(
        svc.engine, actor=actor, action="user.add", target=username or None,
        params={"role": role}, idempotency_key=idempotency_key,
    ) as ctx:
        require(actor, "users.manage")
        if again := _done_before(svc, "user.add", username, idempotency_key):
            ctx.message = again
            return again
        users.add_user(
            path, username=username, password=password, role=role, name=name.strip(),
            email=email.strip(),
        )
        ctx.message = f"Added {username} as {role}; they can sign in now."
    return ctx.message


def change_role(
    svc: Services, actor: Actor, path: Path, username: str, role: str, *,
    idempotency_key: str | None = None,
) -> str:
    """Give a user another role; it applies at their next click."""
    with audited(
        svc.engine, actor=actor, action="user.role", target=username,
        params={"role": role}, idempotency_key=idempotency_key,
    ) as ctx:
        require(actor, "users.manage")
        if again := _done_before(svc, "user.role", username, idempotency_key):
            ctx.message = again
            return again
        if role not in ROLES:
            raise ValidationError(f"Role must be one of {', '.join(ROLES)}.")
        before = _user(path, username).role
        if before == role:
            ctx.message = f"{username} is already {role}; nothing changed."
            return ctx.message
        if before == "admin":
            _keep_an_admin(path, actor, username, "change the role of")
        users.set_role(path, username, role)
        ctx.params["before"] = before
        ctx.message = f"{username} is now {role} (was {before}); it applies at their next click."
    return ctx.message


def new_password(
    svc: Services, actor: Actor, path: Path, username: str, password: str, *,
    idempotency_key: str | None = None,
) -> str:
    """Set a user's password (checked like a new one) and lift their sign-in delay."""
    with audited(
        svc.engine, actor=actor, action="user.password", target=username,
        idempotency_key=idempotency_key,
    ) as ctx:
        require(actor, "users.manage")
        if again := _done_before(svc, "user.password", username, idempotency_key):
            ctx.message = again
            return again
        _user(path, username)
        users.set_password(path, username, password)
        ctx.params["delay_lifted"] = sign_in_store.clear(svc.engine, [user_key(username)]) > 0
        ctx.message = f"Set a new password for {username}; give it to them by a safe channel."
    return ctx.message


def remove_person(
    svc: Services, actor: Actor, path: Path, username: str, *,
    idempotency_key: str | None = None,
) -> str:
    """Remove a user: they are signed out at their next click and cannot sign in again."""
    with audited(
        svc.engine, actor=actor, action="user.remove", target=username,
        idempotency_key=idempotency_key,
    ) as ctx:
        require(actor, "users.manage")
        if again := _done_before(svc, "user.remove", username, idempotency_key):
            ctx.message = again
            return again
        if _user(path, username).role == "admin" or username == actor.username:
            _keep_an_admin(path, actor, username, "remove")
        users.remove_user(path, username)
        ctx.message = f"Removed {username}; they are signed out at their next click."
    return ctx.message


def lift_delay(
    svc: Services, actor: Actor, username: str, *, idempotency_key: str | None = None
) -> str:
    """Lift the sign-in delay or lockout that wrong passwords put on a username (audited by
    :func:`services.users.unlock`; doing it twice is harmless)."""
    cleared = users.unlock(
        svc.engine, actor=actor, username=username, idempotency_key=idempotency_key
    )
    return (
        f"{username} can sign in again now." if cleared
        else f"{username} was not slowed down; nothing changed."
    )
