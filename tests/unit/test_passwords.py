"""Password and cookie-key rules: zxcvbn's estimate, the demo list, placeholders."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from services import users
from services.errors import ValidationError
from services.rules.passwords import DEMO_PASSWORDS, cookie_key_problem


@pytest.mark.parametrize(
    "password",
    ["password12", "Password123!", "qwertyuiop12", "iloveyou2024", "letmein12345", "111111111111",
     "abcdefghijkl", "omar-omar-omar", "fcops-fcops-1"],
)
def test_common_and_guessable_passwords_are_refused(password: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="too easy to guess|at least"):
        users.add_user(tmp_path / "u.yaml", username="omar", password=password, role="ops")
    assert not (tmp_path / "u.yaml").exists()


@pytest.mark.parametrize("password", sorted(DEMO_PASSWORDS))
def test_demo_passwords_are_refused_for_every_username(password: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="demo password"):
        users.add_user(tmp_path / "u.yaml", username="carol", password=password, role="ops")


@pytest.mark.parametrize(
    ("password", "message"),
    [("short1!", "at least 12"), (" padded-violet-key ", "space"), ("tab\tinside-violet-9", "control"),
     ("x" * 73, "at most 72")],
)
def test_malformed_passwords_are_refused_with_a_reason(password: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=message):
        users.add_user(tmp_path / "u.yaml", username="omar", password=password, role="ops")


def test_a_changed_password_is_checked_like_a_new_one(tmp_path: Path) -> None:
    path = tmp_path / "u.yaml"
    users.add_user(path, username="omar", password="plum-orbit-canvas-42", role="ops")
    with pytest.raises(ValidationError, match="too easy"):
        users.set_password(path, "omar", "password1234")
    users.set_password(path, "omar", "velvet-harbor-stone-7")
    assert users.verify(path, "omar", "velvet-harbor-stone-7") is not None
    assert users.verify(path, "omar", "plum-orbit-canvas-42") is None
    with pytest.raises(ValidationError, match="no user"):
        users.set_password(path, "nobody", "velvet-harbor-stone-7")


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "Set FCOPS_COOKIE_KEY"),
        ("changeme-changeme-changeme", "too short"),
        ("changeme-changeme-changeme-changeme", "placeholder"),
        ("k" * 40, "repeats"),
        ("fcops-demo-cookie-key-0123456789abcdef", "placeholder"),
        ("my-super-secret-cookie-key-for-prod-2026", "placeholder"),
        (secrets.token_urlsafe(16), "too short"),
    ],
)
def test_weak_cookie_keys_are_refused(key: str, message: str) -> None:
    problem = cookie_key_problem(key)
    assert problem is not None and message in problem


def test_a_random_cookie_key_is_accepted() -> None:
    assert cookie_key_problem(secrets.token_urlsafe(32)) is None
