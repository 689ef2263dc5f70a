"""Collect's tabs and the address naming the one open (``?tab=open``, ``?tab=queue``; the first
tab: none).

Switching tabs is the person's choice, so it goes into the address as one history entry
(:func:`runtime.keep_in_address`, from the tab bar's ``on_change``), and the address is the
truth on every step of the history (:func:`follow_address`, before the tab bar): a reload, a
copied link, a new tab, Back or Forward open the tab it names. The address used to keep the
tab the page was opened on (Home's ``?tab=open``), so a reload after a switch opened another.

Not ``bind="query-params"``: its value is the tab's label (``:material/…`` and all), and on
leaving the page Streamlit took the bound parameter out of the address before the browser had
moved, a history entry ``/collect`` of its own, so Back from another page opened the first tab.

The tab bar tracks its state, but every tab's content still runs on every run: this page never
reads ``.open``, so the follow fragments, forms and the queue of a hidden tab go on as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from pages import _runtime as runtime

PARAM = "tab"  # the address's parameter
TAB = "collect_tab"  # the tab bar's key: the open tab's label
SEEN = "collect_tab_seen"  # the ?tab= last read or written
NEW_TAB = ":material/add_card: New request"
OPEN_TAB = ":material/pending_actions: Open requests"
QUEUE_TAB = ":material/savings: Microdeposit queue"
NAMES = {NEW_TAB: None, OPEN_TAB: "open", QUEUE_TAB: "queue"}  # label -> ?tab= (None: none)
LABELS = {name: label for label, name in NAMES.items() if name}


def follow_address() -> None:
    """The tab the address names (an unknown name or none: the first tab) when it changed since
    this session last read or wrote it, or the tab bar has no state (Back from another page: the
    address is the one this session wrote, and the bar's state went with the page). Call before
    :func:`tab_bar`."""
    changed, _ = runtime.address_change(SEEN, PARAM, limit=20)
    if changed or TAB not in st.session_state:
        st.session_state[TAB] = LABELS.get(str(st.query_params.get(PARAM) or ""), NEW_TAB)


def _switched() -> None:
    runtime.keep_in_address(SEEN, NAMES.get(st.session_state.get(TAB, NEW_TAB)), PARAM)


def tab_bar() -> Sequence[DeltaGenerator]:
    """The three tabs, the one the address names open."""
    follow_address()
    return st.tabs(list(NAMES), key=TAB, on_change=_switched)
