"""Typing through Debit policy's boxes in a real browser: the first edit keeps a draft and draws
its line ("Unsaved edits: your draft from …"), and the boxes must not move meanwhile. The line
was drawn above the form and moved every box down mid-typing (a click aimed at the next box
landed elsewhere; focus and positions changed under the keys)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import sign_in
from tests.browser.test_config_to_conversion_journey import open_page, settle

pytestmark = pytest.mark.browser

BOXES = [
    ("textbox", "Safety buffer amount (USD)"),
    ("spinbutton", "Safety buffer (% of the debit)"),
    ("spinbutton", "Maximum balance age (hours)"),
    ("textbox", "Note for the history (optional)"),
]
FOCUSED = "() => document.activeElement && document.activeElement.getAttribute('aria-label')"


def tops(page: Any) -> list[float]:
    places = [page.get_by_role(role, name=name).bounding_box() for role, name in BOXES]
    places.append(page.get_by_role("button", name="Save policy").bounding_box())
    return [round(p["y"]) for p in places]


def tab_to(page: Any, name: str) -> None:
    """Tab (past the help icons) until the box ``name`` has the focus, without waiting for reruns."""
    for _ in range(4):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED) == name:
            return
    raise AssertionError(f"Tab never reached {name!r}")


def open_policy_as_admin(page: Any, app_url: str) -> None:
    """Sign in as admin and open Debit policy with no draft (an earlier test's is discarded,
    and the page opened again)."""
    sign_in(page, app_url, "admin", "fcops-admin-demo")
    open_page(page, "Debit policy")
    if page.get_by_role("button", name="Discard draft").count():  # an earlier test's draft
        page.get_by_role("button", name="Discard draft").click()
        settle(page)
        open_page(page, "Home")
        open_page(page, "Debit policy")


def test_typing_box_to_box_loses_nothing_and_moves_no_box(app_url: str, page: Any) -> None:
    open_policy_as_admin(page, app_url)
    before = tops(page)
    typed = ["41.25", "3.5", "7", "typed box to box"]
    amount = page.get_by_role(BOXES[0][0], name=BOXES[0][1])
    amount.click()
    amount.press("Control+a")
    for i, text in enumerate(typed):
        page.keyboard.type(text, delay=30)  # the first box's rerun runs while the next is typed
        if i + 1 < len(BOXES):
            tab_to(page, BOXES[i + 1][1])
            page.keyboard.press("Control+a")
    page.keyboard.press("Tab")
    page.get_by_text("Unsaved edits: your draft from").wait_for()
    settle(page)
    assert [page.get_by_role(r, name=n).input_value() for r, n in BOXES] == [
        "41.25", "3.50", "7.00", "typed box to box"
    ]
    assert tops(page) == before
