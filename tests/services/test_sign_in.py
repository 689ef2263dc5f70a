"""Sign-in hardening on SQLite and PostgreSQL: growing delay, lockout, audit, unlock, the same
work for unknown usernames, demo passwords refused outside sandbox mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from services import audit, users
from services.auth import Actor
from services.errors import Forbidden
from services.rules.passwords import DEMO_USERS
from services.usecases import sign_in

ADMIN = Actor(username="alice", role="admin")
PASSWORD = "plum-orbit-canvas-42"
POLICY = sign_in.Policy()


class Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(autouse=True)
def cheap_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cost 4 instead of 12 for every hash here (stored and dummy alike): same code, less CPU."""
    monkeypatch.setattr(users, "BCRYPT_ROUNDS", 4)


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users.yaml"
    users.add_user(path, username="omar", password=PASSWORD, role="ops", name="Omar K")
    return path


def _try(engine, users_file: Path, clock: Clock, *, username: str = "omar",  # type: ignore[no-untyped-def]
         password: str = "wrong-password-1", client: str = "10.0.0.1", sandbox: bool = False):
    return sign_in.sign_in(engine, users_file=users_file, username=username, password=password,
                           client=client, sandbox=sandbox, now=clock, policy=POLICY)


def _rows(engine, action: str) -> list:  # type: ignore[no-untyped-def,type-arg]
    return audit.query(engine, actor=ADMIN, actions=[action], limit=1000).rows


def test_the_delay_grows_with_each_failure_and_early_tries_are_not_checked(engine, users_file) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    waits = []
    for _ in range(7):
        result = _try(engine, users_file, clock)
        assert not result.ok and result.message.startswith("Username or password is incorrect.")
        waits.append(round(result.wait_seconds))
        # Before the wait is over even the right password is not looked at.
        if result.wait_seconds:
            early = _try(engine, users_file, clock, password=PASSWORD)
            assert not early.ok and "Wait" in early.message and not early.locked
        clock.t += result.wait_seconds
    assert waits == [0, 0, 0, 1, 2, 4, 8]
    refused = _rows(engine, "signin")
    assert len(refused) == 7  # checked attempts only; early ones were not checked
    assert {r.outcome for r in refused} == {"refused"}
    assert refused[0].params["client"] == "10.0.0.1"
    assert refused[0].params["failures"] == 7


def test_repeated_failures_lock_the_username_audited_until_it_expires(engine, users_file) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    result = None
    for _ in range(POLICY.lock_after):
        result = _try(engine, users_file, clock)
        clock.t += 0 if result.locked else result.wait_seconds
    assert result is not None and result.locked
    locks = _rows(engine, "signin.lockout")
    assert [(r.target, r.outcome) for r in locks] == [("user:omar", "refused")]
    assert "locked until" in (locks[0].message or "")
    # Locked: the right password does not help, from any address.
    clock.t += 60
    blocked = _try(engine, users_file, clock, password=PASSWORD, client="10.9.9.9")
    assert not blocked.ok and blocked.locked and "paused until" in blocked.message
    assert len(_rows(engine, "signin.lockout")) == 1  # audited once, not per blocked try
    clock.t += POLICY.lock_seconds
    assert _try(engine, users_file, clock, password=PASSWORD, client="10.9.9.9").ok


def test_an_admin_lifts_a_lockout_and_that_is_audited(engine, users_file) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    for i in range(POLICY.lock_after):
        result = _try(engine, users_file, clock, client=f"10.0.0.{i}")
        clock.t += 0 if result.locked else result.wait_seconds
    assert [lock.key for lock in users.lockouts(engine, actor=ADMIN, now=clock)] == ["user:omar"]
    with pytest.raises(Forbidden):
        users.unlock(engine, actor=Actor(username="fay", role="finance"), username="omar")
    assert users.unlock(engine, actor=ADMIN, username="OMAR ") == 1
    rows = _rows(engine, "user.unlock")
    assert [(r.actor, r.outcome, r.target) for r in rows] == [
        ("alice", "ok", "user:omar"), ("fay", "refused", "user:omar")]
    assert rows[0].message == "cleared 1 counter"  # it said "cleared 1 counter(s)"
    assert _try(engine, users_file, clock, password=PASSWORD, client="10.0.0.77").ok
    assert users.lockouts(engine, actor=ADMIN, now=clock) == []


def test_one_client_trying_many_usernames_is_slowed_and_then_locked(engine, users_file) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    waits = []
    for i in range(POLICY.client_lock_after):
        result = _try(engine, users_file, clock, username=f"guess{i}", client="203.0.113.5")
        waits.append(result.wait_seconds)
        clock.t += 0 if result.locked else result.wait_seconds
    assert waits[: POLICY.client_free_failures] == [0] * POLICY.client_free_failures
    assert waits[POLICY.client_free_failures : POLICY.client_free_failures + 3] == [1, 2, 4]
    assert result.locked
    assert [r.target for r in _rows(engine, "signin.lockout")] == ["client:203.0.113.5"]
    # Another address is not affected; the locked one is, whatever the username.
    assert _try(engine, users_file, clock, password=PASSWORD, client="198.51.100.1").ok
    late = _try(engine, users_file, clock, password=PASSWORD, client="203.0.113.5")
    assert not late.ok and "from this network" in late.message


def test_a_success_clears_the_username_count(engine, users_file) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    for _ in range(POLICY.free_failures):
        _try(engine, users_file, clock)
    ok = _try(engine, users_file, clock, password=PASSWORD)
    assert ok.ok and ok.user is not None and ok.user.role == "ops"
    assert _rows(engine, "signin")[0].outcome == "ok"
    # The count starts again: the next failure costs no wait.
    assert _try(engine, users_file, clock).wait_seconds == 0


def test_unknown_usernames_cost_the_same_bcrypt_check_and_get_the_same_answer(  # type: ignore[no-untyped-def]
    engine, users_file, monkeypatch
) -> None:
    calls: list[str] = []
    real = users.check_password

    def counting(password: str, hashed: str) -> bool:
        calls.append(hashed[:7])
        return real(password, hashed)

    monkeypatch.setattr(users, "check_password", counting)
    clock = Clock()
    known = _try(engine, users_file, clock, username="omar")
    unknown = _try(engine, users_file, clock, username="nobody")
    assert len(calls) == 2 and calls[0] == calls[1] == "$2b$04$"  # one bcrypt check each, same cost
    assert known.message == unknown.message
    assert (known.wait_seconds, known.locked) == (unknown.wait_seconds, unknown.locked)


def test_a_demo_password_signs_nobody_in_outside_sandbox_mode(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "users.yaml"
    users.ensure_demo_users(path)
    data = users.load(path)
    # A real username given a demo password by hand-editing the file.
    data["credentials"]["usernames"]["carol"] = dict(
        data["credentials"]["usernames"]["ops"], first_name="Carol"
    )
    users.save(path, data)
    clock = Clock()
    _, demo_password = DEMO_USERS["ops"]
    for name in ("ops", "carol"):
        assert not _try(engine, path, clock, username=name, password=demo_password).ok
        assert _try(engine, path, clock, username=name, password=demo_password, sandbox=True).ok
    reasons = {r.message for r in _rows(engine, "signin") if r.outcome == "refused"}
    assert reasons == {"published demo password outside sandbox mode"}


def test_users_are_read_fresh_added_ones_sign_in_at_once_removed_ones_not(engine, users_file) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    assert users.get_user(users_file, "nina") is None
    users.add_user(users_file, username="nina", password="quartz-lantern-88", role="finance")
    assert _try(engine, users_file, clock, username="nina", password="quartz-lantern-88").ok
    assert users.get_user(users_file, "nina") is not None
    users.remove_user(users_file, "nina")
    assert users.get_user(users_file, "nina") is None
    assert not _try(engine, users_file, clock, username="nina", password="quartz-lantern-88").ok


def test_two_replicas_share_the_counts_through_the_store(db_url: str, users_file: Path) -> None:
    """Two app processes = two engines on one database: failures on one slow down the other."""
    from services.adapters.store import open_store

    one, two = open_store(db_url), open_store(db_url)
    try:
        clock = Clock()
        for replica in [one, two] * 2:  # 4 failures, alternating replicas
            result = _try(replica, users_file, clock)
        assert result.wait_seconds == 1  # the 4th failure overall, not the 2nd on this replica
        early = _try(one, users_file, clock, password=PASSWORD)
        assert not early.ok and "Wait" in early.message
        clock.t += result.wait_seconds
        for _ in range(POLICY.lock_after - 4):
            failed = _try(two, users_file, clock)
            clock.t += 0 if failed.locked else failed.wait_seconds
        assert _try(one, users_file, clock, password=PASSWORD).locked
        assert users.unlock(one, actor=ADMIN, username="omar") == 1
        assert _try(two, users_file, clock, password=PASSWORD).ok
    finally:
        one.dispose()
        two.dispose()


def test_old_counters_are_forgotten_so_guessed_names_do_not_pile_up(engine, users_file) -> None:  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from services.adapters.models import SignInThrottle
    from services.adapters.store import session_scope

    clock = Clock()
    for i in range(5):
        _try(engine, users_file, clock, username=f"guess{i}", client=f"10.2.0.{i}")
    clock.t += POLICY.window_seconds + 1
    _try(engine, users_file, clock, username="another", client="10.3.0.1")
    with session_scope(engine) as session:
        keys = sorted(session.exec(select(SignInThrottle.key)).all())
    assert keys == ["client:10.3.0.1", "user:another"]


def test_tries_refused_during_the_delay_are_counted_apart_from_wrong_passwords(engine, users_file) -> None:  # type: ignore[no-untyped-def]
    """7 tries showed as "4 wrong passwords" on the Users page: the 3 refused unchecked during
    the delay were counted nowhere."""
    from services.adapters import sign_in_store
    from services.rules.sign_in_throttle import client_key, user_key

    clock = Clock()
    for _ in range(7):  # the 4th wrong password starts a delay; the next 3 come inside it
        _try(engine, users_file, clock)
    counters = sign_in_store.read(engine, [user_key("omar"), client_key("10.0.0.1")])
    assert (counters[user_key("omar")].failures, counters[user_key("omar")].refused) == (4, 3)
    # the address was not slowed (10 are free per address): its delay refused none
    assert (counters[client_key("10.0.0.1")].failures, counters[client_key("10.0.0.1")].refused) == (4, 0)

    clock.t += POLICY.window_seconds + 1  # a new window counts both from zero
    _try(engine, users_file, clock)
    again = sign_in_store.read(engine, [user_key("omar")])[user_key("omar")]
    assert (again.failures, again.refused) == (1, 0)
