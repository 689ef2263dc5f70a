"""Parts of a page that redraw themselves (``st.fragment(run_every=…)``), checked on every run.

A fragment's own run (its timer, or a click inside it) runs that function alone: not the router,
not the page's guard. Every such fragment is made with :func:`fragment`, which first asks
:func:`page_still_open`; tests/unit/test_architecture.py holds every page to it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NoReturn

import streamlit as st

from pages import _runtime as runtime


def page_still_open() -> bool:
    """Whether a fragment may draw this run: the signed-in person is the one, with the role, that
    the page's guard let in on its last full run. A fragment's own run (``run_every``, or a click
    inside it) skips the page and its guard, so a user removed or demoted since kept seeing the
    Jobs board update, and could press its buttons. When that no longer holds, the whole app runs
    again (``st.rerun``): the router signs a removed user out and says why, the guard says a role
    that lost the page "cannot open this page", and a role that keeps it sees the page as that
    role sees it. One read of the users file (cached while it is unchanged) and of the sign-in."""
    if runtime.signed_out_elsewhere():  # reruns the app from a fragment's run
        return False
    seen = st.session_state.get(runtime.GUARDED)
    if seen is None:  # no guarded page drew this fragment: nothing to compare with
        return True
    now = runtime.current_actor()
    who = (now.username, now.role) if now is not None else ("", "")
    if tuple(seen) == (*who, runtime.REFUSED):
        # The app's last full run already refused this person the page. A run of its board still
        # on its way from the browser draws nothing; rerunning the app for it again would only
        # say the same (and each stray run made one more full run).
        return False
    if tuple(seen) != who:
        st.rerun()
    return True


def fragment(run_every: float) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """``st.fragment(run_every=…)`` for a part of a page that redraws itself: each of its runs
    first checks that the page is still this person's to see (:func:`page_still_open`)."""

    def wrap(body: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(body)
        def checked(*args: Any, **kwargs: Any) -> None:
            if page_still_open():
                body(*args, **kwargs)

        return st.fragment(checked, run_every=run_every)

    return wrap


def forget_undrawn_fragments() -> None:
    """Forget the fragments an earlier full run drew and this full run has not drawn.

    Streamlit forgets them when a full run ends, but not when it ends by ``st.stop()`` (a guard's
    refusal, the login form after Log out). A board's run still on its way from the browser (its
    timer, or a button on it pressed as the page changed) then ran against the old page, and its
    drawing, aimed at a place the new page does not have, broke the browser's page: "Bad delta
    path index 5 (should be between [0, 3])", and the tab went blank until reloaded. Forgotten,
    such a run is skipped by Streamlit. A fragment's own run keeps the full run's fragments."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or ctx.fragment_ids_this_run:
        return
    ctx.fragment_storage.clear(new_fragment_ids=ctx.shared.new_fragment_ids.snapshot())


def stop() -> NoReturn:
    """``st.stop()`` for the router's full runs: see :func:`forget_undrawn_fragments`."""
    forget_undrawn_fragments()
    st.stop()


def run_page(page: Any) -> None:
    """``page.run()`` for the router (``page`` from ``st.navigation``): a page that ends the run
    by ``st.stop()`` (every guard's refusal) first forgets the fragments it did not draw
    (:func:`forget_undrawn_fragments`)."""
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    try:
        page.run()
    except StopException:
        forget_undrawn_fragments()
        raise
