"""Collect bank accounts (ops): SetupIntents and FC sessions with the flow's configuration.

Creation buttons send idempotency keys from ``runtime.idempotency_key``, so a double click or a
rerun replays the same Stripe object; "Start another request" makes the next click a new one.
On the sandbox a panel plays the customer's part (link at a bank, type numbers by hand,
microdeposits arrive, verify) through the sandbox's hooks, so the journey can be shown offline.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from components.feedback import format_age, format_timestamp
from pages import _runtime as runtime
from services import accounts, flows
from services.usecases import collection_requests as collection
from services.errors import FcopsError, StripeRequestError

T = TypeVar("T")
log = logging.getLogger("fcops.ui")

actor = runtime.guard("collect.create")
runtime.page_header(
    "Collect bank accounts",
    "Create SetupIntents or Financial Connections sessions for a customer with the SetupIntent "
    "flow's configuration, and chase the requests still waiting on the customer.",
)
app = runtime.get_app()
svc = app.services
simulator: Any = app.simulator  # sandbox.client.Simulator on the sandbox, else None

CUSTOMER = "collect_customer"  # the chosen cus_ id
RESULT = "collect_result"  # the last CollectionRequest
VIEW = "collect_view"  # the last IntentView of that request
MESSAGES = "collect_messages"  # {slot: (kind, text)}
SI_SCOPE, FCS_SCOPE, VERIFY_SCOPE = "collect-si", "collect-fcs", "collect-verify"
CUSTOMER_SCOPE, CANCEL_SCOPE = "collect-customer", "collect-cancel"

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


# --------------------------------------------------------------------------- small helpers


def tell(slot: str, kind: str, text: str) -> None:
    st.session_state.setdefault(MESSAGES, {})[slot] = (kind, text)


def show_message(slot: str) -> None:
    kind, text = st.session_state.get(MESSAGES, {}).pop(slot, (None, None))
    if kind == "error":
        st.error(text, icon=":material/error:")
    elif kind == "success":
        st.success(text, icon=":material/check_circle:")
    elif kind == "info":
        st.info(text, icon=":material/info:")


def act(
    slot: str,
    fn: Callable[..., T],
    *args: Any,
    on_error: Callable[[BaseException], None] | None = None,
    scope: str | None = None,
    **kwargs: Any,
) -> T | None:
    """Run a service call from a callback; a failure becomes a sentence in ``slot``.

    ``on_error`` (optional) sees the exception first, e.g. to start a fresh request. With
    ``scope`` (the idempotency scope of the key in ``kwargs``) a failure Stripe answered makes
    the next click a new request, and an unknown outcome keeps the key (runtime).
    """
    if scope is not None and on_error is None:
        on_error = lambda err: runtime.forget_key_unless_unknown(scope, err)  # noqa: E731
    try:
        return fn(*args, **kwargs)
    except FcopsError as err:
        if on_error is not None:
            on_error(err)
        tell(slot, "error", str(err))
    except Exception as err:  # never a stack trace on the page
        if on_error is not None:
            on_error(err)
        log.exception("collect page action failed")
        tell(
            slot,
            "error",
            "Something unexpected went wrong and nothing was changed. The details were written "
            "to the server log.",
        )
    return None


# --------------------------------------------------------------------------- callbacks


def on_create_customer() -> None:
    email = (st.session_state.get("collect_new_email") or "").strip()
    name = (st.session_state.get("collect_new_name") or "").strip() or None
    key = runtime.idempotency_key(CUSTOMER_SCOPE, {"email": email.lower(), "name": name})
    result = act(
        "customer",
        collection.create_customer,
        svc,
        actor,
        email=email,
        name=name,
        idempotency_key=key,
        scope=CUSTOMER_SCOPE,
    )
    if result is not None:
        st.session_state[CUSTOMER] = result.id
        tell("customer", "info" if result.reused else "success", result.message)


def on_pick_customer() -> None:
    picked = st.session_state.get("collect_pick")
    if picked:
        st.session_state[CUSTOMER] = picked


def on_create(kind: str, config_version: int) -> None:
    customer = st.session_state.get(CUSTOMER)
    if not customer:
        tell("create", "error", "Choose or create a customer first.")
        return
    if kind == "setup_intent":
        key = runtime.idempotency_key(SI_SCOPE, {"customer": customer, "version": config_version})
        result = act(
            "create",
            collection.create_setup_intent,
            svc,
            actor,
            customer_id=customer,
            idempotency_key=key,
            scope=SI_SCOPE,
        )
    else:
        key = runtime.idempotency_key(FCS_SCOPE, {"customer": customer, "version": config_version})
        result = act(
            "create",
            collection.create_fc_session,
            svc,
            actor,
            customer_id=customer,
            idempotency_key=key,
            scope=FCS_SCOPE,
        )
    if result is not None:
        st.session_state[RESULT] = result
        st.session_state.pop(VIEW, None)
        if result.replayed:
            tell(
                "create",
                "info",
                f"Same request as before: {result.id} already exists, nothing new was created.",
            )


def on_start_another() -> None:
    runtime.new_request(SI_SCOPE)
    runtime.new_request(FCS_SCOPE)
    st.session_state.pop(RESULT, None)
    st.session_state.pop(VIEW, None)


def simulate(step: str, params: dict[str, Any], run_step: Callable[[], object]) -> None:
    result = st.session_state.get(RESULT)
    if result is None:
        return
    view = act(
        "simulate",
        collection.simulate,
        svc,
        actor,
        intent_id=result.id,
        step=step,
        params=params,
        run_step=run_step,
    )
    if view is not None:
        st.session_state[VIEW] = view
        tell("simulate", "success", f"{view.id} is now {view.status}.")
    elif step == "complete_session" and not st.session_state.get(MESSAGES, {}).get("simulate"):
        tell("simulate", "success", "The customer linked an account in the session.")


def on_link() -> None:
    result = st.session_state[RESULT]
    bank = st.session_state.get("collect_sim_bank") or "Test Institution"
    if result.kind == "setup_intent":
        simulate(
            "link", {"institution": bank}, lambda: simulator.link_bank(result.id, institution=bank)
        )
    else:
        simulate(
            "complete_session",
            {"institution": bank},
            lambda: simulator.complete_session(result.id, institution=bank),
        )


def on_manual() -> None:
    result = st.session_state[RESULT]
    number = st.session_state.get("collect_sim_account") or "000123456789"
    kind = st.session_state.get("collect_sim_md_type") or "descriptor_code"
    simulate(
        "manual_entry",
        {"account_number": number, "microdeposit_type": kind},
        lambda: simulator.manual_entry(result.id, account_number=number, microdeposit_type=kind),
    )


def on_arrive() -> None:
    result = st.session_state[RESULT]
    simulate("microdeposits_arrive", {}, lambda: simulator.microdeposits_arrive(result.id))


def forget_unless_mismatch(err: BaseException) -> None:
    """Stripe replays a saved answer for a reused key. Replaying a mismatch is right (the same
    wrong code again costs no attempt), and so is retrying a request whose outcome is unknown
    (it may have run). Every other answer — "not arrived yet", a saved 500, a 429, bad input —
    must not be replayed once the situation changed, so those start a fresh request."""
    mismatch = isinstance(err, StripeRequestError) and (err.code or "").endswith("_mismatch")
    if not mismatch:
        runtime.forget_key_unless_unknown(VERIFY_SCOPE, err)


def on_verify(intent_id: str, microdeposit_type: str, prefix: str, slot: str) -> None:
    """Send what the customer read from the statement (a real Stripe call, audited)."""
    if microdeposit_type == "amounts":
        amounts: list[int] | None = [
            int(st.session_state.get(f"{prefix}_a1") or 0),
            int(st.session_state.get(f"{prefix}_a2") or 0),
        ]
        code = None
    else:
        amounts = None
        code = (st.session_state.get(f"{prefix}_code") or "").strip().upper()
    key = runtime.idempotency_key(VERIFY_SCOPE, {"id": intent_id, "amounts": amounts, "code": code})
    view = act(
        slot,
        collection.verify_microdeposits,
        svc,
        actor,
        intent_id,
        amounts=amounts,
        descriptor_code=code,
        idempotency_key=key,
        on_error=forget_unless_mismatch,
    )
    if view is None:
        # Too many attempts or a timeout changes the intent; show its state as Stripe has it now.
        try:
            view = collection.intent_view(svc, actor, intent_id)
        except FcopsError:
            view = None
    else:
        tell(slot, "success", f"Verified: {view.id} is now {view.status}.")
    result = st.session_state.get(RESULT)
    if view is not None and result is not None and result.id == view.id:
        st.session_state[VIEW] = view


def on_refresh_status() -> None:
    result = st.session_state[RESULT]
    view = act("refresh", collection.intent_view, svc, actor, result.id)
    if view is not None:
        st.session_state[VIEW] = view
        tell("refresh", "info", f"{view.id} is {view.status} on Stripe.")


def on_cancel(slot: str, select_key: str) -> None:
    intent_id = st.session_state.get(select_key)
    reason = st.session_state.get(f"{select_key}_reason")
    if not intent_id:
        tell(slot, "error", "Choose a request to cancel.")
        return
    key = runtime.idempotency_key(CANCEL_SCOPE, {"id": intent_id, "reason": reason})
    view = act(
        slot,
        collection.cancel_request,
        svc,
        actor,
        intent_id,
        reason=reason,
        idempotency_key=key,
        scope=CANCEL_SCOPE,
    )
    if view is not None:
        tell(slot, "success", f"Canceled {view.id}.")
        result = st.session_state.get(RESULT)
        if result is not None and result.id == view.id:
            st.session_state[VIEW] = view


# --------------------------------------------------------------------------- sections


def customer_section() -> None:
    st.subheader("1. Customer")
    mode = st.radio(
        "Customer",
        ["Existing customer", "New customer"],
        horizontal=True,
        key="collect_mode",
        label_visibility="collapsed",
    )
    if mode == "Existing customer":
        text = st.text_input(
            "Find a customer by email or ID",
            key="collect_search",
            placeholder="name@example.com or cus_…",
        )
        if text and text.strip():
            hits = runtime.call(accounts.search_customers, svc, actor, text, limit=20)
            if hits == []:
                st.info(
                    "No customer matches. Check the spelling, or create a new customer.",
                    icon=":material/search_off:",
                )
            elif hits:
                labels = {
                    h.id: f"{h.email or '(no email)'} · {h.name or '(no name)'} · {h.id}"
                    for h in hits
                }
                st.selectbox(
                    "Matching customers",
                    list(labels),
                    format_func=lambda cid: labels[cid],
                    key="collect_pick",
                    index=None,
                    placeholder="Choose a customer",
                    on_change=on_pick_customer,
                )
    else:
        with st.form("collect_new_customer", border=False):
            left, right = st.columns(2)
            left.text_input("Email", key="collect_new_email", placeholder="name@example.com")
            right.text_input("Name (optional)", key="collect_new_name")
            st.form_submit_button(
                "Create customer", icon=":material/person_add:", on_click=on_create_customer
            )
        show_message("customer")
    chosen = st.session_state.get(CUSTOMER)
    if chosen:
        st.markdown(f"Requests will be created for **`{chosen}`**.")


STATUS_WORDS = {
    "requires_payment_method": "Waiting for the customer to link or enter a bank account.",
    "requires_confirmation": "Waiting for confirmation in Stripe.js.",
    "requires_action": "Waiting for the customer to verify microdeposits.",
    "processing": "Stripe is processing it.",
    "succeeded": "The bank account is saved and can be debited.",
    "canceled": "Canceled; create another request if the customer still needs one.",
    "open": "The session is open until the customer finishes or it expires.",
}
VERIFICATION_WORDS = {
    "automatic": "automatic (instant, or microdeposits as a fallback)",
    "instant": "instant only (Financial Connections)",
    "microdeposits": "microdeposits only (typed numbers)",
}


def config_card(config: flows.FlowConfig) -> None:
    st.subheader("2. What the request asks for")
    with st.container(border=True):
        left, right = st.columns([3, 1])
        left.metric(
            "Verification",
            config.verification_method,
            help=VERIFICATION_WORDS.get(config.verification_method),
        )
        right.metric(
            "Config version",
            f"v{config.version}",
            help="v0: never saved, Stripe's defaults apply." if not config.version else None,
        )
        st.markdown(
            f"SetupIntent flow: permissions **{', '.join(config.permissions) or 'none'}**; "
            f"prefetch **{', '.join(config.prefetch) or 'none'}**; "
            f"verification **{config.verification_method}**."
        )
        st.caption(
            "This is the flow's saved configuration; "
            + (
                f"saved by {config.updated_by}."
                if config.version
                else "never saved, so Stripe's defaults apply."
            )
            + " Admins change it on the Flow configuration page."
        )


def create_section(config: flows.FlowConfig) -> None:
    st.subheader("3. Create the request")
    has_customer = bool(st.session_state.get(CUSTOMER))
    has_result = st.session_state.get(RESULT) is not None
    no_customer = "Choose or create a customer first (step 1)."
    left, middle, right = st.columns(3)
    left.button(
        "Create SetupIntent",
        type="primary",
        icon=":material/add_card:",
        disabled=not has_customer,
        on_click=on_create,
        args=("setup_intent", config.version),
        key="collect_create_si",
        width="stretch",
        help=no_customer
        if not has_customer
        else "Saves a bank account as a payment method, with the flow's configuration.",
    )
    middle.button(
        "Create FC session",
        icon=":material/link:",
        disabled=not has_customer,
        on_click=on_create,
        args=("fc_session", config.version),
        key="collect_create_fcs",
        width="stretch",
        help=no_customer
        if not has_customer
        else "A Financial Connections session shares account data without saving a payment method.",
    )
    right.button(
        "Start another request",
        icon=":material/restart_alt:",
        on_click=on_start_another,
        disabled=not has_result,
        key="collect_another",
        width="stretch",
        help="Nothing created yet."
        if not has_result
        else "The create buttons repeat the same request until you start another one.",
    )
    if not has_customer:
        st.caption(no_customer)
    show_message("create")


def session_filters_text(filters: dict[str, Any] | None) -> str:
    """What the customer may link, as the session says (endive defaults when it has none)."""
    if not filters:
        return (
            "No filters: Stripe's defaults for this API version apply — every kind of account "
            "(credit cards, mortgages and lines of credit too), payment support not required, "
            "manual entry off."
        )
    kinds = ", ".join(s.replace("_", " ") for s in filters.get("account_subcategories") or [])
    support = filters.get("require_payment_method_support") or "none"
    return (
        f"Filters on the session: accounts **{kinds or 'of any kind'}**; payment support "
        f"required: **{support}**."
    )


def result_card(result: collection.CollectionRequest) -> None:
    view: collection.IntentView | None = st.session_state.get(VIEW)
    status = view.status if view else result.status
    kind = "SetupIntent" if result.kind == "setup_intent" else "Financial Connections session"
    with st.container(border=True):
        st.markdown(f"#### {kind} `{result.id}`")
        st.caption(
            f"For customer `{result.customer_id}`, created {format_timestamp(result.created)}."
        )
        cols = st.columns([3, 2, 1])
        cols[0].metric("Status", status, help=STATUS_WORDS.get(status))
        cols[1].metric(
            "Verification",
            (view.verification_method if view else result.verification_method) or "—",
        )
        cols[2].metric("Config version", f"v{result.flow_version}")
        perms = view.permissions if view else result.permissions
        prefetch = view.prefetch if view else result.prefetch
        st.caption(
            f"On the object Stripe returned: permissions **{', '.join(perms)}**, prefetch "
            f"**{', '.join(prefetch) or 'none'}**."
        )
        if result.kind == "financial_connections.session":
            st.caption(session_filters_text(result.session_filters))
        if result.payment_method_options:
            with st.expander(
                "payment_method_options as Stripe returned them", icon=":material/data_object:"
            ):
                st.code(json.dumps(result.payment_method_options, indent=2), language="json")
        st.markdown(
            "**Client secret** for Stripe.js (`collectBankAccountForSetup` / "
            "`collectFinancialConnectionsAccounts`). Give it only to this customer's browser; it "
            "is not stored anywhere."
        )
        st.code(result.client_secret, language=None)
        link = (view.hosted_verification_url if view else None) or result.hosted_verification_url
        if link:
            st.markdown(
                f"Hosted microdeposit verification page for the customer: [open it]({link}) "
                "(Stripe emails this link to the customer when it has their email)."
            )
        if result.kind == "setup_intent":
            st.button(
                "Refresh status from Stripe",
                icon=":material/refresh:",
                on_click=on_refresh_status,
                key="collect_refresh_status",
                help="Read the SetupIntent again, for example after the customer finished in Stripe.js.",
            )
            show_message("refresh")
        if view is not None:
            if view.next_action == "verify_with_microdeposits":
                sent_as = (
                    "two small deposits"
                    if view.microdeposit_type == "amounts"
                    else "one $0.01 deposit with a code in its description"
                )
                st.info(
                    f"Waiting for the customer to verify microdeposits: Stripe sent {sent_as}, "
                    f"expected to arrive {format_day(view.arrival_date)}. If the customer reads "
                    "what arrived out to you, enter it below.",
                    icon=":material/hourglass_top:",
                )
                verify_form(view.id, view.microdeposit_type, prefix="collect_verify", slot="verify")
            show_message("verify")
            if view.financial_connections_account:
                st.success(
                    f"Linked through Financial Connections: `{view.financial_connections_account}` "
                    f"(payment method `{view.payment_method}`).",
                    icon=":material/link:",
                )
            if view.last_error:
                st.warning(f"Last error: {view.last_error}", icon=":material/warning:")


@st.cache_data(ttl=600, show_spinner=False)
def institution_names(base_url: str) -> list[str]:
    del base_url  # the cache key: one list per sandbox
    return [str(i["name"]) for i in simulator.institutions()] if simulator else []


def simulation_panel(result: collection.CollectionRequest) -> None:
    if simulator is None:
        return
    view: collection.IntentView | None = st.session_state.get(VIEW)
    status = view.status if view else result.status
    with st.container(border=True):
        st.markdown("#### :material/science: Play the customer (sandbox only)")
        st.caption(
            "These buttons do what Stripe.js and the bank would do; they exist only on the sandbox."
        )
        banks = runtime.call(institution_names, app.gateway.base_url or "") or [
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
            on_click=on_link,
            key="collect_sim_link",
            width="stretch",
        )
        if result.kind == "setup_intent":
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
                on_click=on_manual,
                key="collect_sim_manual",
                width="stretch",
            )
            waiting = status == "requires_action"
            st.button(
                "Microdeposits arrive",
                icon=":material/savings:",
                on_click=on_arrive,
                disabled=not waiting,
                key="collect_sim_arrive",
                help=None
                if waiting
                else "Available after the account numbers were entered by hand (Enter manually).",
            )
        show_message("simulate")


def verify_form(intent_id: str, microdeposit_type: str | None, *, prefix: str, slot: str) -> None:
    """Enter what the customer read from the bank statement (works on live Stripe too)."""
    kind = microdeposit_type or "descriptor_code"
    with st.form(f"{prefix}_form", border=False):
        if kind == "amounts":
            a1, a2, button = st.columns([1, 1, 1], vertical_alignment="bottom")
            a1.number_input("First deposit (cents)", min_value=1, max_value=99, key=f"{prefix}_a1")
            a2.number_input("Second deposit (cents)", min_value=1, max_value=99, key=f"{prefix}_a2")
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
                on_click=on_verify,
                args=(intent_id, kind, prefix, slot),
                width="stretch",
            )
    if simulator is not None:
        if kind == "amounts":
            st.caption(
                "Sandbox test amounts: 32 + 45 verify; 10 + 11 exceed the attempts; 40 + 41 time out."
            )
        else:
            st.caption(
                "Sandbox test codes: "
                + ", ".join(f"{c} → {what}" for c, what in TEST_CODES.items())
                + "."
            )


REASON_WORDS = {
    "requested_by_customer": "Requested by the customer",
    "abandoned": "Abandoned",
    "duplicate": "Duplicate",
}


def cancel_controls(ids: list[str], slot: str, select_key: str) -> None:
    if not ids:
        return
    pick, reason, button = st.columns([3, 2, 1], vertical_alignment="bottom")
    chosen = pick.selectbox(
        "Request to cancel", ids, key=select_key, index=None, placeholder="Choose a request"
    )
    reason.selectbox(
        "Reason",
        collection.CANCEL_REASONS,
        key=f"{select_key}_reason",
        format_func=lambda r: REASON_WORDS.get(r, r),
    )
    button.button(
        "Cancel request",
        icon=":material/cancel:",
        on_click=on_cancel,
        args=(slot, select_key),
        key=f"{select_key}_button",
        width="stretch",
        disabled=chosen is None,
        help="Choose a request first."
        if chosen is None
        else "Stripe cancels it; this cannot be undone.",
    )
    show_message(slot)


WAITING_WORDS = {
    "requires_payment_method": "Customer to link a bank account",
    "requires_confirmation": "Confirmation (Stripe.js)",
    "processing": "Stripe (processing)",
}


def waiting_for(status: str, next_action: str | None) -> str:
    """Who or what an open request is waiting on, in words."""
    if next_action == "verify_with_microdeposits":
        return "Customer to verify microdeposits"
    if next_action:
        return f"Customer ({next_action.replace('_', ' ')})"
    return WAITING_WORDS.get(status, status)


def open_requests_tab() -> None:
    st.button("Reload", icon=":material/refresh:", key="collect_open_reload")
    rows = runtime.call(collection.open_requests, svc, actor, limit=100)
    if rows is None:
        return
    if not rows:
        st.info("No open collection requests in the last 30 days.", icon=":material/inbox:")
        show_message("cancel_open")
        return
    st.caption(f"{len(rows)} open request(s), newest first.")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Waiting for": waiting_for(r.status, r.next_action),
                    "Age": format_age(r.age_seconds),
                    "Customer": r.customer_id or "—",
                    "Method": r.verification_method,
                    "Last error": r.last_error or "",
                    "SetupIntent": r.id,
                    "Status": r.status,
                    "Created": format_timestamp(r.created),
                    "Flow": r.flow,
                }
                for r in rows
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "Waiting for": st.column_config.TextColumn(width=230),
            "Age": st.column_config.TextColumn(width=70, help="Time since the request was created"),
            "Customer": st.column_config.TextColumn(width=230),
            "Method": st.column_config.TextColumn(width=110, help="Verification method"),
            "Last error": st.column_config.TextColumn(width=260),
        },
    )
    cancel_controls([r.id for r in rows], "cancel_open", "collect_cancel_open")


def format_day(ts: int | None) -> str:
    """Arrival is an estimate of a day, so no clock time (that would look precise)."""
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts, UTC).strftime("%a %d %b %Y")


def queue_tab() -> None:
    st.button("Reload", icon=":material/refresh:", key="collect_queue_reload")
    items = runtime.call(collection.microdeposit_queue, svc, actor)
    if items is None:
        return
    if not items:
        st.info("No intents are waiting for microdeposit verification.", icon=":material/inbox:")
        return
    stuck = sum(i.stuck for i in items)
    left, right = st.columns(2)
    left.metric("Waiting for verification", len(items))
    right.metric(
        "Stuck (more than 2 business days past arrival)",
        stuck,
        help="Send these customers the hosted verification link again.",
    )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Stuck": "stuck" if i.stuck else "",
                    "Business days late": i.business_days_late,
                    "Expected arrival": format_day(i.arrival_date),
                    "Sent as": "descriptor code"
                    if i.microdeposit_type == "descriptor_code"
                    else "two amounts",
                    "Customer": i.customer_id or "—",
                    "Verification link": i.hosted_verification_url or "",
                    "Intent": i.id,
                    "Age": format_age(i.age_seconds),
                }
                for i in items
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "Stuck": st.column_config.TextColumn(
                "Stuck", width=60, help="More than 2 business days past the expected arrival"
            ),
            "Business days late": st.column_config.NumberColumn(width=130),
            "Expected arrival": st.column_config.TextColumn(width=130),
            "Sent as": st.column_config.TextColumn(width=120),
            "Customer": st.column_config.TextColumn(width=230),
            "Verification link": st.column_config.LinkColumn(
                "Verification link",
                display_text="open",
                width=110,
                help="Stripe's hosted page where the customer enters the code or amounts",
            ),
        },
    )
    verify_from_queue(items)
    cancel_controls([i.id for i in items], "cancel_queue", "collect_cancel_queue")


def verify_from_queue(items: list[collection.MicrodepositItem]) -> None:
    """Ops may enter the code or amounts a customer reads out over the phone."""
    by_id = {i.id: i for i in items}
    with st.expander("Verify for a customer on the phone", icon=":material/call:"):
        picked = st.selectbox(
            "Request to verify",
            list(by_id),
            key="collect_queue_verify_pick",
            index=None,
            placeholder="Choose a request",
        )
        if picked:
            verify_form(
                picked,
                by_id[picked].microdeposit_type,
                prefix="collect_qverify",
                slot="verify_queue",
            )
        else:
            st.caption("Choose the request the customer is calling about.")
        show_message("verify_queue")


# --------------------------------------------------------------------------- page

new_tab, open_tab, queue_tab_ = st.tabs(
    [
        ":material/add_card: New request",
        ":material/pending_actions: Open requests",
        ":material/savings: Microdeposit queue",
    ]
)
with new_tab:
    config = flows.load_flow(svc, "setup_intent")
    customer_section()
    config_card(config)
    create_section(config)
    current: collection.CollectionRequest | None = st.session_state.get(RESULT)
    if current is not None:
        result_card(current)
        simulation_panel(current)
with open_tab:
    open_requests_tab()
with queue_tab_:
    queue_tab()
