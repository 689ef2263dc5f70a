"""Collect's address: the customer chosen (``?customer=cus_…``) and the request made or opened
(``?request=cs_…``, ``seti_…`` or ``fcsess_…``; never the client secret).

The address is the truth on every step of the browser's history, as on Accounts or Ownership
(:func:`runtime.address_change`): a link, a reload, a new tab, Back or Forward show its customer
and its request (read again from Stripe, :func:`services.usecases.collect_reopen.reopen_request`),
and none of either when it has none (the empty form). The page writes it only when the person
chooses a customer, creates a request or starts another one (:func:`keep`, one history entry),
never on a plain rerun: it used to write ``?customer=`` on every run and put ``?request=`` back
whenever the address had none, so Back could not leave a customer or a request. Coming back
from another page (whose sidebar link has no query) still shows what was left here.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.collect_view import request_name
from pages import _runtime as runtime
from pages._collect_customer import CHOSE, CUSTOMER, PICK
from services.errors import NotFound, ValidationError
from services.rules.intents import CollectionRequest
from services.rules.request_state import ended
from services.usecases.collect_reopen import reopen_request

RESULT = "collect_result"  # the last CollectionRequest
VIEW = "collect_view"  # the last IntentView of that request
REQUEST = "request"  # the address's parameter
SEEN_CUSTOMER = "collect_link_seen"  # the ?customer= last read or written (runtime.linked_customer)
SEEN_REQUEST = "collect_request_seen"  # the ?request= last read or written
ARRIVAL = "collect_arrival"  # the arrival from another page last handled (runtime.arrived)
UNREAD = "collect_unread"  # the address's request Stripe failed to answer in this session
# The request opened from the address (a reload, a new tab, Back or Forward, a colleague's
# link), until this session creates one or starts another: its create button answers with it.
REOPENED = "collect_reopened"


def address_of(result: CollectionRequest) -> str:
    """What the address names: a link's Checkout Session (its page, expiry), else the object."""
    return result.checkout_session_id or result.id


def keep(customer: str | None, result: CollectionRequest | None) -> None:
    """The person's choice into the address, both parameters at once (one history entry)."""
    ref = address_of(result) if result is not None else None
    wanted = {k: v for k, v in st.query_params.to_dict().items() if k not in ("customer", REQUEST)}
    wanted.update({k: v for k, v in (("customer", customer), (REQUEST, ref)) if v})
    if wanted != st.query_params.to_dict():
        st.query_params.from_dict(wanted)
    st.session_state[SEEN_CUSTOMER], st.session_state[SEEN_REQUEST] = customer or "", ref or ""


def keep_choice() -> None:
    """After a customer was chosen (or created, or a new search let one go) on this run."""
    if st.session_state.pop(CHOSE, False):
        keep(st.session_state.get(CUSTOMER), st.session_state.get(RESULT))


def remember(result: CollectionRequest) -> None:
    st.session_state.pop(REOPENED, None)
    keep(st.session_state.get(CUSTOMER) or result.customer_id, result)


def forget() -> None:
    st.session_state.pop(REOPENED, None)
    keep(st.session_state.get(CUSTOMER), None)


def say_same(request: CollectionRequest, *, reopened: bool = False) -> None:
    st.info(
        f"Same request as before: {request_name(request)} already exists, nothing new was "
        "created."
        + (" It was opened from this page's address (a reload, a new tab, Back or Forward); to "
           "make a new one, press Start another request." if reopened else ""),
        icon=":material/info:",
    )


def same_kind(current: CollectionRequest, kind: str, customer: str) -> bool:
    """Whether ``current`` is what the ``kind`` button (link, setup_intent, fc_session) makes
    for ``customer``."""
    made = (
        "link" if current.checkout_session_id
        else "setup_intent" if current.kind == "setup_intent" else "fc_session"
    )
    return current.customer_id == customer and made == kind


def ended_shown(kind: str, customer: str, now: int) -> str | None:
    """A sentence when the request shown is what the ``kind`` button would make for
    ``customer`` but can no longer be used (expired, finished, canceled): the button then makes
    a new one, rather than answer "Same request as before" with a link that no longer opens."""
    current: CollectionRequest | None = st.session_state.get(RESULT)
    if current is None or not same_kind(current, kind, customer):
        return None
    view = st.session_state.get(VIEW)
    why = ended(current, view.status if view is not None else current.status, now=now)
    if not why:
        return None
    return f"{request_name(current)} can no longer be used ({why}), so this is a new request."


def reopened_request(kind: str, customer: str) -> CollectionRequest | None:
    """The request on the page when it was opened from the address and is what the ``kind``
    button for ``customer`` would make. The idempotency keys live in the session, so after a
    reload the same click made a second request (a second link sent to the same customer); it
    answers with the request shown instead (:func:`ended_shown` first: not one that ended)."""
    current: CollectionRequest | None = st.session_state.get(RESULT)
    if current is None or st.session_state.get(REOPENED) != address_of(current):
        return None
    return current if same_kind(current, kind, customer) else None


def put_away() -> None:
    """No request in the address (Back from one): the form it was made from. Its idempotency
    keys stay, so creating the same again answers "Same request as before"."""
    for key in (RESULT, VIEW, REOPENED):
        st.session_state.pop(key, None)


def follow(svc: Any, actor: Any) -> None:
    """Show what the address names when it changed since this session last read or wrote it."""
    customer, result = st.session_state.get(CUSTOMER), st.session_state.get(RESULT)
    empty = not (st.query_params.get("customer") or st.query_params.get(REQUEST))
    if runtime.arrived(ARRIVAL) and empty and (customer or result is not None):
        keep(customer, result)  # back from another page: what was left here, in the address
    wanted = runtime.linked_customer("collect_link", "choose the customer below.")
    moved, value = runtime.address_change(SEEN_CUSTOMER, "customer")
    if wanted or (moved and value is None):  # a link's customer, or none: the empty form
        st.session_state[CUSTOMER] = wanted
        st.session_state.pop(PICK, None)  # the picker's row is not the customer shown
    runtime.drop_overlong_id(REQUEST, "collect_request_long", "open it from Open requests.")
    changed, ref = runtime.address_change(SEEN_REQUEST, REQUEST, limit=300)
    if changed:
        put_away()
        if ref:
            reopen(svc, actor, ref)
    elif (kept := st.query_params.get(REQUEST)) and st.session_state.get(UNREAD) == kept:
        st.warning(  # Stripe failed on this session: not asked again on every rerun
            f"{kept} could not be read from Stripe; reload the page to try again.",
            icon=":material/cloud_off:",
        )


def reopen(svc: Any, actor: Any, ref: str) -> None:
    """Show the request ``ref`` names, as Stripe has it now."""
    try:
        reopened = reopen_request(svc, actor, ref)
    except (ValidationError, NotFound) as err:  # names nothing this page can open: forget it
        runtime.show_error(err)
        del st.query_params[REQUEST]
        st.session_state[SEEN_REQUEST] = ""
        return
    except Exception as err:  # Stripe failed or timed out: the address keeps it for a reload
        runtime.show_error(err)
        st.session_state[UNREAD] = ref
        return
    st.session_state.pop(UNREAD, None)
    st.session_state[RESULT] = reopened
    st.session_state[REOPENED] = address_of(reopened)
    if reopened.customer_id:
        st.session_state[CUSTOMER] = reopened.customer_id
