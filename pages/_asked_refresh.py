"""Balance check: a balance refresh asked for on a run that never ended.

A person pressed "Refresh balance now" (or Check debit with "Refresh stale balances" ticked)
and, while fcops waited for the bank, left by the sidebar. Streamlit stops the run at its next
element (the spinner's end), so the refresh Stripe had started never reached the page: back on
it, the check kept from before the click said "A balance refresh can be requested now." beside
a refresh pending at Stripe (or already finished there). The page now remembers the ask for the
length of the call (:func:`asking`); a later run that finds it (:func:`take`) knows the call's
answer was lost and checks the debit again against the account as Stripe has it: a refresh
still pending is shown and followed, one that finished gives the new balance.

An ask made by Check debit had not reached the page's address either (a check is written there
when its answer comes): the check made again goes there as a check does (:func:`came_back`,
:func:`address_check`), so a reload checks it once more instead of showing an empty form.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from pages import _check_address as check_address
from pages import _refresh as bank_refresh
from pages import _runtime as runtime
from services.rules.account_summary import AccountSummary
from services.usecases.check_debit import RefreshOutcome

UNKNOWN = "unknown"  # how a followed refresh ended when Stripe could not be read long enough
# {"request": the debit asked with a refresh, "at": when (unix s), "check": asked by Check debit
# (not "Refresh balance now"), "arrivals": runtime.ARRIVALS then (a page left and come back to),
# "target": the ID as the check read it (:func:`read`; absent until then)}
ASKED = "bc_refresh_asked"
# A refresh whose last_attempted_at is this close before the ask is the one asked for (Stripe's
# clock and ours differ by a few seconds; an earlier refresh pending then made Stripe refuse ours).
CLOCK_SLACK_SECONDS = 30


@contextmanager
def asking(request: dict[str, Any], *, now: int, refresh: bool, offered: bool) -> Iterator[None]:
    """Around a check that may start a refresh (Check debit with ``refresh``, or the
    ``offered`` button): remembered until the call returns or raises an error; Streamlit
    stopping the run (``ScriptControlException``, a ``BaseException``) leaves it for :func:`take`."""
    if not (refresh or offered):
        yield
        return
    arrivals = st.session_state.get(runtime.ARRIVALS, 0)
    st.session_state[ASKED] = {"request": dict(request), "at": now, "check": not offered,
                               "arrivals": arrivals}  # fmt: skip
    try:
        yield
    except Exception:
        st.session_state.pop(ASKED, None)
        raise
    st.session_state.pop(ASKED, None)


def read(target: str) -> None:
    """The check's use case read the ID as ``target``: kept in the ask, for
    :func:`address_check` (an ask whose ID was never read has none)."""
    if (ask := st.session_state.get(ASKED)) is not None:
        ask["target"] = target


def take() -> dict[str, Any] | None:
    """The ask of a run that never ended (once), else None."""
    return st.session_state.pop(ASKED, None)


def came_back(asked: dict[str, Any] | None) -> bool:
    """Whether the person left the page since the ask (by the sidebar, most often) and this run
    is their return: the browser's address is then the sidebar's, without the check."""
    arrivals = st.session_state.get(runtime.ARRIVALS, 0)
    return asked is not None and asked.get("arrivals", arrivals) != arrivals


def address_check(asked: dict[str, Any] | None) -> tuple[str, str, str, str] | None:
    """A Check debit asked and left, as the address says it (pages._check_address), on the run
    of the return to the page: put in place of the sidebar's entry (pages._kept.read_address),
    as a check shown is, because writing st.query_params on a sidebar click's run adds two
    history entries (pages._runtime.replace_address). Else None: an ask by the button (its
    check is in the address already), or one that never got past the ID (no check to name)."""
    if asked is None or not asked.get("check") or not came_back(asked) or not asked.get("target"):
        return None
    request = asked["request"]
    check = (str(asked["target"]), int(request["amount"]), str(request["currency"]))
    return check_address.address_of(check, refresh=True)


def ended(asked: dict[str, Any], bank: AccountSummary | None) -> str | None:
    """How the refresh asked for ended (succeeded, failed) when the balance refresh Stripe last
    attempted on ``bank`` is that one (or one after it) and is no longer pending, else None."""
    if bank is None or bank.refresh_pending or bank.balance_refresh_attempted_at is None:
        return None
    if bank.balance_refresh_attempted_at < int(asked["at"]) - CLOCK_SLACK_SECONDS:
        return None
    return bank.balance_refresh_status or UNKNOWN


def pending_text(attempted_at: int | None, stamp: str) -> str:
    """The follower's line: when the running refresh started (``stamp``: its time as shown)."""
    since = f" (started {stamp})" if attempted_at else ""
    return f"A balance refresh is running at the bank{since}; this updates by itself."


def say_ended(status: str) -> None:
    """How a refresh asked for here ended: ``status`` (succeeded, failed) or :data:`UNKNOWN`."""
    if status == "succeeded":
        st.success(
            "The balance refresh finished; the verdict below uses the new balance.",
            icon=":material/refresh:",
        )
    elif status == UNKNOWN:
        st.warning(
            bank_refresh.unfollowed("balance", "The debit is checked again as it stands."),
            icon=":material/cloud_off:",
        )
    else:
        st.warning(
            f"The balance refresh {status} at the bank; the verdict below uses the last balance "
            "Stripe has.",
            icon=":material/sync_problem:",
        )


def say_outcome(outcome: RefreshOutcome | None, bank: AccountSummary | None) -> None:
    """What a check's refresh came to. One still running is said once, by the follower below
    ("this updates by itself"), not also by the service's "check again in a moment". One Stripe
    did not confirm (a 5xx, no answer) says so and what the account read back showed; when it
    had started, it is then told as an ask left mid-wait is: followed while running (the
    follower), else how it ended (:func:`say_ended`)."""
    if outcome is None:
        return
    if outcome.unconfirmed:
        st.warning(outcome.message, icon=":material/cloud_off:")
        if outcome.requested and outcome.status != "pending":
            say_ended(outcome.status or UNKNOWN)
        return
    if outcome.status == "pending" and bank is not None and bank.refresh_pending:
        return
    refreshed = outcome.status == "succeeded"
    (st.success if refreshed else st.warning)(outcome.message, icon=":material/refresh:")
