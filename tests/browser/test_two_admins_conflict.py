"""Two admins in two browsers save the same settings: the second's Save, pressed on the page as
drawn before the first's save (Streamlit draws Save off on that run, and dropped the click's
value: pages._pressed), is refused and audited, the conflict panel opens, and "Keep my edits on
top of version N" then Save ends in exactly one more version holding both changes."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services import users
from tests.browser.conftest import APP_DATA, sign_in
from tests.browser.test_config_to_conversion_journey import open_page, pick_option, settle
from tests.browser.test_policy_typing import open_policy_as_admin

pytestmark = pytest.mark.browser
FLOW, TITLE = "payment_element", "Payment Element"


def saves(action: str, target: str) -> list[tuple[str, str]]:
    with sqlite3.connect(Path(APP_DATA["dir"]) / "fcops-sandbox.db") as db:
        return db.execute(
            "SELECT actor, outcome FROM audit_log WHERE action = ? AND target = ? ORDER BY id",
            (action, target),
        ).fetchall()


@pytest.fixture
def colleague(app_url: str, browser: Any) -> Iterator[tuple[Any, str]]:
    """A second admin, signed in in a browser of their own: (their page, their username)."""
    name, password = f"adm{secrets.token_hex(3)}", "ember-quartz-lagoon-47"
    path = Path(APP_DATA["dir"]) / "users.yaml"
    users.add_user(path, username=name, password=password, role="admin", name="Second Admin")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        them = context.new_page()
        them.set_default_timeout(30_000)
        sign_in(them, app_url, name, password)
        yield them, name
    finally:
        context.close()
        users.remove_user(path, name)


def saved_version(pg: Any, text: str) -> int:
    """The version number in the success line that starts with ``text``."""
    line = pg.get_by_text(text).first
    line.wait_for()
    return int(line.inner_text().split(text)[1].split()[0].rstrip("."))


def test_flow_save_refused_by_a_colleagues_save_is_merged_and_saved_once(
    app_url: str, page: Any, colleague: tuple[Any, str]
) -> None:
    them, name = colleague
    sign_in(page, app_url, "admin", "fcops-admin-demo")
    for pg in (page, them):
        open_page(pg, "Flow configuration")
        pg.get_by_role("radiogroup", name="Flow").get_by_text(TITLE, exact=True).click()
        settle(pg)
    before = saves("flow.save", f"flow:{FLOW}")
    method = page.get_by_role("radiogroup", name="Verification method")
    mine = "microdeposits" if method.get_by_label("instant").is_checked() else "instant"
    method.get_by_text(mine, exact=True).click()  # my edit, unsaved
    settle(page)
    pick_option(them, "Permissions", "ownership")  # theirs, saved first
    them.get_by_role("button", name="Save").click()
    version = saved_version(them, "Saved version ")

    page.get_by_role("button", name="Save").click()  # on the page drawn before their save
    settle(page)
    page.get_by_role("button", name=f"Keep my edits on top of version {version}").click()
    settle(page)
    page.get_by_role("button", name="Save").click()
    page.get_by_text(f"Saved version {version + 1}.").wait_for()
    assert saves("flow.save", f"flow:{FLOW}")[len(before):] == [
        (name, "ok"), ("admin", "error"), ("admin", "ok")]
    assert "ownership" in page.get_by_test_id("stMultiSelect").filter(
        has_text="Permissions").inner_text()  # their change kept under mine
    assert page.get_by_role("radiogroup", name="Verification method").get_by_label(
        mine).is_checked()


def test_policy_save_refused_by_a_colleagues_save_is_merged_and_saved_once(
    app_url: str, page: Any, colleague: tuple[Any, str]
) -> None:
    them, name = colleague
    open_policy_as_admin(page, app_url)
    open_page(them, "Debit policy")
    before = saves("policy.save", "debit_policy")
    amount = page.get_by_role("textbox", name="Safety buffer amount (USD)")
    amount.fill("17.25")  # my edit, unsaved
    amount.press("Tab")
    settle(page)
    hours = them.get_by_role("spinbutton", name="Maximum balance age (hours)")
    hours.fill("5")  # theirs, saved first
    hours.press("Tab")
    settle(them)
    them.get_by_role("button", name="Save policy").click()
    version = saved_version(them, "Saved as version ")

    page.get_by_role("button", name="Save policy").click()  # on the form drawn before theirs
    settle(page)
    page.get_by_role("button", name=f"Keep my edits on top of version {version}").click()
    settle(page)
    page.get_by_role("button", name="Save policy").click()
    page.get_by_text(f"Saved as version {version + 1}.").wait_for()
    assert saves("policy.save", "debit_policy")[len(before):] == [
        (name, "ok"), ("admin", "error"), ("admin", "ok")]
    assert amount.input_value() == "17.25"
    assert page.get_by_role("spinbutton", name="Maximum balance age (hours)").input_value() == "5.00"
