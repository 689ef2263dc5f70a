"""The payment lookup's details card: what Stripe's Dashboard shows for a payment.

Data in (:class:`services.rules.payment_details.PaymentDetails`), widgets out; money is
formatted here, at the edge, from minor units.
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components.feedback import format_age, format_timestamp
from components.literal import person_line
from components.money import format_money
from services.rules.payment_details import PaymentDetails, status_words

__all__ = ["payment_card"]

KIND_WORDS = {
    "payment_intent": "PaymentIntent",
    "setup_intent": "SetupIntent",
    "payment_method": "PaymentMethod",
}
MANDATE_WORDS = {
    "active": "active: the customer authorized debits",
    "pending": "pending: not yet usable for debits",
    "inactive": "inactive: debits are no longer authorized",
}


def _mandate(details: PaymentDetails) -> str:
    if details.kind == "payment_method":
        return "—"
    if not details.mandate_id:
        return "none yet (Stripe creates it when the customer accepts the debit terms)"
    kind = (details.mandate_type or "").replace("_", "-")
    words = MANDATE_WORDS.get(details.mandate_status or "", details.mandate_status or "unknown")
    return f"{words}{f' ({kind})' if kind else ''} · `{details.mandate_id}`"


def _status(column: DeltaGenerator, details: PaymentDetails) -> None:
    """The Status metric in words that fit the column; Stripe's own code under it."""
    words = status_words(details)
    if words is None:
        column.metric("Status", "—")
        return
    short, meaning = words
    column.metric("Status", short, help=f"Stripe's status: {details.status}")
    column.caption(f"{meaning[0].upper()}{meaning[1:]} · `{details.status}`")


def payment_card(details: PaymentDetails, *, now: int) -> None:
    """Amount, status, created, customer, bank account, verification, mandate, Dashboard link."""
    kind = KIND_WORDS.get(details.kind, details.kind)
    with st.container(border=True):
        st.markdown(f"#### {kind} `{details.id}`")
        amount, status, created = st.columns([2, 2, 3])
        amount.metric(
            "Amount",
            format_money(details.amount, details.currency) if details.amount is not None else "—",
            help=None
            if details.amount is not None
            else "A SetupIntent saves a bank account; it moves no money.",
        )
        if details.currency:
            amount.caption(details.currency.upper())
        _status(status, details)
        created.metric("Created", format_timestamp(details.created) if details.created else "—")
        if details.created:
            created.caption(f"{format_age(max(now - details.created, 0))} ago")
        who = " · ".join(x for x in (details.customer_name, details.customer_email) if x)
        person_line(  # as text: Markdown drew the email as a mailto link (as on every page)
            f"Customer: {who or '(no name or email)'}"
            + (f" · {details.customer_id}" if details.customer_id else "")
            if details.customer_id or who
            else "Customer: none"
        )
        bank = details.bank_label
        st.markdown(
            f"**Payment method:** {bank or details.method_type or 'none yet'}"
            + (" (US bank account)" if bank else "")
        )
        st.markdown(f"**Verification:** {details.verification}")
        st.markdown(f"**Mandate:** {_mandate(details)}")
        if details.failure is not None:
            failure = details.failure
            what = f"returned by the bank, {failure.returned}" if failure.returned else "failed"
            st.markdown(f"**Last attempt:** {what}. {failure.stripe_words}")
        if details.dashboard_url:
            st.link_button(
                "Open in Stripe Dashboard",
                details.dashboard_url,
                icon=":material/open_in_new:",
            )
        elif details.kind != "payment_method":
            st.caption("Sandbox mode: these objects have no page in Stripe's Dashboard.")
