from __future__ import annotations

from pathlib import Path

import pytest

from services import users
from services.errors import ConfigurationError, ValidationError


def test_added_users_are_stored_hashed_with_one_role(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    users.add_user(path, username="omar", password="correct horse battery", role="ops", name="Omar K")
    text = path.read_text()
    assert "correct horse battery" not in text
    entry = users.load(path)["credentials"]["usernames"]["omar"]
    assert users.check_password("correct horse battery", entry["password"])
    assert not users.check_password("wrong password!", entry["password"])
    assert users.role_of(path, "omar") == "ops"
    assert [u.username for u in users.list_users(path)] == ["omar"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("Bad Name", "long enough pw!", "ops", "Usernames"),
        ("omar", "short", "ops", "12 characters"),
        ("omar", "long enough pw!", "superuser", "Role must be"),
    ],
)
def test_bad_user_input_is_refused_with_a_reason(
    tmp_path: Path, username: str, password: str, role: str, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        users.add_user(tmp_path / "u.yaml", username=username, password=password, role=role)
    assert not (tmp_path / "u.yaml").exists()


def test_duplicate_and_missing_users_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "u.yaml"
    users.add_user(path, username="omar", password="long enough pw!", role="ops")
    with pytest.raises(ValidationError, match="already exists"):
        users.add_user(path, username="omar", password="long enough pw!", role="admin")
    users.remove_user(path, "omar")
    with pytest.raises(ValidationError, match="no user"):
        users.remove_user(path, "omar")


def test_demo_users_exist_in_sandbox_and_block_other_modes(tmp_path: Path) -> None:
    path = tmp_path / "u.yaml"
    users.ensure_demo_users(path)
    assert {u.role for u in users.list_users(path)} == {"admin", "ops", "finance", "manager"}
    with pytest.raises(ConfigurationError, match="demo user"):
        users.assert_no_demo_credentials(path)
    for username, _ in users.DEMO_USERS.values():
        users.remove_user(path, username)
    users.add_user(path, username="alice", password="a real long password", role="admin")
    users.assert_no_demo_credentials(path)  # no error


def test_an_empty_users_file_is_refused_outside_sandbox(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="No users"):
        users.assert_no_demo_credentials(tmp_path / "none.yaml")


def test_the_command_line_adds_lists_and_removes_users(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import io

    monkeypatch.setenv("FCOPS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert users._cli(["add", "nina", "--role", "finance", "--password-stdin"]) == 0
    assert users._cli(["list"]) == 0
    assert "nina" in capsys.readouterr().out
    assert users._cli(["role", "nina", "--role", "manager"]) == 0
    assert users.role_of(tmp_path / "users.yaml", "nina") == "manager"
    assert users._cli(["remove", "nina"]) == 0
    assert users._cli(["remove", "nina"]) == 2
    assert "no user" in capsys.readouterr().err


def test_the_command_line_audits_into_the_database_the_app_reads(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import io
    import time

    import bootstrap
    from services import audit
    from services.adapters.settings import load_settings
    from services.adapters.store import open_store
    from services.auth import Actor
    from services.usecases import sign_in

    monkeypatch.setenv("FCOPS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(users, "BCRYPT_ROUNDS", 4)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert users._cli(["add", "nina", "--role", "finance", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("password1234\n"))
    assert users._cli(["passwd", "nina", "--password-stdin"]) == 2
    assert "too easy to guess" in capsys.readouterr().err

    settings = load_settings()
    app_engine = open_store(bootstrap._database_url(settings))  # what the app opens
    start = time.time()
    for i in range(sign_in.POLICY.lock_after):  # one try every 60 s: each is checked, then locked
        sign_in.sign_in(app_engine, users_file=settings.users_file, username="nina",
                        password="wrong", client=f"10.1.1.{i}", sandbox=True,
                        now=lambda i=i: start + 60 * i)
    capsys.readouterr()
    assert users._cli(["locked"]) == 0
    assert "user:nina" in capsys.readouterr().out
    assert users._cli(["unlock", "nina"]) == 0
    assert "Lifted" in capsys.readouterr().out
    assert users._cli(["remove", "nina"]) == 0

    admin = Actor(username="alice", role="admin")
    rows = audit.query(app_engine, actor=admin, actions=["user.add", "user.password", "user.unlock",
                                                         "user.remove"]).rows
    assert [(r.action, r.outcome, r.actor.startswith("cli:")) for r in reversed(rows)] == [
        ("user.add", "ok", True), ("user.password", "error", True),
        ("user.unlock", "ok", True), ("user.remove", "ok", True)]


def test_users_changed_at_once_from_several_processes_all_keep_their_change(tmp_path: Path) -> None:
    """Two admins (or the command line and an app replica) adding users at the same moment: the
    file is locked while it is read, changed and saved, so no save drops another's user."""
    import multiprocessing

    path = tmp_path / "users.yaml"
    names = [f"user{i}x" for i in range(6)]
    ctx = multiprocessing.get_context("fork")
    start = ctx.Barrier(len(names))
    procs = [ctx.Process(target=_add_at_once, args=(path, name, start)) for name in names]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [p.exitcode for p in procs] == [0] * len(names)
    assert [u.username for u in users.list_users(path)] == sorted(names)


def _add_at_once(path: Path, name: str, start) -> None:  # type: ignore[no-untyped-def]
    users.BCRYPT_ROUNDS = 4
    start.wait()
    for _ in range(3):  # and again: each process reads and writes the file several times
        users.set_role(path, name, "ops") if users.get_user(path, name) else users.add_user(
            path, username=name, password="plum-orbit-canvas-42", role="finance"
        )
