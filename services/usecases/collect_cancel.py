"""Ops cancels a collection request: a SetupIntent or PaymentIntent made on its own is canceled;
one a hosted link (a Checkout Session) made is canceled by expiring the link, since Stripe refuses
to cancel a Checkout Session's SetupIntent ("Expire the Checkout Session instead."). A link the
customer completed by typing the account cannot be expired either, so its SetupIntent waiting on
microdeposits can be canceled by no one: :func:`uncancelable` names those before Cancel is
offered, and a cancel of one is refused in a sentence saying what ends it.

One path, as every change: role check, a caller-supplied idempotency key, the Stripe call (read
back when its answer is late), one ``collect.cancel`` audit row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlmodel import select

from services.adapters.backoff import settle
from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.audit import AuditContext, audited, unconfirmed_change
from services.auth import Actor, require
from services.context import Services
from services.errors import (
    ChangeNotMade,
    NotFound,
    NothingChanged,
    ReadBackFailed,
    StripeRequestError,
    ValidationError,
    not_made,
    read_failed,
)
from services.rules.ids import LABELS
from services.rules.intent_checks import cancel_done
from services.rules.intent_fields import customer_id
from services.rules.intents import CANCEL_REASONS, IntentView, reason_words, view_of
from services.rules.request_state import uncancelable as locked_sentence
from services.usecases.collect_cancel_runs import recorded_cancel
from services.usecases.collect_common import intent_id as parse_intent
from services.usecases.collect_common import raise_unknown, require_key, retrieve, unconfirmed
from services.usecases.collect_lists import links_made
from services.usecases.sync_intents import store_intent

ENDED = ("canceled", "succeeded")  # intents no open link holds
CANCEL_BUTTON = "Cancel request"  # its label on Collect; the button pressed again after a 5xx
# A cancel Stripe did not confirm (its audit row ``unknown``): what may be, where to see it.
_MAY_BE_CANCELED = ("it may have been canceled", "Sync from Stripe in Open requests shows its status")


def _status(current: object) -> str:
    """The status of an intent read back after a 5xx that did not cancel it."""
    return str(current.get("status") or "open") if isinstance(current, dict) else "open"


def _look_first(ident: str) -> str:
    """What to do after a 5xx when the read back failed too: the cancel may be done, so look
    (where the audit row says) before pressing the button again."""
    return (
        f"Sync from Stripe in Open requests shows whether {ident} is still open; press {CANCEL_BUTTON} "
        "again only if it is"
    )


def cancel_request(
    svc: Services,
    actor: Actor,
    intent_id: str,
    *,
    reason: str | None,
    idempotency_key: str,
) -> IntentView:
    """Cancel an open SetupIntent or PaymentIntent (audited ``collect.cancel``)."""
    key = require_key(idempotency_key)
    with audited(
        svc.engine,
        actor=actor,
        action="collect.cancel",
        target=str(intent_id or "")[:80] or None,
        params={"reason": reason},
        idempotency_key=key,
    ) as ctx:
        require(actor, "collect.cancel")
        ident, kind = parse_intent(intent_id)
        ctx.target = ident
        if reason is not None and reason not in CANCEL_REASONS:
            raise ValidationError(
                f"{str(reason)[:40]!r} is not a cancellation reason Stripe accepts; use one of "
                f"{', '.join(CANCEL_REASONS)}."
            )
        with recorded_cancel(svc, actor, ctx, ident=ident, key=key):
            view = _cancel(svc, ctx, ident, kind, reason=reason, key=key)
    return view


def uncancelable(svc: Services, actor: Actor, statuses: Mapping[str, str]) -> dict[str, str]:
    """Of the requests ``statuses`` (ID → status, as listed), those no one can cancel, each
    with the sentence saying why and what ends it: from the store, no Stripe call."""
    require(actor, "collect.cancel")
    links = links_made(svc, list(statuses)[:500])
    said = {i: locked_sentence(i, link=links.get(i), status=s) for i, s in statuses.items()}
    return {i: sentence for i, sentence in said.items() if sentence}


def _cancel(
    svc: Services, ctx: AuditContext, ident: str, kind: str, *, reason: str | None, key: str
) -> IntentView:
    link = _link_of(svc, ident, kind)
    if link is not None:  # Stripe cancels a link's intent only by expiring the link
        ctx.params["checkout_session"] = link
        intent = _expire_link(svc, ctx, link, ident, kind, key)
        ctx.request_id = svc.gateway.last_request_id
        asked = (
            f" (reason asked: {reason_words(reason)}; Stripe sets its own on expiry)"
            if reason else ""
        )
        ctx.message = f"Expired link {link}, so Stripe canceled {ident}{asked}."
        store_intent(svc.engine, intent)
        return replace(view_of(intent), expired_link=link)
    cancel = (
        svc.gateway.cancel_payment_intent
        if kind == "payment_intent"
        else svc.gateway.cancel_setup_intent
    )
    try:
        with (
            unconfirmed_change(
                ctx,
                f"the cancellation of {ident}",
                *_MAY_BE_CANCELED,
                shown=lambda current: f"it was still {_status(current)}: not canceled",
            ) as made,
            unconfirmed(f"the cancellation of {ident}"),
        ):
            settled = made(
                settle(
                    lambda: cancel(ident, reason=reason, idempotency_key=key),
                    lambda: retrieve(svc, ident, kind),
                    lambda current: cancel_done(current, ident),
                    what=f"the cancellation of {ident}",
                )
            )
        intent = settled.value
        if settled.read_back:
            ctx.params["read_back"] = settled.reads
    except NotFound as err:
        raise_unknown(err, ident, kind)
    except ChangeNotMade as err:  # a 5xx, and the intent read back is still open
        raise not_made(
            err,
            what=f"the cancellation of {ident}",
            maybe="it may have been canceled",
            shown=f"the {LABELS[kind]} read back is still {_status(err.current)}",
            button=CANCEL_BUTTON,
        ) from None
    except ReadBackFailed as err:  # a 5xx, and the intent could not be read back either
        raise read_failed(
            err,
            what=f"the cancellation of {ident}",
            maybe="it may have been canceled",
            read=f"the {LABELS[kind]}",
            then=_look_first(ident),
        ) from None
    except StripeRequestError as err:  # Stripe cancels only an open intent: say what it is
        _say_ended(svc, ident, kind, refusal=str(err))
        raise
    ctx.request_id = svc.gateway.last_request_id
    # The reason in words, and only one that was sent (the page always sends the picker's).
    ctx.message = f"Canceled {ident}" + (f" (reason: {reason_words(reason)})." if reason else ".")
    store_intent(svc.engine, intent)
    return view_of(intent)


def _say_ended(svc: Services, ident: str, kind: str, *, refusal: str) -> None:
    """After Stripe refused a cancel: an intent that had already ended (a colleague canceled it
    a moment ago, or the customer finished) is stored as it is, so it leaves Open requests, and
    refused in a sentence instead of Stripe's list of cancelable statuses. So is one a Checkout
    link made that this app did not make (on Stripe's Dashboard): Stripe names the session."""
    current = retrieve(svc, ident, kind)
    status = str(current.get("status") or "")
    link = "a Checkout Session" if "Checkout Session" in refusal else None
    if locked := locked_sentence(ident, link=link, status=status):
        raise NothingChanged(f"{locked} Nothing was changed.", as_asked=False)
    if status == "processing":  # the SDK's cancel: only while it waits on the customer
        store_intent(svc.engine, current)
        raise NothingChanged(
            f"{ident} is processing at Stripe, and Stripe cancels a request only while it waits "
            "on the customer. Nothing was changed: it succeeds or fails by itself shortly.",
            as_asked=False,
        )
    if status not in ENDED:
        return
    store_intent(svc.engine, current)
    if status == "canceled":
        why = current.get("cancellation_reason")
        raise NothingChanged(
            f"{ident} was already canceled"
            + (f" (reason: {reason_words(str(why))})" if why else "")
            + ", so it is no longer open. Nothing was changed.",
            as_asked=True,
        )
    raise NothingChanged(
        f"{ident} has already succeeded: the customer finished it, so it can no longer be "
        "canceled. Nothing was changed.",
        as_asked=False,
    )


def _link_of(svc: Services, ident: str, kind: str) -> str | None:
    """The Checkout Session (hosted link) that made ``ident``; None for an intent made on its
    own. This app's own creation's audit row says which; an intent it did not make (a link made
    on Stripe's Dashboard, or by another app) is looked up in Stripe."""
    made = (AuditEntry.action == "collect.create", AuditEntry.target == ident)
    with session_scope(svc.engine) as session:
        rows = session.exec(select(AuditEntry).where(*made, AuditEntry.outcome == "ok")).all()
    if not rows:
        return _link_in_stripe(svc, ident, kind)
    links = [str(r.params.get("checkout_session") or "") for r in rows]
    return next((cs for cs in links if cs.startswith("cs_")), None)


def _link_in_stripe(svc: Services, ident: str, kind: str) -> str | None:
    """The open Checkout Session that made ``ident``, among its customer's open sessions:
    Stripe's session list has no ``setup_intent`` filter (the pinned SDK's
    ``SessionListParams``), so the customer's are matched by it. None for an intent that is no
    longer open (no open link can hold it) or has no customer to list by."""
    intent = retrieve(svc, ident, kind)
    customer = customer_id(intent)
    if intent.get("status") in ENDED or not customer:
        return None
    for session in svc.gateway.iter_checkout_sessions(customer=customer, status="open"):
        made = session.get(kind)
        made_id = made.get("id") if isinstance(made, dict) else made
        if made_id == ident:
            return str(session["id"])
    return None


def _expire_link(
    svc: Services, ctx: AuditContext, link: str, ident: str, kind: str, key: str
) -> dict[str, Any]:
    """Expire the open link ``link``; Stripe cancels its intent ``ident`` (returned, current).
    A link no longer open (expired, or completed by the customer) is refused in a sentence."""
    what = f"the expiry of link {link}"

    def expired(session: dict[str, Any]) -> bool:
        status = session.get("status")
        made = session.get(kind)
        now = str(made.get("status") or "") if isinstance(made, dict) else ""
        if status == "complete" and (locked := locked_sentence(ident, link=link, status=now)):
            raise NothingChanged(f"{locked} Nothing was changed.", as_asked=False)
        if status == "complete":
            raise NothingChanged(
                f"Link {link} was not expired: the customer already completed it, so {ident} "
                "is no longer open and cannot be canceled here.",
                as_asked=False,
            )
        return status == "expired"

    def read() -> dict[str, Any]:
        return svc.gateway.retrieve_checkout_session(link, expand=[kind])

    try:
        with (
            unconfirmed_change(
                ctx,
                what,
                *_MAY_BE_CANCELED,
                shown=lambda _: f"the link was still open: {ident} not canceled",
            ) as made,
            unconfirmed(what),
        ):
            session = made(
                settle(
                    lambda: svc.gateway.expire_checkout_session(
                        link, expand=[kind], idempotency_key=key
                    ),
                    read,
                    expired,
                    what=what,
                )
            ).value
    except ChangeNotMade as err:  # a 5xx, and the link read back is still open
        raise not_made(
            err,
            what=what,
            maybe="it may have expired",
            shown=f"the link read back is still open, so {ident} is not canceled",
            button=CANCEL_BUTTON,
        ) from None
    except ReadBackFailed as err:  # a 5xx, and the link could not be read back either
        raise read_failed(
            err, what=what, maybe="it may have expired", read="the link", then=_look_first(ident)
        ) from None
    except StripeRequestError:  # Stripe expires only an open link: say what it is instead
        if expired(read()):
            raise NothingChanged(
                f"Link {link} had already expired, so Stripe had already canceled {ident}; "
                "the customer can no longer open it. Nothing was changed.",
                as_asked=True,
            ) from None
        raise
    intent = session.get(kind)
    if not isinstance(intent, dict):  # defensive: expansion not honoured
        intent = retrieve(svc, str(intent or ident), kind)
    return intent
