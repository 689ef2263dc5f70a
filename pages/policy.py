"""Debit policy (admin): the safety buffer and the oldest balance a pre-debit check trusts.

The form remembers which version the admin started from; saving sends it, and the service
refuses the save if another admin saved in between, so nobody overwrites a change unseen.
"""

from __future__ import annotations

from decimal import Decimal

import streamlit as st

from components import runtime
from components.feedback import format_age
from components.money import format_money
from services import debits
from services.balances import DebitPolicy
from services.money import MoneyError, exponent, parse_amount

actor = runtime.guard("policy.edit")
runtime.page_header(
    "Debit policy",
    "How much headroom a debit needs above its amount, and how old a bank balance may be before "
    "the balance check calls it stale. Applies to every single and batch check.",
)
app = runtime.get_app()
stored = debits.load_policy(app.engine)
BASE = "policy_base_version"


def load_editor(current: debits.StoredPolicy) -> None:
    """Fill the form from the stored policy and remember the version it came from."""
    policy = current.policy
    st.session_state[BASE] = current.version
    places = exponent(current.currency)
    major = Decimal(policy.buffer_amount).scaleb(-places)
    st.session_state["policy_buffer_amount"] = f"{major:.{places}f}"
    st.session_state["policy_buffer_percent"] = float(policy.buffer_percent)
    st.session_state["policy_max_age_hours"] = round(policy.max_age_seconds / 3600, 2)


if BASE not in st.session_state:
    load_editor(stored)

if stored.version == 0:
    st.info(
        "No policy saved yet: checks use the defaults below (no buffer, 24 h).",
        icon=":material/info:",
    )
else:
    saved_at = stored.updated_at.strftime("%Y-%m-%d %H:%M UTC") if stored.updated_at else "—"
    st.caption(f"Version {stored.version}, saved by {stored.updated_by or '—'} at {saved_at}.")

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
    st.number_input(
        "Safety buffer (% of the debit)",
        key="policy_buffer_percent",
        min_value=0.0,
        max_value=100.0,
        step=0.5,
        format="%.2f",
        help="Added on top of the fixed buffer; rounded up to the cent.",
    )
    st.number_input(
        "Maximum balance age (hours)",
        key="policy_max_age_hours",
        min_value=0.25,
        max_value=24.0 * 30,
        step=1.0,
        help="Older balances make the verdict 'stale'. Banks often report balances up to a day old.",
    )
    note = st.text_input("Note for the history (optional)", key="policy_note")
    submitted = st.form_submit_button("Save policy", type="primary", icon=":material/save:")


def edited_policy() -> DebitPolicy | None:
    """The policy in the form, or None after showing why it cannot be used."""
    try:
        amount = parse_amount(
            str(st.session_state["policy_buffer_amount"]), currency, allow_zero=True
        )
        return DebitPolicy(
            buffer_amount=amount,
            buffer_percent=float(st.session_state["policy_buffer_percent"]),
            max_age_seconds=max(1, round(float(st.session_state["policy_max_age_hours"]) * 3600)),
        )
    except (MoneyError, ValueError) as err:
        st.error(f"Buffer amount: {err}", icon=":material/error:")
        return None


policy = edited_policy()
if submitted and policy is not None:
    saved = runtime.attempt(
        debits.save_policy,
        app.engine,
        actor,
        policy,
        expected_version=int(st.session_state[BASE]),
        currency=currency,
        note=note or None,
    )
    if saved is not None:
        st.session_state[BASE] = saved.version
        st.success(f"Saved as version {saved.version}.", icon=":material/check_circle:")
        stored = saved

if policy is not None:
    example = 100_000
    st.subheader("What this means")
    st.write(
        f"A {format_money(example, currency)} debit needs a balance of at least "
        f"**{format_money(policy.required(example), currency)}**, and the balance must be "
        f"younger than **{format_age(policy.max_age_seconds)}**."
    )
