"""After a create Stripe did not confirm (a 500, no answer in time, no connection), fcops looks
at Stripe for what the create may have made, as Stripe's Dashboard would show it: the
customer's SetupIntents created since just before the attempt (``created[gte]``, the pinned
SDK's ``SetupIntentListParams``), and among them the one carrying this attempt's id in its
metadata (:data:`ATTEMPT`, written by every SetupIntent and link create).

Then the person reads either "Stripe made the request after all" (:class:`MadeAfterAll`, the
SetupIntent mirrored into the store so Open requests lists it) or "Stripe did not make it:
Create again is safe". What Create again sends differs: after a 500 Stripe keeps that answer
under the key, so the page spends the key and Create again is a new request (safe: nothing was
made); after no answer the page keeps the key, so Create again repeats the same request and
Stripe makes it at most once even if the first lands meanwhile. If the look-up fails too, the
person keeps the create's own advice (look in Open requests before creating again).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from services.audit import audited
from services.auth import Actor, require
from services.context import Services
from services.errors import (
    ChangeNotMade,
    FcopsError,
    Forbidden,
    OutcomeStillUnknown,
    StripeUnavailable,
)
from services.rules.wording import counted
from services.usecases.collect_common import customer_id as parse_customer
from services.usecases.collect_common import require_key
from services.usecases.sync_intents import store_intent

ATTEMPT = "fcops_attempt"  # metadata: the attempt id of the create that made the SetupIntent
# Listed from this long before the attempt: Stripe's clock and this server's may differ a little.
CLOCK_SLACK_SECONDS = 300


def attempt_id(idempotency_key: str) -> str:
    """The id a create's metadata carries for its idempotency key: the same for every send of
    the same request (Stripe refuses a same-key retry with other params), and not the key."""
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]


class MadeAfterAll(FcopsError):
    """A create Stripe did not confirm that Stripe made after all (``made``: its SetupIntent,
    mirrored into the store)."""

    def __init__(
        self, message: str, *, made: str, link: str | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.made = made
        self.link = link  # a link create's Checkout Session (cs_…), when found


def made_by_attempt(
    svc: Services, actor: Actor, *, customer_id: str, idempotency_key: str, since: int
) -> dict[str, Any] | None:
    """The SetupIntent the create sent with ``idempotency_key`` made for ``customer_id``, if
    Stripe made one (listed from ``since``, the attempt's start, minus the clock slack), now
    in the store; None when Stripe has none. Audited: what was looked for and what was found."""
    key = require_key(idempotency_key)
    attempt = attempt_id(key)
    with audited(
        svc.engine,
        actor=actor,
        action="collect.lookup",
        params={"customer": customer_id, "attempt": attempt, "since": int(since)},
        idempotency_key=key,
    ) as ctx:
        require(actor, "collect.create")
        customer = parse_customer(customer_id)
        listed = 0
        for intent in svc.gateway.iter_setup_intents(
            created_gte=int(since) - CLOCK_SLACK_SECONDS, customer=customer
        ):
            listed += 1
            metadata = intent.get("metadata")
            if isinstance(metadata, dict) and metadata.get(ATTEMPT) == attempt:
                store_intent(svc.engine, intent)
                ctx.target = str(intent["id"])
                ctx.request_id = svc.gateway.last_request_id
                ctx.params.update(listed=listed, found=ctx.target)
                ctx.message = f"Stripe made it after all: {ctx.target} (now in the store)."
                return intent
        ctx.params.update(listed=listed, found=None)
        ctx.request_id = svc.gateway.last_request_id
        ctx.message = (
            f"Stripe made none: of the customer's {counted(listed, 'SetupIntent')} created "
            f"since {_clock(since)} UTC, none is from this attempt."
        )
        return None


def told_after_lookup(
    svc: Services,
    actor: Actor,
    err: StripeUnavailable,
    *,
    customer: str,
    key: str,
    since: int,
    what: str,
    link: bool,
) -> FcopsError:
    """What the person reads after a create Stripe did not confirm (``err``: a server error,
    or no answer even when read back), once fcops has looked at Stripe for it; ``err`` itself
    (its advice: look in Open requests first) when the look-up failed too."""
    try:
        found = made_by_attempt(svc, actor, customer_id=customer, idempotency_key=key, since=since)
    except Forbidden:
        raise
    except FcopsError:
        return err
    unanswered = err.outcome_unknown
    if found is not None:
        made = str(found["id"])
        how = "did not answer in time" if unanswered else "answered with a server error"
        session = _link_made(svc, customer, made, attempt_id(key), since) if link else None
        if session is not None:  # the link itself, to send (its SetupIntent alone has none)
            return MadeAfterAll(
                f"Stripe made the link after all: {session} (its SetupIntent {made}, shown in "
                f"Open requests), though it {how}. Open it below for the address to send the "
                "customer rather than creating another.",
                made=made,
                link=session,
                request_id=err.request_id,
            )
        name = f"the link's SetupIntent {made}" if link else made
        return MadeAfterAll(
            f"Stripe made the request after all: {name} (shown in Open requests), though it "
            f"{how}. Send the customer that one rather than creating another.",
            made=made,
            request_id=err.request_id,
        )
    looked = (
        f"fcops looked at this customer's SetupIntents at Stripe since {_clock(since)} UTC: none "
        "is from this request"
    )
    if unanswered:  # the page keeps the key: Create again is the same request
        return OutcomeStillUnknown(
            f"Stripe did not confirm {what} in time, and has not made it so far: Create again is "
            f"safe, and repeats the same request, so Stripe makes it at most once ({looked}).",
            request_id=err.request_id,
        )
    return ChangeNotMade(  # the page spends the key: Stripe replays a 500 to it
        f"Stripe did not confirm {what}: it had a server error. Stripe did not make it: Create "
        f"again is safe, and sends a new request ({looked}).",
        server_error=err,
        current=None,
    )


def unconfirmed_note(what: str, err: StripeUnavailable, told: FcopsError | None) -> str:
    """The create's own audit row when Stripe did not confirm it (its outcome ``unknown``):
    why it is unknown, and what fcops found when it looked (``told``: what the person read
    after the look-up; ``err`` itself when the look-up failed; None: not listable, an FC
    session)."""
    how = "no answer in time" if err.outcome_unknown else "a server error"
    said = f"Stripe did not confirm {what} ({how}), so it may have been made. "
    if told is None:
        return said + "An FC session cannot be listed, so fcops cannot look for it at Stripe."
    said += "fcops looked for it at Stripe (the collect.lookup entry): "
    if isinstance(told, MadeAfterAll):
        link = f" with the link {told.link}" if told.link else ""
        return said + f"Stripe made it after all: {told.made}{link}."
    if told is err:
        return said + (
            "the look-up failed too, so it is still unknown: press Sync from Stripe in Open "
            "requests and look for it."
        )
    if err.outcome_unknown:
        return said + (
            "none so far (Stripe may still make it: Create again repeats the same request, so "
            "Stripe makes it at most once)."
        )
    return said + "Stripe did not make it."


def _link_made(svc: Services, customer: str, made: str, attempt: str, since: int) -> str | None:
    """The Checkout Session (``cs_…``) a link create made with the SetupIntent ``made``: Stripe
    lists a customer's sessions newest first, with no ``setup_intent`` filter; matched by its
    SetupIntent or this attempt's id in its metadata. None when not found or not listable now
    (the person then hears of the SetupIntent alone)."""
    try:
        for session in svc.gateway.iter_checkout_sessions(customer=customer):
            if int(session.get("created") or 0) < int(since) - CLOCK_SLACK_SECONDS:
                return None
            intent = session.get("setup_intent")
            intent_id = intent.get("id") if isinstance(intent, dict) else intent
            metadata = session.get("metadata")
            ours = isinstance(metadata, dict) and metadata.get(ATTEMPT) == attempt
            if intent_id == made or ours:
                return str(session["id"])
    except FcopsError:
        return None
    return None


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M")
