"""Users page: opening "Add a user" runs nothing on the server, so the admin's next click (in the
form that has just appeared) never lands on a run of the page.

The box used to rerun the whole page when opened (``st.expander(..., on_change="rerun")``). The
admin's next click is in that box: choose a role, press Add user. On a loaded machine it landed
while that run was still going, and twice in CI it did nothing (no "Role must be one of" after
30 s with the form still filled; once a role box that did not open). The browser now opens and
closes the box by itself: these tests count the messages the browser sends to the server.
"""

from __future__ import annotations

import secrets
from typing import Any

from tests.browser.conftest import sign_in, wait_idle
from tests.browser.test_config_to_conversion_journey import open_page, settle

PASSWORD = "walnut-harbor-prism-61"


def sent_to_server(pg: Any) -> list[Any]:
    """Every message this tab sends the Streamlit server from now on (a rerun is one)."""
    sent: list[Any] = []
    pg.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(frame)))
    return sent


def fill(pg: Any, **boxes: str) -> None:
    for label, value in boxes.items():
        pg.get_by_label(label, exact=True).fill(value)
    pg.get_by_label("Password", exact=True).fill(PASSWORD)
    pg.get_by_label("Repeat the password").fill(PASSWORD)


def test_opening_add_a_user_asks_the_server_for_nothing(page: Any, app_url: str) -> None:
    sent = sent_to_server(page)
    sign_in(page, app_url, "admin", "fcops-admin-demo")
    open_page(page, "Users")
    wait_idle(page)
    before = len(sent)
    page.get_by_text("Add a user").click()
    page.get_by_label("Username", exact=True).wait_for()  # the form shows at once
    page.wait_for_timeout(1_500)  # a run asked for by the click would have been sent by now
    assert len(sent) == before, "opening Add a user reran the page under the admin's next click"

    # The next click, at once: one press of Add user, one run, and it is answered.
    name = f"form{secrets.token_hex(3)}"
    fill(page, Username=name)
    before = len(sent)
    page.get_by_role("button", name="Add user").click()
    page.get_by_text("Role must be one of").wait_for(timeout=15_000)
    settle(page)
    assert len(sent) == before + 1
    # Refused: the box stays open with what was typed, to mend (the passwords are emptied).
    assert page.get_by_label("Username", exact=True).input_value() == name
    assert page.get_by_label("Password", exact=True).input_value() == ""


def test_the_box_closes_after_an_add_and_opens_empty_for_the_next(page: Any, app_url: str) -> None:
    sign_in(page, app_url, "admin", "fcops-admin-demo")
    open_page(page, "Users")
    page.get_by_text("Add a user").click()
    name = f"form{secrets.token_hex(3)}"
    fill(page, Username=name, Name="Form Test", Email=f"{name}@example.com")
    page.get_by_test_id("stSelectbox").filter(has_text="Role").filter(visible=True).last.click()
    page.get_by_role("option", name="finance").first.click()
    page.get_by_role("button", name="Add user").click()
    page.get_by_text(f"Added {name} as finance").wait_for(timeout=15_000)
    settle(page)
    page.get_by_label("Username", exact=True).wait_for(state="hidden")  # closed
    page.get_by_text("Add a user").click()
    page.get_by_label("Username", exact=True).wait_for()
    assert page.get_by_label("Username", exact=True).input_value() == ""
