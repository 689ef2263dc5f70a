"""The sign-in cookie's token: what signs someone in from a new tab, and what does not."""

from __future__ import annotations

from pages._session import make_token, read_token


def test_a_cookie_signed_with_another_key_or_expired_signs_no_one_in() -> None:
    token, expires = make_token("ops", "k" * 32, 1.0, now=1_000.0, stamp="s1")
    assert read_token(token, "k" * 32, now=1_001.0) == ("ops", expires, "s1")
    assert read_token(token, "other-key-" * 4, now=1_001.0) is None
    assert read_token(token, "k" * 32, now=expires + 1) is None
    assert read_token("not-a-token", "k" * 32) is None
    assert read_token(None, "k" * 32) is None


def test_a_sign_in_is_bound_to_the_password_it_was_made_with(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Setting a password, or removing a user and adding one with the same name, changes the
    stamp, so the cookies and sessions of the old password sign no one in."""
    from services import users

    monkeypatch.setattr(users, "BCRYPT_ROUNDS", 4)
    old = {"password": users.hash_password("plum-orbit-canvas-42")}
    same = dict(old)
    reset = {"password": users.hash_password("plum-orbit-canvas-42")}  # the same password again
    assert users.session_stamp(old) == users.session_stamp(same) != ""
    assert users.session_stamp(old) != users.session_stamp(reset)  # a new salt: a new stamp
    assert users.session_stamp(None) == users.session_stamp({}) == ""


def test_a_token_names_its_sign_in_and_an_old_one_gets_an_id_from_itself() -> None:
    from pages._session import token_sign_in_id

    token, _ = make_token("ops", "k" * 32, 1.0, now=1_000.0, stamp="s1", sign_in_id="sid-1")
    assert token_sign_in_id(token, "k" * 32) == "sid-1"
    old, _ = make_token("ops", "k" * 32, 1.0, now=1_000.0, stamp="s1")  # before sign-in ids
    assert token_sign_in_id(old, "k" * 32) == token_sign_in_id(old, "k" * 32) != "sid-1"
    assert token_sign_in_id(old, "k" * 32).startswith("t-")
