"""Admins manage users from the dashboard (SQLite and PostgreSQL): add, role, password, remove,
lift a sign-in delay; each keyed (the same key again changes nothing more), audited, and unable
to lock the team out (no removing or demoting yourself or the last admin)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
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


def wrong_passwords(svc: Any, users_file: Path, n: int, *, ago: float = 0.0) -> None:
    """``n`` wrong passwords for omar, each after the wait the one before asked for, the first
    ``ago`` seconds ago."""
    clock = [time.time() - ago]
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
    assert said == manage_users.Done("Added fatima as finance; they can sign in now.")
    assert users.verify(users_file, "fatima", OTHER_PASSWORD) is not None
    again = manage_users.add_person(
        svc, ALICE, users_file, username="fatima", role="finance", password=OTHER_PASSWORD,
        idempotency_key="k-add-1",
    )
    assert again.replayed and again.message.startswith("Already done: Added fatima")
    assert [u.username for u in users.list_users(users_file)] == ["alice", "fatima", "omar"]
    added = rows(svc, "user.add")
    assert [(r.target, r.outcome, r.idempotency_key) for r in added] == [
        ("fatima", "ok", "k-add-1"), ("fatima", "ok", "k-add-1")
    ]
    assert all("password" not in str(r.params).lower() or "[redacted]" in str(r.params)
               for r in added)
    # A new key: a new request, refused; it says where a user is changed (not "remove it").
    with pytest.raises(ValidationError, match="already exists; to change their role or "
                       "password, choose them under Change a user"):
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
    assert "omar is now manager (was ops)" in said.message and not said.replayed
    assert users.role_of(users_file, "omar") == "manager"
    assert "already manager" in manage_users.change_role(
        svc, ALICE, users_file, "omar", "manager", idempotency_key="k2"
    ).message
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
    assert said.message == "Removed omar; they are signed out at their next click."
    assert users.verify(users_file, "omar", PASSWORD) is None and users.role_of(
        users_file, "omar") is None
    for _ in range(2):  # each replay answers with the removal itself, not with a replay of it
        again = manage_users.remove_person(svc, ALICE, users_file, "omar", idempotency_key="k-rm")
        assert again == manage_users.Done(f"Already done: {said.message}", replayed=True)
    with pytest.raises(ValidationError, match="no user 'omar'"):
        manage_users.remove_person(svc, ALICE, users_file, "omar", idempotency_key="k-rm2")


def test_a_new_password_works_at_once_and_lifts_the_sign_in_delay(svc, users_file) -> None:  # type: ignore[no-untyped-def]
    wrong_passwords(svc, users_file, 6)  # omar is slowed down
    listed = {p.username: p for p in manage_users.people(svc, ALICE, users_file)}
    assert listed["omar"].sign_in.failures >= 6 and listed["alice"].sign_in.failures == 0
    assert listed["omar"].sign_in.slowed

    with pytest.raises(ValidationError):
        manage_users.new_password(svc, ALICE, users_file, "omar", "omar12345", idempotency_key="p0")
    said = manage_users.new_password(svc, ALICE, users_file, "omar", OTHER_PASSWORD,
                                     idempotency_key="p1")
    assert "new password for omar" in said.message
    assert users.verify(users_file, "omar", OTHER_PASSWORD) is not None
    assert users.verify(users_file, "omar", PASSWORD) is None
    after = {p.username: p for p in manage_users.people(svc, ALICE, users_file)}["omar"]
    assert after.sign_in == manage_users.SignInCount()
    entry = rows(svc, "user.password")[0]
    assert entry.outcome == "ok" and entry.params == {"delay_lifted": True}
    assert OTHER_PASSWORD not in str(entry.params) + str(entry.message)


def test_lifting_a_delay_says_whether_there_was_one(svc, users_file) -> None:  # type: ignore[no-untyped-def]
    wrong_passwords(svc, users_file, 5)
    assert manage_users.lift_delay(svc, ALICE, "omar", idempotency_key="u1") == manage_users.Done(
        "omar can sign in again now."
    )
    assert manage_users.lift_delay(svc, ALICE, "omar", idempotency_key="u1").replayed
    assert manage_users.lift_delay(svc, ALICE, "omar", idempotency_key="u2") == manage_users.Done(
        "omar was not slowed down; nothing changed."
    )
    assert [r.idempotency_key for r in rows(svc, "user.unlock")] == ["u2", "u1", "u1"]


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


def test_wrong_passwords_show_from_the_first_before_sign_in_slows_down(svc, users_file) -> None:  # type: ignore[no-untyped-def]
    wrong_passwords(svc, users_file, 2, ago=60)  # the policy lets 3 through before any delay
    omar = {p.username: p for p in manage_users.people(svc, ALICE, users_file)}["omar"]
    assert omar.sign_in == manage_users.SignInCount(failures=2)
    assert not omar.sign_in.slowed


def test_wrong_passwords_past_the_window_no_longer_show(svc, users_file) -> None:  # type: ignore[no-untyped-def]
    wrong_passwords(svc, users_file, 2, ago=20 * 60)  # forgotten after 15 minutes
    omar = {p.username: p for p in manage_users.people(svc, ALICE, users_file)}["omar"]
    assert omar.sign_in == manage_users.SignInCount()


def test_an_address_is_listed_from_its_first_wrong_password_and_an_admin_lifts_its_delay_once(svc, users_file) -> None:  # type: ignore[no-untyped-def]
    assert manage_users.counted_addresses(svc, ALICE) == []
    wrong_passwords(svc, users_file, 1)  # omar, from 10.0.0.9
    # Listed from the first wrong password, before any delay.
    assert manage_users.counted_addresses(svc, ALICE) == [
        manage_users.Address("10.0.0.9", manage_users.SignInCount(failures=1))
    ]
    for n in range(10):  # then names guessed from there: past the address's 10 free ones
        sign_in.sign_in(svc.engine, users_file=users_file, username=f"guess{n}",
                        password="nope-nope-nope", client="10.0.0.9", sandbox=False)
    (office,) = manage_users.counted_addresses(svc, ALICE)
    assert office.address == "10.0.0.9" and office.sign_in.failures == 11
    assert office.sign_in.slowed_until and not office.sign_in.locked_until

    said = manage_users.lift_address_delay(svc, ALICE, " 10.0.0.9 ", idempotency_key="a1")
    assert said == manage_users.Done("Everyone at 10.0.0.9 can sign in again now.")
    assert manage_users.counted_addresses(svc, ALICE) == []
    # omar's own count (a username's) is not the address's: it stays.
    assert {p.username: p for p in manage_users.people(svc, ALICE, users_file)}[
        "omar"].sign_in.failures == 1
    assert manage_users.lift_address_delay(svc, ALICE, "10.0.0.9", idempotency_key="a1").replayed
    assert manage_users.lift_address_delay(svc, ALICE, "10.0.0.9", idempotency_key="a2") == (
        manage_users.Done("10.0.0.9 was not slowed down; nothing changed.")
    )
    with pytest.raises(ValidationError, match="Choose a user or an address"):
        manage_users.lift_address_delay(svc, ALICE, "  ", idempotency_key="a3")
    lifted = rows(svc, "user.unlock")
    assert [(r.target, r.outcome, r.idempotency_key) for r in lifted] == [
        ("client:", "error", "a3"), ("client:10.0.0.9", "ok", "a2"),
        ("client:10.0.0.9", "ok", "a1"), ("client:10.0.0.9", "ok", "a1"),
    ]
    assert lifted[-1].actor == "alice" and lifted[-1].params == {"cleared": 1}
    with pytest.raises(Forbidden):
        manage_users.counted_addresses(svc, Actor(username="omar", role="ops"))
    with pytest.raises(Forbidden):
        manage_users.lift_address_delay(svc, Actor(username="omar", role="ops"), "10.0.0.9",
                                        idempotency_key="a4")


@pytest.mark.parametrize("email", ["fatima", "fatima@example", "fatima@@example.com",
                                   "fatima example@example.com", "@example.com", "fatima@.com"])
def test_a_malformed_email_is_a_sentence_and_adds_nobody(svc, users_file, email) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match=r"does not look like an address \(name@example"):
        manage_users.add_person(svc, ALICE, users_file, username="fatima", role="ops",
                                password=OTHER_PASSWORD, email=email, idempotency_key="k-mail")
    assert users.get_user(users_file, "fatima") is None


def test_a_blank_or_unusual_but_plausible_email_is_kept(svc, users_file) -> None:  # type: ignore[no-untyped-def]
    for n, email in enumerate(["", "f.n+ops@mail.example.co.uk"]):
        manage_users.add_person(svc, ALICE, users_file, username=f"f{n}", role="ops",
                                password=OTHER_PASSWORD, email=email, idempotency_key=f"k{n}")
    assert users.get_user(users_file, "f1").email == "f.n+ops@mail.example.co.uk"  # type: ignore[union-attr]
    assert users.get_user(users_file, "f0").email.endswith("@example.invalid")  # type: ignore[union-attr]


def test_a_change_for_a_user_removed_and_added_again_since_the_pick_is_refused_and_audited(svc, users_file) -> None:  # type: ignore[no-untyped-def]
    """Alice picked omar; bob removed him and added someone else as omar. Each change alice
    asks with the omar she picked is refused with a sentence, changes nothing and is audited;
    picked anew (the new stamp), it goes through."""
    picked = next(p for p in manage_users.people(svc, ALICE, users_file) if p.username == "omar")
    bob = Actor(username="bob", role="admin")
    manage_users.remove_person(svc, bob, users_file, "omar", idempotency_key="b1")
    manage_users.add_person(svc, bob, users_file, username="omar", role="finance",
                            password=OTHER_PASSWORD, name="Omar Two", idempotency_key="b2")
    new = users.get_user(users_file, "omar")
    assert new is not None and new.added_by == "bob" and new.added_at != picked.added_at
    at = datetime.fromtimestamp(new.added_at, UTC)
    said = f"omar was removed and added again by bob at {at:%H:%M} UTC; pick them again."
    stale = picked.added_at
    asks = {
        "user.role": lambda: manage_users.change_role(
            svc, ALICE, users_file, "omar", "manager", added_at=stale, idempotency_key="k1"),
        "user.password": lambda: manage_users.new_password(
            svc, ALICE, users_file, "omar", PASSWORD, added_at=stale, idempotency_key="k2"),
        "user.remove": lambda: manage_users.remove_person(
            svc, ALICE, users_file, "omar", added_at=stale, idempotency_key="k3"),
        "user.unlock": lambda: manage_users.lift_delay(
            svc, ALICE, "omar", path=users_file, added_at=stale, idempotency_key="k4"),
    }
    for action, asked in asks.items():
        with pytest.raises(ValidationError) as refused:
            asked()
        assert str(refused.value) == said, action
        row = rows(svc, action)[0]  # the newest
        assert (row.actor, row.outcome, row.message) == ("alice", "error", said), action
    assert users.get_user(users_file, "omar") == new  # nothing changed
    assert users.verify(users_file, "omar", OTHER_PASSWORD) is not None

    fresh = next(p for p in manage_users.people(svc, ALICE, users_file) if p.username == "omar")
    assert fresh.added_at == new.added_at
    done = manage_users.change_role(svc, ALICE, users_file, "omar", "manager",
                                    added_at=fresh.added_at, idempotency_key="k5")
    assert "omar is now manager (was finance)" in done.message
