"""Stripe webhooks: verify, store each event once by its ``id``, process it as a workflow.

``receive`` is what ``POST /webhooks/stripe`` runs: it checks ``Stripe-Signature`` on the raw
body with the SDK (tolerance 300 s), inserts the event unless its ``id`` is already stored (a
redelivery only counts the delivery), and enqueues its processing as a DBOS workflow whose ID is
``event-<id>``, so it runs once however often Stripe delivers it. It returns without waiting.
The workflow runs on the events queue (``services.adapters.jobs``: one event per object at a
time, no Stripe rate limiter) and checkpoints once: apply, then mark the event done.

Processing applies the event to the mirror:

- customer and FC account events (including ``upcoming_deactivation`` and deactivations) go
  through :func:`services.adapters.account_mirror.apply_events`, whose event-``created`` check means an older
  event never overwrites a row a newer one wrote, whatever order they arrive in; an account
  event from the same second as the row's last one (``created`` cannot order them) re-reads
  the account from Stripe instead;
- intent events re-read the intent from Stripe (current state, so order does not matter);
  a PaymentIntent's also keep its debit outcome (settled or returned, with the event's date:
  :mod:`services.usecases.debit_outcomes`), so Returns learns of a return without a sync;
- anything else is stored and marked ``ignored``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dbos import DBOS, SetEnqueueOptions, SetWorkflowID
from sqlalchemy import update
from sqlmodel import col, func, select

from services.adapters import account_mirror as accounts
from services.adapters import jobs as engine
from services.adapters.gateway.webhooks import BadSignature, verify_webhook
from services.adapters.job_models import WebhookEventRecord
from services.adapters.models import AccountRecord, utcnow
from services.adapters.store import retrying, session_scope
from services.auth import Actor, require, signed_in
from services.errors import FcopsError
from services.rules.bank_account import applied_event_created
from services.usecases import debit_outcomes, sync_accounts
from services.usecases import sync_intents as intent_sync

TOLERANCE_SECONDS = 300
ACCOUNT_TYPES = frozenset(accounts.SYNC_EVENTS)
INTENT_TYPES = frozenset(intent_sync.CHANGE_EVENTS)
ENABLED_EVENTS: tuple[str, ...] = (*accounts.SYNC_EVENTS, *intent_sync.CHANGE_EVENTS)

__all__ = [
    "BadSignature",
    "EventRow",
    "Receipt",
    "WebhookStatus",
    "process_event_workflow",
    "receive",
    "recent_events",
    "status",
]


@dataclass(frozen=True)
class Receipt:
    event_id: str
    type: str
    duplicate: bool


def _store(event: Mapping[str, Any]) -> bool:
    """Insert the event unless its id is stored; True when new (else count the redelivery)."""
    svc = engine.bound()

    def work(session: Any) -> bool:
        row = session.get(WebhookEventRecord, str(event["id"]))
        if row is not None:
            row.deliveries += 1
            session.add(row)
            return False
        session.add(
            WebhookEventRecord(
                id=str(event["id"]),
                type=str(event.get("type") or ""),
                created=int(event.get("created") or 0),
                livemode=bool(event.get("livemode")),
                payload=dict(event),
            )
        )
        return True

    new: bool = retrying(svc.engine, work)
    return new


def receive(payload: bytes, signature: str | None, secret: str) -> Receipt:
    """Verify, store once, enqueue processing once. Raises :class:`BadSignature` (→ 400)."""
    event = verify_webhook(payload, signature, secret, tolerance=TOLERANCE_SECONDS)
    new = _store(event)
    partition = str(_object(event).get("id") or event["id"])  # one object's events in turn
    with SetWorkflowID(f"event-{event['id']}"), SetEnqueueOptions(queue_partition_key=partition):
        # By name: DBOS.retrieve_queue would read the queue's row on every delivery.
        DBOS.enqueue_workflow(engine.EVENTS_QUEUE, process_event_workflow, str(event["id"]))
    return Receipt(event_id=str(event["id"]), type=str(event.get("type")), duplicate=not new)


def _object(event: Mapping[str, Any]) -> Mapping[str, Any]:
    data = event.get("data") or {}
    obj = data.get("object") if isinstance(data, Mapping) else None
    return obj if isinstance(obj, Mapping) else {}


def _ties_with_stored(event: Mapping[str, Any]) -> bool:
    """Whether the mirrored account last applied an event created in the same second."""
    with session_scope(engine.bound().engine) as session:
        row = session.get(AccountRecord, str(_object(event).get("id") or ""))
        stamp = applied_event_created(row.raw) if row is not None else None
    return stamp is not None and stamp == int(event.get("created") or 0)


@DBOS.step(name="fcops.webhooks.apply_and_mark", retries_allowed=True, max_attempts=5)
def _apply_and_mark(event_id: str) -> str:
    """Apply the event and mark it done: one step, so one checkpoint per event (a step costs
    DBOS two system-database writes). A crash between the two replays both, which is safe: a
    replayed apply rewrites the same row (newer-event check) and the same snapshot (unique)."""
    outcome = _apply(event_id)
    _mark_row(event_id, outcome, None)
    return outcome


def _apply(event_id: str) -> str:
    svc = engine.bound()
    with session_scope(svc.engine) as session:
        row = session.get(WebhookEventRecord, event_id)
        event = dict(row.payload) if row else None
    if event is None:
        return "missing"
    kind = str(event.get("type"))
    if kind in accounts.ACCOUNT_EVENTS and _ties_with_stored(event):
        # Stripe's ``created`` has one-second resolution: an event from the same second as the
        # one the row last applied cannot be ordered by it, so read the account as it is now.
        began = accounts.read_mark(svc.engine)  # before the read (see accounts.read_mark)
        fresh = svc.gateway.retrieve_account(str(_object(event)["id"]))
        accounts.upsert_account(svc.engine, fresh, read_began=began, event=True)
        return "processed"
    if kind in ACCOUNT_TYPES:  # a copy rendered in another API version is read again
        changes = accounts.changes_in([event])
        sync_accounts.reread(svc, changes)
        accounts.apply_changes(svc.engine, changes)
        return "processed"
    if kind in INTENT_TYPES:
        intent_id = str(_object(event).get("id") or "")
        if intent_id.startswith("pi_"):
            # Its latest charge too (same request): once Stripe cleared last_payment_error (the
            # intent was updated after its return) the charge alone says why it came back.
            intent = svc.gateway.retrieve_payment_intent(
                intent_id, expand=intent_sync.PAYMENT_EXPAND  # as debit_outcomes reads it
            )
        else:
            intent = svc.gateway.retrieve_setup_intent(intent_id, expand=intent_sync.SETUP_EXPAND)
        succeeded = int(event["created"]) if kind in intent_sync.SUCCESS_EVENTS else None
        # read and stored as the intent sync lists it (a failed charge's failure fields, another
        # charge by ID: intent_fields.kept_charge), so its next run sees no change
        intent_sync.store_intent(svc.engine, intent, succeeded_at=succeeded)
        if intent_id.startswith("pi_"):  # the debit's outcome: the event's date, then as it is now
            debit_outcomes.record_event(svc.engine, event)
            debit_outcomes.record_payment_intent(svc.engine, intent, at=svc.now())
        return "processed"
    return "ignored"


@DBOS.step(name="fcops.webhooks.mark")
def _mark(event_id: str, outcome: str, error: str | None) -> None:
    _mark_row(event_id, outcome, error)


def _mark_row(event_id: str, outcome: str, error: str | None) -> None:
    """One UPDATE by id (loading the row would decode its payload again)."""
    table = WebhookEventRecord.__table__  # type: ignore[attr-defined]
    with session_scope(engine.bound().engine) as session:
        session.execute(
            update(table)
            .where(table.c.id == event_id)
            .values(status=outcome, error=error, processed_at=utcnow())
        )


@DBOS.workflow(name="fcops.webhooks.process")
def process_event_workflow(event_id: str) -> str:
    try:
        return _apply_and_mark(event_id)
    except Exception as err:
        reason = str(err) if isinstance(err, FcopsError) else type(err).__name__
        _mark(event_id, "failed", reason)
        return "failed"


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class WebhookStatus:
    last_received_at: datetime | None
    last_type: str | None
    backlog: int  # stored, not yet processed
    failed: int


def status(actor: Actor) -> WebhookStatus:
    """The last webhook received and the event backlog (every signed-in role's home shows
    these; they hold no customer data)."""
    signed_in(actor)
    svc = engine.bound()
    with session_scope(svc.engine) as session:
        last = session.exec(
            select(WebhookEventRecord).order_by(col(WebhookEventRecord.received_at).desc()).limit(1)
        ).first()
        counts = dict(  # the few waiting or failed, on the status index (never every event)
            session.exec(
                select(WebhookEventRecord.status, func.count())
                .where(col(WebhookEventRecord.status).in_(["received", "failed"]))
                .group_by(WebhookEventRecord.status)
            ).all()
        )
    return WebhookStatus(
        last_received_at=last.received_at if last else None,
        last_type=last.type if last else None,
        backlog=int(counts.get("received", 0)),
        failed=int(counts.get("failed", 0)),
    )


@dataclass(frozen=True)
class EventRow:
    id: str
    type: str
    status: str
    deliveries: int
    error: str | None
    created: int
    received_at: datetime
    processed_at: datetime | None


def recent_events(actor: Actor, limit: int = 50) -> list[EventRow]:
    """The newest webhook events received, for the admin Jobs view (``jobs.view``)."""
    require(actor, "jobs.view")
    svc = engine.bound()
    with session_scope(svc.engine) as session:
        rows = session.exec(
            select(WebhookEventRecord)
            .order_by(col(WebhookEventRecord.received_at).desc())
            .limit(limit)
        ).all()
        return [
            EventRow(
                id=r.id, type=r.type, status=r.status, deliveries=r.deliveries, error=r.error,
                created=r.created, received_at=r.received_at, processed_at=r.processed_at,
            )
            for r in rows
        ]
