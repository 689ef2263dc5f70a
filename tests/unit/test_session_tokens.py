"""The sign-in cookie's token: what signs someone in from a new tab, and what does not."""

from __future__ import annotations

from pages._session import make_token, read_token


def test_a_cookie_signed_with_another_key_or_expired_signs_no_one_in() -> None:
    token, expires = make_token("ops", "k" * 32, 1.0, now=1_000.0)
    assert read_token(token, "k" * 32, now=1_001.0) == ("ops", expires)
    assert read_token(token, "other-key-" * 4, now=1_001.0) is None
    assert read_token(token, "k" * 32, now=expires + 1) is None
    assert read_token("not-a-token", "k" * 32) is None
    assert read_token(None, "k" * 32) is None
