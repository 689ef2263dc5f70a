"""Ops chases and verifies microdeposits: the queue of intents waiting, and verifying for a caller."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from services.adapters.backoff import settle
from services.audit import audited, unconfirmed_change
from services.auth import Actor, require
from services.context import Services
from services.errors import FcopsError, NotFound, StripeRequestError
from services.rules import input_limits
from services.rules.intent_checks import not_verifiable, verification_input, verification_refusal
from services.rules.intent_fields import waiting_for_microdeposits
from services.rules.intents import (
    STUCK_AFTER_BUSINESS_DAYS,
    IntentView,
    MicrodepositItem,
    business_days_late,
    microdeposit_item,
    view_of,
)
from services.usecases.collect_common import (
    LOOKBACK_SECONDS,
    MAX_SCAN,
    IntentList,
    count_listed,
    list_stored,
    raise_unknown,
    require_key,
    retrieve,
    unconfirmed,
    with_people,
)
from services.usecases.collect_common import (
    intent_id as parse_intent,
)
from services.usecases.sync_intents import store_intent

# Intents waiting on the customer; deposits arrive a day or two after creation: oldest first.
WAITING = IntentList(payment_intents=True, statuses=("requires_action",), oldest_first=True)


def microdeposit_queue(
    svc: Services,
    actor: Actor,
    *,
    customer_id: str | None = None,
    lookback_seconds: int = LOOKBACK_SECONDS,
    from_stripe: bool = False,
    search: str | None = None,
    limit: int = MAX_SCAN,
) -> list[MicrodepositItem]:
    """Intents waiting for microdeposit verification, oldest arrival first; stuck ones flagged.

    Read from the store; ``from_stripe`` first reads recent intents from Stripe into it.
    ``search`` (the start of a seti_/pi_ or cus_ ID, or part of the customer's name or email)
    and ``limit`` (the oldest ``limit`` waiting) run in SQL, so a page holds a page, not the
    whole queue. Each item names its customer from the store (people before IDs).

    Stuck: more than two business days past the expected arrival (deposits take 1–2 business
    days, §6.2), so the customer probably needs a reminder with the hosted verification link.
    """
    require(actor, "collect.create")
    now, stored = list_stored(
        svc,
        WAITING,
        customer_id=customer_id,
        lookback_seconds=lookback_seconds,
        from_stripe=from_stripe,
        search=search,
        limit=input_limits.paging(1, limit, max_size=MAX_SCAN)[1],
    )
    items = [
        microdeposit_item(intent, now=now) for intent in stored if waiting_for_microdeposits(intent)
    ]
    ordered = sorted(items, key=lambda i: (-i.business_days_late, i.arrival_date or 0, i.id))
    return with_people(svc, ordered)


def waiting_count(
    svc: Services,
    actor: Actor,
    *,
    search: str | None = None,
    lookback_seconds: int = LOOKBACK_SECONDS,
) -> int:
    """How many stored intents of the lookback wait on the customer (``requires_action``),
    matching ``search``: the queue's size, counted in SQL."""
    require(actor, "collect.create")
    return count_listed(svc, WAITING, search=search, lookback_seconds=lookback_seconds)


def stuck_count(
    svc: Services,
    actor: Actor,
    *,
    search: str | None = None,
    lookback_seconds: int = LOOKBACK_SECONDS,
) -> int:
    """How many of the :func:`waiting_count` intents are stuck (more than two business days
    past the deposits' expected arrival, as the queue flags them), counted in SQL over the
    whole queue, not only the page shown."""
    require(actor, "collect.create")
    return count_listed(
        svc,
        WAITING,
        search=search,
        lookback_seconds=lookback_seconds,
        arrival_before=_stuck_before(svc.now()),
    )


def _stuck_before(now: int) -> int:
    """The time (a UTC midnight) before which deposits due are stuck at ``now``: a request is
    stuck exactly when its ``arrival_date`` is earlier (``business_days_late`` grows as the
    arrival day gets earlier, so one cut-off decides it)."""
    day = datetime.fromtimestamp(now, UTC).date()
    while business_days_late(_midnight(day), now=now) <= STUCK_AFTER_BUSINESS_DAYS:
        day -= timedelta(days=1)
    return _midnight(day + timedelta(days=1))


def _midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _not_verifiable(svc: Services, ident: str, kind: str, err: StripeRequestError) -> FcopsError:
    try:
        intent = retrieve(svc, ident, kind)
    except FcopsError:
        return err
    return not_verifiable(intent, ident, err)


def verify_microdeposits(
    svc: Services,
    actor: Actor,
    intent_id: str,
    *,
    amounts: Sequence[int] | None = None,
    descriptor_code: str | None = None,
    idempotency_key: str,
) -> IntentView:
    """Verify a manually entered bank account with what the customer read from the statement.

    A real Stripe call (not a sandbox hook): ops may verify amounts or a code a customer read
    out over the phone, so it needs ``collect.create`` and is audited as ``collect.verify``.
    The values themselves are not written to the audit log (they prove account access). A
    mismatch raises with the attempts left; too many attempts or the 10-day timeout raise
    with what to do next (the intent then needs a new payment method, §6.3).
    """
    key = require_key(idempotency_key)
    with audited(
        svc.engine,
        actor=actor,
        action="collect.verify",
        target=str(intent_id or "")[:80] or None,
        idempotency_key=key,
    ) as ctx:
        require(actor, "collect.create")
        ident, kind = parse_intent(intent_id)
        ctx.target = ident
        method, params = verification_input(amounts, descriptor_code)
        ctx.params.update(kind=kind, method=method)
        try:
            with (
                unconfirmed_change(
                    ctx,
                    f"the verification of {ident}",
                    "it may have been verified",
                    "Sync from Stripe in Collect's Open requests shows its status",
                ),
                unconfirmed("the verification"),  # read back: the same key replays the answer
            ):
                settled = settle(
                    lambda: svc.gateway.verify_microdeposits(ident, **params, idempotency_key=key),
                    lambda: svc.gateway.verify_microdeposits(ident, **params, idempotency_key=key),
                    lambda _: True,
                    what="the verification",
                    same_key=True,  # after a 5xx a replay answers it again: unconfirmed
                )
            intent = settled.value
            if settled.read_back:
                ctx.params["read_back"] = settled.reads
        except NotFound as err:
            raise_unknown(err, ident, kind)
        except StripeRequestError as err:
            ctx.request_id = svc.gateway.last_request_id
            if (err.code or "").endswith("_unexpected_state"):
                raise _not_verifiable(svc, ident, kind, err) from None
            raise verification_refusal(err, ident, method) from None
        ctx.request_id = svc.gateway.last_request_id
        store_intent(svc.engine, intent)
        view = view_of(intent)
        ctx.message = f"Verified the microdeposits ({method}); {ident} is now {view.status}."
    return view
