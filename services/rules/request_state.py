"""Whether a collection request can still be used: a hosted link that expired or was finished,
a SetupIntent canceled or succeeded, a Financial Connections session the customer already went
through. Collect's create buttons make a new request then, instead of answering "Same request as
before" with one the customer can no longer open (Stripe's Dashboard does not reuse them
either). No I/O."""

from __future__ import annotations

from services.rules.intents import CollectionRequest

SESSION_KIND = "financial_connections.session"


def ended(request: CollectionRequest, status: str, *, now: int) -> str | None:
    """Why ``request`` (whose latest status is ``status``) can no longer be used, as words that
    follow "it" ("its link expired"); None while the customer can still use it."""
    checkout = request.checkout_status
    if checkout == "expired" or (
        request.checkout_session_id
        and checkout != "complete"
        and request.expires_at
        and request.expires_at <= now
    ):
        return "its link expired"
    if checkout == "complete" or status == "succeeded":
        return "the customer already finished it"
    if status == "canceled":
        return "it was canceled"
    if request.kind == SESSION_KIND and status == "linked":
        return "the customer already linked accounts in it"
    return None
