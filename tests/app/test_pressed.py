"""pages._pressed: a click on a button that the click's own run draws disabled still counts.

Streamlit runs the callback of the drawing clicked but drops the click's value when the run draws
the button off: Debit policy's Save pressed on a page drawn before another admin's save saved
nothing and asked no service (no refused-save audit row). Flow configuration and Debit policy
now draw Save with the one helper."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def page() -> None:
    """A button drawn off when ``off`` is set, with a plain ``st.button`` beside it for contrast."""
    import streamlit as st

    from pages._pressed import pressed

    def called() -> None:
        st.session_state["called"] = st.session_state.get("called", 0) + 1

    off = bool(st.session_state.get("off"))
    if pressed("Save", key="save", disabled=off, on_click=called):
        st.session_state["saves"] = st.session_state.get("saves", 0) + 1
    if st.button("Plain", key="plain", disabled=off):
        st.session_state["plain_counted"] = True


def test_a_click_whose_run_draws_the_button_off_counts_once_and_runs_its_callback() -> None:
    at = AppTest.from_function(page)
    at.run()
    at.session_state["off"] = True  # another admin saved: the click's run draws the button off
    at.button(key="save").click()
    at.button(key="plain").click()
    at.run()
    assert not at.exception
    assert at.button(key="save").disabled
    assert at.session_state["saves"] == 1 and at.session_state["called"] == 1
    assert "plain_counted" not in at.session_state  # Streamlit's own button lost that click
    at.run()  # the next run is no click
    assert at.session_state["saves"] == 1 and at.session_state["called"] == 1


def test_a_click_on_a_button_drawn_on_counts_once() -> None:
    at = AppTest.from_function(page)
    at.run()
    at.button(key="save").click().run()
    assert at.session_state["saves"] == 1 and at.session_state["called"] == 1
    at.run()
    assert at.session_state["saves"] == 1
