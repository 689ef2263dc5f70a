"""Admins manage who may sign in with a password: the users file the command line writes too
(``python -m services.users``), read fresh on every click, so a change applies at once (a removed
user is signed out at their next click, a new one can sign in now).

Every change is admin-only (``users.manage``), audited, and keyed: the same key again (a double
click, a rerun) answers with what the first did (:attr:`Done.replayed`) and changes nothing more. An admin cannot remove
themself or change their own role, and the last admin cannot be removed or demoted, so nobody
locks the team out of its own dashboard.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import col, select

from services import users
from services.adapters import sign_in_store
from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.audit import AuditContext, audited
from services.auth import ROLES, Actor, require
from services.context import Services
from services.errors import ValidationError
from services.rules.sign_in_throttle import (
    POLICY,
    Counter,
    blocked_until,
    client_key,
    is_client,
    still_counted,
    user_key,
)


@dataclass(frozen=True)
class SignInCount:
    """Wrong passwords counted now for a username or an address, and what they hold back."""

    failures: int = 0  # 0: none counted
    locked_until: float | None = None  # epoch seconds; None: not locked
    slowed_until: float | None = None  # the next try allowed; None: not slowed
    refused: int = 0  # tries refused unchecked while slowed or locked (not wrong passwords)

    @property
    def slowed(self) -> bool:
        return bool(self.locked_until or self.slowed_until)


@dataclass(frozen=True)
class Person:
    """A user as the Users page lists them."""

    username: str
    name: str
    email: str
    role: str
    sign_in: SignInCount = field(default_factory=SignInCount)
    # Who this username is now (users.User.added_at): a change asked with the stamp of the user
    # an admin picked is refused once that user was removed and added again (:func:`_user`).
    added_at: float = 0.0


@dataclass(frozen=True)
class Address:
    """A client address (often a whole office behind one) with wrong passwords counted."""

    address: str
    sign_in: SignInCount


@dataclass(frozen=True)
class Done:
    """What a change answers: its sentence, and whether it was done before with the same key
    (a double click, a rerun), so this call changed nothing more."""

    message: str
    replayed: bool = False


def _count(row: Counter, now: float) -> SignInCount:
    until, locked = blocked_until(row, now, POLICY)
    return SignInCount(
        failures=row.failures,
        locked_until=until if locked else None,
        slowed_until=until if until and not locked else None,
        refused=row.refused or 0,
    )


def _counts(svc: Services) -> dict[str, SignInCount]:
    """Every username's and address's wrong passwords that still count, by stored key."""
    now = time.time()
    return {
        row.key: _count(row, now)
        for row in sign_in_store.all_counters(svc.engine)
        if still_counted(row, now, POLICY)
    }


def people(svc: Services, actor: Actor, path: Path) -> list[Person]:
    """Every password user, with their role and the wrong passwords counted for them now
    (whether or not sign-in is slowed or locked yet)."""
    require(actor, "users.manage")
    counts = _counts(svc)
    return [
        Person(
            username=user.username, name=user.name, email=user.email, role=user.role,
            sign_in=counts.get(user_key(user.username), SignInCount()), added_at=user.added_at,
        )
        for user in users.list_users(path)
    ]


def counted_addresses(svc: Services, actor: Actor) -> list[Address]:
    """The client addresses with wrong passwords counted now (from anyone behind them), slowed
    down or locked or not yet, for an admin to see an attack starting and to lift a delay: the
    held-back ones first, then by the number of wrong passwords."""
    require(actor, "users.manage")
    found = [
        Address(address=key.removeprefix("client:"), sign_in=count)
        for key, count in _counts(svc).items()
        if is_client(key) and count.failures
    ]
    return sorted(found, key=lambda a: (not a.sign_in.slowed, -a.sign_in.failures, a.address))


def _done_before(svc: Services, action: str, target: str, key: str | None) -> str | None:
    """The message of this change first made with ``key`` (a double click, a rerun), if any."""
    if not key:
        return None
    stmt = select(AuditEntry.message).where(
        AuditEntry.action == action,
        AuditEntry.target == target,
        AuditEntry.idempotency_key == key,
        AuditEntry.outcome == "ok",
    )
    with session_scope(svc.engine) as session:  # the first: later ones are its replays
        return session.exec(stmt.order_by(col(AuditEntry.id))).first()


def _keyed_change(
    svc: Services, actor: Actor, *, action: str, target: str, key: str | None,
    change: Callable[[AuditContext], str], params: dict[str, str] | None = None,
) -> Done:
    """The frame of every change here: one audit row, the role check, and the same key again
    answering with what the first did instead of running ``change`` (which returns its
    sentence and may add to the audit row's params)."""
    with audited(
        svc.engine, actor=actor, action=action, target=target or None, params=params,
        idempotency_key=key,
    ) as ctx:
        require(actor, "users.manage")
        if before := _done_before(svc, action, target, key):
            ctx.message = f"Already done: {before}"
            return Done(ctx.message, replayed=True)
        ctx.message = change(ctx)
    return Done(ctx.message)


def _user(path: Path, username: str, added_at: float | None = None) -> users.User:
    """The user now; with ``added_at`` (the stamp of the user as the admin picked them), refused
    when that user was removed and someone added under the same name since: a change meant for
    them must not reach the new person unseen."""
    found = users.get_user(path, username)
    if found is None:
        raise ValidationError(f"There is no user '{username}' (removed meanwhile?).")
    if added_at is not None and found.added_at != added_at:
        when = datetime.fromtimestamp(found.added_at, UTC)
        raise ValidationError(
            f"{username} was removed and added again by {found.added_by or 'someone'} at "
            f"{when:%H:%M} UTC; pick them again."
        )
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
) -> Done:
    """Add a user who can sign in at once."""
    username = username.strip().lower()

    def add(ctx: AuditContext) -> str:
        try:
            users.add_user(path, username=username, password=password, role=role,
                           name=name.strip(), email=email.strip(), added_by=actor.username)
        except users.UserExists:
            raise ValidationError(
                f"User '{username}' already exists; to change their role or password, choose "
                "them under Change a user."
            ) from None
        return f"Added {username} as {role}; they can sign in now."

    return _keyed_change(svc, actor, action="user.add", target=username, key=idempotency_key,
                         change=add, params={"role": role})


def change_role(
    svc: Services, actor: Actor, path: Path, username: str, role: str, *,
    added_at: float | None = None, idempotency_key: str | None = None,
) -> Done:
    """Give a user another role; it applies at their next click. ``added_at``: the stamp of the
    user as picked (:class:`Person`), refused if they were removed and added again since."""

    def change(ctx: AuditContext) -> str:
        if role not in ROLES:
            raise ValidationError(f"Role must be one of {', '.join(ROLES)}.")
        before = _user(path, username, added_at).role
        if before == role:
            return f"{username} is already {role}; nothing changed."
        if before == "admin":
            _keep_an_admin(path, actor, username, "change the role of")
        users.set_role(path, username, role)
        ctx.params["before"] = before
        return f"{username} is now {role} (was {before}); it applies at their next click."

    return _keyed_change(svc, actor, action="user.role", target=username, key=idempotency_key,
                         change=change, params={"role": role})


def new_password(
    svc: Services, actor: Actor, path: Path, username: str, password: str, *,
    added_at: float | None = None, idempotency_key: str | None = None,
) -> Done:
    """Set a user's password (checked like a new one) and lift their sign-in delay."""

    def change(ctx: AuditContext) -> str:
        _user(path, username, added_at)
        users.set_password(path, username, password)
        ctx.params["delay_lifted"] = sign_in_store.clear(svc.engine, [user_key(username)]) > 0
        return f"Set a new password for {username}; give it to them by a safe channel."

    return _keyed_change(svc, actor, action="user.password", target=username,
                         key=idempotency_key, change=change)


def remove_person(
    svc: Services, actor: Actor, path: Path, username: str, *,
    added_at: float | None = None, idempotency_key: str | None = None,
) -> Done:
    """Remove a user: they are signed out at their next click and cannot sign in again."""

    def change(ctx: AuditContext) -> str:
        if _user(path, username, added_at).role == "admin" or username == actor.username:
            _keep_an_admin(path, actor, username, "remove")
        users.remove_user(path, username)
        return f"Removed {username}; they are signed out at their next click."

    return _keyed_change(svc, actor, action="user.remove", target=username,
                         key=idempotency_key, change=change)


def _lift(
    svc: Services, actor: Actor, key: str, sentences: tuple[str, str], idempotency_key: str | None,
    first: Callable[[], object] = lambda: None,
) -> Done:
    """Clear one sign-in counter (``user:…`` or ``client:…``, the audit target the command
    line's ``unlock`` writes too); ``sentences``: (lifted, was not slowed down); ``first``: a
    check that may refuse it (in the audited frame)."""

    def change(ctx: AuditContext) -> str:
        if key.endswith(":"):
            raise ValidationError("Choose a user or an address to lift its sign-in delay.")
        first()
        ctx.params["cleared"] = cleared = sign_in_store.clear(svc.engine, [key])
        return sentences[0] if cleared else f"{sentences[1]}; nothing changed."

    return _keyed_change(svc, actor, action="user.unlock", target=key, key=idempotency_key,
                         change=change)


def lift_delay(
    svc: Services, actor: Actor, username: str, *, path: Path | None = None,
    added_at: float | None = None, idempotency_key: str | None = None,
) -> Done:
    """Lift the sign-in delay or lockout that wrong passwords put on a username; with ``path``
    and ``added_at`` (the user as picked), refused if they were removed and added again since."""
    key = user_key(username) if username.strip() else "user:"
    sentences = (f"{username} can sign in again now.", f"{username} was not slowed down")

    def still_picked() -> None:
        if path is not None:
            _user(path, username, added_at)

    return _lift(svc, actor, key, sentences, idempotency_key, still_picked)


def lift_address_delay(
    svc: Services, actor: Actor, address: str, *, idempotency_key: str | None = None
) -> Done:
    """Lift the sign-in delay or lockout that wrong passwords put on a client address: everyone
    behind it can try again now (each username's own delay stays)."""
    address = address.strip()
    key = client_key(address) if address else "client:"
    sentences = (f"Everyone at {address} can sign in again now.", f"{address} was not slowed down")
    return _lift(svc, actor, key, sentences, idempotency_key)
