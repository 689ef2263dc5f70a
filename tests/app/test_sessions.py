"""Sessions under AppTest: a sign-in ends at its expiry and logout forgets the whole session."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

from pages._session import EXPIRES_AT
from tests.app.conftest import DASHBOARD, no_exceptions
from tests.app.conftest import signed_in as sign_in_state


def signed_in(role: str, **extra: object) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    sign_in_state(at, role)
    for key, value in extra.items():
        at.session_state[key] = value
    at.run()
    return at


def shows_login(at: AppTest) -> bool:
    """The login form, once the browser has dropped the cookie (AppTest runs no browser code,
    so it takes the page's "Continue" way past "Signing out…")."""
    if any(c.value == "Signing out…" for c in at.caption):
        next(b for b in at.button if b.label == "Continue").click().run()
    return any(box.label == "Username" for box in at.text_input)


def test_a_sign_in_past_its_lifetime_ends() -> None:
    at = signed_in("ops", **{EXPIRES_AT: time.time() - 1})
    no_exceptions(at)
    assert shows_login(at)
    assert not any(b.label == "Log out" for b in at.button)


def test_a_sign_in_within_its_lifetime_stays() -> None:
    at = signed_in("ops", **{EXPIRES_AT: time.time() + 3600})
    no_exceptions(at)
    assert not shows_login(at)
    assert any(b.label == "Log out" for b in at.button)


def test_logout_forgets_every_piece_of_session_state() -> None:
    at = signed_in("finance", batch_result={"rows": ["finance's work"]}, acc_status="inactive")
    no_exceptions(at)
    next(b for b in at.button if b.label == "Log out").click().run()
    no_exceptions(at)
    assert any(c.value == "Signing out…" for c in at.caption)  # until the cookie is gone
    assert not any(b.label == "Log out" for b in at.button)
    assert "batch_result" not in at.session_state and "acc_status" not in at.session_state
    assert not at.session_state["authentication_status"]
    assert at.session_state["logout"] is True  # the cookie of the opening request is not reused
