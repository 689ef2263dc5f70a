"""Dashboard users: a YAML file outside git holding bcrypt hashes and one role each.

The file has streamlit-authenticator's credentials shape
(``{"credentials": {"usernames": {name: {...}}}}``) so it can be passed to it as a dict.
Command line: ``python -m services.users add|list|remove`` (see ``--help``).
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from services.auth import ROLES, Actor
from services.errors import ConfigurationError, ValidationError

# One demo user per role, for sandbox mode only (listed in the README). Never valid elsewhere.
DEMO_USERS: dict[str, tuple[str, str]] = {
    "admin": ("admin", "fcops-admin-demo"),
    "ops": ("ops", "fcops-ops-demo"),
    "finance": ("finance", "fcops-finance-demo"),
    "manager": ("manager", "fcops-manager-demo"),
}
_USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{1,31}$")


@dataclass(frozen=True)
class User:
    username: str
    name: str
    email: str
    role: str


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=12)).decode()


def check_password(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        return False


def load(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"credentials": {"usernames": {}}}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigurationError(f"Users file {path} is not valid YAML: {err}") from None
    data.setdefault("credentials", {}).setdefault("usernames", {})
    return data


def save(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(dict(data), sort_keys=True))
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def list_users(path: Path) -> list[User]:
    users = load(path)["credentials"]["usernames"]
    return [
        User(
            username=name,
            name=f"{u.get('first_name', '')} {u.get('last_name', '')}".strip() or name,
            email=u.get("email", ""),
            role=(u.get("roles") or ["?"])[0],
        )
        for name, u in sorted(users.items())
    ]


def add_user(
    path: Path, *, username: str, password: str, role: str, name: str = "", email: str = ""
) -> User:
    if not _USERNAME.match(username):
        raise ValidationError(
            "Usernames are 2-32 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter."
        )
    if role not in ROLES:
        raise ValidationError(f"Role must be one of {', '.join(ROLES)}.")
    if len(password) < 10:
        raise ValidationError("Passwords need at least 10 characters.")
    data = load(path)
    users = data["credentials"]["usernames"]
    if username in users:
        raise ValidationError(f"User '{username}' already exists; remove it first to change it.")
    first, _, last = (name or username).partition(" ")
    users[username] = {
        "email": email or f"{username}@example.invalid",
        "first_name": first,
        "last_name": last,
        "password": hash_password(password),
        "roles": [role],
        "failed_login_attempts": 0,
        "logged_in": False,
    }
    save(path, data)
    return User(username=username, name=name or username, email=email, role=role)


def remove_user(path: Path, username: str) -> None:
    data = load(path)
    if data["credentials"]["usernames"].pop(username, None) is None:
        raise ValidationError(f"There is no user '{username}'.")
    save(path, data)


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


def _cli(argv: list[str] | None = None) -> int:
    from services import audit
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
    sub.add_parser("list", help="list users and roles")
    rm = sub.add_parser("remove", help="remove a user")
    rm.add_argument("username")
    args = parser.parse_args(argv)

    settings = load_settings()
    path = settings.users_file
    cli_actor = Actor(username=f"cli:{getpass.getuser()}", role="admin", name="command line")
    try:
        if args.command == "list":
            for user in list_users(path):
                print(f"{user.username:20} {user.role:8} {user.name} <{user.email}>")
            return 0
        engine = open_store(settings.resolved_database_url)
        if args.command == "add":
            password = (
                sys.stdin.readline().rstrip("\n")
                if args.password_stdin
                else getpass.getpass("Password: ")
            )
            add_user(
                path,
                username=args.username,
                password=password,
                role=args.role,
                name=args.name,
                email=args.email,
            )
            audit.record(
                engine,
                actor=cli_actor,
                action="user.add",
                target=args.username,
                outcome="ok",
                params={"role": args.role},
            )
            print(f"Added {args.username} ({args.role}) to {path}")
        else:
            remove_user(path, args.username)
            audit.record(
                engine, actor=cli_actor, action="user.remove", target=args.username, outcome="ok"
            )
            print(f"Removed {args.username} from {path}")
    except (ValidationError, ConfigurationError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(_cli())
