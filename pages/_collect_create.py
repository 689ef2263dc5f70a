"""Collect's step 3: creating a request, and what the customer already has.

A create waits on Stripe under a spinner that says what it makes (Stripe may take 20 s). The
customer's open requests and those being created (by anyone, in any tab:
:mod:`services.usecases.collect_open`) are named above the buttons, each with a button to open
it; a create that would make a second one is refused by the service until the person confirms
it beside those named. After a reload during this person's own create the page says it is
being created and shows it when Stripe answers (a fragment follows it), so it is neither lost
nor made twice. A create Stripe answered badly but made after all (found by the service's
look-up) is said as made, beside it listed above the buttons; the next click is a new request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from components.collect_view import waiting_for
from pages import _collect_address as address
from pages import _live as live
from pages import _runtime as runtime
from pages._collect_customer import CUSTOMER
from pages._pending import ask
from services.rules.intents import CollectionRequest
from services.rules.wording import ago, counted, timestamp
from services.usecases.collect_lookup import MadeAfterAll
from services.usecases.collect_open import OpenOne, OpenRequestsExist, creation, customer_requests
from services.usecases.collection_requests import (
    create_fc_session,
    create_hosted_link,
    create_setup_intent,
)

RESULT, VIEW = address.RESULT, address.VIEW
SI_SCOPE, FCS_SCOPE, LINK_SCOPE = "collect-si", "collect-fcs", "collect-link"
ASKED = "collect_open_asked"  # (customer, kind, version): a create refused beside open requests
FOLLOWED = "collect_followed"  # the create of this person (another tab, a reload) followed here
FOLLOW_SECONDS = 2
WHAT = {"link": "link", "setup_intent": "SetupIntent", "fc_session": "Financial Connections session"}
CALLS: dict[str, tuple[Callable[..., CollectionRequest], str]] = {
    "link": (create_hosted_link, LINK_SCOPE),
    "setup_intent": (create_setup_intent, SI_SCOPE),
    "fc_session": (create_fc_session, FCS_SCOPE),
}


def create_request(
    svc: Any, actor: Any, kind: str, config_version: int, seen: tuple[str, ...] = ()
) -> None:
    """The create a button asked for (``seen``: the open requests the person confirmed another
    beside)."""
    customer = st.session_state.get(CUSTOMER)
    if not customer:
        st.error("Choose or create a customer first.", icon=":material/error:")
        return
    fn, scope = CALLS[kind]
    extra: dict[str, Any] = {"open_seen": seen}
    if kind == "link":
        extra["return_url"] = runtime.get_app().settings.checkout_return_url
    if ended := address.ended_shown(kind, customer, svc.now()):
        runtime.new_request(scope)  # expired or finished: a new one (its key, double clicks)
    elif (same := address.reopened_request(kind, customer)) is not None:
        return address.say_same(same, reopened=True)  # not a second one after a reload

    def attempt(**kwargs: Any) -> CollectionRequest | OpenRequestsExist | MadeAfterAll:
        try:
            return fn(svc, actor, **kwargs)
        except OpenRequestsExist as err:  # nothing sent: the same key makes the confirmed one
            return err
        except MadeAfterAll as err:  # not an error: it is made, and listed
            return err

    payload = {"customer": customer, "version": config_version}
    with st.spinner(f"Creating the {WHAT[kind]} at Stripe…", show_time=True):
        result = runtime.call_keyed(scope, payload, attempt, customer_id=customer, **extra)
    if isinstance(result, OpenRequestsExist):
        st.session_state[ASKED] = (customer, kind, config_version)
        return
    if isinstance(result, MadeAfterAll):  # Stripe answered this key: the next click is new
        runtime.new_request(scope)
        st.session_state.pop(ASKED, None)
        st.success(str(result), icon=":material/check_circle:")
        return
    st.session_state.pop(ASKED, None)
    if result is None:
        return
    st.session_state[RESULT] = result
    st.session_state.pop(VIEW, None)
    address.remember(result)
    if result.replayed:
        address.say_same(result)
    elif ended:
        st.info(ended, icon=":material/restart_alt:")


def on_start_another() -> None:
    for scope in (LINK_SCOPE, SI_SCOPE, FCS_SCOPE):
        runtime.new_request(scope)
    for key in (RESULT, VIEW, ASKED):
        st.session_state.pop(key, None)
    address.forget()


# --------------------------------------------------------------------------- open requests


def customer_open(svc: Any, actor: Any) -> None:
    """The chosen customer's open requests and creates running, above the create buttons; the
    confirmation a refused create asks for; the person's own create from before a reload."""
    customer = st.session_state.get(CUSTOMER)
    if not customer:
        return
    ones = runtime.call(customer_requests, svc, actor, customer) or []
    follow_own(svc, actor, customer, ones)
    shown: CollectionRequest | None = st.session_state.get(RESULT)
    if running := tuple(o.start_id for o in ones if o.start_id is not None):
        follow_running(svc, actor, running)
    asked = st.session_state.get(ASKED)
    if asked is not None and asked[0] != customer:
        st.session_state.pop(ASKED, None)
        asked = None
    # The person's own create, said above, is listed again only when a click was refused for it.
    followed = None if asked else (st.session_state.get(FOLLOWED) or (None, None))[1]
    others = [
        o for o in ones
        if (shown is None or o.request_id != shown.id) and (followed is None or o.start_id != followed)
    ]
    if not others:
        if asked is not None:  # they ended since: the next click creates without asking
            st.session_state.pop(ASKED, None)
        return
    n = len(others)
    if asked is not None:
        st.warning(
            f"Nothing was created: this customer already has {counted(n, 'open request')}, listed "
            f"below. Send them the one they have (open it for its link), or create another "
            f"{WHAT[asked[1]]} beside it.",
            icon=":material/warning:",
        )
    else:
        st.info(
            (
                f"Besides the request below, this customer has {counted(n, 'other open request')}."
                if shown is not None and shown.customer_id == customer
                else f"This customer already has {counted(n, 'open request')}: open one to send it "
                "again rather than create another."
            ),
            icon=":material/pending_actions:",
        )
    for i, one in enumerate(others):
        open_row(one, actor, key=f"collect_open_existing_{i}")
    if asked is not None:
        _, kind, version = asked
        st.button(
            f"Create another {WHAT[kind]} anyway",
            icon=":material/add:",
            on_click=ask,
            args=("create", kind, version, tuple(o.ref for o in others)),
            key="collect_create_anyway",
            help="The customer then has two requests open; cancel the one they will not use "
            "under Open requests.",
        )


def open_row(one: OpenOne, actor: Any, *, key: str) -> None:
    by = "you" if one.by == actor.username else (one.by or "someone outside fcops")
    text, button = st.columns([5, 1], vertical_alignment="center")
    if one.start_id is not None:
        text.markdown(
            f":material/hourglass_top: A {WHAT.get(one.kind, 'request')} being created at "
            f"Stripe now, asked by {by} {ago(_now() - one.created)}."
        )
        return
    name = f"Checkout link `{one.link_id}` (SetupIntent `{one.request_id}`)" if one.link_id else (
        f"SetupIntent `{one.request_id}`"
    )
    text.markdown(
        f"{name} · created {timestamp(one.created)} ({ago(_now() - one.created)}) by {by} · "
        f"waiting for: {waiting_for(one.status, None).lower()}"
    )
    button.button(
        "Open", icon=":material/open_in_new:", key=key, on_click=open_existing,
        args=(one.address,), width="stretch", help="Show it here, with its link to send.",
    )


def _now() -> int:
    return int(runtime.get_app().services.now())


def open_existing(ref: str) -> None:
    """Show the request ``ref`` (the address follows it: :func:`address.follow` opens it)."""
    st.session_state.pop(ASKED, None)
    st.query_params[address.REQUEST] = ref


@live.fragment(run_every=FOLLOW_SECONDS)
def follow_running(svc: Any, actor: Any, start_ids: tuple[int, ...]) -> None:
    """Creates running for this customer: the whole page again once one has ended."""
    for start_id in start_ids:
        now = runtime.call(creation, svc, actor, start_id)
        if now is None or now.outcome != "running":
            st.rerun()
    st.caption(f":material/autorenew: Checked every {FOLLOW_SECONDS} s: updates by itself.")


@live.fragment(run_every=FOLLOW_SECONDS)
def own_running(svc: Any, actor: Any, start_id: int) -> None:
    """This person's create still running, drawn here so its "(2 s ago)" counts up while they
    watch (it stayed at the age of the reload); the whole page again once it has ended."""
    start = runtime.call(creation, svc, actor, start_id)
    if start is not None and start.outcome != "running":
        st.rerun()
    what = WHAT.get(start.kind if start else "", "request")
    st.info(
        f"The {what} you asked for "
        + (f"at {timestamp(start.started_at)} ({ago(_now() - start.started_at)}) " if start else "")
        + "is still being created at Stripe (Stripe is answering slowly). It shows here when "
        "Stripe answers; creating again would make a second one.",
        icon=":material/hourglass_top:",
    )


def follow_own(svc: Any, actor: Any, customer: str, ones: list[OpenOne]) -> None:
    """After a reload (or in another tab) during this person's create for ``customer``: say it
    is being created, then show it (or why it was not made) when Stripe has answered."""
    mine = [o for o in ones if o.start_id is not None and o.by == actor.username]
    if st.session_state.get(RESULT) is None and mine and FOLLOWED not in st.session_state:
        st.session_state[FOLLOWED] = (customer, mine[0].start_id)
    followed = st.session_state.get(FOLLOWED)
    if followed is None or followed[0] != customer:
        st.session_state.pop(FOLLOWED, None)
        return
    start = runtime.call(creation, svc, actor, followed[1])
    if start is None or start.outcome == "running":
        own_running(svc, actor, followed[1])
        return
    st.session_state.pop(FOLLOWED, None)
    what = WHAT.get(start.kind, "request")
    if start.outcome == "ok" and (ref := start.link_id or start.request_id):
        address.reopen(svc, actor, ref)
        if (made := st.session_state.get(RESULT)) is not None:
            address.keep(customer, made)
            st.success(f"The {what} you asked for at {timestamp(start.started_at)} was created "
                       "at Stripe: here it is.", icon=":material/check_circle:")
        else:  # made, but reading it back failed (the sentence above says why): not "not made"
            st.info(f"The {what} you asked for at {timestamp(start.started_at)} was created at "
                    f"Stripe (`{ref}`), but reading it back failed just now: open it from the "
                    "list below, or reload in a minute.", icon=":material/check_circle:")
    elif start.outcome == "unknown":  # Stripe did not confirm it; the message says what is known
        st.warning(f"The {what} you asked for at {timestamp(start.started_at)} is not confirmed: "
                   f"{start.message}",
                   icon=":material/help:")
    elif start.outcome == "stale":
        st.warning(f"The {what} you asked for at {timestamp(start.started_at)} was never "
                   "confirmed; check Open requests before creating another.",
                   icon=":material/help:")
    else:
        st.error(f"The {what} you asked for at {timestamp(start.started_at)} was not created: "
                 f"{start.message}", icon=":material/error:")
