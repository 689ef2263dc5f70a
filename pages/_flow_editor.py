"""Flow configuration's editor state: each flow's unsaved edits, kept while the admin switches
flows or pages.

Streamlit forgets a widget's value once it is not drawn (another flow picked, another page
opened), so the widgets alone lost every edit on a click of another flow: each flow's edits are
also kept in its draft, a plain session value (``flows_<flow>_draft``), and put back into the
widgets when the flow is drawn again. ``flows_<flow>_start`` is the configuration the draft
started from (the version in ``flows_<flow>_base``), what "unsaved edits" is measured against.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from services.rules import flow_config

NO_MARK = "\u200b"  # a caption line with nothing on it (see flow_mark): blanks alone draw none


def k(flow: str, name: str) -> str:
    return f"flows_{flow}_{name}"


def load_into_editor(flow: str, config: flow_config.FlowConfig) -> None:
    """Put a stored configuration into the editor and remember which version it is."""
    was = str(st.session_state.get(k(flow, "note")) or "")
    if was.strip():  # emptied here: a click from the page drawn before may still send it
        st.session_state[k(flow, "emptied")] = (was, 2)
    st.session_state[k(flow, "draft")] = {**config.value(), "note": ""}
    st.session_state[k(flow, "start")] = config.value()
    st.session_state[k(flow, "base")] = config.version
    fill_widgets(flow)


def fill_widgets(flow: str) -> None:
    """The editor's widgets show the flow's draft. Streamlit forgets a widget's value once it is
    not drawn (another flow picked, another page opened), so the draft, a plain session value,
    is what keeps the edits."""
    draft = st.session_state[k(flow, "draft")]
    st.session_state[k(flow, "perms")] = list(draft["permissions"])
    st.session_state[k(flow, "prefetch")] = list(draft["prefetch"])
    st.session_state[k(flow, "method")] = draft["verification_method"]
    st.session_state[k(flow, "note")] = draft["note"]


def keep_draft(flow: str) -> None:
    """Copy the editor's widgets, when drawn on the last run, into the flow's draft."""
    drop_sent_note(flow)
    if k(flow, "draft") in st.session_state and all(
        k(flow, name) in st.session_state for name in ("perms", "prefetch", "method", "note")
    ):
        note = st.session_state.get(k(flow, "note")) or ""
        st.session_state[k(flow, "draft")] = {**edits(flow), "note": note}


def drop_sent_note(flow: str) -> None:
    """Empty the note again when the run after the one that emptied it (a save, a revert, Load
    theirs, Discard) brings it back unchanged: a second Save click, or any click, sent by the
    page as drawn before still carries the old note, which came back as a draft of the note
    alone, kept across reloads and saved unseen with the next version."""
    emptied = st.session_state.get(k(flow, "emptied"))
    if emptied is None:
        return
    note, runs = emptied
    if st.session_state.get(k(flow, "note")) == note:
        st.session_state[k(flow, "note")] = ""
    if runs > 1:
        st.session_state[k(flow, "emptied")] = (note, runs - 1)
    else:
        st.session_state.pop(k(flow, "emptied"), None)


def open_editor(flow: str, saved: flow_config.FlowConfig) -> None:
    """The editor on this run: the flow's draft when it has one (its widgets refilled if
    Streamlit forgot them), else the stored configuration. A draft with no edits follows the
    stored configuration, so coming back after someone saved is no conflict."""
    draft = st.session_state.get(k(flow, "draft"))
    if draft is None or (
        not has_edits(flow) and saved.version != st.session_state[k(flow, "base")]
    ):
        load_into_editor(flow, saved)
        if draft is not None:  # a note typed alone stays
            st.session_state[k(flow, "draft")]["note"] = draft.get("note") or ""
            fill_widgets(flow)
            st.session_state.pop(k(flow, "emptied"), None)
        st.session_state.pop(k(flow, "conflict"), None)
    elif any(
        k(flow, name) not in st.session_state for name in ("perms", "prefetch", "method", "note")
    ):
        fill_widgets(flow)


def has_edits(flow: str) -> bool:
    """Whether the flow's draft differs from the version the admin started from."""
    draft = st.session_state.get(k(flow, "draft"))
    start = st.session_state.get(k(flow, "start"))
    if draft is None or start is None:
        return False
    config = {name: draft[name] for name in start}
    return bool(flow_config.diff(start, as_config(flow, config).value()))


def has_draft(flow: str) -> bool:
    """Whether the flow holds anything unsaved to keep: edits, or a note typed alone (Save
    stays off for a note alone, which saves no version, but the note is kept like any edit)."""
    draft = st.session_state.get(k(flow, "draft")) or {}
    return has_edits(flow) or bool(str(draft.get("note") or "").strip())


def flow_mark(flow: str) -> str:
    """What the list of flows says under a flow: that it holds unsaved edits, or nothing."""
    # Never empty: a radio with no captions is lower, so the first edit's mark moved the whole
    # page below it down while the admin was editing. A blank caption keeps the line's place.
    return ":orange[:material/edit: unsaved edits]" if has_edits(flow) else NO_MARK


def edits(flow: str) -> dict[str, Any]:
    return {
        "permissions": list(st.session_state.get(k(flow, "perms")) or []),
        "prefetch": list(st.session_state.get(k(flow, "prefetch")) or []),
        "verification_method": st.session_state.get(k(flow, "method")) or "automatic",
    }


def edited_config(flow: str) -> flow_config.FlowConfig:
    return as_config(flow, edits(flow))


def as_config(flow: str, value: dict[str, Any]) -> flow_config.FlowConfig:
    return flow_config.FlowConfig(
        flow=flow,
        permissions=flow_config.canonical(value["permissions"], flow_config.PERMISSIONS),
        prefetch=flow_config.canonical(value["prefetch"], flow_config.PREFETCH),
        verification_method=value["verification_method"],
    )
