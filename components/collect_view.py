"""Words and tables for the Collect page: statuses, who a request waits on, the two lists.

Pure formatting over the typed views in :mod:`services.rules.intents`; no service calls.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd

from components.feedback import format_age, format_timestamp
from services.rules.intents import MicrodepositItem, OpenRequest

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
REASON_WORDS = {
    "requested_by_customer": "Requested by the customer",
    "abandoned": "Abandoned",
    "duplicate": "Duplicate",
}
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
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts, UTC).strftime("%a %d %b %Y")


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


def open_requests_frame(rows: list[OpenRequest]) -> pd.DataFrame:
    return pd.DataFrame(
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
    )


def queue_frame(items: list[MicrodepositItem]) -> pd.DataFrame:
    return pd.DataFrame(
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
    )
