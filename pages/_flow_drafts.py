"""Flow configuration's drafts in the store: each admin's unsaved edits survive a reload, a new
tab or a link (:mod:`services.usecases.flow_drafts`).

A new session reads the admin's stored drafts into the session drafts (:func:`restore`); every
run writes a flow's draft when its edits changed since last written, and forgets it once the
flow has no edits left (:func:`sync`). ``flows_<flow>_stored`` is what was last written (None:
nothing stored), ``flows_<flow>_draft_at`` when.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.draft_line import draft_line as draft_line_for
from pages import _runtime as runtime
from pages._flow_editor import has_draft, k, keep_draft, load_into_editor
from services.auth import Actor
from services.context import Services
from services.rules import flow_config
from services.usecases import edit_flows, flow_drafts

RESTORED = "flows_drafts_restored"


def restore(svc: Services, actor: Actor) -> None:
    """Once per session: the admin's stored drafts become the session's drafts."""
    if st.session_state.get(RESTORED):
        return
    found = runtime.call(flow_drafts.my_drafts, svc, actor)
    if found is None:
        return
    st.session_state[RESTORED] = True
    for flow, draft in found.items():
        if k(flow, "draft") in st.session_state:
            continue
        st.session_state[k(flow, "draft")] = {**draft.value, "note": draft.note}
        st.session_state[k(flow, "start")] = draft.start
        st.session_state[k(flow, "base")] = draft.base_version
        st.session_state[k(flow, "stored")] = snapshot(flow)
        st.session_state[k(flow, "draft_at")] = draft.updated_at


def snapshot(flow: str) -> tuple[Any, ...] | None:
    draft = st.session_state.get(k(flow, "draft"))
    if draft is None:
        return None
    return (st.session_state.get(k(flow, "base")), repr(st.session_state.get(k(flow, "start"))),
            repr(draft))


def sync(svc: Services, actor: Actor, flow: str) -> None:
    """Write the flow's draft if its edits changed since last written; forget it once the
    flow has nothing unsaved left (saved, reverted, loaded theirs, or edited back)."""
    stored = st.session_state.get(k(flow, "stored"))
    if not has_draft(flow):
        if stored is not None:
            runtime.call(flow_drafts.discard_draft, svc, actor, flow)
            st.session_state[k(flow, "stored")] = None
            st.session_state.pop(k(flow, "draft_at"), None)
        return
    now = snapshot(flow)
    if now == stored:
        return
    draft = dict(st.session_state[k(flow, "draft")])
    note = str(draft.pop("note", "") or "")
    kept_at = runtime.call(
        flow_drafts.keep_draft, svc, actor, flow, base_version=int(st.session_state[k(flow, "base")]),
        start=st.session_state[k(flow, "start")], value=draft, note=note,
    )
    if kept_at is not None:  # else the reason is shown, and the next run tries again
        st.session_state[k(flow, "stored")] = now
        st.session_state[k(flow, "draft_at")] = kept_at


def on_edit(svc: Services, flow: str) -> None:
    """A box changed (the note): keep the draft now, since the run this starts may be another
    page's (a sidebar click right after typing), where the box is forgotten unkept."""
    actor = runtime.current_actor()
    if actor is None or not actor.can("flows.edit"):
        return
    keep_draft(flow)
    sync(svc, actor, flow)


def on_discard(svc: Services, actor: Actor, flow: str) -> None:
    """Discard the admin's draft: the editor shows the saved configuration again."""
    runtime.call(flow_drafts.discard_draft, svc, actor, flow)
    saved = runtime.call(edit_flows.view, svc, actor, flow)
    if saved is None:
        return
    load_into_editor(flow, saved)
    st.session_state[k(flow, "stored")] = None
    st.session_state.pop(k(flow, "draft_at"), None)
    st.session_state.pop(k(flow, "conflict"), None)
    st.session_state[k(flow, "message")] = (
        "info", "Discarded your draft; the editor shows the saved configuration.",
    )


def draft_line(svc: Services, actor: Actor, flow: str) -> bool:
    """Say when the flow's unsaved edits were kept, with a way to discard them; whether said."""
    at = st.session_state.get(k(flow, "draft_at"))
    if at is None or not has_draft(flow):
        return False
    draft_line_for(at, key=k(flow, "discard"), on_discard=on_discard, args=(svc, actor, flow))
    return True


def opening_flow(svc: Services, actor: Actor) -> str:
    """The flow to show when the address names none: the one this admin edited last."""
    return runtime.call(flow_drafts.resume_flow, svc, actor) or flow_config.FLOWS[0]
