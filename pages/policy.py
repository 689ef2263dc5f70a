"""Debit policy (admin): the safety buffer and the oldest balance a pre-debit check trusts.

The form remembers which version the admin started from; saving sends it, and the service
refuses the save if another admin saved in between, so nobody overwrites a change unseen. The
admin's unsaved edits are kept for them (:mod:`pages._policy_draft`), like Flow configuration's:
leaving the page, a reload or a new tab shows them again.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import streamlit as st

from components.diff_view import both_changed, diff_view
from components.feedback import format_age
from components.history_table import history_table
from components.money import format_money
from components.table_columns import duration_column, money_column
from pages import _policy_draft as drafts
from pages import _runtime as runtime
from pages._policy_draft import BASE, BASE_VALUES, FLASH_INFO, RELOAD
from pages._pressed import pressed
from services.errors import Conflict
from services.rules import policy_bounds, three_way, wording
from services.rules.debit import DebitPolicy
from services.rules.money import MoneyError, parse_unambiguous_amount
from services.rules.table_values import major_units, one_currency, seconds
from services.usecases import debit_policy

actor = runtime.guard("policy.edit")
runtime.page_header(
    "Debit policy",
    "How much headroom a debit needs above its amount, and how old a bank balance may be before "
    "the balance check calls it stale. Applies to every single and batch check.",
)
svc = runtime.get_app().services
current = runtime.call(debit_policy.current, svc, actor)
if current is None:
    st.stop()
stored: debit_policy.StoredPolicy = current
# Everything above the form that comes and goes (a flash, the conflict panel, a sentence about
# a refused draft; the draft line is drawn below the Save button) is drawn in this one block, so the form keeps its place in
# the page: a box that moves while the admin types is drawn anew, stale beside the new one, and
# what was typed into it meanwhile was lost.
TOP = st.container()
FLASH = "policy_flash"
CONFLICT = "policy_conflict"  # REFUSED: a save was refused because someone saved first
REFUSED = "refused"
SCOPE = "policy-save"


def fill_editor(policy: DebitPolicy, currency: str) -> None:
    """Put ``policy`` into the form's boxes (before they are drawn, or from a callback)."""
    drafts.fill_widgets(drafts.form_values(asdict(policy), currency))


def load_editor(current: debit_policy.StoredPolicy) -> None:
    """Fill the form from the stored policy and remember the version it came from (and its
    values: what the admin's edits are measured from when someone else saves meanwhile)."""
    fill_editor(current.policy, current.currency)
    st.session_state[BASE] = current.version
    st.session_state[BASE_VALUES] = asdict(current.policy)
    drafts.empty_note()
    st.session_state.pop(CONFLICT, None)
    st.session_state.pop(drafts.DRAFT, None)


# The boxes keep their values across pages (persist_state="session"): an admin who leaves the
# page with edits unsaved finds them again, and they are kept in the store too (a reload or a
# new tab fills the boxes from it; one kept from an older version opens the conflict panel
# below). With nothing unsaved, the form shows the stored policy, on arrival or staying on the
# page (a colleague's save meanwhile is no conflict); empty boxes are never drawn with the widgets' defaults. After a save,
# Discard or "Load theirs" the form is refilled from the stored version on the next run
# (widgets cannot change once drawn).
drafts.restore(svc, actor)  # a new session (a reload, a new tab): the stored draft
arrival = runtime.arrived("policy_arrival")  # from another page, or a new session
if (
    BASE not in st.session_state
    or BASE_VALUES not in st.session_state
    or st.session_state.pop(RELOAD, False)
):
    load_editor(stored)
else:
    drafts.keep()  # the boxes as the admin left them (kept across pages: persist_state)
    missing = any(key not in st.session_state for key in drafts.BOXES.values())
    if not drafts.has_edits(stored.currency):
        # Nothing unsaved: a colleague's save is no conflict, whether the admin comes back to
        # the page or stays on it (as on Flow configuration); the form follows it.
        followed = stored.version != st.session_state[BASE]
        if missing or followed:
            note = (st.session_state.get(drafts.DRAFT) or {}).get("note") or ""
            load_editor(stored)
            st.session_state["policy_note"] = note  # but a note typed alone stays
            st.session_state.pop(drafts.EMPTIED, None)
            if followed and not (arrival or missing):  # the form changed under the admin's eyes
                st.session_state[FLASH_INFO] = (
                    f"{stored.updated_by or 'Someone'} saved version {stored.version} at "
                    f"{wording.moment(stored.updated_at)}; the form shows it."
                )
    elif missing:
        drafts.fill_widgets(st.session_state[drafts.DRAFT])  # a new session's stored draft


def prefill_suggestion() -> bool:
    """The Returns page's policy suggestion (?buffer_percent=…&max_age_hours=…) fills the form
    once; the admin reviews and saves it like any edit."""
    wanted = {  # query parameter -> the form's widget and the range it accepts
        "buffer_percent": ("policy_buffer_percent", 0.0, policy_bounds.POLICY_MAX_BUFFER_PERCENT),
        "max_age_hours": (
            "policy_max_age_hours",
            policy_bounds.MIN_AGE_HOURS,
            policy_bounds.MAX_AGE_HOURS,
        ),
    }
    found = False
    for param, (key, low, high) in wanted.items():
        raw = st.query_params.get(param)
        if raw is None:
            continue
        del st.query_params[param]
        try:
            value = float(raw)
        except ValueError:
            continue
        if low <= value <= high:  # a hand-edited URL out of range is ignored
            st.session_state[key] = value
            found = True
    return found


with TOP:
    if prefill_suggestion():
        st.info(
            "The form shows the change suggested on the Returns page; check it and save to apply it.",
            icon=":material/lightbulb:",
        )
    drafts.keep()
    drafts.sync(svc, actor, stored.currency)


def when(at: datetime | None) -> str:
    return wording.moment(at)


currency = stored.currency


def edited_policy() -> tuple[DebitPolicy | None, list[str]]:
    """The policy in the form, or None and why not: one sentence per value no policy may hold.
    Save shows them as its error; while the admin is still typing they stand where the preview
    would be (it was hidden without a word until Save)."""
    try:
        amount = parse_unambiguous_amount(  # "1.000" is refused, not read as $1.00
            str(st.session_state["policy_buffer_amount"]), currency, allow_zero=True
        )
    except MoneyError as err:
        return None, [f"Buffer amount: {err}"]
    percent = float(st.session_state["policy_buffer_percent"])
    hours = float(st.session_state["policy_max_age_hours"])
    found = policy_bounds.problems(
        buffer_amount=amount, buffer_percent=percent, max_age_hours=hours, currency=currency
    )
    if found:
        return None, found
    # The form shows hours to 2 places; an age it showed unchanged keeps its exact seconds,
    # so an untouched form equals the version it was filled from (no "unsaved", nothing to
    # save, and no edit of the age when someone else saved meanwhile).
    base_seconds = int(st.session_state[BASE_VALUES]["max_age_seconds"])
    seconds = base_seconds if hours == round(base_seconds / 3600, 2) else round(hours * 3600)
    # The percentage as its box shows it (2 places, -0 as 0), as the service saves it: what
    # this page compares, explains and sends is what the admin sees.
    kept = DebitPolicy(buffer_amount=amount, buffer_percent=percent, max_age_seconds=seconds)
    return policy_bounds.kept_policy(kept), []


FIELDS = {  # the policy's fields as the form names them, and their values as people read them
    "buffer_amount": ("Safety buffer amount", lambda v: format_money(int(v), currency)),
    "buffer_percent": ("Safety buffer (% of the debit)", lambda v: wording.percent(float(v) / 100, 4)),
    "max_age_seconds": ("Maximum balance age", lambda v: format_age(int(v))),
}


def shown(field: str, value: Any) -> str:
    return str(FIELDS[field][1](value))


def for_people(lines: list[three_way.DiffLine]) -> list[three_way.DiffLine]:
    """Changed fields named as the form names them, with money, percent and age formatted."""
    return [
        three_way.DiffLine(FIELDS[line.field][0], shown(line.field, line.before),
                           shown(line.field, line.after))
        for line in lines
    ]


def version_name(version: int) -> str:
    return wording.version_name(version, three_way.NEVER_SAVED)  # as Flow configuration says it


def refused_by_a_newer_version(base: int) -> None:
    """After a refused save: when someone saved since ``base``, open the conflict panel (the
    form keeps what the admin typed; the panel shows it against their version)."""
    latest = runtime.call(debit_policy.current, svc, actor)
    if latest is None or latest.version == base:
        return
    st.session_state[CONFLICT] = REFUSED  # the panel words it, up to the newest version
    st.rerun()


def keep_mine(version: int, theirs: dict[str, Any], merged: dict[str, Any]) -> None:
    """The admin has seen the other save: the form now holds theirs with this admin's edits
    applied on top, to review and save (nothing is saved here)."""
    fill_editor(DebitPolicy(**merged), currency)
    st.session_state[BASE] = version
    st.session_state[BASE_VALUES] = theirs
    st.session_state.pop(CONFLICT, None)
    st.session_state[FLASH_INFO] = (
        f"Your edits now apply on top of version {version}, with its other changes kept. Review "
        "the form and save."
    )


def load_theirs(version: int) -> None:
    st.session_state[RELOAD] = True
    st.session_state[FLASH_INFO] = f"Loaded theirs, version {version}; your edits were discarded."


def conflict_line(base: int, newer: list[three_way.Saved]) -> str:
    """The panel's red line, worded on every run: it names the newest version even when
    someone saved again while it was open (it kept naming the first)."""
    said = three_way.saved_meanwhile(newer, version_name(base))
    if st.session_state.get(CONFLICT) == REFUSED:
        return f"{said}, so your changes were not saved. They are still in the form."
    return f"{said}. {three_way.STILL_HERE}"


def conflict_panel() -> None:
    """Someone saved since this admin filled the form: what each changed, and a choice."""
    base = int(st.session_state[BASE])
    if stored.version == base:
        return
    newer = three_way.saved_since(runtime.call(debit_policy.versions, svc, actor) or [], base, stored)
    started = version_name(base)
    before: dict[str, Any] = dict(st.session_state[BASE_VALUES])
    theirs = asdict(stored.policy)
    mine_policy, _ = edited_policy()
    merged: dict[str, Any] | None = None
    with st.container(border=True):
        st.error(conflict_line(base, newer), icon=":material/group:")
        st.markdown(
            f"**What {three_way.savers(newer)} changed ({started} → version {stored.version}):**"
        )
        diff_view(
            for_people(three_way.diff(before, theirs)), empty=three_way.net_nothing(newer, started)
        )
        st.markdown(f"**Your unsaved edits (on {started}):**")
        if mine_policy is None:
            st.caption("Your values are not valid yet; mend them to see them beside theirs.")
        else:
            mine = asdict(mine_policy)
            diff_view(for_people(three_way.diff(before, mine)), empty="None.")
            merged, clashes = three_way.merge(before, theirs, mine)
            for name in clashes:
                both_changed(FIELDS[name][0], shown(name, mine[name]), shown(name, theirs[name]))
        left, right = st.columns(2)
        left.button(
            three_way.KEEP_MINE.format(version=stored.version),
            key="policy_keep_mine",
            on_click=keep_mine,
            args=(stored.version, theirs, merged or theirs),
            disabled=merged is None,
            icon=":material/edit:",
            help="Their changes stay; yours are applied on top. Nothing is saved until you Save.",
        )
        right.button(
            three_way.LOAD_THEIRS,
            key="policy_load_theirs",
            on_click=load_theirs,
            args=(stored.version,),
            icon=":material/refresh:",
        )


with TOP:  # what comes and goes above the form, in one place (see TOP)
    flash = st.session_state.pop(FLASH, None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    if flash_info := st.session_state.pop(FLASH_INFO, None):
        st.info(flash_info, icon=":material/info:")
    if stored.version == 0:
        st.info(
            "No policy saved yet: checks use the defaults below (no buffer, 24 h). Press Save policy "
            "to set your own.",
            icon=":material/info:",
        )
    else:
        st.caption(
            f"In force: version {stored.version}, saved by {stored.updated_by or '—'} at "
            f"{when(stored.updated_at)}."
        )

    conflict_panel()

# Not an st.form: a form's boxes reach the server only with its submit, so what an admin typed
# and left unsaved could not be kept when they left the page. Each box keeps the draft on change.
EDITED = (svc, currency)  # on_edit's arguments
with st.container(border=True):
    st.text_input(
        f"Safety buffer amount ({currency.upper()})",
        key="policy_buffer_amount",
        help="Added to every debit, for example 25.00. Use 0 for none.",
        on_change=drafts.on_edit, args=EDITED, persist_state="session",
    )
    # No min/max on these boxes: Streamlit's own bounds refuse a value out of range with only a
    # red icon, keeping the old one unseen. The form sends what was typed and
    # policy_bounds.problems says what is allowed (edited_policy below); nothing is saved.
    st.number_input(
        "Safety buffer (% of the debit)",
        key="policy_buffer_percent",
        step=0.5,
        format="%.2f",
        help="Between 0 and 100. Added on top of the fixed buffer; rounded up to the cent.",
        on_change=drafts.on_edit, args=EDITED, persist_state="session",
    )
    st.number_input(
        "Maximum balance age (hours)",
        key="policy_max_age_hours",
        step=1.0,
        help=(
            f"Between {policy_bounds.MIN_AGE_HOURS:g} and {policy_bounds.MAX_AGE_HOURS:g}. Older "
            "balances make the verdict 'stale'. Banks often report balances up to a day old."
        ),
        on_change=drafts.on_edit, args=EDITED, persist_state="session",
    )
    note = st.text_input(
        "Note for the history (optional)", key="policy_note", on_change=drafts.on_edit, args=EDITED,
        persist_state="session",
    )
    # Off while the conflict panel is open, as on Flow configuration: Save would only be refused.
    choosing = stored.version != int(st.session_state[BASE])
    # A Save pressed on the page drawn before another admin's save finds Save off on its run:
    # the click still counts (pages._pressed), so the service refuses it and audits it, as on
    # Flow configuration, and the panel says why.
    submitted = pressed(
        "Save policy", key="policy_save", type="primary", icon=":material/save:",
        disabled=choosing, help=three_way.SAVE_OFF if choosing else None,
    )
    if choosing:
        st.caption(three_way.SAVE_OFF)
    # Below the boxes, not above: the line appears on the first edit (the box's on_change), and
    # above it moved every box down while the admin was typing into the next (keys lost).
    drafts.draft_line(svc, actor, currency)


def explain(policy: DebitPolicy, *, unsaved: bool) -> None:
    """The policy worked through on an example debit, so its effect is plain."""
    example = 100_000
    buffer_pct = policy.required(example) - example - policy.buffer_amount
    st.subheader("What this means" + (" (unsaved)" if unsaved else ""))
    st.write(
        f"A {format_money(example, currency)} debit needs a balance of at least "
        f"**{format_money(policy.required(example), currency)}** "
        f"({format_money(example, currency)} + {format_money(policy.buffer_amount, currency)} "
        f"fixed + {format_money(buffer_pct, currency)} for {wording.percent(policy.buffer_percent / 100, 4)}), and the "
        f"balance must be younger than **{format_age(policy.max_age_seconds)}**."
    )


def history() -> None:
    versions = runtime.call(debit_policy.versions, svc, actor)
    if versions is None:
        return
    with st.expander(
        f"History ({wording.counted(len(versions), 'saved version') if versions else 'none saved'})",
        icon=":material/history:",
    ):
        if not versions:
            st.caption("Nothing saved yet; every check uses the defaults.")
            return
        history_table(
            versions,
            lambda v: {
                "Fixed buffer": major_units(v.policy.buffer_amount, v.currency),
                "Buffer %": float(v.policy.buffer_percent),
                "Max balance age": seconds(v.policy.max_age_seconds),
            },
            {
                "Fixed buffer": money_column(
                    "Fixed buffer", one_currency(v.currency for v in versions)
                ),
                "Buffer %": st.column_config.NumberColumn("Buffer %", format="%g %%"),
                "Max balance age": duration_column("Max balance age"),
            },
            durations=["Max balance age"],
        )


policy, refused = edited_policy()
if submitted and refused:
    st.error("  \n".join([*refused, "Nothing was saved."]), icon=":material/error:")
if submitted and policy is not None:
    # Typed with more places than the box shows (0.001 read "0.00"): say what is kept.
    kept_note = policy_bounds.percent_kept_note(float(st.session_state["policy_buffer_percent"]))
    if kept_note and policy == stored.policy:
        st.info(kept_note, icon=":material/info:")
    if policy == stored.policy:
        # A version that changes nothing would only add noise to the history and audit log.
        st.info(
            f"Nothing to save: the form already matches version {stored.version}."
            if stored.version
            else "Nothing to save: the form shows the defaults checks already use.",
            icon=":material/info:",
        )
    else:
        base = int(st.session_state[BASE])
        saved = runtime.call_keyed_routed(  # a Conflict opens the panel, which says it
            (Conflict,),
            SCOPE,
            {**asdict(policy), "expected_version": base, "note": note},
            debit_policy.save_policy,
            svc,
            actor,
            policy,
            expected_version=base,
            currency=currency,
            note=note or None,
        )
        if saved is not None:
            runtime.new_request(SCOPE)
            st.session_state[RELOAD] = True  # and empty the note, so the next save has its own
            st.session_state[FLASH] = (
                f"Saved as version {saved.version}. Every check from now on uses it."
            )
            if kept_note:
                st.session_state[FLASH_INFO] = kept_note
            st.rerun()
        else:
            refused_by_a_newer_version(base)

if policy is not None:
    explain(policy, unsaved=policy != stored.policy)
elif not submitted:  # Save's error above says it already
    st.subheader("What this means (unsaved)")
    st.warning(
        "  \n".join(["No preview: the form holds a value no policy may hold.", *refused]),
        icon=":material/warning:",
    )
history()
