"""Collect keeps the request it made in its address (``?request=cs_…``, ``seti_…`` or
``fcsess_…``; never the client secret), so a reload, a new tab, coming back from another page or
a colleague given the address shows the same request, read again from Stripe
(:func:`services.usecases.collect_reopen.reopen_request`)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from pages import _runtime as runtime
from pages._collect_customer import CUSTOMER
from services.errors import NotFound, ValidationError
from services.rules.intents import CollectionRequest
from services.usecases.collect_reopen import reopen_request

RESULT = "collect_result"  # the last CollectionRequest
VIEW = "collect_view"  # the last IntentView of that request
REQUEST = "request"  # the address's parameter
UNREAD = "collect_unread"  # the address's request Stripe failed to answer in this session
# The request reopened from the address in this session (a reload, a new tab, a colleague's
# link), until this session creates one or starts another: its create button answers with it.
REOPENED = "collect_reopened"


def address_of(result: CollectionRequest) -> str:
    """What the address names: a link's Checkout Session (its page, expiry), else the object."""
    return result.checkout_session_id or result.id


def remember(result: CollectionRequest) -> None:
    st.session_state.pop(REOPENED, None)
    st.query_params[REQUEST] = address_of(result)


def forget() -> None:
    st.session_state.pop(REOPENED, None)
    st.query_params.pop(REQUEST, None)


def say_same(request_id: str, *, reopened: bool = False) -> None:
    st.info(
        f"Same request as before: {request_id} already exists, nothing new was created."
        + (" It was made before this page was reloaded (or opened in this tab); to make a new "
           "one, press Start another request." if reopened else ""),
        icon=":material/info:",
    )


def reopened_request(kind: str, customer: str) -> CollectionRequest | None:
    """The request on the page when it was reopened from the address and is what the ``kind``
    button (link, setup_intent, fc_session) for ``customer`` would make. The idempotency keys
    live in the session, so after a reload the same click made a second request (a second
    link sent to the same customer); it answers with the request shown instead."""
    current: CollectionRequest | None = st.session_state.get(RESULT)
    if current is None or st.session_state.get(REOPENED) != address_of(current):
        return None
    if current.customer_id != customer:
        return None
    made = (
        "link" if current.checkout_session_id
        else "setup_intent" if current.kind == "setup_intent" else "fc_session"
    )
    return current if made == kind else None


def reopen(svc: Any, actor: Any) -> None:
    """Show the request the address names (once per session), or keep the one shown in it."""
    ref = str(st.query_params.get(REQUEST) or "")
    current: CollectionRequest | None = st.session_state.get(RESULT)
    if current is not None and (not ref or ref == address_of(current)):
        if not ref:  # back from another page, whose address had none: put it back
            remember(current)
        return
    if not ref:
        return
    if st.session_state.get(UNREAD) == ref:  # Stripe failed this session: not on every rerun
        st.warning(
            f"{ref} could not be read from Stripe; reload the page to try again.",
            icon=":material/cloud_off:",
        )
        return
    try:
        reopened = reopen_request(svc, actor, ref)
    except (ValidationError, NotFound) as err:  # names nothing this page can open: forget it
        runtime.show_error(err)
        del st.query_params[REQUEST]
        return
    except Exception as err:  # Stripe failed or timed out: the address keeps it for a reload
        runtime.show_error(err)
        st.session_state[UNREAD] = ref
        return
    st.session_state.pop(UNREAD, None)
    st.session_state[RESULT] = reopened
    st.session_state[REOPENED] = address_of(reopened)
    st.session_state.pop(VIEW, None)
    if reopened.customer_id:
        st.session_state[CUSTOMER] = reopened.customer_id
