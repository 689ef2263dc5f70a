"""A full run that ends by ``st.stop()`` forgets the fragments it did not draw.

Streamlit forgets an earlier run's fragments when a full run ends, but not when it ends by
``st.stop()``: every guard's refusal and the login form after Log out end that way. The Jobs
board's run still on its way from the browser (its 2 s timer, or Try again pressed as the admin
was demoted) then ran against the refused page, and its drawing, aimed at a place that page does
not have, blanked the browser's tab ("Bad delta path index 5 (should be between [0, 3])"; seen in
Chromium: tests/browser/test_roles_now.py). Forgotten, Streamlit skips such a run.

The fragment storage is read through AppTest's own (private) attribute: what the browser shows is
the Chromium journey's; here, that no fragment of the old page is left behind.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.conftest import DASHBOARD, no_exceptions, signed_in


def registered(at: AppTest) -> set[str]:
    return set(at._fragment_storage._fragments)  # type: ignore[attr-defined]


def _a_page_stopped_by_its_guard() -> None:
    """The router's shape: the page runs by ``live.run_page``; its guard stops the run
    (``probe_refuse``) before the board, which an earlier run drew."""
    from types import SimpleNamespace

    import streamlit as st

    from pages import _live as live

    @st.fragment(run_every=60.0)
    def board() -> None:
        st.write("board")

    def jobs() -> None:
        st.title("Jobs")
        if st.session_state.get("probe_refuse"):
            st.error("Your role cannot open this page.")
            st.stop()
        board()

    live.run_page(SimpleNamespace(run=jobs))  # as st.navigation's page
    st.write("after the page")


def _a_router_that_stops() -> None:
    """Draws a live note of its own, then stops (``probe_refuse``) before the page's board."""
    import streamlit as st

    from pages import _live as live

    @st.fragment(run_every=60.0)
    def note() -> None:
        st.write("note")

    @st.fragment(run_every=60.0)
    def board() -> None:
        st.write("board")

    note()
    if st.session_state.get("probe_refuse"):
        st.write("the login form")
        live.stop()
    board()


def test_a_page_stopped_by_its_guard_forgets_the_board_an_earlier_run_drew() -> None:
    at = AppTest.from_function(_a_page_stopped_by_its_guard, default_timeout=30)
    at.run()
    no_exceptions(at)
    board = registered(at)
    assert len(board) == 1
    at.session_state["probe_refuse"] = True
    at.run()
    no_exceptions(at)
    assert [e.value for e in at.error] == ["Your role cannot open this page."]
    assert "after the page" not in [m.value for m in at.markdown]  # the run did stop
    assert registered(at) & board == set()


def test_the_routers_own_stop_forgets_the_board_and_keeps_what_it_drew() -> None:
    at = AppTest.from_function(_a_router_that_stops, default_timeout=30)
    at.run()
    both = registered(at)
    assert len(both) == 2
    at.session_state["probe_refuse"] = True
    at.run()
    no_exceptions(at)
    assert "board" not in [m.value for m in at.markdown]
    kept = registered(at)
    assert len(kept) == 1 and kept < both  # the note, drawn by this run, still redraws itself


def test_a_page_that_runs_to_its_end_keeps_its_board() -> None:
    at = AppTest.from_function(_a_page_stopped_by_its_guard, default_timeout=30)
    at.run()
    board = registered(at)
    at.run()
    no_exceptions(at)
    assert registered(at) == board  # drawn again: the same fragment, still there


def test_the_login_form_after_log_out_forgets_homes_fragments() -> None:
    """Through the real router (dashboard.py): Home redraws part of itself; Log out's run draws
    the login form and stops there."""
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    signed_in(at, "ops").run()
    no_exceptions(at)
    home = registered(at)
    assert home
    next(b for b in at.button if b.label == "Log out").click().run()
    no_exceptions(at)
    assert not any(b.label == "Log out" for b in at.button)  # the login form
    assert registered(at) & home == set()


def test_the_router_stops_and_runs_pages_only_the_forgetting_way() -> None:
    """dashboard.py: no bare ``st.stop()`` and no page's own ``.run()``: every page runs by
    ``live.run_page``, so a new stop or page path cannot bring back the blank tab."""
    import ast
    from pathlib import Path

    calls = [n for n in ast.walk(ast.parse(Path(DASHBOARD).read_text())) if isinstance(n, ast.Call)]
    names = [ast.unparse(c.func) for c in calls]
    assert "st.stop" not in names
    assert [n for n in names if n.endswith(".run")] == []
    assert names.count("live.run_page") >= 4  # the set-up error, SSO's refusal, the login, the page
