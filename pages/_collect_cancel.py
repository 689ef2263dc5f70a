"""Collect's Cancel, under Open requests and the microdeposit queue.

Cancel waits on Stripe under a spinner. A cancel still running at Stripe (this person's from
before a reload, another tab's, a colleague's: :mod:`services.usecases.collect_cancel_runs`) is
said on its request, which then offers no second Cancel; a fragment follows it, and its outcome
shows once at the top of the tab when Stripe has answered. A cancel that did not cancel its
request (a Stripe error, never confirmed) is said on the request, reload after reload, until it
is canceled again or an hour has passed. A refusal that changed nothing (already canceled,
already expired) is a notice, not an error box (``runtime.show_error``).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.collect_view import REASON_WORDS
from pages import _live as live
from pages import _runtime as runtime
from pages._pending import ask
from services.rules.intents import CANCEL_REASONS, IntentView, reason_words
from services.rules.wording import ago, timestamp
from services.usecases.collect_cancel import CANCEL_BUTTON, cancel_request, uncancelable
from services.usecases.collect_cancel_runs import (
    ENDED,
    FAILED,
    STALE,
    UNCHANGED,
    Start,
    cancellation,
    cancels_failed,
    cancels_failed_unlisted,
    cancels_failed_unqueued,
    cancels_running,
)

CANCEL_SCOPE = "collect-cancel"
FOLLOWED = "collect_cancels_followed"  # {start id: select key}: cancels seen running, per tab
FOLLOW_SECONDS = 2


def cancel(svc: Any, actor: Any, select_key: str) -> IntentView | None:
    """The cancel a button asked for; the canceled request (None when it was not)."""
    intent_id = st.session_state.get(select_key)
    reason = st.session_state.get(f"{select_key}_reason")
    if not intent_id:
        st.error("Choose a request to cancel.", icon=":material/error:")
        return None
    view = runtime.call_stripe_keyed(
        f"Canceling {intent_id} at Stripe…",
        CANCEL_SCOPE,
        {"id": intent_id, "reason": reason},
        cancel_request,
        svc,
        actor,
        intent_id,
        reason=reason,
    )
    if view is not None:
        st.success(
            f"Expired the link `{view.expired_link}`, so Stripe canceled {view.id}: the "
            "customer can no longer open the link."
            if view.expired_link
            else f"Canceled {view.id}" + (f" (reason: {reason_words(reason)})." if reason else "."),
            icon=":material/check_circle:",
        )
    return view


def cancel_section(
    svc: Any,
    actor: Any,
    labels: dict[str, str],
    action: str,
    select_key: str,
    statuses: dict[str, str],
    *,
    said: str | None = None,
) -> None:
    """Below a list (``labels``: id → people-first label; ``statuses``: id → status): the
    requests no one can cancel, each with why and what ends it; the cancels of its requests
    still running at Stripe, said on each and followed; those that failed; Cancel for the
    others. ``said``: the request whose cancel failed on this run, its error already shown at
    the top of the tab (its note shows from the next run on, not twice now)."""
    locked = runtime.call(uncancelable, svc, actor, statuses) or {}
    for ident, why in locked.items():
        label = labels.get(ident, ident)  # ends with the ID the sentence starts with
        st.caption(f":material/lock: {label.removesuffix(ident)}{why}")
    labels = {i: label for i, label in labels.items() if i not in locked}
    running = runtime.call(cancels_running, svc, actor, list(labels)) or {}
    followed: dict[int, str] = st.session_state.setdefault(FOLLOWED, {})
    for start in running.values():
        followed.setdefault(start.id, select_key)
    if running:
        follow_running(svc, actor, tuple((i, s.id) for i, s in running.items()))
    idle = [i for i in labels if i not in running and i != said]
    for ident, start in (runtime.call(cancels_failed, svc, actor, idle) or {}).items():
        st.warning(failed_sentence(ident, start, actor), icon=":material/error:")
    cancel_controls({i: label for i, label in labels.items() if i not in running}, action, select_key)


def running_sentence(ident: str, start: Start, actor: Any, *, now: int) -> str:
    by = "" if start.username == actor.username else f" by {start.username}"
    return (
        f"Cancel of {ident} asked at {timestamp(start.started_at)} "
        f"({ago(now - start.started_at)}){by} is still running at Stripe (Stripe is answering "
        "slowly). Its outcome shows here when Stripe answers; there is no need to cancel it again."
    )


def failed_sentence(ident: str, start: Start, actor: Any, *, hidden: str | None = None) -> str:
    """A cancel of ``ident`` that did not cancel it, said on the request until it is canceled
    again or the cancel is an hour old (``cancels_failed``); ``hidden``: above a list that does
    not show the request, why not (``cancels_failed_unlisted``)."""
    by = "" if start.username == actor.username else f" by {start.username}"
    asked = f"Cancel of {ident} asked at {timestamp(start.started_at)}{by}"
    find = (
        f" It is not in the list below ({hidden}): Find it shows it."
        if hidden
        else ""
    )
    if start.outcome == STALE:
        return (f"{asked} was never confirmed by Stripe: press Sync from Stripe to see whether "
                f"the request is still open; if it is, you can cancel it again.{find}")
    listed = "open" if hidden else "listed as open"
    # After a 5xx that made nothing the message already ends "Cancel request again is safe".
    again = "" if f"{CANCEL_BUTTON} again" in start.message else ": you can cancel it again"
    return (f"{asked} did not cancel it: {start.message.rstrip('.')}. The request is still "
            f"{listed}{again}.{find}")


def unlisted_failures(
    svc: Any,
    actor: Any,
    listed: list[str],
    search_key: str,
    why: str,
    *,
    said: str | None = None,
    queue: bool = False,
) -> None:
    """Above Open requests (``queue``: above the microdeposit queue): the cancels that did not
    cancel a request of that list the list does not show (``why``: a search or its limit hid
    it, and the note on it), each with Find it, which searches for the request. ``said``: as
    in :func:`cancel_section`."""
    find_failed = cancels_failed_unqueued if queue else cancels_failed_unlisted
    failed = runtime.call(find_failed, svc, actor, listed) or {}
    for ident, start in failed.items():
        if ident == said:
            continue
        note, find = st.columns([6, 1], vertical_alignment="center")
        note.warning(failed_sentence(ident, start, actor, hidden=why), icon=":material/error:")
        find.button(
            "Find it",
            icon=":material/search:",
            key=f"{search_key}_find_{ident}",
            on_click=_search_for,
            args=(search_key, ident),
            help=f"Search the list for {ident}.",
            width="stretch",
        )


def _search_for(search_key: str, ident: str) -> None:
    st.session_state[search_key] = ident


def followed_outcomes(svc: Any, actor: Any, select_key: str) -> None:
    """At the top of the tab: how each cancel it showed running ended, once."""
    followed: dict[int, str] = st.session_state.get(FOLLOWED) or {}
    for start_id, key in list(followed.items()):
        if key != select_key:
            continue
        start = runtime.call(cancellation, svc, actor, start_id)
        if start is not None and start.outcome == "running":
            continue
        del followed[start_id]
        if start is not None and start.outcome not in FAILED:  # said on its request instead
            show_outcome(start, actor)


def show_outcome(start: Start, actor: Any) -> None:
    asked = f"The cancel of {start.request_id} asked at {timestamp(start.started_at)}" + (
        "" if start.username == actor.username else f" by {start.username}"
    )
    if start.outcome == "ok":
        st.success(f"{asked} is done: {start.message}", icon=":material/check_circle:")
    elif start.outcome in (ENDED, UNCHANGED):
        runtime.show_unchanged(start.message, as_asked=start.outcome == ENDED)
    else:
        st.error(f"{asked} did not cancel it: {start.message}", icon=":material/error:")


@live.fragment(run_every=FOLLOW_SECONDS)
def follow_running(svc: Any, actor: Any, running: tuple[tuple[str, int], ...]) -> None:
    """Cancels running (request ID, cancel's row): each said on its request, drawn here so its
    "(12 s ago)" counts up while the person watches (it stayed at the age of the page's last
    run); the whole page again once one has ended."""
    for ident, start_id in running:
        now = runtime.call(cancellation, svc, actor, start_id)
        if now is None or now.outcome != "running":
            st.rerun()
        st.info(running_sentence(ident, now, actor, now=int(svc.now())),
                icon=":material/hourglass_top:")
    st.caption(f":material/autorenew: Checked every {FOLLOW_SECONDS} s: updates by itself.")


def cancel_controls(labels: dict[str, str], action: str, select_key: str) -> None:
    """Pick a request by its customer (``labels``: id → people-first label), then cancel it."""
    if not labels:
        return
    pick, reason, button = st.columns([4, 2, 1.6], vertical_alignment="bottom")
    chosen = pick.selectbox(
        "Request to cancel",
        list(labels),
        format_func=lambda i: labels.get(i, i),
        key=select_key,
        index=None,
        placeholder="Choose a request",
    )
    reason.selectbox(
        "Reason",
        CANCEL_REASONS,
        key=f"{select_key}_reason",
        format_func=lambda r: REASON_WORDS.get(r, r),
    )
    button.button(
        CANCEL_BUTTON,
        icon=":material/cancel:",
        on_click=ask,
        args=(action, select_key),
        key=f"{select_key}_button",
        width="stretch",
        disabled=chosen is None,
        help="Choose a request first."
        if chosen is None
        else "Stripe cancels it (a hosted link's request: the link is expired, so the customer "
        "can no longer open it); this cannot be undone.",
    )
