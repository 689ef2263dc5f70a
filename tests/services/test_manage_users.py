"""Admins manage users from the dashboard (SQLite and PostgreSQL): add, role, password, remove,
lift a sign-in delay; each keyed (the same key again changes nothing more), audited, and unable
to lock the team out (no removing or demoting yourself or the last admin)."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from services import audit, users
from services.auth import Actor
from services.errors import Forbidden, ValidationError
from services.usecases import manage_users, sign_in

ALICE = Actor(username="alice", role="admin")
PASSWORD = "plum-orbit-canvas-42"
OTHER_PASSWORD = "violet-harbor-stencil-77"


@pytest.fixture(autouse=True)
def cheap_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users, "BCRYPT_ROUNDS", 4)


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users.yaml"
    users.add_user(path, username="alice", password=PASSWORD, role="admin", name="Alice A")
    users.add_user(path, username="omar", password=PASSWORD, role="ops", name="Omar K")
    return path


@pytest.fixture
def svc(engine: Any) -> Any:
    return SimpleNamespace(engine=engine)  # users are not Stripe's: only the store is used


def rows(svc: Any, action: str) -> list[Any]:
    return audit.query(svc.engine, actor=ALICE, actions=[action], limit=100).rows


def wrong_passwords(svc: Any, users_file: Path, n: int) -> None:
    """``n`` wrong passwords for omar, each after the wait the one before asked for."""
    clock = [time.time()]
    for _ in range(n):
        result = sign_in.sign_in(svc.engine, users_file=users_file, username="omar",
                                 password="nope-nope-nope", client="10.0.0.9", sandbox=False,
                                 now=lambda: clock[0])
        clock[0] += result.wait_seconds + 1


def test_an_added_user_can_sign_in_and_the_same_key_adds_nothing_more(svc, users_file) -> None:  # type: ignore[no-untyped-def]
    said = manage_users.add_person(
        svc, ALICE, users_file, username=" Fatima ", role="finance", password=OTHER_PASSWORD,
        name="Fatima N", email="fatima@example.com", idempotency_key="k-add-1",
    )
    assert said == "Added fatima as finance; they can sign in now."
    assert users.verify(users_file, "fatima", OTHER_PASSWORD) is not None
    again = manage_users.add_person(
        svc, ALICE, users_file, username="fatima", role="finance", password=OTHER_PASSWORD,
        idempotency_key="k-add-1",
    )
    assert again.startswith("Already done: Added fatima")
    assert [u.username for u in users.list_users(users_file)] == ["alice", "fatima", "omar"]
    added = rows(svc, "user.add")
    assert [(r.target, r.outcome, r.idempotency_key) for r in added] == [
        ("fatima", "ok", "k-add-1"), ("fatima", "ok", "k-add-1")
    ]
    assert all("password" not in str(r.params).lower() or "[redacted]" in str(r.params)
               for r in added)
    with pytest.raises(ValidationError, match="already exists"):  # a new key: a new request
        manage_users.add_person(svc, ALICE, users_file, username="fatima", role="ops",
                                password=OTHER_PASSWORD, idempotency_key="k-add-2")


@pytest.mark.parametrize(
    ("username", "password", "sentence"),
    [
        ("Bad Name!", OTHER_PASSWORD, "Usernames are 2-32 characters"),
        ("zed", "password12", "(?i)password"),
        ("zed", "", "(?i)password"),
    ],
)
def test_bad_input_is_a_sentence_and_adds_nobody(svc, users_file, username, password, sentence) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match=sentence):
        manage_users.add_person(svc, ALICE, users_file, username=username, role="ops",
                                password=password, idempotency_key="k-bad")
    assert [u.username for u in users.list_users(users_file)] == ["alice", "omar"]
    assert [r.outcome for r in rows(svc, "user.add")] == ["error"]


def test_a_role_change_applies_and_reads_back(svc, users_file) -> None:  # type: ignore[no-untyped-def]
    said = manage_users.change_role(svc, ALICE, users_file, "omar", "manager", idempotency_key="k1")
    assert "omar is now manager (was ops)" in said
    assert users.role_of(users_file, "omar") == "manager"
    assert "already manager" in manage_users.change_role(
        svc, ALICE, users_file, "omar", "manager", idempotency_key="k2"
    )
    with pytest.raises(ValidationError, match="Role must be one of"):
        manage_users.change_role(svc, ALICE, users_file, "omar", "root", idempotency_key="k3")
    with pytest.raises(ValidationError, match="no user 'ghost'"):
        manage_users.change_role(svc, ALICE, users_file, "ghost", "ops", idempotency_key="k4")
    changed = rows(svc, "user.role")
    assert [r.outcome for r in changed] == ["ok", "ok", "error", "error"][::-1]
    assert changed[-1].params == {"role": "manager", "before": "ops"}


def test_nobody_removes_or_demotes_themself_or_the_last_admin(svc, users_file) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="cannot remove yourself"):
        manage_users.remove_person(svc, ALICE, users_file, "alice", idempotency_key="k1")
    with pytest.raises(ValidationError, match="cannot change the role of yourself"):
        manage_users.change_role(svc, ALICE, users_file, "alice", "ops", idempotency_key="k2")
    # Another admin, acting on alice, the only admin in the file: refused too.
    bob = Actor(username="bob", role="admin")
    with pytest.raises(ValidationError, match="only admin"):
        manage_users.change_role(svc, bob, users_file, "alice", "ops", idempotency_key="k3")
    with pytest.raises(ValidationError, match="only admin"):
        manage_users.remove_person(svc, bob, users_file, "alice", idempotency_key="k4")
    assert users.role_of(users_file, "alice") == "admin"
    # With a second admin, one may be demoted by the other.
    manage_users.change_role(svc, ALICE, users_file, "omar", "admin", idempotency_key="k5")
    manage_users.change_role(svc, Actor("omar", "admin"), users_file, "alice", "ops",
                             idempotency_key="k6")
    assert users.role_of(users_file, "alice") == "ops"


def test_a_removed_user_cannot_sign_in_and_a_second_click_is_the_same_removal(svc, users_file) -> None:  # type: ignore[no-untyped-def]
    said = manage_users.remove_person(svc, ALICE, users_file, "omar", idempotency_key="k-rm")
    assert said == "Removed omar; they are signed out at their next click."
    assert users.verify(users_file, "omar", PASSWORD) is None and users.role_of(
        users_file, "omar") is None
    assert manage_users.remove_person(
        svc, ALICE, users_file, "omar", idempotency_key="k-rm").startswith("Already done")
    with pytest.raises(ValidationError, match="no user 'omar'"):
        manage_users.remove_person(svc, ALICE, users_file, "omar", idempotency_key="k-rm2")


def test_a_new_password_works_at_once_and_lifts_the_sign_in_delay(svc, users_file) -> None:  # type: ignore[no-untyped-def]
    wrong_passwords(svc, users_file, 6)  # omar is slowed down
    listed = {p.username: p for p in manage_users.people(svc, ALICE, users_file)}
    assert listed["omar"].failures >= 6 and listed["alice"].failures == 0
    assert listed["omar"].locked_until or listed["omar"].slowed_until

    with pytest.raises(ValidationError):
        manage_users.new_password(svc, ALICE, users_file, "omar", "omar12345", idempotency_key="p0")
    said = manage_users.new_password(svc, ALICE, users_file, "omar", OTHER_PASSWORD,
                                     idempotency_key="p1")
    assert "new password for omar" in said
    assert users.verify(users_file, "omar", OTHER_PASSWORD) is not None
    assert users.verify(users_file, "omar", PASSWORD) is None
    after = {p.username: p for p in manage_users.people(svc, ALICE, users_file)}["omar"]
    assert after.failures == 0 and not after.locked_until and not after.slowed_until
    entry = rows(svc, "user.password")[0]
    assert entry.outcome == "ok" and entry.params == {"delay_lifted": True}
    assert OTHER_PASSWORD not in str(entry.params) + str(entry.message)


def test_lifting_a_delay_says_whether_there_was_one(svc, users_file) -> None:  # type: ignore[no-untyped-def]
    wrong_passwords(svc, users_file, 5)
    assert manage_users.lift_delay(svc, ALICE, "omar", idempotency_key="u1") == (
        "omar can sign in again now."
    )
    assert "was not slowed down" in manage_users.lift_delay(svc, ALICE, "omar",
                                                            idempotency_key="u2")
    assert [r.idempotency_key for r in rows(svc, "user.unlock")] == ["u2", "u1"]


@pytest.mark.parametrize("role", ["ops", "finance", "manager"])
def test_other_roles_are_refused_and_change_nothing(svc, users_file, role) -> None:  # type: ignore[no-untyped-def]
    who = Actor(username="omar", role=role)
    with pytest.raises(Forbidden):
        manage_users.people(svc, who, users_file)
    with pytest.raises(Forbidden):
        manage_users.add_person(svc, who, users_file, username="eve", role="admin",
                                password=OTHER_PASSWORD, idempotency_key="x")
    with pytest.raises(Forbidden):
        manage_users.change_role(svc, who, users_file, "omar", "admin", idempotency_key="y")
    assert users.role_of(users_file, "omar") == "ops" and users.role_of(users_file, "eve") is None
    assert {r.outcome for r in rows(svc, "user.add") + rows(svc, "user.role")} == {"refused"}
