"""A page that keeps the person's last result in its address, and shows it again on coming back.

Balance check (``?check=…``) and Payment lookup (``?id=…``) keep what they show in the URL, so a
reload, a new tab, Back or Forward, or a colleague given the link opens it again, and keep it in
the session, so coming back by the sidebar (whose link has no query) shows it again, with the
address put back in place (:func:`pages._runtime.replace_address`).

An address without the choice is read as the person's move ("Back to the empty form") only
when the person moved: on the page's first run since coming from another page (a sidebar
click, a link, a reload, a new tab) and on a step of the browser's history (Back, Forward). Any
other run (a box typed in, a button, a click on the page's own sidebar link) may carry an
address that lags the browser's: the sidebar's, captured before the page's address script put
the choice back, or one Streamlit's frontend sent without its query after a quick click on the
sidebar right after typing. Read as a move, such a run dropped the check and the boxes, and the
address stayed without it (seen in Chromium: 2 of 6 trips). On those runs the session is the
truth, and the address is put back to agree with it. An address naming a choice is read as
before (a link, a reload, a new tab name one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from pages import _runtime as runtime
from services.rules.ids import MAX_ID_LENGTH


def history_step() -> bool:
    """Whether this run is a step of the browser's history (Back or Forward)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.is_history_navigation)


def read_address(
    seen_key: str,
    arrival_key: str,
    url_path: str,
    params: Sequence[str],
    *,
    kept: bool,
    limit: int = MAX_ID_LENGTH,
) -> tuple[bool, tuple[str, ...] | None]:
    """(moved, what the address says) for a page keeping its choice in ``params``
    (the first one names it) under ``seen_key``, as :func:`runtime.address_choice` reads it.

    ``kept``: the session still holds the result of the choice it last read or wrote. On an
    arrival without the choice in the address (the sidebar) while it is kept, the address gets
    it back in place and nothing moved; on any other run but a step of the history, an address
    without the choice is put back too (module docstring). Back from the page to its entry
    without a choice is the empty form."""
    arrival = runtime.arrived(arrival_key)
    said = tuple(str(st.query_params.get(name) or "") for name in params)
    seen = runtime.seen_values(seen_key, len(params))
    if not said[0] and seen[0] and kept and (arrival or not history_step()):
        put_back(url_path, params, seen)
        return False, None
    return runtime.address_choice(seen_key, params, limit)


def put_back(url_path: str, params: Sequence[str], values: Sequence[str]) -> None:
    """The address of ``url_path`` made to say ``values`` in place of its history entry."""
    runtime.replace_address(
        url_path, {name: value for name, value in zip(params, values, strict=False) if value}
    )


def keep_boxes(store: str, defaults: dict[str, Any]) -> None:
    """Before the boxes draw: each box back to what the person typed in it (or the page put in
    it, :func:`set_box`), kept under ``store`` in the session, a key no widget owns; ``defaults``
    are the boxes' values before anything is typed.

    Streamlit keeps a widget's value in the session while its page is left (persist_state), but
    not in every order of events: after a quick click on the sidebar right after typing (the
    typed value and the click reach the server one after the other, so the page's run comes
    after the click's), the browser drew the boxes again empty and sent them so, all in one run:
    "Customer", no ID, no amount, not even the currency, beside the check kept. A person changes
    one box a run (two with a click that leaves a box); three or more emptied at once are the
    browser's redraw, and the boxes get back what the person left in them."""
    kept = st.session_state.setdefault(store, dict(defaults))
    changed = st.session_state.pop(f"{store}_changed", {})
    if len(changed) >= REDRAWN and all(not kept.get(key) or kept.get(key) == defaults.get(key)
                                       for key in changed):  # fmt: skip
        kept.update(changed)
    for key, value in kept.items():
        if st.session_state.get(key) != value:
            st.session_state[key] = value


REDRAWN = 3  # boxes emptied in one run: the browser drew them again (keep_boxes)


def typed(store: str, key: str) -> None:
    """A box's on_change: what the person typed is what :func:`keep_boxes` keeps (and what it
    held before, in case the browser emptied every box at once)."""
    kept = st.session_state.setdefault(store, {})
    st.session_state.setdefault(f"{store}_changed", {})[key] = kept.get(key)
    kept[key] = st.session_state.get(key)


def set_box(store: str, key: str, value: Any) -> None:
    """The page puts ``value`` in a box (an address's check fills the form): the box and what
    :func:`keep_boxes` keeps."""
    st.session_state[key] = value
    st.session_state.setdefault(store, {})[key] = value
