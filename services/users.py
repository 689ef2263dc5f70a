"""Dashboard users: a YAML file outside git holding bcrypt hashes and one role each.

The file has streamlit-authenticator's credentials shape
(``{"credentials": {"usernames": {name: {...}}}}``) so it can be passed to it as a dict.
Command line: ``python -m services.users add|passwd|role|list|remove|locked|unlock`` (see ``--help``).

The file is read fresh (re-parsed when it changed on disk) for every sign-in and every request's
role check, so the command line and the app always agree: a removed user is signed out at their
next click, an added one can sign in at once.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import fcntl
import functools
import getpass
import hashlib
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import yaml
from sqlalchemy.engine import Engine
from zxcvbn import zxcvbn

from services import audit
from services.adapters import sign_in_store
from services.auth import ROLES, Actor, require
from services.errors import ConfigurationError, ValidationError
from services.rules.passwords import DEMO_USERS, MAX_PASSWORD_LENGTH, password_problem
from services.rules.secrets import mask_secrets
from services.rules.sign_in_throttle import client_key, user_key
from services.rules.wording import counted

_USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{1,31}$")
# Permissive on purpose (something@something.tld): it catches a slip (no @, no domain, a space),
# not every address the mail rules allow or forbid.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


class UserExists(ValidationError):
    """The username is taken; the caller says where its user is changed."""


@dataclass(frozen=True)
class User:
    username: str
    name: str
    email: str
    role: str
    # When (epoch seconds) and by whom this user was added: a user removed and added again under
    # the same name is someone else, with another stamp (0.0: added before stamps were kept).
    added_at: float = 0.0
    added_by: str = ""


BCRYPT_ROUNDS = 12  # tests lower it; the dummy hash for unknown usernames follows it


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()


def check_password(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode()[:72], hashed.encode())
    except ValueError:
        return False


def _dummy_hash() -> str:
    """A hash nobody's password matches, checked for unknown usernames so that they cost the
    same bcrypt work as known ones (no timing tells which usernames exist)."""
    return _dummy_hash_for(BCRYPT_ROUNDS)


@functools.cache
def _dummy_hash_for(rounds: int) -> str:
    return bcrypt.hashpw(os.urandom(24).hex().encode(), bcrypt.gensalt(rounds=rounds)).decode()


def check_strength(password: str, *, username: str = "", name: str = "", email: str = "") -> None:
    """Refuse short, common, guessable or demo passwords (zxcvbn's estimate) with a reason."""
    inputs = [v for v in (username, name, email, "fcops", "stripe", "admin") if v]
    estimate = zxcvbn(password[:MAX_PASSWORD_LENGTH], user_inputs=inputs) if password else None
    problem = password_problem(password, estimate)
    if problem:
        raise ValidationError(problem)


_cache_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int, int], dict[str, Any]]] = {}


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def load(path: Path) -> dict[str, Any]:
    """The users file as it is on disk now (parsed again only when it changed)."""
    stamp = _stamp(path)
    if stamp is None:
        return {"credentials": {"usernames": {}}}
    with _cache_lock:
        hit = _cache.get(path)
        if hit is not None and hit[0] == stamp:
            return copy.deepcopy(hit[1])
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigurationError(f"Users file {path} is not valid YAML: {err}") from None
    data.setdefault("credentials", {}).setdefault("usernames", {})
    with _cache_lock:
        _cache[path] = (stamp, copy.deepcopy(data))
    return data


def credentials(path: Path) -> dict[str, Any]:
    """streamlit-authenticator's ``credentials`` dict, fresh from the file."""
    return load(path)["credentials"]


def _user(username: str, entry: Mapping[str, Any]) -> User:
    return User(
        username=username,
        name=f"{entry.get('first_name', '')} {entry.get('last_name', '')}".strip() or username,
        email=entry.get("email", ""),
        role=(entry.get("roles") or ["?"])[0],
        added_at=float(entry.get("added_at") or 0.0),
        added_by=str(entry.get("added_by") or ""),
    )


def session_stamp(entry: Mapping[str, Any] | None) -> str:
    """What a sign-in (its session and its cookie) is bound to: a digest of the user's stored
    password hash. Setting a password, or removing the user and adding one with the same name,
    changes it, so every earlier sign-in ends at its next click instead of living on (a cookie
    of a removed user signed its browser into the new account of that name)."""
    hashed = str((entry or {}).get("password") or "")
    return hashlib.sha256(f"fcops-session|{hashed}".encode()).hexdigest()[:24] if hashed else ""


def get_user(path: Path, username: str) -> User | None:
    """The user as the file holds it now; None if removed or if the role is unknown."""
    entry = credentials(path)["usernames"].get(username)
    if not entry:
        return None
    user = _user(username, entry)
    return user if user.role in ROLES else None


def verify(path: Path, username: str, password: str) -> User | None:
    """The user if ``password`` is theirs. Unknown usernames get the same bcrypt work."""
    entry = credentials(path)["usernames"].get(username) if username else None
    hashed = (entry or {}).get("password") or _dummy_hash()
    matches = check_password(password, hashed)
    if not matches or entry is None:
        return None
    user = _user(username, entry)
    return user if user.role in ROLES else None


@contextlib.contextmanager
def editing(path: Path) -> Iterator[dict[str, Any]]:
    """The users file to change, saved when the block ends, with an exclusive lock on a file
    beside it held meanwhile: two admins (or the command line and an app process) changing
    users at once both keep their change, instead of the second save dropping the first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            data = load(path)
            yield data
            save(path, data)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def save(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(dict(data), sort_keys=True))
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def list_users(path: Path) -> list[User]:
    users = load(path)["credentials"]["usernames"]
    return [_user(name, u) for name, u in sorted(users.items())]


def add_user(
    path: Path, *, username: str, password: str, role: str, name: str = "", email: str = "",
    added_by: str = "",
) -> User:
    if not _USERNAME.match(username):
        raise ValidationError(
            "Usernames are 2-32 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter."
        )
    if role not in ROLES:
        raise ValidationError(f"Role must be one of {', '.join(ROLES)}.")
    if email and not _EMAIL.match(email):
        raise ValidationError(
            "The email does not look like an address (name@example.com): correct it, or leave "
            "it blank."
        )
    check_strength(password, username=username, name=name, email=email)
    hashed = hash_password(password)  # before the lock: bcrypt takes a while
    with editing(path) as data:
        users = data["credentials"]["usernames"]
        if username in users:
            raise UserExists(
                f"User '{username}' already exists; change their role (role) or password "
                "(passwd) instead."
            )
        first, _, last = (name or username).partition(" ")
        users[username] = {
            "email": email or f"{username}@example.invalid",
            "first_name": first,
            "last_name": last,
            "password": hashed,
            "roles": [role],
            "failed_login_attempts": 0,
            "logged_in": False,
            "added_at": (added_at := time.time()),
            "added_by": added_by,
        }
    return User(username=username, name=name or username, email=email, role=role,
                added_at=added_at, added_by=added_by)


def set_password(path: Path, username: str, password: str) -> None:
    """Give an existing user a new password (checked like a new one)."""
    entry = load(path)["credentials"]["usernames"].get(username)
    if entry is None:
        raise ValidationError(f"There is no user '{username}'.")
    name = f"{entry.get('first_name', '')} {entry.get('last_name', '')}".strip()
    check_strength(password, username=username, name=name, email=entry.get("email", ""))
    hashed = hash_password(password)
    with editing(path) as data:
        if (entry := data["credentials"]["usernames"].get(username)) is None:
            raise ValidationError(f"There is no user '{username}'.")
        entry["password"] = hashed


def set_role(path: Path, username: str, role: str) -> None:
    """Give an existing user another role (read at their next click)."""
    if role not in ROLES:
        raise ValidationError(f"Role must be one of {', '.join(ROLES)}.")
    with editing(path) as data:
        if (entry := data["credentials"]["usernames"].get(username)) is None:
            raise ValidationError(f"There is no user '{username}'.")
        entry["roles"] = [role]


def remove_user(path: Path, username: str) -> None:
    with editing(path) as data:
        if data["credentials"]["usernames"].pop(username, None) is None:
            raise ValidationError(f"There is no user '{username}'.")


def ensure_demo_users(path: Path) -> None:
    """Sandbox mode: make sure one demo user per role exists."""
    data = load(path)
    users = data["credentials"]["usernames"]
    changed = False
    for role, (username, password) in DEMO_USERS.items():
        if username not in users:
            users[username] = {
                "email": f"{username}@demo.fcops.invalid",
                "first_name": f"Demo {role}",
                "last_name": "",
                "password": hash_password(password),
                "roles": [role],
                "failed_login_attempts": 0,
                "logged_in": False,
            }
            changed = True
    if changed:
        save(path, data)


def assert_no_demo_credentials(path: Path) -> None:
    """Outside sandbox mode the app refuses to start while a demo password still works."""
    users = load(path)["credentials"]["usernames"]
    for username, password in DEMO_USERS.values():
        entry = users.get(username)
        if entry and check_password(password, entry.get("password", "")):
            raise ConfigurationError(
                f"The demo user '{username}' still has its published demo password. Outside sandbox "
                f"mode remove it (python -m services.users remove {username}) or set a new password."
            )
    if not users:
        raise ConfigurationError(
            f"No users in {path}. Add one: python -m services.users add NAME --role admin"
        )


def role_of(path: Path, username: str) -> str | None:
    entry = load(path)["credentials"]["usernames"].get(username)
    roles = (entry or {}).get("roles") or []
    return roles[0] if roles and roles[0] in ROLES else None


@dataclass(frozen=True)
class Lockout:
    key: str
    failures: int
    locked_until: float | None  # None: slowed down, not locked
    next_allowed_at: float


def lockouts(engine: Engine, *, actor: Actor, now: Callable[[], float] = time.time) -> list[Lockout]:
    """Usernames and client addresses slowed down or locked right now (admins only)."""
    require(actor, "users.manage")
    t = now()
    return [
        Lockout(
            key=row.key,
            failures=row.failures,
            locked_until=row.locked_until if row.locked_until > t else None,
            next_allowed_at=row.next_allowed_at,
        )
        for row in sign_in_store.all_counters(engine)
        if row.locked_until > t or row.next_allowed_at > t
    ]


def unlock(
    engine: Engine, *, actor: Actor, username: str | None = None, client: str | None = None,
    idempotency_key: str | None = None,
) -> int:
    """Lift the sign-in delay and lockout of a username and/or a client address (admins only,
    audited). Returns how many stored counters were cleared (0: nothing was slowed down)."""
    keys = ([user_key(username)] if username else []) + ([client_key(client)] if client else [])
    with audit.audited(
        engine, actor=actor, action="user.unlock", target=", ".join(keys) or None,
        idempotency_key=idempotency_key,
    ) as ctx:
        require(actor, "users.manage")
        if not keys:
            raise ValidationError("Name a username or a client address to unlock.")
        cleared = sign_in_store.clear(engine, keys)
        ctx.params["cleared"] = cleared
        ctx.message = f"cleared {counted(cleared, 'counter')}"
    return cleared


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise ValidationError("The two passwords differ; nothing was changed.")
    return first


def _cli(argv: list[str] | None = None) -> int:
    from services.adapters import log_masking
    from services.adapters.settings import load_settings
    from services.adapters.store import open_store

    parser = argparse.ArgumentParser(prog="python -m services.users", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="add a user (password read from a prompt or stdin)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--name", default="")
    add.add_argument("--email", default="")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    pw = sub.add_parser("passwd", help="set a new password for a user")
    pw.add_argument("username")
    pw.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    role = sub.add_parser("role", help="give a user another role (from their next click)")
    role.add_argument("username")
    role.add_argument("--role", required=True, choices=ROLES)
    sub.add_parser("list", help="list users and roles")
    rm = sub.add_parser("remove", help="remove a user (signed out at their next click)")
    rm.add_argument("username")
    sub.add_parser("locked", help="list usernames and client addresses slowed down or locked")
    un = sub.add_parser("unlock", help="lift the sign-in delay and lockout of a username")
    un.add_argument("username", nargs="?", default=None)
    un.add_argument("--client", default=None, help="also (or only) lift it for this client address")
    args = parser.parse_args(argv)

    log_masking.install()
    settings = load_settings()
    path = settings.users_file
    cli_actor = Actor(username=f"cli:{getpass.getuser()}", role="admin", name="command line")
    try:
        if args.command == "list":
            for user in list_users(path):
                print(f"{user.username:20} {user.role:8} {user.name} <{user.email}>")
            return 0
        # The same database the app writes (settings.resolved_database_url), so these audit
        # rows appear on the app's Audit page.
        engine = open_store(settings.resolved_database_url)
        if args.command == "locked":
            for lock in lockouts(engine, actor=cli_actor):
                state = "locked" if lock.locked_until else "slowed"
                print(f"{lock.key:40} {state:7} {lock.failures} failures")
            return 0
        if args.command == "unlock":
            cleared = unlock(engine, actor=cli_actor, username=args.username, client=args.client)
            what = " and ".join(
                x for x in (args.username, args.client and f"client {args.client}") if x
            )
            print(f"Lifted the sign-in delay for {what}." if cleared else f"{what} was not slowed down.")
            return 0
        if args.command == "add":
            with audit.audited(
                engine, actor=cli_actor, action="user.add", target=args.username,
                params={"role": args.role},
            ):
                add_user(
                    path,
                    username=args.username,
                    password=_read_password(args.password_stdin),
                    role=args.role,
                    name=args.name,
                    email=args.email,
                    added_by=cli_actor.username,
                )
            print(f"Added {args.username} ({args.role}) to {path}")
        elif args.command == "role":
            with audit.audited(
                engine, actor=cli_actor, action="user.role", target=args.username,
                params={"role": args.role},
            ):
                set_role(path, args.username, args.role)
            print(f"{args.username} is now {args.role}")
        elif args.command == "passwd":
            with audit.audited(engine, actor=cli_actor, action="user.password", target=args.username):
                set_password(path, args.username, _read_password(args.password_stdin))
            print(f"Set a new password for {args.username}")
        else:
            with audit.audited(engine, actor=cli_actor, action="user.remove", target=args.username):
                remove_user(path, args.username)
            print(f"Removed {args.username} from {path}")
    except (ValidationError, ConfigurationError) as err:
        print(f"error: {mask_secrets(str(err))}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(_cli())
