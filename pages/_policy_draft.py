"""Debit policy's draft: the admin's unsaved edits survive leaving the page, a reload or a new tab
(:mod:`services.usecases.policy_draft`, the store Flow configuration keeps its drafts in).

Streamlit forgets a widget's value once its page is left, so the form's boxes are also copied
into a plain session value (:data:`DRAFT`) on every edit (the boxes' ``on_change``, which runs
even when the next run is another page's: a sidebar click right after typing) and on every run,
and written to the store when they changed since last written (:func:`sync`). A new session reads
the stored draft back (:func:`restore`). :data:`BASE` and :data:`BASE_VALUES` are the version the
form was filled from and its values, what "unsaved edits" is measured against.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import streamlit as st

from components.draft_line import draft_line as draft_line_for
from pages import _runtime as runtime
from services.auth import Actor
from services.context import Services
from services.rules.money import MoneyError, exponent, parse_unambiguous_amount
from services.rules.policy_bounds import kept_percent
from services.usecases import policy_draft

BASE = "policy_base_version"
BASE_VALUES = "policy_base_values"  # the fields of version BASE, as the form was filled from it
DRAFT = "policy_draft"  # the form's boxes as last seen: {buffer_amount, …, note}
STORED = "policy_draft_stored"  # what was last written to the store (None: nothing stored)
DRAFT_AT = "policy_draft_at"
RESTORED = "policy_draft_restored"
RELOAD = "policy_reload"
FLASH_INFO = "policy_flash_info"
EMPTIED = "policy_note_emptied"  # (the note emptied by a refill, runs left to watch for it)
BOXES = {  # the draft's field -> the form's widget
    "buffer_amount": "policy_buffer_amount",
    "buffer_percent": "policy_buffer_percent",
    "max_age_hours": "policy_max_age_hours",
    "note": "policy_note",
}


def form_values(policy: dict[str, Any], currency: str) -> dict[str, Any]:
    """The boxes' values for a stored policy's fields (as the form shows them)."""
    places = exponent(currency)
    major = Decimal(int(policy["buffer_amount"])).scaleb(-places)
    return {
        "buffer_amount": f"{major:.{places}f}",
        "buffer_percent": float(policy["buffer_percent"]),
        "max_age_hours": round(int(policy["max_age_seconds"]) / 3600, 2),
    }


def fill_widgets(values: dict[str, Any]) -> None:
    """Put ``values`` into the boxes (before they are drawn, or from a callback)."""
    for field, key in BOXES.items():
        if field in values:
            st.session_state[key] = values[field]


def empty_note() -> None:
    """Empty the note box (a save, Load theirs, Discard), remembering what it held: see
    :func:`drop_sent_note`."""
    was = str(st.session_state.get(BOXES["note"]) or "")
    if was.strip():
        st.session_state[EMPTIED] = (was, 2)
    st.session_state[BOXES["note"]] = ""


def drop_sent_note() -> None:
    """Empty the note again when the run after the one that emptied it brings it back
    unchanged: a second Save click, or any click, sent by the page as drawn before still
    carries the old note, which came back as a draft of the note alone (kept across reloads,
    and saved unseen with the next version)."""
    emptied = st.session_state.get(EMPTIED)
    if emptied is None:
        return
    note, runs = emptied
    if st.session_state.get(BOXES["note"]) == note:
        st.session_state[BOXES["note"]] = ""
    if runs > 1:
        st.session_state[EMPTIED] = (note, runs - 1)
    else:
        st.session_state.pop(EMPTIED, None)


def keep() -> None:
    """Copy the boxes, when drawn on the last run (or just filled), into the session draft."""
    drop_sent_note()
    if all(key in st.session_state for key in BOXES.values()):
        st.session_state[DRAFT] = {f: st.session_state[key] for f, key in BOXES.items()}


def has_edits(currency: str) -> bool:
    """Whether the draft's policy differs from the version the form was filled from (a note
    alone is no edit: it would save nothing)."""
    draft, base = st.session_state.get(DRAFT), st.session_state.get(BASE_VALUES)
    if draft is None or base is None:
        return False
    shown = form_values(base, currency)
    try:
        amount = parse_unambiguous_amount(str(draft["buffer_amount"]), currency, allow_zero=True)
    except MoneyError:
        return True  # not an amount yet: certainly not the saved one
    return (
        amount != int(base["buffer_amount"])
        # as the box shows it: 0.001 shows "0.00", no edit of a stored 0
        or kept_percent(float(draft["buffer_percent"])) != kept_percent(shown["buffer_percent"])
        or round(float(draft["max_age_hours"]), 2) != shown["max_age_hours"]
    )


def has_draft(currency: str) -> bool:
    """Whether the form holds anything unsaved to keep: edits, or a note typed alone (which
    saves nothing by itself, but is kept like any edit)."""
    draft = st.session_state.get(DRAFT) or {}
    return has_edits(currency) or bool(str(draft.get("note") or "").strip())


def restore(svc: Services, actor: Actor) -> None:
    """Once per session: the admin's stored draft becomes the session's draft."""
    if st.session_state.get(RESTORED):
        return
    found = runtime.call(policy_draft.my_policy_draft, svc, actor)
    st.session_state[RESTORED] = True
    if found is None or DRAFT in st.session_state:
        return
    st.session_state[DRAFT] = {**found.value, "note": found.note}
    st.session_state[BASE] = found.base_version
    st.session_state[BASE_VALUES] = found.start
    st.session_state[STORED] = snapshot()
    st.session_state[DRAFT_AT] = found.updated_at


def snapshot() -> tuple[Any, ...]:
    return (st.session_state.get(BASE), repr(st.session_state.get(BASE_VALUES)),
            repr(st.session_state.get(DRAFT)))


def sync(svc: Services, actor: Actor, currency: str) -> None:
    """Write the draft if it changed since last written; forget it once the form has no edits
    left (saved, loaded theirs, discarded, or edited back)."""
    if not has_draft(currency):
        if st.session_state.get(STORED) is not None:
            runtime.call(policy_draft.discard_policy_draft, svc, actor)
            st.session_state[STORED] = None
            st.session_state.pop(DRAFT_AT, None)
        return
    now = snapshot()
    if now == st.session_state.get(STORED):
        return
    draft = dict(st.session_state[DRAFT])
    note = str(draft.pop("note", "") or "")
    kept_at = runtime.call(
        policy_draft.keep_policy_draft, svc, actor, base_version=int(st.session_state[BASE]),
        start=st.session_state[BASE_VALUES], value=draft, note=note,
    )
    if kept_at is not None:  # else the reason is shown, and the next run tries again
        st.session_state[STORED] = now
        st.session_state[DRAFT_AT] = kept_at


def on_edit(svc: Services, currency: str) -> None:
    """A box changed: keep the draft now, since the run this starts may be another page's."""
    actor = runtime.current_actor()
    if actor is None or not actor.can("policy.edit"):
        return
    keep()
    sync(svc, actor, currency)


def on_discard(svc: Services, actor: Actor) -> None:
    """Discard the admin's draft: the form shows the saved policy again."""
    runtime.call(policy_draft.discard_policy_draft, svc, actor)
    st.session_state[STORED] = None
    st.session_state.pop(DRAFT_AT, None)
    st.session_state[RELOAD] = True
    st.session_state[FLASH_INFO] = "Discarded your draft; the form shows the saved policy."


def draft_line(svc: Services, actor: Actor, currency: str) -> None:
    """Say when the unsaved edits were kept, with a way to discard them."""
    at = st.session_state.get(DRAFT_AT)
    if at is None or not has_draft(currency):
        return
    draft_line_for(at, key="policy_discard", on_discard=on_discard, args=(svc, actor))
