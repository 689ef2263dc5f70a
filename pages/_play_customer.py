"""Sandbox only: the panel that plays the customer's part on the Collect page.

On Stripe the customer links or types a bank account in Stripe.js and the bank sends the
microdeposits. On the sandbox these buttons do it through ``App.simulator`` (the seam bootstrap
wires; None outside sandbox mode, and then nothing here draws or runs). Each step goes through
:func:`services.usecases.play_customer.simulate`, which checks the role and the mode and audits
it. The Collect page itself never touches the simulator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from components.collect_view import request_status
from pages import _runtime as runtime
from services.auth import Actor
from services.rules.intents import CollectionRequest, IntentView
from services.rules.request_state import ended
from services.usecases.play_customer import simulate

PENDING = "play_customer_step"  # the step a button asked for, run on the next page run

# Reference §7.1: manually entered test accounts (routing number 110000000) and what they do.
TEST_ACCOUNTS = {
    "000123456789": "Succeeds",
    "000111111113": "Fails: account closed",
    "000111111116": "Fails: no account",
    "000222222227": "Fails: insufficient funds",
    "000333333335": "Fails: debit not authorized",
    "000666666661": "Microdeposits fail to send",
    "000555555559": "Succeeds, then disputed",
}
# Reference §7.2: microdeposit test values.
TEST_CODES = {"SM11AA": "Verified", "SM33CC": "Attempts exceeded", "SM44DD": "Timeout"}


def _simulator() -> Any | None:
    return runtime.get_app().simulator


def _ask(step: str) -> None:
    st.session_state[PENDING] = step


def _step(
    simulator: Any, request: CollectionRequest, step: str
) -> tuple[str, dict[str, Any], Callable[[], object]]:
    """The audited step name, what it records, and the sandbox call that does it."""
    if step == "link":
        bank = st.session_state.get("collect_sim_bank") or "Test Institution"
        if request.kind == "setup_intent":
            return (
                "link",
                {"institution": bank},
                lambda: simulator.link_bank(request.id, institution=bank),
            )
        return (
            "complete_session",
            {"institution": bank},
            lambda: simulator.complete_session(request.id, institution=bank),
        )
    if step == "manual":
        number = st.session_state.get("collect_sim_account") or "000123456789"
        kind = st.session_state.get("collect_sim_md_type") or "descriptor_code"
        return (
            "manual_entry",
            {"account_number": number, "microdeposit_type": kind},
            lambda: simulator.manual_entry(
                request.id, account_number=number, microdeposit_type=kind
            ),
        )
    return "microdeposits_arrive", {}, lambda: simulator.microdeposits_arrive(request.id)


def play_requested_step(actor: Actor, request: CollectionRequest) -> IntentView | None:
    """Run the step a panel button asked for, showing what happened; the intent's new state."""
    step = st.session_state.pop(PENDING, None)
    simulator = _simulator()
    if step is None or simulator is None:
        return None
    name, params, run_step = _step(simulator, request, step)
    svc = runtime.get_app().services
    # Wrapped in a 1-tuple: an FC session step returns None on success, and runtime.call
    # returns None on failure, so the tuple tells the two apart.
    ran = runtime.call(
        lambda: (
            simulate(svc, actor, intent_id=request.id, step=name, params=params, run_step=run_step),
        )
    )
    if ran is None:
        return None
    (view,) = ran
    if view is not None:
        st.success(request_status(request, view.status, now=True), icon=":material/check_circle:")
    else:
        st.success("The customer linked an account in the session.", icon=":material/check_circle:")
    return view


@st.cache_data(ttl=600, show_spinner=False)
def institution_names(base_url: str) -> list[str]:
    del base_url  # the cache key: one list per sandbox
    simulator = _simulator()
    return [str(i["name"]) for i in simulator.institutions()] if simulator else []


def panel(request: CollectionRequest, status: str) -> None:
    """The "play the customer" buttons for ``request`` (nothing outside sandbox mode)."""
    if _simulator() is None:
        return
    why = ended(request, status, now=runtime.get_app().services.now())
    if why is not None:  # nothing a customer could do on it any more ("its link expired")
        st.caption(f":material/science: Nothing to play on this request: {why}.")
        return
    with st.container(border=True):
        st.markdown("#### :material/science: Play the customer (sandbox only)")
        st.caption(
            "These buttons do what Stripe.js and the bank would do; they exist only on the sandbox."
            + (
                " Offline, the hosted link above opens no page: these buttons do what the "
                "customer would do on it."
                if request.hosted_url
                else ""
            )
        )
        banks = runtime.call(institution_names, runtime.get_app().gateway.base_url or "") or [
            "Test Institution"
        ]
        bank_col, link_col = st.columns([3, 1], vertical_alignment="bottom")
        bank_col.selectbox(
            "Demo bank",
            banks,
            index=banks.index("Test Institution") if "Test Institution" in banks else 0,
            key="collect_sim_bank",
        )
        link_col.button(
            "Link at bank",
            icon=":material/account_balance:",
            on_click=_ask,
            args=("link",),
            key="collect_sim_link",
            width="stretch",
        )
        if request.kind == "setup_intent":
            _manual_entry(waiting=status == "requires_action")


def _manual_entry(*, waiting: bool) -> None:
    acct_col, type_col, manual_col = st.columns([2, 2, 1], vertical_alignment="bottom")
    acct_col.selectbox(
        "Account number (typed by hand)",
        list(TEST_ACCOUNTS),
        format_func=lambda n: f"{n} — {TEST_ACCOUNTS[n]}",
        key="collect_sim_account",
    )
    type_col.selectbox(
        "Microdeposits sent as", ["descriptor_code", "amounts"], key="collect_sim_md_type"
    )
    manual_col.button(
        "Enter manually",
        icon=":material/keyboard:",
        on_click=_ask,
        args=("manual",),
        key="collect_sim_manual",
        width="stretch",
    )
    st.button(
        "Microdeposits arrive",
        icon=":material/savings:",
        on_click=_ask,
        args=("arrive",),
        disabled=not waiting,
        key="collect_sim_arrive",
        help=None
        if waiting
        else "Available after the account numbers were entered by hand (Enter manually).",
    )


def test_values_hint(microdeposit_type: str) -> None:
    """Under a verify form on the sandbox: which values do what."""
    if _simulator() is None:
        return
    if microdeposit_type == "amounts":
        st.caption(
            "Sandbox test amounts: 32 + 45 verify; 10 + 11 exceed the attempts; 40 + 41 time out."
        )
    else:
        st.caption(
            "Sandbox test codes: "
            + ", ".join(f"{c} → {what}" for c, what in TEST_CODES.items())
            + "."
        )
