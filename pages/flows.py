"""Flow configuration (admin): FC permissions, prefetch and verification method per payment flow.

Edits live in session state until saved, each flow's in its own draft (:func:`keep_draft`), so
switching flows, leaving the page or a refused save (validation or a conflict with another admin)
never loses them; each flow's unsaved edits are also kept in the store for this admin
(:mod:`pages._flow_drafts`), so a reload, a new tab or a link shows them again. Saves send the version the admin started from; the service refuses the
save if someone else saved in between.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import streamlit as st

from components.diff_view import both_changed, diff_view
from components.history_table import history_table
from components.literal import literal
from pages import _flow_drafts as drafts
from pages import _runtime as runtime
from pages._flow_editor import (
    edited_config,
    edits,
    flow_mark,
    k,
    keep_draft,
    load_into_editor,
    open_editor,
)
from pages._pressed import pressed
from pages._version_pair import version_pair
from services.adapters import flow_requests
from services.errors import Conflict
from services.rules import flow_config, three_way, wording
from services.rules.ids import parse_id
from services.usecases import edit_flows

DEFAULTS = three_way.NEVER_SAVED  # what applies to a flow no admin has saved
# What opened the conflict panel (``flows_<flow>_conflict``): a save refused because someone
# saved first, or someone's save seen while editing. Its red line is worded on every run, so it
# names the newest version even when someone saved again while it was open.
REFUSED, SEEN = "refused", "seen"

actor = runtime.guard("flows.edit")
runtime.page_header(
    "Flow configuration",
    "What each payment flow asks Stripe Financial Connections for. The collection pages use these "
    "settings, and the preview shows the exact API parameters they produce.",
)
app = runtime.get_app()
svc = app.services

NOT_SAVED = (
    "The configuration could not be saved, and nothing was changed. Your edits are still here; "
    "try again, and tell an admin if it keeps happening."
)
METHOD_HELP = {
    "automatic": "Instant verification through Financial Connections, with manual entry and "
    "microdeposits as a fallback (Stripe's default).",
    "instant": "Financial Connections only; no manual entry fallback.",
    "microdeposits": "Manual entry and microdeposits only; no Financial Connections data.",
}


def when(at: datetime | None) -> str:
    return wording.moment(at)


def tell(flow: str, kind: str, message: str) -> None:
    st.session_state[k(flow, "message")] = (kind, message)


# -- callbacks (run before the page renders, so they may reset widget values) ------------------------


def on_save(flow: str) -> None:
    note = (st.session_state.get(k(flow, "note")) or "").strip() or None
    base = int(st.session_state[k(flow, "base")])
    changes = edits(flow)
    saved = runtime.call_keyed_routed(  # a Conflict opens the panel (not_saved), which says it
        (Conflict,), f"flow_save_{flow}", {**changes, "expected_version": base, "note": note},
        edit_flows.save_flow, svc, actor, flow, expected_version=base, note=note, **changes,
    )
    if saved is None:
        not_saved(flow, base)
        return
    st.session_state.pop(k(flow, "conflict"), None)
    load_into_editor(flow, saved)
    tell(flow, "success", f"Saved version {saved.version}.")


def mark_conflict(flow: str, base: int) -> bool:
    """Someone saved since this admin loaded ``base``: open the conflict panel."""
    message = runtime.call(edit_flows.edit_conflict, svc, actor, flow, base)
    if message:
        st.session_state[k(flow, "conflict")] = REFUSED
        st.session_state.pop(k(flow, "message"), None)
    return bool(message)


def not_saved(flow: str, base: int) -> None:
    """After a refused save (the reason is already shown): a lost race opens the conflict panel."""
    if not mark_conflict(flow, base):
        tell(flow, "error", NOT_SAVED)


def on_load_theirs(flow: str) -> None:
    theirs = runtime.call(edit_flows.view, svc, actor, flow)
    if theirs is None:
        return
    load_into_editor(flow, theirs)
    st.session_state.pop(k(flow, "conflict"), None)
    tell(flow, "info", f"Loaded theirs, version {theirs.version}; your edits were discarded.")


def on_keep_mine(
    flow: str, version: int, merged: dict[str, Any] | None, theirs: dict[str, Any]
) -> None:
    """The admin has seen the other save: the editor now holds theirs with this admin's edits
    applied on top (``merged``), to review and save. Before, it kept this admin's whole editor,
    which silently undid every change of theirs this admin had not touched."""
    if merged is not None:
        st.session_state[k(flow, "perms")] = list(
            flow_config.canonical(merged["permissions"], flow_config.PERMISSIONS)
        )
        st.session_state[k(flow, "prefetch")] = list(
            flow_config.canonical(merged["prefetch"], flow_config.PREFETCH)
        )
        st.session_state[k(flow, "method")] = merged["verification_method"]
    st.session_state[k(flow, "base")] = version
    st.session_state[k(flow, "start")] = theirs
    st.session_state.pop(k(flow, "conflict"), None)
    tell(
        flow, "info",
        f"Your edits now apply on top of version {version}, with its changes kept. Review them "
        "and save.",
    )


def base_value(
    flow: str, base: int, found: list[flow_config.FlowVersion]
) -> dict[str, Any] | None:
    """The version this admin started editing from (None when it cannot be read)."""
    if base == 0:
        return flow_config.default_config(flow).value()
    return next((v.value for v in found if v.version == base), None)


def on_revert(flow: str, to_version: int) -> None:
    base = int(st.session_state[k(flow, "base")])
    saved = runtime.call_keyed_routed(  # a Conflict opens the panel (not_saved), which says it
        (Conflict,), f"flow_revert_{flow}", {"to": to_version, "expected_version": base},
        edit_flows.revert, svc, actor, flow, expected_version=base, to_version=to_version,
    )
    if saved is None:
        not_saved(flow, base)
        return
    load_into_editor(flow, saved)
    tell(flow, "success", f"Reverted: version {saved.version} equals version {to_version}.")


# -- sections ------------------------------------------------------------------------------------------


def show_message(flow: str) -> None:
    kind, message = st.session_state.pop(k(flow, "message"), (None, None))
    if kind == "success":
        st.success(message, icon=":material/check_circle:")
    elif kind == "error":
        st.error(message, icon=":material/error:")
    elif kind == "info":
        st.info(message, icon=":material/info:")


def conflict_line(
    flow: str, base: int, saved: flow_config.FlowConfig, newer: list[three_way.Saved]
) -> str:
    """The panel's red line, up to the newest version (see REFUSED, SEEN)."""
    if st.session_state.get(k(flow, "conflict")) == REFUSED or not saved.version:
        said = runtime.call(edit_flows.edit_conflict, svc, actor, flow, base)  # as audited
        if said:
            return said
    started = wording.version_name(base, DEFAULTS)
    return f"{three_way.saved_meanwhile(newer, started)}. {three_way.STILL_HERE}"


def show_conflict(flow: str, saved: flow_config.FlowConfig) -> None:
    if not st.session_state.get(k(flow, "conflict")):
        return
    base = int(st.session_state[k(flow, "base")])
    found = runtime.call(edit_flows.versions, svc, actor, flow) or []
    newer = three_way.saved_since(found, base, saved)
    before = base_value(flow, base, found)
    mine = edited_config(flow).value()
    merged: dict[str, Any] | None = None
    started = wording.version_name(base, DEFAULTS)
    with st.container(border=True):
        st.error(conflict_line(flow, base, saved, newer), icon=":material/group:")
        if before is None:  # the starting version is gone: compare with theirs as a whole
            st.markdown(f"**Your editor compared with version {saved.version}:**")
            diff_view(flow_config.shown_diff(saved.value(), mine), empty="Your edits equal theirs.")
        else:
            merged, clashes = flow_config.merge(before, saved.value(), mine)
            st.markdown(
                f"**What {three_way.savers(newer)} changed ({started} → version {saved.version}):**"
            )
            diff_view(
                flow_config.shown_diff(before, saved.value()),
                empty=three_way.net_nothing(newer, started),
            )
            st.markdown(f"**Your unsaved edits (on {started}):**")
            diff_view(flow_config.shown_diff(before, mine), empty="None.")
            for name in clashes:
                both_changed(flow_config.FIELD_LABELS.get(name, name), str(mine.get(name)),
                             str(saved.value().get(name)))
        left, right = st.columns(2)
        left.button(
            three_way.KEEP_MINE.format(version=saved.version),
            key=k(flow, "keep"),
            on_click=on_keep_mine,
            args=(flow, saved.version, merged, saved.value()),
            icon=":material/edit:",
            help="Their changes stay; yours are applied on top. Nothing is saved until you Save.",
        )
        right.button(
            three_way.LOAD_THEIRS,
            key=k(flow, "theirs"),
            on_click=on_load_theirs,
            args=(flow,),
            icon=":material/refresh:",
        )


def editor(flow: str, saved: flow_config.FlowConfig) -> flow_config.ValidationResult:
    supported = flow_config.SUPPORTED_METHODS[flow]
    left, right = st.columns(2)
    left.multiselect(
        flow_config.FIELD_LABELS["permissions"],
        flow_config.PERMISSIONS,
        key=k(flow, "perms"),
        help="Data the customer agrees to share. payment_method is always needed for ACH debits.",
    )
    left.multiselect(
        flow_config.FIELD_LABELS["prefetch"],
        flow_config.PREFETCH,
        key=k(flow, "prefetch"),
        help="Data Stripe fetches as soon as the account is linked; each needs its permission.",
    )
    right.radio(
        flow_config.FIELD_LABELS["verification_method"],
        flow_config.VERIFICATION_METHODS,
        key=k(flow, "method"),
        captions=[
            METHOD_HELP[m]
            if m in supported
            else f"Not available for {saved.title}: Stripe refuses it."
            for m in flow_config.VERIFICATION_METHODS
        ],
    )
    value = edits(flow)
    result = flow_config.validate(flow, **value)
    for error in result.errors:
        st.error(error, icon=":material/block:")
    for warning in result.warnings:
        st.warning(warning, icon=":material/warning:")
    return result


def save_bar(
    flow: str, saved: flow_config.FlowConfig, result: flow_config.ValidationResult
) -> None:
    changed = bool(flow_config.diff(saved.value(), edited_config(flow).value()))
    pending_conflict = bool(st.session_state.get(k(flow, "conflict")))
    note_col, button_col = st.columns([4, 1], vertical_alignment="bottom")
    note_col.text_input(
        "Note for the history (why this change)", key=k(flow, "note"), max_chars=200,
        on_change=drafts.on_edit, args=(svc, flow),
    )
    why_off = save_blocker(
        changed=changed, valid=result.ok, conflict=pending_conflict,
        noted=bool(str(st.session_state.get(k(flow, "note")) or "").strip()),
        ever_saved=saved.version > 0,
    )
    # A Save pressed on the page drawn before another admin's save still asks the service (which
    # refuses it and audits it) from its callback, though its run draws Save off (pages._pressed).
    with button_col:
        pressed(
            "Save",
            key=k(flow, "save"),
            type="primary",
            icon=":material/save:",
            disabled=why_off is not None,
            help=why_off or f"Save as version {saved.version + 1}.",
            on_click=on_save,
            args=(flow,),
            width="stretch",
        )
    if why_off is not None:
        st.caption(why_off)
    # Below Save, not above the editor: the line appears with the first edit, and above it
    # moved the editor down while the admin went on typing.
    kept = drafts.draft_line(svc, actor, flow)
    if changed:
        if not kept:
            st.caption(":orange[:material/edit: Unsaved edits]")
        diff_view(flow_config.shown_diff(saved.value(), edited_config(flow).value()))


def save_blocker(
    *, changed: bool, valid: bool, conflict: bool, noted: bool = False, ever_saved: bool = True
) -> str | None:
    """Why Save is off, as the sentence shown next to it; None when it may be clicked. A note
    typed alone, or a flow never saved, said "nothing has changed from the saved configuration"
    beside the line of a kept draft, of a configuration there never was."""
    if conflict:
        return three_way.SAVE_OFF
    if not changed and noted:
        return (
            "Save is off: only the note changed, and a note alone is not saved as a version. "
            "Change a setting to save it with this note."
        )
    if not changed and not ever_saved:
        return "Save is off: nothing differs from fcops' built-in defaults yet."
    if not changed:
        return "Save is off: nothing has changed from the saved configuration yet."
    if not valid:
        return "Save is off until the problems shown above are fixed."
    return None


def history_section(flow: str, saved: flow_config.FlowConfig) -> None:
    versions = runtime.call(edit_flows.versions, svc, actor, flow)
    if versions is None:
        return
    if not versions:
        st.caption(
            "Never saved: this flow uses fcops' built-in defaults (automatic verification, payment_method)."
        )
        return
    history_table(
        versions,
        lambda v: {
            "Permissions": ", ".join(v.value.get("permissions") or []),
            "Prefetch": ", ".join(v.value.get("prefetch") or []) or "—",
            "Verification": v.value.get("verification_method"),
        },
    )
    values: dict[int, dict[str, Any]] = {v.version: v.value for v in versions}
    values[0] = flow_config.default_config(flow).value()
    numbers: list[int] = sorted(values, reverse=True)

    def label(n: int) -> str:
        return "v0 (Stripe defaults)" if n == 0 else f"v{n}"

    older, newer = version_pair(numbers, label, k(flow, "diff_a"), k(flow, "diff_b"))
    diff_view(
        flow_config.shown_diff(values[older], values[newer]), empty="These versions are identical."
    )
    revertible = [n for n in numbers if n and n != saved.version]
    if not revertible:
        return
    pick_col, button_col = st.columns([3, 2], vertical_alignment="bottom")
    target = pick_col.selectbox(
        "Revert to", revertible, format_func=label, key=k(flow, "revert_to")
    )
    if target is None:
        return
    button_col.button(
        f"Revert to {label(target)} (saves a new version)",
        key=k(flow, "revert"),
        icon=":material/undo:",
        on_click=on_revert,
        args=(flow, int(target)),
    )


def preview_section(
    flow: str, saved: flow_config.FlowConfig, result: flow_config.ValidationResult
) -> None:
    customer_text = st.text_input(
        "Customer ID in the example", value="cus_123", key=k(flow, "customer")
    )
    parsed = runtime.call(
        parse_id, customer_text, allowed=("customer",), what="Flow configuration"
    )
    if parsed is None:
        return
    customer, _ = parsed
    edited = edited_config(flow)
    config = saved
    if edited.value() != saved.value():
        if not result.ok:
            st.caption("Your edits are not valid yet; the preview shows the saved configuration.")
        else:
            config = edited
            st.caption(":orange[Preview of your unsaved edits.]")
    method, path, params = flow_requests.preview_request(config, customer=customer)
    version = flow_requests.headers()["Stripe-Version"]
    st.markdown(
        f"`{method} {path}` with `Stripe-Version: {version}` — the `{config.title}` create call. "
        "Merge these parameters:"
    )
    st.code(json.dumps(flow_requests.fragment(config), indent=2), language="json")
    with st.expander("Full request parameters", icon=":material/data_object:"):
        st.code(json.dumps(params, indent=2), language="json")
    st.markdown("Equivalent curl (reads the key from `$STRIPE_SECRET_KEY`):")
    st.code(flow_requests.curl_command(config, customer=customer), language="bash")


# -- page ----------------------------------------------------------------------------------------------

PICKED, ADDRESS = "flows_selected", "flows_address"  # the radio; the ?flow= last read or written


def follow_address() -> None:
    """The flow the URL's ``?flow=`` names, when it changed since this session last read or
    wrote it (a link, a reload, Back or Forward); none (the sidebar) means the flow this admin
    edited last (their newest draft, else the flow they saved last), else the first flow. The
    URL is only written when the admin picks a flow (:func:`on_pick`)."""
    moved, wanted = runtime.address_change(ADDRESS, "flow", limit=40)
    if not moved:
        if PICKED in st.session_state:  # a rerun, or the radio's own pick
            return
        wanted = str(st.query_params.get("flow") or "")[:40] or None  # a first or a return visit
    if wanted is None or wanted not in flow_config.FLOWS:
        shown = drafts.opening_flow(svc, actor)
        if wanted is not None:
            runtime.linger(
                "flows_unknown",
                f"The address names a flow fcops does not know ({literal(wanted)}); showing "
                f"{flow_config.FLOW_TITLES[shown]}. Choose a flow below.",
            )
        wanted = shown
    st.session_state[PICKED] = wanted


def on_pick() -> None:
    """The admin picked a flow: it goes into the URL (one history entry; Back returns)."""
    runtime.keep_in_address(ADDRESS, st.session_state[PICKED], "flow")


follow_address()
runtime.lingering("flows_unknown")
drafts.restore(svc, actor)  # a new session (a reload, a new tab, a link): the stored drafts
for drawn in flow_config.FLOWS:  # the edits of the last run, before the list marks them
    keep_draft(drawn)
    drafts.sync(svc, actor, drawn)
flow = st.radio(
    "Flow",
    flow_config.FLOWS,
    format_func=flow_config.FLOW_TITLES.get,
    # The mark is a caption: the radio keeps its choice by the label, so a label that changed
    # when the first edit was made would drop the flow picked.
    captions=[flow_mark(name) for name in flow_config.FLOWS],
    horizontal=True,
    key=PICKED,
    on_change=on_pick,
)
loaded = runtime.call(edit_flows.view, svc, actor, flow)
if loaded is None:
    st.stop()
saved: flow_config.FlowConfig = loaded
open_editor(flow, saved)

st.subheader(saved.title)
if saved.version:
    st.caption(f"Version {saved.version}, saved by {saved.updated_by} at {when(saved.updated_at)}.")
else:
    st.caption(
        "Never saved: fcops' built-in defaults apply (verification "
        f"{saved.verification_method}, permissions {', '.join(saved.permissions)}, prefetch "
        f"{', '.join(saved.prefetch) or 'none'}); each request sends them to Stripe."
    )
base = int(st.session_state[k(flow, "base")])
if saved.version != base and not st.session_state.get(k(flow, "conflict")):
    # Someone saved while this admin was editing: say so now rather than on Save.
    st.session_state[k(flow, "conflict")] = SEEN

show_message(flow)
show_conflict(flow, saved)
edit_tab, history_tab, preview_tab = st.tabs(
    [":material/tune: Configure", ":material/history: History", ":material/code: API preview"]
)
with edit_tab:
    result = editor(flow, saved)
    save_bar(flow, saved, result)
with history_tab:
    history_section(flow, saved)
with preview_tab:
    preview_section(flow, saved, result)
