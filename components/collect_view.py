"""Words and tables for the Collect page: statuses, who a request waits on, the two lists.

Pure formatting over the typed views in :mod:`services.rules.intents`; no service calls.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from components.feedback import format_timestamp, format_until
from components.literal import person_line
from components.table_columns import (
    date_column,
    duration_column,
    ids_last,
    money_column,
    time_column,
    worded_durations,
)
from services.rules import wording
from services.rules.flow_config import FlowConfig
from services.rules.intents import (
    CANCEL_REASONS,
    STUCK_AFTER_BUSINESS_DAYS,
    CollectionRequest,
    IntentView,
    MicrodepositItem,
    OpenRequest,
    reason_words,
)
from services.rules.people import CELL_HELP, bank_words, label, person_cell
from services.rules.table_values import major_units, one_currency, seconds, utc_date, utc_time
from services.rules.wording import counted

STATUS_WORDS = {
    "requires_payment_method": "Waiting for the customer to link or enter a bank account.",
    "requires_confirmation": "Waiting for confirmation in Stripe.js.",
    "requires_action": "Waiting for the customer to verify microdeposits.",
    "processing": "Stripe is processing it.",
    "succeeded": "The bank account is saved and can be debited.",
    "canceled": "Canceled; create another request if the customer still needs one.",
    "open": "The session is open until the customer finishes or it expires.",
    "linked": "The customer linked accounts in the session; their data is shared with you.",
    "link expired": "The link expired, so Stripe canceled its SetupIntent; create another "
    "request if the customer still needs one.",
}
FINISHED = ("succeeded", "processing")
# The Collect page's create buttons: (kind, label, icon, widget key, help).
CREATE_BUTTONS = (
    (
        "link",
        "Create link for the customer",
        ":material/send:",
        "collect_create_link",
        "A Stripe-hosted page the customer opens to link or enter a bank account (a Checkout "
        "Session in setup mode with the flow's configuration).",
    ),
    (
        "setup_intent",
        "Create SetupIntent",
        ":material/add_card:",
        "collect_create_si",
        "For your own page with Stripe.js: saves a bank account as a payment method, with the "
        "flow's configuration.",
    ),
    (
        "fc_session",
        "Create FC session",
        ":material/link:",
        "collect_create_fcs",
        "A Financial Connections session shares account data without saving a payment method.",
    ),
)
LINK_REFUSED = (
    "Stripe's hosted page cannot verify by microdeposits only, which this flow is set to; "
    "create a SetupIntent for your own page instead."
)
VERIFICATION_WORDS = {
    "automatic": "automatic (instant, or microdeposits as a fallback)",
    "instant": "instant only (Financial Connections)",
    "microdeposits": "microdeposits only (typed numbers)",
}
REASON_WORDS = {r: reason_words(r).capitalize() for r in CANCEL_REASONS}  # the Reason picker
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


def format_day(ts: int | None) -> str:
    """Arrival is an estimate of a day, so no clock time (that would look precise)."""
    return wording.weekday(ts)


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


def link_address(checkout_session_id: str | None) -> str | None:
    """Where a hosted link's request opens on this page (``collect?request=cs_…``): its card
    reads the link from Stripe again and shows its URL only while the customer can still open
    it. The table holds the ID, not the URL: the URL is a bearer link (whoever opens it can save
    a bank account onto the customer), the store does not keep it, and a stored copy would
    still read as usable after the link expired."""
    return f"collect?request={checkout_session_id}" if checkout_session_id else None


def open_requests_frame(rows: list[OpenRequest]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Waiting for": waiting_for(r.status, r.next_action),
                "Age": seconds(r.age_seconds),
                "Customer": person_cell(r.person, r.customer_id),
                "Bank": bank_words(r.bank_name, r.last4) or "—",
                "Method": r.verification_method,
                "Last error": r.last_error or "",
                "Link": link_address(r.checkout_session_id),
                "SetupIntent": r.id,
                "Status": r.status,
                "Created": utc_time(r.created),
                "Flow": r.flow,
                "Customer ID": r.customer_id or "—",
            }
            for r in rows
        ]
    )


# The days since the deposits were due: "Business days late 2" read as a problem next to
# "stuck = more than 2"; up to 2 is the usual wait, not lateness.
PAST_ARRIVAL = "Business days past arrival"
STUCK_WORDS = f"More than {STUCK_AFTER_BUSINESS_DAYS} business days past the expected arrival"


def queue_frame(items: list[MicrodepositItem]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Stuck": "stuck" if i.stuck else "",
                PAST_ARRIVAL: i.business_days_late,
                "Expected arrival": utc_date(i.arrival_date),
                "Sent as": "descriptor code"
                if i.microdeposit_type == "descriptor_code"
                else "two amounts",
                "Customer": person_cell(i.person, i.customer_id),
                "Bank": bank_words(i.bank_name, i.last4) or "—",
                "Amount": major_units(i.amount, i.currency) if i.amount is not None else None,
                "Verification link": i.hosted_verification_url or "",
                "Intent": i.id,
                "Age": seconds(i.age_seconds),
                "Customer ID": i.customer_id or "—",
            }
            for i in items
        ]
    )


# --------------------------------------------------------------------------- drawing


ERROR_HELP = "Stripe's last error on the request; click a cell to read it in full."


def open_requests_table(rows: list[OpenRequest]) -> None:
    frame = open_requests_frame(rows)
    st.dataframe(
        worded_durations(frame, ["Age"]),
        hide_index=True,
        column_order=ids_last(frame, "Link", "SetupIntent", "Customer ID"),
        placeholder="—",
        width="stretch",
        column_config={
            "Link": st.column_config.LinkColumn(
                "Link",
                display_text=r"request=(cs_\w+)",
                width=280,
                help="The hosted link (Checkout Session) this request was made with; open it "
                "for its status and the URL to send. A link made outside fcops (on Stripe's "
                "Dashboard) is not known here.",
            ),
            "Waiting for": st.column_config.TextColumn(width=212),
            "Age": duration_column("Age", width=56, help="Time since the request was created"),
            "Customer": st.column_config.TextColumn(width=208, help=CELL_HELP),
            "Bank": st.column_config.TextColumn(width=170),
            "Method": st.column_config.TextColumn(width=96, help="Verification method"),
            "Last error": st.column_config.TextColumn(width=196, help=ERROR_HELP),
            "Created": time_column("Created (UTC)"),
        },
    )


def pick_label(item: MicrodepositItem | OpenRequest) -> str:
    """A listed request as a picker offers it: its label without the age (the table beside it
    shows the age). Streamlit keeps a choice by the words shown, so words that change as time
    passes ("12 min ago", then "13 min ago") would drop the request chosen on the next run."""
    return label(
        person=item.person,
        customer_id=item.customer_id,
        bank=item.bank_name,
        last4=item.last4,
        amount=item.amount,
        currency=item.currency,
        ident=item.id,
    )


def queue_table(
    items: list[MicrodepositItem], total: int | None = None, stuck: int | None = None
) -> None:
    """The queue's page ``items``; ``total``: how many wait in all and ``stuck``: how many of
    those are stuck (both counted over the whole queue; the page may hold fewer)."""
    waiting = total if total is not None else len(items)
    stuck = stuck if stuck is not None else sum(i.stuck for i in items)
    left, right = st.columns(2)
    left.metric("Waiting for verification", f"{waiting:,}")
    right.metric(
        f"Stuck (more than {STUCK_AFTER_BUSINESS_DAYS} business days past arrival)",
        f"{stuck:,} of {waiting:,} waiting",
        help="Send these customers the hosted verification link again.",
    )
    frame = queue_frame(items)
    st.dataframe(
        worded_durations(frame, ["Age"]),
        hide_index=True,
        column_order=ids_last(frame, "Intent", "Customer ID"),
        placeholder="—",
        width="stretch",
        column_config={
            "Stuck": st.column_config.TextColumn("Stuck", width=60, help=STUCK_WORDS),
            PAST_ARRIVAL: st.column_config.NumberColumn(
                width=170,
                help="Business days since Stripe's expected arrival day of the deposits (0: not "
                f"due yet, or due today). Stuck only after more than {STUCK_AFTER_BUSINESS_DAYS}: "
                f"up to {STUCK_AFTER_BUSINESS_DAYS} is the usual wait for the customer to verify.",
            ),
            "Expected arrival": date_column(
                "Expected arrival", width=130, help="Stripe's estimate of the day"
            ),
            "Age": duration_column("Age", help="Time since the request was created"),
            "Sent as": st.column_config.TextColumn(width=120),
            "Customer": st.column_config.TextColumn(width=230),
            "Bank": st.column_config.TextColumn(width=170),
            "Amount": money_column(
                "Amount", one_currency(i.currency for i in items if i.amount is not None)
            ),
            "Verification link": st.column_config.LinkColumn(
                "Verification link",
                display_text="open",
                width=110,
                help="Stripe's hosted page where the customer enters the code or amounts",
            ),
        },
    )


def request_name(result: CollectionRequest) -> str:
    """What the page calls a request: a hosted link by its Checkout Session (the link ops sends,
    and what the address names), else the SetupIntent or FC session itself."""
    if result.checkout_session_id:
        return f"Checkout link `{result.checkout_session_id}`"
    kind = "SetupIntent" if result.kind == "setup_intent" else "Financial Connections session"
    return f"{kind} `{result.id}`"


def request_named(result: CollectionRequest) -> str:
    """The request as the card names it, a link's SetupIntent too (its status is its own)."""
    behind = f" (SetupIntent `{result.id}`)" if result.checkout_session_id else ""
    return f"{request_name(result)}{behind}"


def request_status(result: CollectionRequest, status: str, *, now: bool = False) -> str:
    """'<request> is <status> on Stripe.' naming a link's SetupIntent too."""
    return f"{request_named(result)} is {'now ' if now else ''}{status}" + (
        "." if now else " on Stripe."
    )


def verified(ident: str, status: str, name: str | None = None) -> str:
    """What a microdeposit verification of ``ident`` did, from the status Stripe gave it after
    (``name``: how the page names it): a SetupIntent that succeeded has its bank account saved
    with an active mandate, ready for debits; a PaymentIntent's debit then goes ahead."""
    said = name or ident
    if ident.startswith("pi_") and status == "processing":
        return (f"Verified: {said} is processing: the debit is on its way (an ACH debit takes "
                "a few business days).")
    if ident.startswith("pi_") and status == "succeeded":
        return f"Verified: {said} succeeded: the debit went through."
    if status == "succeeded":
        return f"Verified: {said} succeeded; the bank account is ready for debits."
    return f"Verified: {said} is now {status}."


def hosted_link(result: CollectionRequest, status: str, *, now: int) -> None:
    """The page to send the customer (copy button on the code block), with its expiry."""
    if result.checkout_session_id is None:
        st.caption(
            "No hosted page for this request: Stripe gives none for a SetupIntent or a "
            "Financial Connections session made for your own page (use Create link for the "
            "customer for one). Developers find the client secret below."
        )
        return
    expires = result.expires_at or 0
    expired = result.checkout_status == "expired"  # Stripe cancels its SetupIntent too
    if status == "canceled" and not expired:
        st.info(
            "The request was canceled and its link expired: the customer can no longer open it.",
            icon=":material/block:",
        )
        return
    if status in FINISHED:
        st.success(
            "The customer finished on the hosted page; the link no longer opens.",
            icon=":material/task_alt:",
        )
        return
    if status == "requires_action":
        st.info(
            "The customer entered the bank account by hand on the hosted page, so Stripe sends "
            "microdeposits; the verification page below is what to send next.",
            icon=":material/savings:",
        )
        return
    if expired or (expires and expires <= now):
        st.warning(
            "The link expired"
            + (
                f" {format_timestamp(expires)}"
                if expires and expires <= now
                else " before its time: it was canceled (here or on Stripe), so the customer "
                "can no longer open it"
            )
            + ". Create link for the customer makes a new one to send.",
            icon=":material/timer_off:",
        )
        return
    if result.hosted_url is None:  # defensive: Stripe gives an open session's page
        return
    st.markdown("**Send this link to the customer** (copy it with the button on the right):")
    st.code(result.hosted_url, language=None, wrap_lines=True)
    st.caption(
        f"Stripe's hosted page to link or enter a bank account. It expires "
        f"{format_timestamp(expires)} ({format_until(expires - now)})."
        if expires
        else "Stripe's hosted page to link or enter a bank account."
    )


def developer_details(result: CollectionRequest) -> None:
    """The client secret for Stripe.js, out of the way: whoever holds it can confirm."""
    if not result.client_secret:
        return
    with st.expander("For developers", icon=":material/code:"):
        st.markdown(
            "**Client secret** for Stripe.js (`collectBankAccountForSetup` / "
            "`collectFinancialConnectionsAccounts`). Give it only to this customer's browser; "
            "it is not stored anywhere."
        )
        st.code(result.client_secret, language=None)
        if result.checkout_session_id:
            st.caption(f"Checkout Session `{result.checkout_session_id}`.")


def request_summary(
    result: CollectionRequest, view: IntentView | None, *, now: int, who: str | None = None
) -> None:
    """What Stripe returned for the request, and its latest state when read again; ``who``:
    the customer's name and email (people before IDs)."""
    status = view.status if view else result.status
    st.markdown(f"#### {request_name(result)}")
    person_line(f"For {who or 'customer'} ({result.customer_id})")
    behind = (
        f" Stripe saves the bank account on its SetupIntent `{result.id}`."
        if result.checkout_session_id else ""
    )
    st.caption(f"Created {format_timestamp(result.created)}.{behind}")
    cols = st.columns([3, 2, 1])
    if result.checkout_status == "expired":  # its SetupIntent reads "canceled"
        status = "link expired"
    cols[0].metric("Status", status, help=STATUS_WORDS.get(status))
    cols[1].metric(
        "Verification",
        (view.verification_method if view else result.verification_method) or "—",
    )
    figure, tip = wording.flow_tile(result.flow_version)
    cols[2].metric("Flow configuration", figure, help=tip)
    perms = view.permissions if view else result.permissions
    prefetch = view.prefetch if view else result.prefetch
    st.caption(
        f"On the object Stripe returned: permissions **{', '.join(perms)}**, prefetch "
        f"**{', '.join(prefetch) or 'none'}**."
    )
    if result.kind == "financial_connections.session":
        st.caption(session_filters_text(result.session_filters))
        if result.linked_accounts:
            st.success(
                f"The customer linked {counted(len(result.linked_accounts), 'account')}: "
                + ", ".join(f"`{a}`" for a in result.linked_accounts)
                + ". Open them on the Accounts page.",
                icon=":material/link:",
            )
    if result.payment_method_options:
        with st.expander(
            "payment_method_options as Stripe returned them", icon=":material/data_object:"
        ):
            st.code(json.dumps(result.payment_method_options, indent=2), language="json")
    hosted_link(result, status, now=now)
    developer_details(result)
    link = (view.hosted_verification_url if view else None) or result.hosted_verification_url
    if link:
        st.markdown(
            f"Hosted microdeposit verification page for the customer: [open it]({link}) "
            "(Stripe emails this link to the customer when it has their email)."
        )


def microdeposits_note(view: IntentView) -> None:
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


def linked_note(view: IntentView) -> None:
    if view.financial_connections_account:
        st.success(
            f"Linked through Financial Connections: `{view.financial_connections_account}` "
            f"(payment method `{view.payment_method}`).",
            icon=":material/link:",
        )
    if view.last_error:
        st.warning(f"Last error: {view.last_error}", icon=":material/warning:")


def config_card(config: FlowConfig) -> None:
    st.subheader("2. What the request asks for")
    with st.container(border=True):
        left, right = st.columns([3, 1])
        left.metric(
            "Verification",
            config.verification_method,
            help=VERIFICATION_WORDS.get(config.verification_method),
        )
        figure, tip = wording.flow_tile(config.version)  # "v0" read as a version someone saved
        right.metric("Flow configuration", figure, help=tip)
        st.markdown(
            f"SetupIntent flow: permissions **{', '.join(config.permissions) or 'none'}**; "
            f"prefetch **{', '.join(config.prefetch) or 'none'}**; "
            f"verification **{config.verification_method}**."
        )
        st.caption(config_origin(config) + " Admins change it on the Flow configuration page.")


def config_origin(config: FlowConfig) -> str:
    """Where the flow's configuration comes from: a saved version, or fcops' built-in defaults
    (sent to Stripe explicitly on every request, like a saved one)."""
    if config.version:
        return f"This is the flow's saved configuration (v{config.version}, saved by {config.updated_by})."
    return (
        "No admin has saved this flow yet, so it uses fcops' built-in defaults (the values "
        "above), and each request sends them to Stripe."
    )
