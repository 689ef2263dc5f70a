"""Flows keeps each admin's unsaved edits across a reload, a new tab or a link (a new session)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from services.adapters import flow_drafts as store
from services.auth import Actor
from services.rules import flow_config
from services.usecases import edit_flows as flows
from tests.app.conftest import clear_flow_drafts, no_exceptions, open_page, shared_app, texts

PAGE = "pages/flows.py"
OTHER = Actor(username="other-admin", role="admin", name="Other Admin")

def k(flow: str, name: str) -> str:
    return f"flows_{flow}_{name}"


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

@pytest.fixture(autouse=True)
def no_drafts() -> Iterator[None]:
    """Every test starts and ends with no stored drafts."""
    clear_flow_drafts()
    yield
    clear_flow_drafts()


def edit(flow: str) -> tuple[AppTest, str]:
    """An admin's session with an unsaved edit of ``flow``'s verification method."""
    at = open_page(PAGE, "admin")
    at.radio(key="flows_selected").set_value(flow).run()
    stored = flows.load_flow(shared_app().engine, flow)
    mine = "automatic" if stored.verification_method == "instant" else "instant"
    at.radio(key=k(flow, "method")).set_value(mine).run()
    at.text_input(key=k(flow, "note")).set_value("kept over a reload").run()
    no_exceptions(at)
    assert "Unsaved edits" in texts(at)
    return at, mine

def test_a_reload_shows_the_unsaved_edits_again_with_their_time_and_a_discard() -> None:
    """A reload (a new session) threw every unsaved edit away without a word."""
    flow = "invoice"
    _, mine = edit(flow)
    saved = flows.load_flow(shared_app().engine, flow)

    reloaded = open_page(PAGE, "admin")  # a reload, a new tab, the sidebar: no ?flow=
    no_exceptions(reloaded)
    assert reloaded.radio(key="flows_selected").value == flow  # the flow being edited
    assert reloaded.radio(key=k(flow, "method")).value == mine
    assert reloaded.text_input(key=k(flow, "note")).value == "kept over a reload"
    shown = texts(reloaded)
    assert "Unsaved edits" in shown and "your draft from" in shown
    assert "unsaved edits" in reloaded.radio(key="flows_selected").proto.captions[
        flow_config.FLOWS.index(flow)
    ]
    assert not reloaded.button(key=k(flow, "save")).disabled
    assert flows.load_flow(shared_app().engine, flow) == saved  # nothing saved

    reloaded.button(key=k(flow, "discard")).click().run()  # Discard draft
    no_exceptions(reloaded)
    assert reloaded.radio(key=k(flow, "method")).value == saved.verification_method
    assert "Unsaved edits" not in texts(reloaded)
    again = open_page(PAGE, "admin")
    again.radio(key="flows_selected").set_value(flow).run()
    assert again.radio(key=k(flow, "method")).value == saved.verification_method
    assert "Unsaved edits" not in texts(again)

def test_a_link_to_the_flow_shows_the_draft_too() -> None:
    flow = "setup_intent"
    _, mine = edit(flow)
    linked = open_page(PAGE, "admin")
    linked.query_params["flow"] = flow
    linked.run()
    no_exceptions(linked)
    assert linked.radio(key=k(flow, "method")).value == mine
    assert "your draft from" in texts(linked)

def test_saving_clears_the_draft_so_a_reload_shows_the_saved_configuration() -> None:
    flow = "subscription"
    at, mine = edit(flow)
    at.button(key=k(flow, "save")).click().run()
    no_exceptions(at)
    assert flows.load_flow(shared_app().engine, flow).verification_method == mine
    assert store.for_user(shared_app().engine, "admin") == {}

    reloaded = open_page(PAGE, "admin")
    reloaded.radio(key="flows_selected").set_value(flow).run()
    no_exceptions(reloaded)
    assert "Unsaved edits" not in texts(reloaded)
    assert reloaded.button(key=k(flow, "save")).disabled

def test_a_draft_of_an_older_version_opens_the_three_way_merge_after_a_reload() -> None:
    flow = "checkout_session"
    engine = shared_app().engine
    _, mine = edit(flow)
    base = flows.load_flow(engine, flow)
    theirs = flows.save_flow(
        engine, OTHER, flow, permissions=[*base.permissions, "ownership"], prefetch=base.prefetch,
        verification_method=base.verification_method, expected_version=base.version,
    )
    reloaded = open_page(PAGE, "admin")
    no_exceptions(reloaded)
    assert reloaded.radio(key="flows_selected").value == flow
    shown = texts(reloaded)
    assert f"saved version {theirs.version}" in shown
    started = f"version {base.version}" if base.version else "fcops' built-in defaults"
    assert f"Your unsaved edits (on {started})" in shown
    reloaded.button(key=k(flow, "keep")).click().run()  # keep mine on top of theirs
    no_exceptions(reloaded)
    reloaded.button(key=k(flow, "save")).click().run()
    no_exceptions(reloaded)
    now = flows.load_flow(engine, flow)
    assert (now.version, now.verification_method) == (theirs.version + 1, mine)
    assert "ownership" in now.permissions  # their change kept
    assert store.for_user(engine, "admin") == {}


def test_a_note_typed_alone_is_kept_like_any_other_edit() -> None:
    """Only the note typed, then the page left or reloaded: the note was gone (a note alone was
    no edit, so nothing kept it). Save stays off: a note alone saves no version."""
    flow = "payment_element"
    at = open_page(PAGE, "admin")
    at.radio(key="flows_selected").set_value(flow).run()
    at.text_input(key=k(flow, "note")).set_value("asked by underwriting")
    at.switch_page("pages/jobs.py").run()  # the sidebar click sends what the box holds
    at.switch_page(PAGE).run()
    at.radio(key="flows_selected").set_value(flow).run()
    no_exceptions(at)
    assert at.text_input(key=k(flow, "note")).value == "asked by underwriting"

    reloaded = open_page(PAGE, "admin")  # a new session: the note comes from the store
    no_exceptions(reloaded)
    assert reloaded.radio(key="flows_selected").value == flow
    assert reloaded.text_input(key=k(flow, "note")).value == "asked by underwriting"
    assert "your draft from" in texts(reloaded)
    assert reloaded.button(key=k(flow, "save")).disabled  # nothing to save yet
    # and it says why, not "nothing has changed from the saved configuration" beside the draft
    assert "only the note changed, and a note alone is not saved as a version" in texts(reloaded)
    assert "nothing has changed from the saved configuration" not in texts(reloaded)

    reloaded.button(key=k(flow, "discard")).click().run()
    no_exceptions(reloaded)
    assert reloaded.text_input(key=k(flow, "note")).value == ""
    assert store.for_user(shared_app().engine, "admin") == {}


def test_the_first_edit_moves_nothing_above_the_editor() -> None:
    """The first edit drew the draft line above the editor and the list's first "unsaved edits"
    caption (a radio with a caption is taller): the editor moved down while the admin worked."""
    flow = "invoice"
    at = open_page(PAGE, "admin")
    at.radio(key="flows_selected").set_value(flow).run()
    before = drawn_above(at, k(flow, "perms"))
    captions = list(at.radio(key="flows_selected").proto.captions)
    assert all(c.strip() for c in captions)  # a caption line under every flow, marked or not
    stored = flows.load_flow(shared_app().engine, flow)
    mine = "automatic" if stored.verification_method == "instant" else "instant"
    at.radio(key=k(flow, "method")).set_value(mine).run()
    no_exceptions(at)
    assert "your draft from" in texts(at)
    assert drawn_above(at, k(flow, "perms")) == before
    order = page_order(at)
    assert order.index(f"Button:{k(flow, 'discard')}") > order.index(f"Button:{k(flow, 'save')}")


def test_a_click_sent_before_a_save_drew_brings_back_no_saved_note() -> None:
    """A second Save click (or any click) sent by the page as drawn before the save still
    carries the note just saved: it came back as a draft of the note alone ("Unsaved edits",
    "only the note changed"), kept across reloads, to ride along unseen on the next save."""
    flow = "payment_intent"
    at = open_page(PAGE, "admin")
    at.radio(key="flows_selected").set_value(flow).run()
    saved = flows.load_flow(shared_app().engine, flow)
    method = "instant" if saved.verification_method != "instant" else "automatic"
    at.radio(key=k(flow, "method")).set_value(method).run()
    at.text_input(key=k(flow, "note")).set_value("the reason, saved once").run()
    at.button(key=k(flow, "save")).click().run()
    assert f"Saved version {saved.version + 1}." in [s.value for s in at.success]
    at.text_input(key=k(flow, "note")).set_value("the reason, saved once").run()  # the old page
    no_exceptions(at)
    assert at.text_input(key=k(flow, "note")).value == ""
    assert "Unsaved edits" not in texts(at)
    assert store.for_user(shared_app().engine, "admin") == {}

    at.text_input(key=k(flow, "note")).set_value("a new reason").run()  # typed afterwards: kept
    assert at.text_input(key=k(flow, "note")).value == "a new reason"
