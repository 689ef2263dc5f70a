"""Sessions under AppTest: a sign-in ends at its expiry and logout forgets the whole session."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

from pages._session import EXPIRES_AT
from tests.app.conftest import DASHBOARD, jobs_settled, no_exceptions, texts
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


def audit_count(action: str, actor: str) -> int:
    from sqlmodel import func, select

    from services.adapters.models import AuditEntry
    from services.adapters.store import session_scope
    from tests.app.conftest import shared_app

    with session_scope(shared_app().engine) as session:
        return int(session.exec(
            select(func.count()).select_from(AuditEntry)
            .where(AuditEntry.action == action, AuditEntry.actor == actor)
        ).one())


def test_logout_in_one_tab_signs_out_the_other_tabs_of_that_browser_only() -> None:
    import secrets

    from pages._session import SIGN_IN_ID

    browser, other_browser = f"at-{secrets.token_hex(6)}", f"at-{secrets.token_hex(6)}"
    tab1 = signed_in("finance", **{SIGN_IN_ID: browser})
    tab2 = signed_in("finance", **{SIGN_IN_ID: browser})  # restored from the same cookie
    laptop = signed_in("finance", **{SIGN_IN_ID: other_browser})
    tab2.switch_page("pages/returns.py").run()
    jobs_settled()  # the first visit's outcome sync: Sync outcomes is off while it runs
    tab2.run()
    no_exceptions(tab2)
    syncs, signouts = audit_count("returns.sync", "finance"), audit_count("signout", "finance")

    next(b for b in tab1.button if b.label == "Log out").click().run()
    assert audit_count("signout", "finance") == signouts + 1

    tab2.button(key="outcomes_sync").click().run()  # the other tab still shows Returns
    no_exceptions(tab2)
    # AppTest runs the Returns page it keeps (no browser, so no router run in between, see
    # tests/app/test_sign_in_form.py): the page's guard refuses the ended sign-in and stops
    # before the click is handled. The browser test sees the login form and its notice.
    assert any("Sign in to see this page." in w.value for w in tab2.warning), texts(tab2)
    assert not any(b.label == "Log out" for b in tab2.button)
    assert audit_count("returns.sync", "finance") == syncs  # the click did nothing

    laptop.run()  # another browser of the same user stays signed in
    no_exceptions(laptop)
    assert laptop.session_state["authentication_status"] is True
    assert not any("Sign in to see this page." in w.value for w in laptop.warning)



def colleague(monkeypatch: object) -> str:
    """A user of their own in the users file (added now, with a quick hash), signed in below."""
    import secrets

    import pytest

    from services import users
    from tests.app.conftest import shared_app

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setattr(users, "BCRYPT_ROUNDS", 4)
    name = f"gone{secrets.token_hex(3)}"
    users.add_user(shared_app().settings.users_file, username=name,
                   password="plum-orbit-canvas-42", role="ops")
    return name


def next_click(at: AppTest) -> AppTest:
    """Their next click, through the router (tests/app/test_sign_in_form.rerun_signed_out)."""
    at._finished_page_script_hash = ""
    return at.run()


def ended_with(at: AppTest, reason: str) -> None:
    """The sign-in ended at this click: the login form says why, at once (no "Signing out…
    Continue" while the cookie is removed: a removed user's or an old password's cookie signs
    nobody in)."""
    from pages._session import COOKIE_TO_DELETE

    no_exceptions(at)
    assert not at.session_state["authentication_status"]
    assert COOKIE_TO_DELETE not in at.session_state
    assert not any(c.value == "Signing out…" for c in at.caption)
    assert any(box.label == "Username" for box in at.text_input)
    assert [i.value for i in at.info] == [reason]
    assert not any(b.label == "Log out" for b in at.button)


def test_a_removed_user_is_told_why_at_their_next_click(monkeypatch: object) -> None:
    """Their next click showed "Signing out… Continue", then the login form with no reason."""
    from pages._session import REMOVED
    from services import users
    from tests.app.conftest import shared_app

    name = colleague(monkeypatch)
    at = signed_in(name)
    assert any(b.label == "Log out" for b in at.button)
    users.remove_user(shared_app().settings.users_file, name)
    ended_with(next_click(at), REMOVED)
    assert "removed by an admin" in REMOVED and name not in REMOVED


def test_a_user_whose_password_was_set_is_told_why_at_their_next_click(
    monkeypatch: object,
) -> None:
    from pages._session import PASSWORD_SET
    from services import users
    from tests.app.conftest import shared_app

    name = colleague(monkeypatch)
    at = signed_in(name)
    users.set_password(shared_app().settings.users_file, name, "quartz-meadow-lantern-77")
    ended_with(next_click(at), PASSWORD_SET)
    users.remove_user(shared_app().settings.users_file, name)
