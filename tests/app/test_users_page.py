"""Users page (admin): the users who sign in with a password, added, changed and removed from
the dashboard; every other role is refused. Each test works on its own username so the demo
users the other tests sign in as are never touched."""

from __future__ import annotations

import secrets
import time

import pytest
from streamlit.testing.v1 import AppTest

from services import users
from services.adapters import sign_in_store
from services.rules.sign_in_throttle import POLICY, client_key, user_key
from tests.app.conftest import no_exceptions, open_page, refused, texts
from tests.app.conftest import shared_app as app

PAGE = "pages/users.py"
PASSWORD = "plum-orbit-canvas-42"


def table_rows(at: AppTest) -> dict[str, dict[str, str]]:
    frame = at.dataframe[0].value
    return {row["Username"]: dict(row) for row in frame.to_dict("records")}


def add(at: AppTest, username: str, role: str, password: str, repeat: str,
        email: str | None = None) -> AppTest:
    at.text_input(key="users_new_username").set_value(username)
    at.selectbox(key="users_new_role").set_value(role)
    at.text_input(key="users_new_name").set_value("Page Test")
    at.text_input(key="users_new_email").set_value(email or f"{username}@example.com")
    at.text_input(key="users_new_password").set_value(password)
    at.text_input(key="users_new_repeat").set_value(repeat)
    at.button(key="FormSubmitter:users_add-Add user").click().run()
    no_exceptions(at)
    return at


def test_an_admin_sees_every_user_with_role_and_sign_in_state() -> None:
    at = open_page(PAGE, "admin")
    no_exceptions(at)
    listed = table_rows(at)
    for role in ("admin", "ops", "finance", "manager"):
        assert listed[role]["Role"] == role and listed[role]["Email"].endswith(".invalid")
    frame = at.dataframe[0].value  # no password column (the count of wrong ones is no secret)
    assert [c for c in frame.columns if "password" in c.lower()] == ["Wrong passwords"]
    assert not frame.astype(str).map(lambda cell: cell.startswith("$2")).any().any()  # bcrypt


@pytest.mark.parametrize("role", ["ops", "finance", "manager"])
def test_other_roles_cannot_reach_the_page_or_its_data(role: str) -> None:
    direct = refused(PAGE, role)
    assert not direct.dataframe and "@demo" not in texts(direct)


def test_add_change_role_and_remove_a_user_from_the_page() -> None:
    name = f"page{secrets.token_hex(3)}"
    path = app().settings.users_file
    at = open_page(PAGE, "admin")

    at = add(at, name, "ops", PASSWORD, "something-else-entirely-9")
    assert any("two passwords differ" in e.value for e in at.error)
    assert users.get_user(path, name) is None
    assert at.text_input(key="users_new_username").value == name  # kept, to mend
    assert at.text_input(key="users_new_password").value == ""  # a password is never kept

    at = add(at, name, "ops", PASSWORD, PASSWORD)
    assert any(f"Added {name} as ops" in s.value for s in at.success)
    assert table_rows(at)[name]["Role"] == "ops"
    assert users.verify(path, name, PASSWORD) is not None
    assert at.text_input(key="users_new_username").value == ""  # ready for the next one

    at.selectbox(key="users_pick").set_value(name).run()
    at.selectbox(key=f"users_role_{name}").set_value("finance").run()
    at.button(key="users_save_role").click().run()
    no_exceptions(at)
    assert any(f"{name} is now finance (was ops)" in s.value for s in at.success)
    assert table_rows(at)[name]["Role"] == "finance" and users.role_of(path, name) == "finance"

    at.button(key="users_remove").click().run()
    no_exceptions(at)
    assert any(f"Removed {name}" in s.value for s in at.success)
    assert name not in table_rows(at) and users.get_user(path, name) is None


def test_an_admin_cannot_remove_or_demote_themself_from_the_page() -> None:
    at = open_page(PAGE, "admin")
    at.selectbox(key="users_pick").set_value("admin").run()
    no_exceptions(at)
    assert at.selectbox(key="users_role_admin").disabled
    assert at.button(key="users_save_role").disabled
    assert users.role_of(app().settings.users_file, "admin") == "admin"


def test_a_weak_password_is_a_sentence_and_adds_nobody() -> None:
    name = f"weak{secrets.token_hex(3)}"
    at = add(open_page(PAGE, "admin"), name, "ops", "password12", "password12")
    assert any("assword" in e.value for e in at.error)
    assert not at.exception and users.get_user(app().settings.users_file, name) is None


def wrong_passwords(key: str, n: int, *, ago: float) -> None:
    for i in range(n):
        sign_in_store.record_failure(app().engine, [key], time.time() - ago + i, POLICY)


def test_wrong_passwords_show_before_any_delay_and_an_admin_lifts_an_address() -> None:
    name, address = f"tries{secrets.token_hex(3)}", f"198.51.100.{secrets.randbelow(250)}"
    starting = f"203.0.113.{secrets.randbelow(250)}"
    add(open_page(PAGE, "admin"), name, "ops", PASSWORD, PASSWORD)
    wrong_passwords(user_key(name), 2, ago=60)  # not slowed yet: 3 are free
    wrong_passwords(client_key(address), 11, ago=5)  # an address is slowed after 10
    wrong_passwords(client_key(starting), 2, ago=5)  # not slowed yet
    try:
        at = open_page(PAGE, "admin")
        no_exceptions(at)
        row = table_rows(at)[name]
        assert (row["Sign-in"], row["Wrong passwords"]) == ("Can sign in", 2)
        counted = {r["Address"]: r for r in at.dataframe[1].value.to_dict("records")}
        assert counted[address]["Wrong passwords"] == 11
        assert counted[address]["Sign-in"].startswith("Slowed until ")
        # An address with wrong passwords is listed before any delay (it was left out).
        assert counted[starting]["Wrong passwords"] == 2
        assert counted[starting]["Sign-in"] == "2 wrong passwords (not slowed yet)"
        # Only a delay can be lifted: the picker offers the slowed address, not that one.
        assert address in at.selectbox(key="users_pick_address").options
        assert starting not in at.selectbox(key="users_pick_address").options

        at.selectbox(key="users_pick_address").set_value(address).run()
        at.button(key="users_unlock_address").click().run()
        no_exceptions(at)
        assert any(f"Everyone at {address} can sign in again now." in s.value for s in at.success)
        assert not [d for d in at.dataframe if address in list(d.value.get("Address", []))]
        assert sign_in_store.read(app().engine, [client_key(address)]) == {}
    finally:
        sign_in_store.clear(
            app().engine, [user_key(name), client_key(address), client_key(starting)]
        )
        users.remove_user(app().settings.users_file, name)


def test_a_malformed_email_is_a_sentence_and_adds_nobody() -> None:
    name = f"mail{secrets.token_hex(3)}"
    at = add(open_page(PAGE, "admin"), name, "ops", PASSWORD, PASSWORD, email="page at example")
    assert any("does not look like an address" in e.value for e in at.error)
    assert users.get_user(app().settings.users_file, name) is None


def test_tries_refused_during_the_delay_are_counted_in_the_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """7 tries showed as "4 wrong passwords": the 3 refused during the delay were not counted."""
    from services.usecases import sign_in

    monkeypatch.setattr(users, "BCRYPT_ROUNDS", 4)
    name, address = f"slowed{secrets.token_hex(3)}", f"192.0.2.{secrets.randbelow(250)}"
    users.add_user(app().settings.users_file, username=name, password=PASSWORD, role="ops")
    slow = sign_in.Policy(base_delay=60.0)  # the 4th wrong password holds the next minute back
    try:
        for _ in range(7):
            sign_in.sign_in(app().engine, users_file=app().settings.users_file, username=name,
                            password="not-the-password-1", client=address, sandbox=True,
                            policy=slow)
        at = open_page(PAGE, "admin")
        no_exceptions(at)
        row = table_rows(at)[name]
        assert row["Sign-in"].startswith("Slowed until ") and row["Wrong passwords"] == 4
        at.selectbox(key="users_pick").set_value(name).run()  # the whole count, picked
        detail = next(c.value for c in at.caption if c.value.startswith("Sign-in: "))
        assert detail.startswith(f"Sign-in: {row['Sign-in']}, after ")
        assert detail.endswith("4 wrong passwords, 3 more tries refused during the delay.")
    finally:
        sign_in_store.clear(app().engine, [user_key(name), client_key(address)])
        users.remove_user(app().settings.users_file, name)


def test_a_locked_user_reads_locked_until_in_a_short_column_that_fits_the_page() -> None:
    """After 10 wrong passwords the Sign-in column said "Locked until 23:52 UTC (10 wrong
    passwords, 1 m…" cut at 1,400 px, hiding whether the user can sign in: it says only that
    (or "Can sign in"), the count has a column of its own, and the columns fit the page."""
    from tests.app.conftest import PAGE_WIDTH, shown_widths

    name = f"locked{secrets.token_hex(3)}"
    users.add_user(app().settings.users_file, username=name, password=PASSWORD, role="ops")
    wrong_passwords(user_key(name), POLICY.lock_after, ago=60)
    try:
        at = open_page(PAGE, "admin")
        no_exceptions(at)
        row, others = table_rows(at)[name], table_rows(at)["admin"]
        assert row["Sign-in"].startswith("Locked until ") and row["Sign-in"].endswith(" UTC")
        assert len(row["Sign-in"]) <= len("Locked until 23:52 UTC")
        assert row["Wrong passwords"] == POLICY.lock_after
        assert others["Sign-in"] == "Can sign in"
        widths = shown_widths(at.dataframe[0])
        assert set(widths) >= {"Sign-in", "Wrong passwords"}, widths
        assert sum(widths.values()) <= PAGE_WIDTH, widths
        at.selectbox(key="users_pick").set_value(name).run()
        assert any(c.value == f"Sign-in: {row['Sign-in']}, after {POLICY.lock_after} wrong "
                   "passwords." for c in at.caption), [c.value for c in at.caption]
    finally:
        sign_in_store.clear(app().engine, [user_key(name)])
        users.remove_user(app().settings.users_file, name)


def test_the_role_box_follows_a_role_another_admin_changed_meanwhile() -> None:
    """A second admin with the user chosen: another admin's change shows in the Role box at
    their next click, and Save role is off, rather than the old role offered to save back."""
    name = f"both{secrets.token_hex(3)}"
    path = app().settings.users_file
    users.add_user(path, username=name, password=PASSWORD, role="ops", name="Both Admins")
    at = open_page(PAGE, "admin")
    at.selectbox(key="users_pick").set_value(name).run()
    assert at.selectbox(key=f"users_role_{name}").value == "ops"
    users.set_role(path, name, "finance")  # the other admin, in another browser
    at.run()
    no_exceptions(at)
    assert table_rows(at)[name]["Role"] == "finance"
    assert at.selectbox(key=f"users_role_{name}").value == "finance"
    assert at.button(key="users_save_role").disabled


def test_a_user_picked_again_after_another_shows_their_own_role_with_save_role_off() -> None:
    """Picked, another user picked, then picked again: the Role box showed admin (its first
    choice; Streamlit forgot the box while it was not drawn) with Save role on, one click from
    making them an admin."""
    at = open_page(PAGE, "admin")
    for name in ("ops", "finance", "ops"):
        at.selectbox(key="users_pick").set_value(name).run()
    no_exceptions(at)
    assert at.selectbox(key="users_role_ops").value == "ops"
    assert at.button(key="users_save_role").disabled


@pytest.mark.parametrize("redrawn", [False, True], ids=["drawn-before", "redrawn-since"])
def test_a_user_removed_and_added_again_by_another_admin_is_not_changed_from_a_stale_pick(
    monkeypatch: pytest.MonkeyPatch, redrawn: bool
) -> None:
    """Two admins with the same user picked: admin2 removed them and added someone else under
    that name; my Save role, pressed on the page drawn before (or on a page drawn since, still
    with that pick), changed the new person without a hint. It is now refused with a sentence
    (audited), nothing changes, and the pick is dropped to be made again, after which it goes
    through."""
    from datetime import UTC, datetime

    from services import audit
    from services.auth import Actor
    from tests.app.conftest import signed_in
    from tests.app.test_conflict_panels import second_admin

    name = f"again{secrets.token_hex(3)}"
    path = app().settings.users_file
    admin2 = second_admin(monkeypatch)
    users.add_user(path, username=name, password=PASSWORD, role="ops", name="First Person")
    me = open_page(PAGE, "admin")
    me.selectbox(key="users_pick").set_value(name).run()
    me.selectbox(key=f"users_role_{name}").set_value("manager").run()

    them = open_page(None, None)
    signed_in(them, admin2.username).run()
    them.switch_page(PAGE).run()
    them.selectbox(key="users_pick").set_value(name).run()
    them.button(key="users_remove").click().run()
    add(them, name, "finance", PASSWORD, PASSWORD)
    new = users.get_user(path, name)
    assert new is not None and new.added_by == admin2.username

    if redrawn:  # any click of mine since: the page shows the new person under my pick
        me.run()
        me.selectbox(key=f"users_role_{name}").set_value("manager").run()
    me.button(key="users_save_role").click().run()
    no_exceptions(me)
    at = datetime.fromtimestamp(new.added_at, UTC)
    said = f"{name} was removed and added again by admin2 at {at:%H:%M} UTC; pick them again."
    assert [e.value for e in me.error] == [said]
    assert users.get_user(path, name) == new  # still finance: nothing changed
    row = audit.query(app().engine, actor=Actor("admin", "admin"), actions=["user.role"],
                      target=name, limit=5).rows[0]
    assert (row.actor, row.outcome, row.message) == ("admin", "error", said)
    assert me.selectbox(key="users_pick").value is None  # to be picked again

    me.selectbox(key="users_pick").set_value(name).run()
    assert me.selectbox(key=f"users_role_{name}").value == "finance"
    me.selectbox(key=f"users_role_{name}").set_value("manager").run()
    me.button(key="users_save_role").click().run()
    no_exceptions(me)
    assert any(f"{name} is now manager (was finance)" in s.value for s in me.success)
    assert users.role_of(path, name) == "manager"
    users.remove_user(path, name)
