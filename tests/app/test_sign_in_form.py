"""The sign-in form: one press of Login is one checked attempt, and its answer is on the page of
the same run (tests/browser/test_sign_in_first_click.py presses it in a real browser)."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from tests.app.conftest import no_exceptions, open_page, shared_app

LOGIN = "FormSubmitter:fcops-login-Login"


def rerun_signed_out(at: AppTest) -> AppTest:
    """Run again through the router. (AppTest quirk: signed out, its rerun asks for the page the
    last run ended on by the Home page's hash, which the login shares, and on a rerun AppTest
    resolves that hash to pages/home.py run by itself; asking for no page runs dashboard.py.)"""
    at._finished_page_script_hash = ""
    return at.run()


def press_login(at: AppTest, username: str, password: str) -> AppTest:
    boxes = {box.label: box for box in at.text_input}
    boxes["Username"].set_value(username)
    boxes["Password"].set_value(password)
    at.button(key=LOGIN).click()
    return rerun_signed_out(at)


def audited(username: str) -> list[str]:
    with shared_app().engine.connect() as conn:
        rows = conn.execute(
            text("select outcome from audit_log where action = 'signin' and target = :t order by id"),
            {"t": username},
        )
        return [row[0] for row in rows]


def test_a_wrong_password_is_said_once_and_audited_once() -> None:
    name = f"nobody-{uuid.uuid4().hex[:8]}"  # its own count: no delay from other tests
    at = press_login(open_page(None, None), name, "wrongpass1")
    no_exceptions(at)
    assert [e.value for e in at.error] == ["Username or password is incorrect."]
    assert audited(name) == ["refused"]
    assert not any(b.label == "Log out" for b in at.button)
    rerun_signed_out(at)  # a later run (any rerun) still says it, checks nothing again
    assert [e.value for e in at.error] == ["Username or password is incorrect."]
    assert audited(name) == ["refused"]


def test_an_empty_field_is_named_and_checks_nothing() -> None:
    at = press_login(open_page(None, None), "ops", "")
    assert [e.value for e in at.error] == ["Enter your username and your password."]
    at = press_login(open_page(None, None), "", "fcops-ops-demo")
    assert [e.value for e in at.error] == ["Enter your username and your password."]


def test_the_right_password_signs_in_and_queues_the_cookie() -> None:
    from pages import _session

    before = audited("ops")
    at = press_login(open_page(None, None), " OPS ", "fcops-ops-demo")  # normalised as before
    no_exceptions(at)
    assert audited("ops") == [*before, "ok"]
    assert not at.error
    assert at.session_state["authentication_status"] is True
    assert at.session_state["username"] == "ops"
    assert at.session_state["roles"] == ["ops"]
    assert at.session_state[_session.COOKIE_TO_WRITE]  # the browser's writer opens the app
    assert any(c.value == "Signing in…" for c in at.caption)
