"""Following refreshes that run at the bank, without a manual reload.

A page calls :func:`watch` after it starts a refresh, and :func:`poll` (a fragment that reruns
every 1.5 s) while :func:`watching` says so. The status read and what to do when a refresh ends
are the page's: they are passed in, so this module never calls services. The watch list is shared
by every page of the session, so a refresh started on Accounts is also followed on Ownership.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

_KEY = "_refresh_watch"  # {account_id: [feature, ...]}


def _watched() -> dict[str, list[str]]:
    watched: dict[str, list[str]] = st.session_state.setdefault(_KEY, {})
    return watched


def watch(account_id: str, feature: str) -> None:
    features = _watched().setdefault(account_id, [])
    if feature not in features:
        features.append(feature)


def watching(account_id: str, feature: str | None = None) -> bool:
    features = _watched().get(account_id, [])
    return bool(features) if feature is None else feature in features


@st.fragment(run_every=1.5)
def poll(
    account_id: str,
    *,
    features: Sequence[str],
    status: Callable[[str, str], Any | None],
    on_finished: Callable[[str, Any | None], None],
    pending_text: Callable[[str], str],
    still_open: Callable[[], bool],
) -> None:
    """Show the refreshes still pending; hand each finished one to ``on_finished``, then rerun.
    Each run first asks ``still_open`` (pages._live.page_still_open: the page is still this
    person's to see; it reruns the app when not) and draws nothing when it says no.

    ``status(account_id, feature)`` returns an object with ``.pending`` and ``.status`` (and a
    ``.note`` to show while it is pending), or None when the refresh can no longer be followed
    (the page says its outcome is not known).
    """
    if not still_open():
        return
    watched = _watched().get(account_id, [])
    finished = False
    for feature in [f for f in features if f in watched]:
        state = status(account_id, feature)
        if state is not None and state.pending:
            st.info(pending_text(feature), icon=":material/hourglass_top:")
            if note := getattr(state, "note", ""):  # a poll that could not read Stripe
                st.caption(f":orange[:material/cloud_off:] {note}")
            continue
        watched.remove(feature)
        on_finished(feature, state)
        finished = True
    if finished:
        st.rerun(scope="app")
