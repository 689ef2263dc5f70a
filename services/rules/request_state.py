"""Whether a collection request can still be used: a hosted link that expired or was finished,
a SetupIntent canceled or succeeded, a Financial Connections session the customer already went
through. Collect's create buttons make a new request then, instead of answering "Same request as
before" with one the customer can no longer open (Stripe's Dashboard does not reuse them
either). No I/O."""

from __future__ import annotations

from services.rules.intents import CollectionRequest

SESSION_KIND = "financial_connections.session"
# A Checkout-made SetupIntent waiting on microdeposits: the customer completed its link (so it
# can no longer be expired) and Stripe refuses to cancel a Checkout Session's SetupIntent (the
# pinned SDK's ``SetupIntentService.cancel``: "Expire the Checkout Session instead"). Stripe ends
# it itself after 10 days unverified (stripe-fc-reference.md §6.3).
LOCKED_STATUSES = ("requires_action",)


def uncancelable(ident: str, *, link: str | None, status: str) -> str | None:
    """Why no one can cancel ``ident`` (made by hosted link ``link``, now ``status``), as a
    sentence; None when a cancel may work."""
    if not link or status not in LOCKED_STATUSES:
        return None
    return (
        f"{ident} was made by a Checkout link the customer completed; Stripe lets no one cancel "
        "it. It stays open until the customer verifies the microdeposits, or Stripe ends it "
        "after 10 days without verification."
    )


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
    if checkout == "complete" and status in LOCKED_STATUSES:
        return "the customer already completed its link and now verifies the microdeposits"
    if checkout == "complete" or status == "succeeded":
        return "the customer already finished it"
    if status == "canceled":
        return "it was canceled"
    if request.kind == SESSION_KIND and status == "linked":
        return "the customer already linked accounts in it"
    return None
