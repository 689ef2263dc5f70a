"""A button's action, run later in the page where it belongs: a callback remembers it with
:func:`ask` (callbacks run before the script, where nothing can be drawn), and the page takes it
with :func:`take` at the spot whose messages it should show beside."""

from __future__ import annotations

from typing import Any

import streamlit as st

PENDING = "collect_pending"  # (action, args) a button asked for, run on the next page run


def ask(action: str, *args: Any) -> None:
    """A button's callback: remember the action; :func:`take` runs it where it belongs."""
    st.session_state[PENDING] = (action, args)


def take(action: str) -> tuple[Any, ...] | None:
    """The arguments of ``action`` if a button asked for it (once), else None."""
    pending = st.session_state.get(PENDING)
    if not pending or pending[0] != action:
        return None
    del st.session_state[PENDING]
    return tuple(pending[1])
