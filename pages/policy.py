"""Debit policy (admin): the safety buffer and the oldest balance a pre-debit check trusts.

The form remembers which version the admin started from; saving sends it, and the service
refuses the save if another admin saved in between, so nobody overwrites a change unseen.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import streamlit as st

from components.feedback import format_age
from components.history_table import history_table
from components.money import format_money
from components.table_columns import age_column, money_column
from pages import _runtime as runtime
from services.rules import policy_bounds, wording
from services.rules.debit import DebitPolicy
from services.rules.money import MoneyError, exponent, parse_amount
from services.rules.table_values import hours, major_units, one_currency
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
BASE = "policy_base_version"
FLASH = "policy_flash"
RELOAD = "policy_reload"


def load_editor(current: debit_policy.StoredPolicy) -> None:
    """Fill the form from the stored policy and remember the version it came from."""
    policy = current.policy
    st.session_state[BASE] = current.version
    places = exponent(current.currency)
    major = Decimal(policy.buffer_amount).scaleb(-places)
    st.session_state["policy_buffer_amount"] = f"{major:.{places}f}"
    st.session_state["policy_buffer_percent"] = float(policy.buffer_percent)
    st.session_state["policy_max_age_hours"] = round(policy.max_age_seconds / 3600, 2)
    st.session_state["policy_note"] = ""


WIDGETS = ("policy_buffer_amount", "policy_buffer_percent", "policy_max_age_hours", "policy_note")

# The form shows the stored policy on every visit: Streamlit forgets a keyed widget's value when
# its page is left, so a missing widget key means the admin (re-)entered the page, and the form
# is refilled rather than drawn with the widgets' defaults (empty, 0 %, 0.25 h). After a save it
# is refilled from the new version on the next run (widgets cannot change once drawn).
if (
    BASE not in st.session_state
    or st.session_state.pop(RELOAD, False)
    or any(key not in st.session_state for key in WIDGETS)
):
    load_editor(stored)


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


if prefill_suggestion():
    st.info(
        "The form shows the change suggested on the Returns page; check it and save to apply it.",
        icon=":material/lightbulb:",
    )


def when(at: datetime | None) -> str:
    return wording.moment(at)


flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash, icon=":material/check_circle:")
if stored.version == 0:
    st.info(
        "No policy saved yet: checks use the defaults below (no buffer, 24 h). Save the form to "
        "set your own.",
        icon=":material/info:",
    )
else:
    st.caption(
        f"In force: version {stored.version}, saved by {stored.updated_by or '—'} at "
        f"{when(stored.updated_at)}."
    )

if stored.version != st.session_state[BASE]:
    st.warning(
        f"Someone saved version {stored.version} after you opened this form "
        f"(you started from version {st.session_state[BASE]}).",
        icon=":material/sync_problem:",
    )
    if st.button("Load the latest version", icon=":material/refresh:"):
        load_editor(stored)
        st.rerun()

currency = stored.currency
with st.form("policy_form"):
    st.text_input(
        f"Safety buffer amount ({currency.upper()})",
        key="policy_buffer_amount",
        help="Added to every debit, for example 25.00. Use 0 for none.",
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
    )
    st.number_input(
        "Maximum balance age (hours)",
        key="policy_max_age_hours",
        step=1.0,
        help=(
            f"Between {policy_bounds.MIN_AGE_HOURS:g} and {policy_bounds.MAX_AGE_HOURS:g}. Older "
            "balances make the verdict 'stale'. Banks often report balances up to a day old."
        ),
    )
    note = st.text_input("Note for the history (optional)", key="policy_note")
    submitted = st.form_submit_button("Save policy", type="primary", icon=":material/save:")


def edited_policy(*, say_why: bool) -> DebitPolicy | None:
    """The policy in the form, or None (saying why only when ``say_why``).

    The form's values reach the script only with a submit, so on any other run (a button,
    the sidebar) they are the last submitted ones, not what the box shows now: an error about
    them ("An amount is required" after the amount was typed in) would describe old input."""
    try:
        amount = parse_amount(
            str(st.session_state["policy_buffer_amount"]), currency, allow_zero=True
        )
    except MoneyError as err:
        if say_why:
            st.error(f"Buffer amount: {err}", icon=":material/error:")
        return None
    percent = float(st.session_state["policy_buffer_percent"])
    hours = float(st.session_state["policy_max_age_hours"])
    found = policy_bounds.problems(
        buffer_amount=amount, buffer_percent=percent, max_age_hours=hours, currency=currency
    )
    if found:
        if say_why:
            st.error("  \n".join([*found, "Nothing was saved."]), icon=":material/error:")
        return None
    # The form shows hours to 2 places; an age it showed unchanged keeps its exact seconds,
    # so an untouched form equals the stored policy (no "unsaved", nothing to save).
    if hours == round(stored.policy.max_age_seconds / 3600, 2):
        seconds = stored.policy.max_age_seconds
    else:
        seconds = round(hours * 3600)
    return DebitPolicy(buffer_amount=amount, buffer_percent=percent, max_age_seconds=seconds)


def explain(policy: DebitPolicy, *, unsaved: bool) -> None:
    """The policy worked through on an example debit, so its effect is plain."""
    example = 100_000
    buffer_pct = policy.required(example) - example - policy.buffer_amount
    st.subheader("What this means" + (" (unsaved)" if unsaved else ""))
    st.write(
        f"A {format_money(example, currency)} debit needs a balance of at least "
        f"**{format_money(policy.required(example), currency)}** "
        f"({format_money(example, currency)} + {format_money(policy.buffer_amount, currency)} "
        f"fixed + {format_money(buffer_pct, currency)} for {policy.buffer_percent:g} %), and the "
        f"balance must be younger than **{format_age(policy.max_age_seconds)}**."
    )


def history() -> None:
    versions = runtime.call(debit_policy.versions, svc, actor)
    if versions is None:
        return
    with st.expander(f"History ({len(versions)} saved version(s))", icon=":material/history:"):
        if not versions:
            st.caption("Nothing saved yet; every check uses the defaults.")
            return
        history_table(
            versions,
            lambda v: {
                "Fixed buffer": major_units(v.policy.buffer_amount, v.currency),
                "Buffer %": float(v.policy.buffer_percent),
                "Max balance age": hours(v.policy.max_age_seconds),
            },
            {
                "Fixed buffer": money_column(
                    "Fixed buffer", one_currency(v.currency for v in versions)
                ),
                "Buffer %": st.column_config.NumberColumn("Buffer %", format="%g %%"),
                "Max balance age": age_column("Max balance age"),
            },
        )


policy = edited_policy(say_why=submitted)
if submitted and policy is not None:
    if policy == stored.policy:
        # A version that changes nothing would only add noise to the history and audit log.
        st.info(
            f"Nothing to save: the form already matches version {stored.version}."
            if stored.version
            else "Nothing to save: the form shows the defaults checks already use.",
            icon=":material/info:",
        )
    else:
        saved = runtime.call(
            debit_policy.save_policy,
            svc,
            actor,
            policy,
            expected_version=int(st.session_state[BASE]),
            currency=currency,
            note=note or None,
        )
        if saved is not None:
            st.session_state[RELOAD] = True  # and empty the note, so the next save has its own
            st.session_state[FLASH] = (
                f"Saved as version {saved.version}. Every check from now on uses it."
            )
            st.rerun()

if policy is not None:
    explain(policy, unsaved=policy != stored.policy)
history()
