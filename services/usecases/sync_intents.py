"""A manager (or the worker) mirrors SetupIntents and PaymentIntents into the store.

The conversion report reads ``intents`` rows, never Stripe, so filters and charts stay fast
(:mod:`services.usecases.conversion_report`). The sync is incremental by ``created``: each run
lists intents created since the stored cursor, which is the newest ``created`` seen minus an
overlap window, so intents still moving (microdeposits take days, §6.2) are listed again and
their new status lands. Intents older than the window whose status changed are found through
their lifecycle events (§5.1) and retrieved one by one. Success times come from
``setup_intent.succeeded`` and ``payment_intent.processing`` / ``.succeeded`` events, which is
when a payment method became usable. Every write is an upsert by intent id, so re-running a
sync is always safe.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from itertools import chain
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.adapters import data_version, intent_days
from services.adapters.backoff import REQUEST_RETRY, Backoff, patiently
from services.adapters.models import IntentRecord, utcnow
from services.adapters.read_ahead import ReadAhead
from services.adapters.store import (
    UpsertCounts,
    mark_finished,
    mark_sync,
    never_finished,
    read_sync_cursor,
    retrying,
    upsert,
)
from services.audit import audited
from services.auth import Actor, require, signed_in
from services.context import Services
from services.rules import funnel
from services.rules.intent_fields import UNKNOWN_FLOW, intent_values, is_bank_intent, kind_of
from services.usecases.debit_outcomes import EXPAND, put_payment_intents, record_payment_intent

__all__ = [
    "FULL_WINDOW_SECONDS",
    "OVERLAP_SECONDS",
    "SYNC_NAME",
    "UNKNOWN_FLOW",
    "SyncResult",
    "needs_first_sync",
    "record_values",
    "store_intent",
    "sync_intents",
]

SYNC_NAME = "intents"
PAGE = 100  # intents written per transaction (one Stripe list page)
READ_AHEAD_PAGES = 2  # pages the lists may be read ahead of the writes
OVERLAP_SECONDS = 10 * 86_400
FULL_WINDOW_SECONDS = 90 * 86_400
SUCCESS_EVENTS = ("setup_intent.succeeded", "payment_intent.processing", "payment_intent.succeeded")
CHANGE_EVENTS = (
    *SUCCESS_EVENTS,
    "setup_intent.requires_action",
    "setup_intent.setup_failed",
    "setup_intent.canceled",
    "payment_intent.requires_action",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
)
# What the lists and re-reads expand (in the same request). A PaymentIntent's latest charge too:
# once Stripe cleared last_payment_error (the intent was updated after a failed debit) only its
# failed charge says the attempt failed and with which payment method (funnel, attempt_error);
# the store keeps that charge's failure fields only (intent_fields.kept_charge). SetupIntents
# make no charge.
SETUP_EXPAND: tuple[str, ...] = ("payment_method",)
PAYMENT_EXPAND: tuple[str, ...] = EXPAND  # ("payment_method", "latest_charge")
Progress = Callable[[int, int | None, str], None]


def needs_first_sync(svc: Services, actor: Actor) -> bool:
    """True when the intents were never synced and this actor may sync them (the first visit
    to Collect starts the sync as a job, so its lists are not empty for want of one)."""
    return signed_in(actor).can("intents.sync") and never_finished(svc.engine, SYNC_NAME)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class SyncResult:
    """What one sync did, in numbers a person can check against Stripe."""

    full: bool
    since: int  # intents created at or after this Unix time were listed
    fetched: int
    inserted: int
    updated: int
    unchanged: int
    setup_intents: int
    payment_intents: int
    success_times: int  # success events read
    cursor_after: int
    seconds: float
    message: str


# --------------------------------------------------------------------------- mirror


def _keep_earliest_success(stored: Mapping[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Keep the earliest known moment: a later sync may see only the PI's `succeeded` event
    after having seen its earlier `processing` one."""
    moments = [t for t in (stored.get("succeeded_at"), values.get("succeeded_at")) if t is not None]
    return {**values, "succeeded_at": min(moments) if moments else None}


def _put(session: Session, values: dict[str, Any]) -> str:
    """Insert or update one row; returns 'inserted', 'updated' or 'unchanged'."""
    before = intent_days.facts_of(session, [values["id"]])
    counts = upsert(
        session, IntentRecord, [values], touch={"synced_at": utcnow()}, merge=_keep_earliest_success
    )
    if counts.outcome != "unchanged":
        data_version.bump(session, data_version.INTENTS)  # pages' cached figures are stale
        _count_days_again(session, before, [values])
    return counts.outcome


def _count_days_again(
    session: Session, before: dict[str, tuple[Any, ...]], rows: list[dict[str, Any]]
) -> None:
    """The day counts of the groups the rows left or joined (after the version bump)."""
    intent_days.refresh(session, intent_days.moved(before, rows))


def record_values(intent: Mapping[str, Any], *, succeeded_at: int | None = None) -> dict[str, Any]:
    """The ``IntentRecord`` columns, with the funnel facts classified now (write time)."""
    return {**intent_values(intent, succeeded_at=succeeded_at), **funnel.stored_facts(intent)}


def store_intent(
    engine: Engine, intent: Mapping[str, Any], *, succeeded_at: int | None = None
) -> str:
    """Upsert one intent (the collection page calls this after creating or changing one)."""
    if not is_bank_intent(intent):
        return "skipped"
    values = record_values(intent, succeeded_at=succeeded_at)
    result: str = retrying(engine, lambda s: _put(s, values))
    return result


def store_page(
    engine: Engine, intents: list[dict[str, Any]], times: Mapping[str, int], now: int
) -> UpsertCounts:
    """Upsert a page of intents (and the debit outcomes of its PaymentIntents) in one
    transaction: one bulk upsert each, one data-version bump. Counts the bank intents only."""
    pis = [i for i in intents if kind_of(i) == "payment_intent"]  # debit outcomes, as listed now
    rows = [
        record_values(i, succeeded_at=times.get(i["id"])) for i in intents if is_bank_intent(i)
    ]

    def work(session: Session) -> UpsertCounts:
        put_payment_intents(session, pis, at=now)
        before = intent_days.facts_of(session, [r["id"] for r in rows])
        counts = upsert(
            session, IntentRecord, rows, touch={"synced_at": utcnow()},
            merge=_keep_earliest_success,
        )
        if counts.inserted or counts.updated:
            data_version.bump(session, data_version.INTENTS)  # pages' cached figures are stale
            _count_days_again(session, before, rows)
        return counts

    if not intents:
        return UpsertCounts()
    result: UpsertCounts = retrying(engine, work)
    return result


# --------------------------------------------------------------------------- sync


def _event_object(event: Mapping[str, Any]) -> Mapping[str, Any]:
    data = event.get("data") or {}
    obj = data.get("object") if isinstance(data, Mapping) else None
    return obj if isinstance(obj, Mapping) else {}


def _success_times(events: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Earliest moment each intent became usable (SI succeeded; PI processing or succeeded)."""
    times: dict[str, int] = {}
    for event in events:
        intent_id = _event_object(event).get("id")
        if not intent_id or event.get("type") not in SUCCESS_EVENTS:
            continue
        moment = int(event["created"])
        times[str(intent_id)] = min(moment, times.get(str(intent_id), moment))
    return times


def _listed(
    svc: Services, since: int, request_ids: list[str | None], retry: Backoff | None
) -> Iterator[list[dict[str, Any]]]:
    """SetupIntents, then PaymentIntents, created since ``since``, in pages of ``PAGE``. Run on
    the read-ahead thread, which notes its last Request-Id for the audit row (the gateway keeps
    it per thread)."""
    gw = svc.gateway
    page: list[dict[str, Any]] = []
    for intent in chain(
        gw.iter_setup_intents(created_gte=since, expand=SETUP_EXPAND, page_retry=retry),
        gw.iter_payment_intents(created_gte=since, expand=PAYMENT_EXPAND, page_retry=retry),
    ):
        page.append(intent)
        if len(page) == PAGE:
            yield page
            page = []
    if page:
        yield page
    request_ids.append(gw.last_request_id)


def _retrieve(svc: Services, intent_id: str, retry: Backoff | None) -> dict[str, Any]:
    gw = svc.gateway
    if intent_id.startswith("pi_"):
        read, expand = gw.retrieve_payment_intent, PAYMENT_EXPAND
    else:
        read, expand = gw.retrieve_setup_intent, SETUP_EXPAND
    return patiently(partial(read, intent_id, expand=expand), retry)


@dataclass
class _Tally:
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    setup_intents: int = 0
    payment_intents: int = 0
    newest: int = 0

    def add(self, intent: Mapping[str, Any], outcome: str) -> None:
        if outcome == "skipped":
            return
        self.fetched += 1
        setattr(self, outcome, getattr(self, outcome) + 1)
        if kind_of(intent) == "setup_intent":
            self.setup_intents += 1
        else:
            self.payment_intents += 1
        self.newest = max(self.newest, int(intent["created"]))

    def add_page(self, intents: list[dict[str, Any]], counts: UpsertCounts) -> None:
        """A page written by :func:`store_page` (its counts are of the bank intents)."""
        bank = [i for i in intents if is_bank_intent(i)]
        self.fetched += len(bank)
        self.inserted += counts.inserted
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        self.setup_intents += sum(1 for i in bank if kind_of(i) == "setup_intent")
        self.payment_intents += sum(1 for i in bank if kind_of(i) != "setup_intent")
        self.newest = max([self.newest, *(int(i["created"]) for i in bank)])


def sync_intents(
    svc: Services,
    actor: Actor,
    *,
    progress: Progress | None = None,
    full: bool = False,
    patient: bool = False,
) -> SyncResult:
    """Mirror recent SetupIntents and PaymentIntents (audited ``intents.sync``); safe to re-run.

    ``progress(done, total, message)`` is called as intents arrive; Stripe lists give no total,
    so ``total`` is None until the end. ``full=True`` rescans the last 90 days. ``patient`` (the
    jobs, which every page starts) asks again for a page or intent Stripe failed to answer
    (``REQUEST_RETRY``), so faults slow the sync down instead of making it start over; without
    it the first failed read ends the sync (an error row, the cursor unmoved).
    """
    report = progress or (lambda done, total, message: None)
    retry = REQUEST_RETRY if patient else None

    with audited(svc.engine, actor=actor, action="intents.sync", params={"full": full}) as ctx:
        require(actor, "intents.sync")
        started = time.monotonic()
        now = svc.now()
        cursor = None if full else read_sync_cursor(svc.engine, SYNC_NAME)
        since = cursor if cursor is not None else now - FULL_WINDOW_SECONDS
        mark_sync(svc.engine, SYNC_NAME, last_started_at=utcnow())
        report(0, None, "Reading success events from Stripe…")
        tally = _Tally()
        seen: set[str] = set()
        request_ids: list[str | None] = []
        events = list(
            svc.gateway.iter_events(types=CHANGE_EVENTS, created_gte=since, page_retry=retry)
        )
        times = _success_times(events)
        # The lists' next pages are read (one request at a time, as inline) while each page is
        # written.
        listed = _listed(svc, since, request_ids, retry)
        with ReadAhead(listed, depth=READ_AHEAD_PAGES, name="fcops-intents") as pages:
            for page in pages:  # written a list page (100) per transaction
                seen.update(str(intent["id"]) for intent in page)
                tally.add_page(page, store_page(svc.engine, page, times, now))
                report(tally.fetched, None, f"{tally.fetched:,} intents read")
        # Intents created before the window whose status moved since: their events name them.
        named = {_event_object(e).get("id") for e in events}
        moved = {str(i) for i in named if i} - seen
        for intent_id in sorted(moved):
            intent = _retrieve(svc, intent_id, retry)
            if kind_of(intent) == "payment_intent":
                record_payment_intent(svc.engine, intent, at=now)
            tally.add(intent, store_intent(svc.engine, intent, succeeded_at=times.get(intent_id)))
        cursor_after = max(since, tally.newest - OVERLAP_SECONDS) if tally.newest else since
        seconds = round(time.monotonic() - started, 2)
        details = {
            "fetched": tally.fetched,
            "inserted": tally.inserted,
            "updated": tally.updated,
            "unchanged": tally.unchanged,
            "since": since,
            "full": cursor is None,
        }
        mark_finished(svc.engine, SYNC_NAME, str(cursor_after), details, seconds)
        message = (
            f"Read {tally.fetched:,} intents ({tally.setup_intents:,} SetupIntents, "
            f"{tally.payment_intents:,} PaymentIntents): {tally.inserted:,} new, "
            f"{tally.updated:,} changed, {tally.unchanged:,} unchanged."
        )
        # The last request: a retrieve of a moved intent, else the lists' last (made on the
        # read-ahead thread), else the events'.
        listed_last = request_ids[-1] if request_ids else None
        ctx.request_id = (
            svc.gateway.last_request_id if moved else listed_last or svc.gateway.last_request_id
        )
        ctx.params.update(details)
        ctx.message = message
        report(tally.fetched, tally.fetched, message)
        return SyncResult(
            full=cursor is None,
            since=since,
            fetched=tally.fetched,
            inserted=tally.inserted,
            updated=tally.updated,
            unchanged=tally.unchanged,
            setup_intents=tally.setup_intents,
            payment_intents=tally.payment_intents,
            success_times=len(times),
            cursor_after=cursor_after,
            seconds=seconds,
            message=message,
        )
