"""Audit log's picked entry in the address (``?entry=<id>``): the entry whose row is ticked goes
into the address (one browser history entry; taking the tick off takes it out), and a reload, a
copied link, a new tab, Back or Forward open it picked. The address was ignored, so a link to an
entry opened the log with nothing picked.

The table picks by a row's place and its tick cannot be set from here, so an entry the address
names is shown below a fresh table (its key's generation moves on: no row ticked) until a row is
ticked; it is shown whatever the filters, from the log by its ID. An unknown or malformed ID gets
a sentence, and nothing else changes.
"""

from __future__ import annotations

import re

import streamlit as st

from components.literal import literal
from pages import _runtime as runtime
from services.auth import Actor
from services.context import Services
from services.usecases import export_audit

PARAM = "entry"
SEEN = "audit_entry_address"  # the ?entry= last read or written
LINKED = "audit_entry_linked"  # the entry the address names, as the table's rows read: a dict
TICKED = "audit_entry_ticked"  # the ID of the entry whose row was ticked last (None: none)
GENERATION = "audit_table_generation"  # the table's key moves on when the address names an entry
WARNING = "audit_entry_link"


def table_key() -> str:
    generation = int(st.session_state.get(GENERATION, 0))
    return "audit_table" if generation == 0 else f"audit_table_{generation}"


def follow_address(svc: Services, actor: Actor) -> None:
    """The entry the URL's ``?entry=`` names, when it changed since this session last read or
    wrote it: shown picked below a table with no row ticked. Call before the table."""
    moved, wanted = runtime.address_change(SEEN, PARAM, limit=40)
    if moved and wanted:
        found = None
        if re.fullmatch(r"[0-9]{1,18}", wanted):
            found = runtime.call(export_audit.entry, svc, actor, int(wanted))
        if found is None:
            runtime.linger(WARNING, f"No audit entry {literal(wanted)} in the log: the link may be "
                           "wrong or cut. Pick a row to read an entry.")  # fmt: skip
        else:
            st.session_state[LINKED] = {**export_audit.as_row(found), "id": str(found.id)}
            st.session_state[GENERATION] = int(st.session_state.get(GENERATION, 0)) + 1
            st.session_state[TICKED] = None
    elif moved:  # Back to the log with nothing picked
        st.session_state.pop(LINKED, None)
    runtime.lingering(WARNING)


def ticked(entry_id: int | None) -> None:
    """A row is ticked (its entry's ID): into the URL when the person ticked another one."""
    if entry_id is not None and st.session_state.get(TICKED) != entry_id:
        st.session_state[TICKED] = entry_id
        st.session_state.pop(LINKED, None)
        runtime.keep_in_address(SEEN, str(entry_id), PARAM)


def linked() -> dict[str, str] | None:
    """No row ticked: the entry the address names (None: none). A tick taken off takes the
    entry out of the URL."""
    if st.session_state.get(TICKED) is not None:
        st.session_state[TICKED] = None
        st.session_state.pop(LINKED, None)
        runtime.keep_in_address(SEEN, None, PARAM)
    row = st.session_state.get(LINKED)
    return dict(row) if row else None
