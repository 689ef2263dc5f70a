"""Users: a change asked for a user who was removed and added again since (here by the command
line, as by another admin) is refused with "pick them again", and the User box really is empty
then. The page dropped the pick but the browser's box went on showing the old person (with
their old name) above "Choose a user…"; AppTest saw the value None and could not tell."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from services import users
from tests.browser.conftest import APP_DATA, sign_in
from tests.browser.test_config_to_conversion_journey import open_page
from tests.browser.test_users_journey import PASSWORD, choose

pytestmark = pytest.mark.browser


def test_a_refused_stale_pick_empties_the_user_box(app_url: str, page: Any) -> None:
    path = Path(APP_DATA["dir"]) / "users.yaml"
    name = f"pick{secrets.token_hex(3)}"
    users.add_user(path, username=name, password=PASSWORD, role="ops", name="First Person")
    sign_in(page, app_url, "admin", "fcops-admin-demo")
    open_page(page, "Users")
    choose(page, "User", name)
    choose(page, "Role", "finance")
    users.remove_user(path, name)  # meanwhile, elsewhere: removed and added again
    users.add_user(path, username=name, password=PASSWORD, role="manager", name="Second Person",
                   added_by="bravo")
    page.get_by_role("button", name="Save role").click()
    page.get_by_text(f"{name} was removed and added again by bravo").wait_for()
    assert users.role_of(path, name) == "manager"  # nothing changed
    # as the page says (the sentence can be drawn a moment before the box's new value arrives)
    expect(page.get_by_role("combobox", name="User")).to_have_value("", timeout=15_000)
    page.get_by_text("Choose a user to change their role").wait_for()

    choose(page, "User", name)  # picked again: their own role, and the change goes through
    assert page.get_by_role("combobox", name="Role").last.input_value() == "manager"
    choose(page, "Role", "finance")
    page.get_by_role("button", name="Save role").click()
    page.get_by_text(f"{name} is now finance (was manager)").wait_for()
    users.remove_user(path, name)
