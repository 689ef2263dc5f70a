"""Returns' retry section: the plan of a returned debit, the retry controls that follow its
balance refresh, and why a debit asked for by its pi_ ID (Payment lookup's "Plan a retry" link,
``?retry=pi_…``) is not in the picker: unknown, not R01/R09, or made before the window (planned
regardless, with a window that lists it)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from pages import _refresh as bank_refresh
from pages import _runtime as runtime
from services.auth import Actor
from services.context import Services
from services.errors import RefreshStillRunning
from services.usecases import retry_debit, retry_picker

WINDOW = "returns_window"  # the window's number input (a wider one lists an older debit)
# The retry's balance check waits this long for a refresh it started (a spinner), as
# Balance check does; a slower bank is followed instead (the click no longer holds the page 10 s
# and then refuses with "wait for the suggested date" while the refresh still ran).
RETRY_REFRESH_WAIT = 5.0
RETRY_FOLLOW = "returns_retry_follow"  # (debit, account, the refusal) while its refresh runs
RETRY_ENDED = "returns_retry_refresh_ended"  # (debit, how the followed refresh ended)
RETRY_PENDING = (
    "The balance refresh is running at the bank; this updates by itself, and the retry can be "
    "sent once it has finished."
)


def send_retry(svc: Services, actor: Actor, choice: str, anyway: bool) -> retry_debit.RetryCreated:
    """The retry; refused while its balance refresh still runs, the refresh is followed (the
    retry itself is never sent without a second press: it moves money)."""
    try:
        with runtime.waiting_for_stripe("Checking the balance (refreshing it if it is stale)…"):
            return retry_debit.create_retry(
                svc, runtime.acting_as(actor), choice, proceed_without_ok=anyway,
                wait_seconds=RETRY_REFRESH_WAIT,
            )
    except RefreshStillRunning as err:
        st.session_state[RETRY_FOLLOW] = (choice, err.account_id, str(err))
        st.session_state.pop(RETRY_ENDED, None)
        st.rerun()  # the button is drawn off while the refresh is followed


def retry_refresh_ended(_account_id: str, state: Any) -> None:
    followed = st.session_state.pop(RETRY_FOLLOW, None)
    if followed is not None:
        st.session_state[RETRY_ENDED] = (followed[0], state.status if state is not None else None)


def say_retry_refresh_ended(status: str | None) -> None:
    again = "Press “Check the balance and send the retry” again to check the new balance."
    if status == "succeeded":
        st.success(f"The balance refresh finished. {again}", icon=":material/refresh:")
    elif status is None:
        st.warning(
            bank_refresh.unfollowed(
                "balance", "Press “Check the balance and send the retry” again to check the "
                "balance as it stands."
            ),
            icon=":material/cloud_off:",
        )
    else:
        st.warning(
            f"The balance refresh {status} at the bank. Press “Check the balance and send the "
            "retry” again to check against the last balance Stripe has.",
            icon=":material/sync_problem:",
        )


def retry_controls(svc: Services, actor: Actor, choice: str) -> None:
    anyway = st.checkbox("Send even if the balance check is not ok", key="returns_anyway")
    followed = st.session_state.get(RETRY_FOLLOW) or ("", "", "")
    following = followed[0] == choice
    ended = st.session_state.get(RETRY_ENDED)
    above = st.container()  # what the followed refresh said, above the button
    if following:
        above.warning(followed[2], icon=":material/hourglass_top:")
    clicked = st.button(
        "Check the balance and send the retry",
        type="primary",
        icon=":material/replay:",
        disabled=following,
        help="Off while the balance refresh runs at the bank; on again when it has finished."
        if following
        else None,
    )
    if following:
        bank_refresh.follow_one(
            svc, actor, followed[1], "balance", retry_refresh_ended, RETRY_PENDING
        )
    elif not clicked:
        if ended is not None and ended[0] == choice:
            with above:
                say_retry_refresh_ended(ended[1])
    else:
        st.session_state.pop(RETRY_ENDED, None)
        made = runtime.call(send_retry, svc, actor, choice, anyway)
        if made is not None:
            st.success(made.message, icon=":material/check_circle:")


def show_plan(svc: Services, actor: Actor, choice: str) -> None:
    """Attempt n of 3, the deadline and the suggested date, or why not; finance's controls."""
    view = runtime.call(retry_debit.plan, svc, actor, choice)
    if view is None:
        return
    p = view.plan
    if p.allowed:
        st.info(
            f"Attempt {p.attempt} of {p.of} · deadline {p.deadline} · suggested "
            f"{p.suggested} ({p.suggestion_reason}).",
            icon=":material/event:",
        )
    else:
        st.warning(p.reason, icon=":material/block:")
    if actor.can("debits.retry") and p.allowed:
        retry_controls(svc, actor, choice)


def _widen(days: int) -> None:
    st.session_state[WINDOW] = days


def explain_target(svc: Services, actor: Actor, search: str, window: int) -> bool:
    """Why the picker does not list the pi_ ID searched for, and its plan when the rules may
    allow one (made before the window, or a retry of a listed original). False: no pi_ ID."""
    target = runtime.call(retry_picker.retry_target, svc, actor, search, window_days=window)
    if target is None:
        return False
    if target.message:
        say = st.info if target.original else st.warning
        say(target.message, icon=":material/info:" if target.original else ":material/block:")
    if target.widen_to:
        st.button(
            f"Widen the window to {target.widen_to} days",
            icon=":material/date_range:",
            key="returns_widen",
            on_click=_widen,
            args=(target.widen_to,),
            help="The rates, the debits behind them and this list then cover that many days.",
        )
    if target.original:
        show_plan(svc, actor, target.original)
    return True
