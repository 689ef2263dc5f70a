"""Debit policy keeps each admin's unsaved edits, like Flow configuration: leaving the page
(a sidebar click) and coming back, a reload or a new tab (a new session) shows them again, with
when they were kept and a Discard draft; a draft from an older version opens the conflict panel."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from services.auth import Actor
from services.rules.debit import DebitPolicy
from services.usecases import debit_policy
from tests.app.conftest import clear_flow_drafts, no_exceptions, open_page, shared_app, texts

PAGE = "pages/policy.py"
OTHER = Actor(username="other-admin", role="admin", name="Other Admin")
KNOWN = DebitPolicy(buffer_amount=1_000, buffer_percent=1.0, max_age_seconds=86_400)


@pytest.fixture(autouse=True)
def no_drafts() -> Iterator[None]:
    clear_flow_drafts()
    yield
    clear_flow_drafts()


def known_policy() -> debit_policy.StoredPolicy:
    """The stored policy is $10.00, 1 %, 24 h (saved by another admin)."""
    engine = shared_app().engine
    start = debit_policy.load_policy(engine)
    return debit_policy.save_policy(engine, OTHER, KNOWN, expected_version=start.version)


def amount(at: AppTest) -> str:
    return str(at.text_input(key="policy_buffer_amount").value)


def page_order(at: AppTest) -> list[str]:
    """The main area's elements in page order, each as ``kind:key`` (for "nothing moved")."""
    found: list[str] = []

    def walk(node: Any) -> None:
        found.append(f"{type(node).__name__}:{getattr(node, 'key', None) or ''}")
        children = getattr(node, "children", {})
        for index in sorted(children):
            walk(children[index])

    walk(at.main)
    return found


def drawn_above(at: AppTest, key: str) -> list[str]:
    order = page_order(at)
    return order[: next(i for i, e in enumerate(order) if e.endswith(f":{key}"))]


def test_leaving_the_page_and_coming_back_keeps_the_unsaved_edits_with_a_discard() -> None:
    """Typing 30.00, clicking Jobs and coming back showed the saved values, without a word."""
    saved = known_policy()
    at = open_page(PAGE, "admin")
    at.text_input(key="policy_buffer_amount").set_value("30.00")  # typed, not saved
    at.switch_page("pages/jobs.py").run()  # the sidebar click sends what the box holds
    no_exceptions(at)
    at.switch_page(PAGE).run()
    no_exceptions(at)
    assert amount(at) == "30.00"
    shown = texts(at)
    assert "Unsaved edits: your draft from" in shown and "kept for you only" in shown
    assert "What this means (unsaved)" in shown
    assert debit_policy.load_policy(shared_app().engine) == saved  # nothing saved

    at.button(key="policy_discard").click().run()
    no_exceptions(at)
    assert amount(at) == "10.00"
    assert "Unsaved edits" not in texts(at)
    assert any("Discarded your draft" in i.value for i in at.info)
    again = open_page(PAGE, "admin")  # a reload: the discarded draft stays gone
    assert amount(again) == "10.00" and "Unsaved edits" not in texts(again)


def test_a_reload_shows_the_draft_again_and_saving_ends_it() -> None:
    known_policy()
    at = open_page(PAGE, "admin")
    at.text_input(key="policy_buffer_amount").set_value("30.00")
    at.number_input(key="policy_max_age_hours").set_value(6.0)
    at.text_input(key="policy_note").set_value("kept over a reload").run()

    reloaded = open_page(PAGE, "admin")  # a new session
    no_exceptions(reloaded)
    assert amount(reloaded) == "30.00"
    assert reloaded.number_input(key="policy_max_age_hours").value == pytest.approx(6.0)
    assert reloaded.text_input(key="policy_note").value == "kept over a reload"
    assert "your draft from" in texts(reloaded)
    assert "What admin" not in texts(reloaded)  # same version: no conflict

    reloaded.button(key="policy_save").click().run()
    no_exceptions(reloaded)
    stored = debit_policy.load_policy(shared_app().engine)
    assert stored.policy == DebitPolicy(buffer_amount=3_000, buffer_percent=1.0,
                                        max_age_seconds=6 * 3600)
    assert "Unsaved edits" not in texts(reloaded)
    after = open_page(PAGE, "admin")
    assert amount(after) == "30.00" and "Unsaved edits" not in texts(after)


def test_a_draft_kept_on_an_older_version_opens_the_conflict_panel() -> None:
    saved = known_policy()
    at = open_page(PAGE, "admin")
    at.text_input(key="policy_buffer_amount").set_value("30.00").run()
    theirs = debit_policy.save_policy(
        shared_app().engine, OTHER, DebitPolicy(buffer_amount=1_000, buffer_percent=4.0,
                                                max_age_seconds=86_400),
        expected_version=saved.version,
    )

    reloaded = open_page(PAGE, "admin")
    no_exceptions(reloaded)
    assert amount(reloaded) == "30.00"  # mine, still unsaved
    shown = texts(reloaded)
    assert f"What {OTHER.username} changed" in shown
    assert "**Safety buffer (% of the debit)**: `1 %` → `4 %`" in shown
    assert "**Safety buffer amount**: `$10.00` → `$30.00`" in shown  # my edit, on version base
    reloaded.button(key="policy_keep_mine").click().run()
    no_exceptions(reloaded)
    assert amount(reloaded) == "30.00"
    assert reloaded.number_input(key="policy_buffer_percent").value == pytest.approx(4.0)
    assert debit_policy.load_policy(shared_app().engine) == theirs  # nothing saved yet


def test_a_note_typed_alone_is_kept_like_any_other_edit() -> None:
    """Only the note typed, then the page left or reloaded: the note was gone (a note alone
    was no edit, so nothing kept it)."""
    known_policy()
    at = open_page(PAGE, "admin")
    at.text_input(key="policy_note").set_value("after the R01 spike")
    at.switch_page("pages/jobs.py").run()  # the sidebar click sends what the box holds
    at.switch_page(PAGE).run()
    no_exceptions(at)
    assert at.text_input(key="policy_note").value == "after the R01 spike"

    reloaded = open_page(PAGE, "admin")  # a new session: the note comes from the store
    no_exceptions(reloaded)
    assert reloaded.text_input(key="policy_note").value == "after the R01 spike"
    assert amount(reloaded) == "10.00"
    assert "your draft from" in texts(reloaded)

    reloaded.button(key="policy_discard").click().run()
    no_exceptions(reloaded)
    assert reloaded.text_input(key="policy_note").value == ""
    assert "Unsaved edits" not in texts(open_page(PAGE, "admin"))


def test_the_first_edit_draws_the_draft_line_below_the_form_so_no_box_moves() -> None:
    """The draft line appeared above the form with the first edit (the box's on_change), moving
    every box down while the admin typed into the next: in a browser, keys went astray."""
    known_policy()
    at = open_page(PAGE, "admin")
    before = drawn_above(at, "policy_buffer_amount")
    at.text_input(key="policy_buffer_amount").set_value("30.00").run()
    no_exceptions(at)
    assert "Unsaved edits: your draft from" in texts(at)
    assert drawn_above(at, "policy_buffer_amount") == before  # nothing new above the boxes
    order = page_order(at)
    assert order.index("Button:policy_discard") > order.index("Button:policy_save")


def test_a_click_sent_before_a_save_drew_brings_back_no_saved_note() -> None:
    """A second Save click (or any click) sent by the form as drawn before the save still
    carries the note just saved: it came back as a draft of the note alone, kept across
    reloads, to ride along unseen on the next save."""
    known_policy()
    at = open_page(PAGE, "admin")
    at.text_input(key="policy_buffer_amount").set_value("31.00")
    at.text_input(key="policy_note").set_value("the reason, saved once").run()
    at.button(key="policy_save").click().run()
    assert any("Saved as version" in s.value for s in at.success)
    at.text_input(key="policy_note").set_value("the reason, saved once").run()  # the old form
    no_exceptions(at)
    assert at.text_input(key="policy_note").value == ""
    assert "Unsaved edits" not in texts(at)
    assert open_page(PAGE, "admin").text_input(key="policy_note").value == ""  # nothing kept

    at.text_input(key="policy_note").set_value("a new reason").run()  # typed afterwards: kept
    assert at.text_input(key="policy_note").value == "a new reason"
