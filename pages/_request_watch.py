"""Collect page: follow a created request until the customer finishes, without a button.

A fragment reruns every few seconds while the request waits on the customer: a SetupIntent
(also the one behind a hosted link) is read again from Stripe, an FC session's linked accounts
too. When the state changed, the whole page reruns and shows it; once nothing is left to wait
for, the fragment is no longer drawn and stops.
"""

from __future__ import annotations

import streamlit as st

from pages import _live as live
from services.auth import Actor
from services.context import Services
from services.rules.intents import CollectionRequest
from services.usecases.collect_reopen import current_link
from services.usecases.collection_requests import current_session, current_view

WATCH_SECONDS = 5
# Statuses in which a request waits on the customer, so the page keeps checking.
WAITING = ("requires_payment_method", "requires_confirmation", "requires_action", "open")


def waiting(status: str) -> bool:
    return status in WAITING


@live.fragment(run_every=WATCH_SECONDS)
def watch(
    svc: Services,
    actor: Actor,
    request: CollectionRequest,
    shown: str,
    *,
    result_key: str,
    view_key: str,
) -> None:
    """Read ``request`` again; when its status is no longer ``shown``, store it and rerun."""
    if request.kind == "financial_connections.session":
        session = current_session(svc, actor, request)
        if session is not None and session.status != shown:
            st.session_state[result_key] = session
            st.rerun()
    else:
        view = current_view(svc, actor, request.id)
        current = st.session_state.get(result_key)
        if view is not None and view.status != shown and current and current.id == view.id:
            st.session_state[view_key] = view
            # A link's own status too: an expired link's SetupIntent reads "canceled".
            if (link := current_link(svc, actor, current)) is not None:
                st.session_state[result_key] = link
            st.rerun()
    st.caption(f":material/autorenew: Checked every {WATCH_SECONDS} s: updates by itself.")
