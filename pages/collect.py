"""Collect bank accounts (ops): hosted links, SetupIntents and FC sessions with the flow's
configuration; a created request's status follows the customer (:mod:`pages._request_watch`).

Creation buttons send idempotency keys from ``runtime.idempotency_key``, so a double click or a
rerun replays the same Stripe object; "Start another request" makes the next click a new one.
A button only asks for its action; the action runs on the next page run at the top of its tab
(through ``runtime.call`` / ``runtime.call_keyed``), before anything that shows its effect, and
its confirmation or error shows there. On the sandbox a panel plays the customer's part
(:mod:`pages._play_customer`); this page never touches the sandbox itself. Cancel, and the
cancels still running at Stripe after a reload, are :mod:`pages._collect_cancel`'s.
"""

from __future__ import annotations

import streamlit as st

from components.collect_view import (
    CREATE_BUTTONS,
    LINK_REFUSED,
    config_card,
    linked_note,
    microdeposits_note,
    open_requests_table,
    pick_label,
    queue_table,
    request_named,
    request_status,
    request_summary,
    verified,
)
from pages import _collect_address as address
from pages import _collect_cancel as cancels
from pages import _collect_create as create
from pages import _collect_tabs as tabs
from pages import _follow as follow
from pages import _play_customer as play
from pages import _request_watch as watch
from pages import _runtime as runtime
from pages._collect_aside import put_aside
from pages._collect_customer import CUSTOMER, customer_section
from pages._pending import ask, take
from services.rules import flow_config
from services.rules.intent_checks import AMOUNTS_RULE, typed_amounts
from services.rules.intents import (
    CollectionRequest,
    IntentView,
    MicrodepositItem,
)
from services.rules.people import first_of
from services.usecases import edit_flows as flows
from services.usecases.collect_lists import customer_words, open_request_count, open_requests
from services.usecases.collect_reopen import current_link
from services.usecases.collection_requests import (
    CHECKOUT_METHODS,
    current_view,
    intent_view,
)
from services.usecases.microdeposits import (
    microdeposit_queue,
    stuck_count,
    verify_microdeposits,
    waiting_count,
)

actor = runtime.guard("collect.create")
runtime.page_header(
    "Collect bank accounts",
    "Send a customer a link to save a bank account (or create SetupIntents and Financial "
    "Connections sessions for your own page) with the SetupIntent flow's configuration, and "
    "chase the requests still waiting on the customer.",
)
svc = runtime.get_app().services

RESULT, VIEW = address.RESULT, address.VIEW  # the last CollectionRequest, its latest IntentView
QUEUE_PAGE = 50  # the microdeposit queue shows (and its pickers offer) at most this many
OPEN_PAGE = 50  # so does the open-requests list (searched and counted in SQL)
VERIFY_SCOPE = "collect-verify"
QUEUE_PICK, QUEUE_OPEN = "collect_queue_verify_pick", "collect_queue_verify_open"
QUEUE_VERIFIED = "collect_queue_verified"  # the sentence a verification left for the next run
STILL_READING = "None stored yet: the requests are still being read from Stripe (see above)."

# ?customer=cus_… (a link from Blocked accounts) and ?request=…: a reload, a new tab, Back or
# Forward show what the address names; the person's choices go into it (pages._collect_address).
address.follow(svc, actor)
# A store never synced holds no customers to find and no requests to list: the first visit
# reads them from Stripe as background jobs (once per session) with their progress lines here.
follow.accounts_first_sync(svc, actor)
follow.intents_first_sync(svc, actor)


# --------------------------------------------------------------------------- actions


def keep_view(view: IntentView | None) -> None:
    """Show ``view`` in the result card when it is the request created on this page."""
    result = st.session_state.get(RESULT)
    if view is not None and result is not None and result.id == view.id:
        st.session_state[VIEW] = view


def verify(
    intent_id: str, microdeposit_type: str, prefix: str, shown: CollectionRequest | None = None
) -> IntentView | None:
    """Send what the customer read from the statement (a real Stripe call, audited); the
    verified intent, or None when it was not verified.

    A mismatch keeps the idempotency key (the same wrong values again cost no attempt); an
    unknown outcome keeps it too; every other failure starts a fresh request (runtime).
    ``shown``: the request of the result card, named as the card names it (a link by its cs_)."""
    if microdeposit_type == "amounts":  # typed as text: a bad entry gets a sentence
        amounts = runtime.call(
            typed_amounts, st.session_state.get(f"{prefix}_a1"), st.session_state.get(f"{prefix}_a2")
        )
        if amounts is None:
            return None
        code = None
    else:
        amounts = None
        code = (st.session_state.get(f"{prefix}_code") or "").strip().upper()
    view = runtime.call_keyed(
        VERIFY_SCOPE,
        {"id": intent_id, "amounts": amounts, "code": code},
        verify_microdeposits,
        svc,
        actor,
        intent_id,
        amounts=amounts,
        descriptor_code=code,
    )
    if view is None:
        # Too many attempts or a timeout changes the intent; show its state as Stripe has it now.
        keep_view(runtime.call(current_view, svc, actor, intent_id))
        return None
    name = request_named(shown) if shown else None
    st.success(verified(view.id, view.status, name), icon=":material/check_circle:")
    keep_view(view)
    return view


def refresh_status(result: CollectionRequest) -> None:
    view = runtime.call(intent_view, svc, actor, result.id)
    if view is not None:
        st.session_state[VIEW] = view
        if (link := runtime.call(current_link, svc, actor, result)) is not None:
            st.session_state[RESULT] = result = link
        st.info(request_status(result, view.status), icon=":material/info:")


def run_request_actions(result: CollectionRequest) -> None:
    """Before the result card draws: the verify, refresh or sandbox step a button asked for."""
    if (args := take("verify_new")) is not None:
        intent_id, kind, prefix = args
        verify(intent_id, kind, prefix, shown=result if result.id == intent_id else None)
    if take("refresh") is not None:
        refresh_status(result)
    keep_view(play.play_requested_step(actor, result))


# --------------------------------------------------------------------------- sections


def create_section(config: flow_config.FlowConfig) -> None:
    """Step 3 below its heading (and the create a click asked for, already sent)."""
    create.customer_open(svc, actor)
    has_customer = bool(st.session_state.get(CUSTOMER))
    has_result = st.session_state.get(RESULT) is not None
    no_customer = "Choose or create a customer first (step 1)."
    *columns, right = st.columns(4)
    link_ok = config.verification_method in CHECKOUT_METHODS
    for column, (kind, label, icon, key, help_text) in zip(columns, CREATE_BUTTONS, strict=True):
        blocked = not has_customer or (kind == "link" and not link_ok)
        column.button(
            label,
            type="primary" if kind == "link" else "secondary",
            icon=icon,
            disabled=blocked,
            on_click=ask,
            args=("create", kind, config.version),
            key=key,
            width="stretch",
            help=no_customer if not has_customer else LINK_REFUSED if blocked else help_text,
        )
    right.button(
        "Start another request",
        icon=":material/restart_alt:",
        on_click=create.on_start_another,
        disabled=not has_result,
        key="collect_another",
        width="stretch",
        help="Nothing created yet."
        if not has_result
        else "The create buttons repeat the same request until you start another one.",
    )
    if not has_customer:
        st.caption(no_customer)


def result_card(result: CollectionRequest) -> None:
    view: IntentView | None = st.session_state.get(VIEW)
    with st.container(border=True):
        who = runtime.call(customer_words, svc, actor, result.customer_id)
        request_summary(result, view, now=svc.now(), who=who)
        status = view.status if view else result.status
        if watch.waiting(status):
            watch.watch(svc, actor, result, status, result_key=RESULT, view_key=VIEW)
        if result.kind == "setup_intent":
            st.button(
                "Refresh status from Stripe",
                icon=":material/refresh:",
                on_click=ask,
                args=("refresh",),
                key="collect_refresh_status",
                help="Read the SetupIntent again now.",
            )
        if view is not None:
            if view.next_action == "verify_with_microdeposits":
                microdeposits_note(view)
                verify_form(
                    view.id, view.microdeposit_type, prefix="collect_verify", action="verify_new"
                )
            linked_note(view)


def verify_form(intent_id: str, microdeposit_type: str | None, *, prefix: str, action: str) -> None:
    """Enter what the customer read from the bank statement (works on live Stripe too)."""
    kind = microdeposit_type or "descriptor_code"
    with st.form(f"{prefix}_form", border=False):
        if kind == "amounts":
            a1, a2, button = st.columns([1, 1, 1], vertical_alignment="bottom")
            # Text, not number inputs: a browser's number box turned red on -1 or 0.32 and Verify
            # then sent nothing and said nothing; typed_amounts says what to type instead.
            for column, which, n in ((a1, "First", 1), (a2, "Second", 2)):
                column.text_input(
                    f"{which} deposit (cents)", key=f"{prefix}_a{n}", max_chars=12,
                    placeholder="e.g. 32", help=AMOUNTS_RULE,
                )
        else:
            code_col, button = st.columns([2, 1], vertical_alignment="bottom")
            code_col.text_input(
                "Descriptor code (6 characters, starts with SM)",
                key=f"{prefix}_code",
                max_chars=6,
                placeholder="SM….",
            )
        with button:
            st.form_submit_button(
                "Verify",
                type="primary",
                icon=":material/verified:",
                on_click=ask,
                args=(action, intent_id, kind, prefix),
                width="stretch",
            )
    play.test_values_hint(kind)


def cancel_asked(action: str) -> str | None:
    """The cancel a button asked for (at the top of its tab); the request it failed for, whose
    error was just said here (its note on the request waits for the next run: said once)."""
    if (args := take(action)) is None:
        return None
    view = cancels.cancel(svc, actor, *args)
    keep_view(view)
    return st.session_state.get(args[0]) if view is None else None


def open_requests_tab() -> None:
    failed_now = cancel_asked("cancel_open")
    cancels.followed_outcomes(svc, actor, "collect_cancel_open")
    # The list is read from the store; Stripe is asked only when this button is pressed.
    pull = st.button(
        "Sync from Stripe",
        icon=":material/sync:",
        key="collect_open_reload",
        help="Read the last 30 days of requests from Stripe (syncs and webhooks keep the list "
        "fresh without it).",
    )
    search = st.text_input(
        "Find a request",
        placeholder="Part of a name or email, seti_… or cus_…",
        max_chars=100,
        key="collect_open_search",
    )
    rows = runtime.call(open_requests, svc, actor, limit=OPEN_PAGE, from_stripe=pull, search=search)
    if rows is None:
        return
    # A failed cancel is said on its request: one the list does not show is said here instead.
    why = "the search hides it" if search.strip() else f"the list shows the newest {OPEN_PAGE}"
    listed = [r.id for r in rows]
    cancels.unlisted_failures(svc, actor, listed, "collect_open_search", why, said=failed_now)
    if not rows:
        none = (
            STILL_READING
            if follow.following(follow.INTENTS)
            else "No open collection requests in the last 30 days."
        )
        st.info(
            "No open request matches the search." if search.strip() else none,
            icon=":material/inbox:",
        )
        return
    total = runtime.call(open_request_count, svc, actor, search=search) or len(rows)
    st.caption(f"{first_of(len(rows), total, 'open request').capitalize()}, newest first.")
    open_requests_table(rows)
    labels = {r.id: pick_label(r) for r in rows}
    statuses = {r.id: r.status for r in rows}
    cancels.cancel_section(
        svc, actor, labels, "cancel_open", "collect_cancel_open", statuses, said=failed_now
    )


def queue_tab() -> None:
    failed_now = cancel_asked("cancel_queue")
    cancels.followed_outcomes(svc, actor, "collect_cancel_queue")
    pull = st.button(
        "Sync from Stripe",
        icon=":material/sync:",
        key="collect_queue_reload",
        help="Read the last 30 days of intents from Stripe (syncs and webhooks keep the queue "
        "fresh without it).",
    )
    hint = "Part of a name or email, or the start of seti_…, pi_… or cus_…"
    search = st.text_input(
        "Find a request", placeholder=hint, max_chars=100, key="collect_queue_search"
    )
    # One page from the store (the oldest first), so the table and the pickers stay small.
    items = runtime.call(
        microdeposit_queue, svc, actor, from_stripe=pull, search=search, limit=QUEUE_PAGE
    )
    if items is None:
        return
    # A failed cancel is said on its request: one the queue does not show is said here instead.
    why = "the search hides it" if search.strip() else f"the queue shows the oldest {QUEUE_PAGE}"
    listed = [i.id for i in items]
    cancels.unlisted_failures(
        svc, actor, listed, "collect_queue_search", why, said=failed_now, queue=True
    )
    if not items:
        if (done := st.session_state.pop(QUEUE_VERIFIED, None)) is not None:
            st.success(done, icon=":material/check_circle:")  # it was the last one waiting
        none = (
            STILL_READING
            if follow.following(follow.INTENTS)
            else "No intents are waiting for microdeposit verification."
        )
        st.info(
            "No request matches the search." if search.strip() else none, icon=":material/inbox:"
        )
        return
    total = runtime.call(waiting_count, svc, actor, search=search)
    if total is not None and total > len(items):
        st.caption(
            f"The {len(items)} oldest of {total:,} waiting; find a request to see the others."
        )
    queue_table(items, total, runtime.call(stuck_count, svc, actor, search=search))
    verify_from_queue(items)
    labels = {i.id: pick_label(i) for i in items}
    waiting = {i.id: "requires_action" for i in items}  # all wait on microdeposits
    cancels.cancel_section(
        svc, actor, labels, "cancel_queue", "collect_cancel_queue", waiting, said=failed_now
    )


def verify_from_queue(items: list[MicrodepositItem]) -> None:
    """Ops may enter the code or amounts a customer reads out over the phone. An error shows in
    the panel, kept open with the request and what was typed; a verified one leaves the queue."""
    by_id = {i.id: i for i in items}
    if (asked := take("verify_queue")) is not None:
        st.session_state[QUEUE_OPEN] = True  # a keyed expander keeps its state; open it now
    title, icon = "Verify for a customer on the phone", ":material/call:"
    with st.expander(title, icon=icon, key=QUEUE_OPEN, on_change="rerun"):
        if (done := st.session_state.pop(QUEUE_VERIFIED, None)) is not None:
            st.success(done, icon=":material/check_circle:")
        if asked is not None and (view := verify(*asked)) is not None:
            st.session_state[QUEUE_VERIFIED] = verified(view.id, view.status)
            st.session_state[QUEUE_PICK] = None  # clears the picker on screen too
            st.rerun()  # the queue above, read before the verification, still lists it
        picked = st.selectbox(
            "Request to verify",
            list(by_id),
            format_func=lambda i: pick_label(by_id[i]) if i in by_id else i,
            key=QUEUE_PICK,
            index=None,
            placeholder="Choose a request",
        )
        if picked:
            verify_form(
                picked,
                by_id[picked].microdeposit_type,
                prefix="collect_qverify",
                action="verify_queue",
            )
        else:
            st.caption("Choose the request the customer is calling about.")


# --------------------------------------------------------------------------- page

# ?tab=open / ?tab=queue: the tab open, in the address as the person switches (pages._collect_tabs).
new_tab, open_tab, queue_tab_ = tabs.tab_bar()
with new_tab:
    config = flows.view(svc, actor, "setup_intent")
    steps, aside, step3 = st.container(), st.container(), st.container()
    with step3:
        st.subheader("3. Create the request")
    # A create a click asked for is sent first, under its own spinner: step 1 may ask Stripe
    # (a searched cus_ ID, 8 s when Stripe is slow), and a reload meanwhile lost the click
    # before its create was written, with no word of it and nothing at Stripe. Written at
    # once, a reload follows it (create.follow_own).
    if (args := take("create")) is not None:
        with aside:
            put_aside(svc, actor)  # the customer was chosen by a callback, before this run
        with step3:
            create.create_request(svc, actor, *args)
    with steps:
        customer_section(svc, actor)
        config_card(config)
    with aside:
        put_aside(svc, actor)
    address.keep_choice()  # a customer chosen on this run: the address follows, once
    with step3:
        create_section(config)
    current: CollectionRequest | None = st.session_state.get(RESULT)
    if current is not None:
        run_request_actions(current)
        result_card(current)
        shown: IntentView | None = st.session_state.get(VIEW)
        play.panel(current, shown.status if shown else current.status)
with open_tab:
    open_requests_tab()
with queue_tab_:
    queue_tab()
