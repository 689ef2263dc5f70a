"""Admin forms in a real browser on every visit: leave Debit policy or Flow configuration with
nothing unsaved and come back, and the form holds the saved values (not empty widgets), says
nothing about unsaved edits, and a save without edits changes nothing; leave it with a value typed
and not saved (no Enter: the sidebar click is what ends the typing), and it comes back as typed."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import sign_in, wait_idle
from tests.browser.test_config_to_conversion_journey import (
    add_setup_intent_permission,
    open_page,
    open_setup_intent_flow,
    pick_option,
    settle,
)

pytestmark = pytest.mark.browser

VERSION = re.compile(r"[Vv]ersion (\d+), saved by")


def main_text(page: Any) -> str:
    return str(page.locator('[data-testid="stMain"]').inner_text())


def version_shown(page: Any) -> int:
    found = VERSION.search(main_text(page))
    assert found, main_text(page)
    return int(found.group(1))


def policy_fields(page: Any) -> tuple[str, str, str]:
    return (
        page.get_by_role("textbox", name="Safety buffer amount (USD)").input_value(),
        page.get_by_role("spinbutton", name="Safety buffer (% of the debit)").input_value(),
        page.get_by_role("spinbutton", name="Maximum balance age (hours)").input_value(),
    )


def test_debit_policy_shows_the_stored_values_on_return_and_an_untouched_save_changes_nothing(
    app_url: str, page: Any
) -> None:
    sign_in(page, app_url, "admin", "fcops-admin-demo")
    open_page(page, "Debit policy")
    page.get_by_role("textbox", name="Safety buffer amount (USD)").fill("25.50")
    page.get_by_role("spinbutton", name="Safety buffer (% of the debit)").fill("1.25")
    page.get_by_role("spinbutton", name="Maximum balance age (hours)").fill("6")
    page.get_by_role("button", name="Save policy").click()
    page.get_by_text("Saved as version").wait_for()
    settle(page)
    saved = version_shown(page)
    assert policy_fields(page) == ("25.50", "1.25", "6.00")

    open_page(page, "Home")
    open_page(page, "Debit policy")
    page.get_by_role("textbox", name="Safety buffer amount (USD)").wait_for()
    assert policy_fields(page) == ("25.50", "1.25", "6.00")
    assert "(unsaved)" not in main_text(page)

    page.get_by_role("button", name="Save policy").click()
    page.get_by_text("Nothing to save").wait_for()
    settle(page)
    assert version_shown(page) == saved
    assert policy_fields(page) == ("25.50", "1.25", "6.00")
    assert "Traceback" not in page.content()


def test_debit_policy_keeps_a_value_typed_and_left_unsaved_by_a_sidebar_click(
    app_url: str, page: Any
) -> None:
    """The tester typed 30.00, clicked Jobs and came back: the saved values, no message (the
    boxes were a form's, whose values reach the server only with its submit)."""
    sign_in(page, app_url, "admin", "fcops-admin-demo")
    open_page(page, "Debit policy")
    before = policy_fields(page)
    page.get_by_role("textbox", name="Safety buffer amount (USD)").fill("30.00")
    open_page(page, "Jobs")
    open_page(page, "Debit policy")
    page.get_by_role("textbox", name="Safety buffer amount (USD)").wait_for()
    assert policy_fields(page) == ("30.00", *before[1:])
    assert "Unsaved edits: your draft from" in main_text(page)
    # Again over the kept draft: the draft line, once shown, moved the boxes down, so they
    # were drawn anew and what was typed into them while that happened was lost.
    for typed in ("31.00", "32.00"):
        page.get_by_role("textbox", name="Safety buffer amount (USD)").fill(typed)
        open_page(page, "Jobs")
        open_page(page, "Debit policy")
        page.get_by_role("textbox", name="Safety buffer amount (USD)").wait_for()
        assert policy_fields(page) == (typed, *before[1:])
    page.get_by_role("button", name="Discard draft").click()
    page.get_by_text("Discarded your draft").wait_for()
    settle(page)
    assert policy_fields(page) == before


def test_flow_configuration_shows_the_stored_flow_on_return_with_no_unsaved_edits(
    app_url: str, page: Any
) -> None:
    sign_in(page, app_url, "admin", "fcops-admin-demo")
    added = add_setup_intent_permission(page)
    settle(page)
    # Prefetch came back empty before: store one (the permission just added allows it).
    prefetch_box = page.get_by_test_id("stMultiSelect").filter(has_text="Prefetch")
    if added not in prefetch_box.inner_text():
        pick_option(page, "Prefetch", added)
        page.get_by_role("button", name="Save").click()
        settle(page)
        page.get_by_text(re.compile(r"Saved version \d+\.")).wait_for()
        settle(page)
    perms_box = page.get_by_test_id("stMultiSelect").filter(has_text="Permissions")
    prefetch_box = page.get_by_test_id("stMultiSelect").filter(has_text="Prefetch")
    saved = version_shown(page)
    stored_perms = perms_box.inner_text()
    stored_prefetch = prefetch_box.inner_text()
    assert added in stored_perms and "payment_method" in stored_perms
    assert added in stored_prefetch

    open_page(page, "Home")
    open_setup_intent_flow(page)
    wait_idle(page)
    perms_box = page.get_by_test_id("stMultiSelect").filter(has_text="Permissions")
    assert perms_box.inner_text() == stored_perms
    prefetch_box = page.get_by_test_id("stMultiSelect").filter(has_text="Prefetch")
    assert prefetch_box.inner_text() == stored_prefetch
    assert "Unsaved edits" not in main_text(page)
    assert page.get_by_role("button", name="Save").is_disabled()  # nothing to save
    assert version_shown(page) == saved
