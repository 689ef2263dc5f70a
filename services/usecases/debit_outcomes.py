"""The mirror of ACH debit outcomes: did each debit settle or come back, and why.

Rows in ``debit_outcomes`` come from PaymentIntent events (``payment_intent.processing``,
``.succeeded``, ``.payment_failed``: a webhook or the event list) and from the intent sync's
listing, one upsert per debit by id. Each write carries the Stripe time it describes
(``observed_at``: the event's ``created``, or the moment of a listing); the state columns
follow the newest observation, so replaying an event or receiving them out of order changes
nothing, while dates learnt from any event (processing, settled, returned) are kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from services.adapters import (
    data_version,
    debit_chains,
    last_checks,
    latest_blocks,
    original_dates,
    row_locks,
    verdict_days,
)
from services.adapters.backoff import REQUEST_RETRY, patiently
from services.adapters.models import DebitOutcomeRecord, utcnow
from services.adapters.store import (
    mark_sync,
    never_finished,
    read_sync_cursor,
    retrying,
    rows_since,
    session_scope,
    upsert,
)
from services.audit import audited
from services.auth import Actor, require, signed_in
from services.context import Services
from services.rules.nacha import Return
from services.rules.returns import Outcome, attempt_error, outcome_of, sync_words

__all__ = [
    "EXPAND",
    "OUTCOME_EVENTS",
    "OutcomeSync",
    "count_behind",
    "load_behind",
    "outcome_from_row",
    "load_outcomes",
    "needs_first_sync",
    "record_event",
    "record_payment_intent",
    "sync_outcomes",
    "window_debits",
]

OUTCOME_EVENTS = (
    "payment_intent.processing",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
)
# What a PaymentIntent is read with for its debit outcome: the payment method (institution, FC
# account, block) and the latest charge, whose failure_code is all that still says why a debit
# came back once Stripe cleared last_payment_error (the intent was updated after its return:
# rules.returns.attempt_error). Expanding costs no request: a list page stays one call.
EXPAND = ("payment_method", "latest_charge")
SYNC_NAME = "debit_outcomes"
WINDOW_SECONDS = 90 * 86_400
STATE = (
    "status",
    "failure_code",
    "return_code",
    "category",
    "blocked_reason",
    "blocked_code",
    "observed_at",
)
DATES = ("processing_at", "settled_at", "returned_at")
DESCRIPTIVE = (
    "customer_id",
    "payment_method",
    "account_id",
    "institution",
    "last4",
    "verification_method",
    "flow",
)
Progress = Callable[[int, int | None, str], None]
_RANK = {"pending": 0, "settled": 1, "returned": 2}


def _values(
    outcome: Outcome, pi: Mapping[str, Any], *, at: int, event_type: str | None
) -> dict[str, Any]:
    error = attempt_error(pi)  # last_payment_error, else its latest charge's failure
    values: dict[str, Any] = {
        "id": outcome.id,
        "original_id": outcome.original,
        "customer_id": outcome.customer,
        "payment_method": outcome.payment_method,
        "account_id": outcome.account,
        "institution": outcome.institution,
        "last4": outcome.last4,
        "verification_method": outcome.verification_method,
        "flow": outcome.flow,
        "amount": outcome.amount,
        "currency": outcome.currency,
        "created": outcome.created,
        "status": outcome.status,
        "failure_code": error.get("code") if outcome.ret else None,
        "return_code": outcome.return_code,
        "category": outcome.category,
        "blocked_reason": outcome.blocked_reason,
        "blocked_code": outcome.blocked_code,
        "processing_at": None,
        "settled_at": None,
        "returned_at": None,
        "observed_at": at,
    }
    # The date each state was reached: exact from its event, else the observation's time.
    if event_type == "payment_intent.processing" or outcome.status == "pending":
        values["processing_at"] = at
    if outcome.status == "settled":
        values["settled_at"] = at
    if outcome.status == "returned":
        values["returned_at"] = at
    return values


def _merge(stored: Mapping[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """Newest observation wins the state; every date keeps its earliest known value."""
    merged = dict(incoming)
    newer = (incoming["observed_at"], _RANK[incoming["status"]]) >= (
        stored["observed_at"],
        _RANK.get(stored["status"], 0),
    )
    if not newer:
        merged.update({k: stored[k] for k in STATE})
    for k in DESCRIPTIVE:  # an unexpanded event knows less about the account: keep what we know
        if merged.get(k) is None:
            merged[k] = stored.get(k)
    for k in DATES:
        known = [t for t in (stored.get(k), incoming.get(k)) if t is not None]
        merged[k] = min(known) if known else None
    return merged


def _put(session: Session, rows: list[dict[str, Any]]) -> str:
    ids = [r["id"] for r in rows]
    # before the write, locked for it: where these debits were kept (a chain, a day or a block
    # can move; read unlocked, another writer's commit in between went uncounted)
    row_locks.lock_rows(session, DebitOutcomeRecord.__table__, "id", ids)  # type: ignore[attr-defined]
    was = _kept_keys(session, ids)
    chains = was.chains | {r["original_id"] for r in rows}
    counts = upsert(
        session,
        DebitOutcomeRecord,
        rows,
        compare=[c for c in rows[0] if c not in ("id", "observed_at")],
        touch={"synced_at": utcnow()},
        merge=_merge,
    )
    if counts.outcome in ("inserted", "updated"):
        # a sync started later is a new job, and the Returns page's figures are stale
        data_version.bump(session, data_version.OUTCOMES)
        last_checks.refresh_debits(session, [r["id"] for r in rows])
        original_dates.refresh_debits(session, [r["id"] for r in rows])
        # The rows the return rates count. After the bump: its row lock makes outcome writers
        # take turns from there to their commit on PostgreSQL, so a chain written by two at
        # once (a retry's return and its original) is counted by the later one whole.
        debit_chains.refresh(session, chains)
        now = _kept_keys(session, ids)  # the same, after the write: where each was and is kept
        verdict_days.recount(session, was.days | now.days, was.headroom | now.headroom)
        if was.blocks or now.blocks:  # the payment methods blocked before or after
            latest_blocks.refresh(session, was.blocks | now.blocks)
    return counts.outcome


@dataclass(frozen=True)
class _Keys:
    chains: set[str]  # the chains of the debits written
    days: set[int]  # the verdict days of those debits and of the attempts naming them
    headroom: set[int]  # of those days, the ones where such a debit is in the headroom table
    blocks: set[str]  # the payment methods of those debits that are blocked


def _kept_keys(session: Session, ids: list[str]) -> _Keys:
    """Where the debits ``ids`` (and the attempts naming them as their original, whose date
    follows theirs) are counted in the figures kept at write time, in one read."""
    record = DebitOutcomeRecord.__table__.c  # type: ignore[attr-defined]
    table = DebitOutcomeRecord.__table__  # type: ignore[attr-defined]
    stmt = sa_select(
        record.id,
        record.original_id,
        verdict_days.day_of(table).label("day"),
        verdict_days.counted_in_headroom(table).label("headroom"),
        latest_blocks.key(table).label("payment_key"),
        record.blocked_reason,
    ).where(or_(record.id.in_(ids), record.original_id.in_(ids)))
    rows = session.execute(stmt).all()
    written = set(ids)
    return _Keys(
        chains={r.original_id for r in rows if r.id in written},
        days={int(r.day) for r in rows if r.day is not None},
        headroom={int(r.day) for r in rows if r.day is not None and r.headroom},
        blocks={r.payment_key for r in rows if r.id in written and r.blocked_reason is not None},
    )


def record_payment_intent(
    engine: Engine, pi: Mapping[str, Any], *, at: int, event_type: str | None = None
) -> str:
    """Keep one PaymentIntent's debit outcome as seen at Stripe time ``at``: 'inserted',
    'updated', 'unchanged', or 'skipped' when it is no ACH debit (card, never confirmed…)."""
    result: str = retrying(
        engine, lambda s: put_payment_intent(s, pi, at=at, event_type=event_type)
    )
    return result


def put_payment_intent(
    session: Session, pi: Mapping[str, Any], *, at: int, event_type: str | None = None
) -> str:
    """:func:`record_payment_intent` inside the caller's transaction (a sync writes a page of
    intents in one)."""
    outcome = outcome_of(pi)
    if outcome is None:
        return "skipped"
    return _put(session, [_values(outcome, pi, at=at, event_type=event_type)])


def put_payment_intents(session: Session, pis: Sequence[Mapping[str, Any]], *, at: int) -> None:
    """:func:`put_payment_intent` for a page of PaymentIntents: one bulk upsert per shape of
    row (``_put`` compares the columns its first row names)."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for pi in pis:
        if (outcome := outcome_of(pi)) is not None:
            values = _values(outcome, pi, at=at, event_type=None)
            shapes.setdefault(tuple(sorted(values)), []).append(values)
    for rows in shapes.values():
        _put(session, rows)


def record_event(engine: Engine, event: Mapping[str, Any]) -> str:
    """Keep the outcome a ``payment_intent.*`` event reports (a webhook calls this)."""
    if event.get("type") not in OUTCOME_EVENTS:
        return "skipped"
    obj = (event.get("data") or {}).get("object")
    if not isinstance(obj, Mapping):
        return "skipped"
    return record_payment_intent(
        engine, obj, at=int(event["created"]), event_type=str(event["type"])
    )


@dataclass(frozen=True)
class OutcomeSync:
    events: int
    intents: int
    inserted: int
    updated: int
    unchanged: int
    message: str


_WEIGHT = {"skipped": 0, "unchanged": 1, "updated": 2, "inserted": 3}


def _note(seen: dict[str, str], intent_id: str | None, outcome: str) -> None:
    """Count each debit once per run, by the most it changed: an event inserts a row that the
    expanded intent read right after updates, and that debit is one new debit."""
    if intent_id and _WEIGHT[outcome] >= _WEIGHT[seen.get(intent_id, "skipped")]:
        seen[intent_id] = outcome


def _object_id(event: Mapping[str, Any]) -> str | None:
    obj = (event.get("data") or {}).get("object")
    return str(obj["id"]) if isinstance(obj, Mapping) and obj.get("id") else None


def needs_first_sync(svc: Services, actor: Actor) -> bool:
    """True when the outcomes were never synced and this actor may sync them (the first visit
    to Returns or Blocked accounts starts the sync as a job)."""
    # the row Returns reads for "last synced"
    return signed_in(actor).can("returns.sync") and never_finished(svc.engine, SYNC_NAME)


def sync_outcomes(
    svc: Services,
    actor: Actor,
    *,
    full: bool = False,
    progress: Progress | None = None,
    patient: bool = False,
) -> OutcomeSync:
    """Read PaymentIntent outcome events since the cursor, then the intents they name with their
    payment method and latest charge expanded (:data:`EXPAND`); on the first run (or ``full``)
    also every PaymentIntent created in the last 90 days, listed so expanded, since Stripe's
    event list reaches back 30 days only (audited ``returns.sync``). ``progress(done, total,
    message)`` hears how far it got (a job's row). ``patient`` (the job) asks again for a page
    or intent Stripe failed to answer, as the intent sync's does (:func:`services.usecases.sync_intents.sync_intents`)."""
    report = progress or (lambda done, total, message: None)
    retry = REQUEST_RETRY if patient else None
    with audited(svc.engine, actor=actor, action="returns.sync", params={"full": full}) as ctx:
        require(actor, "returns.sync")
        report(0, None, "Reading payment events from Stripe…")
        now = svc.now()
        cursor = None if full else read_sync_cursor(svc.engine, SYNC_NAME)
        since = cursor if cursor is not None else now - WINDOW_SECONDS
        events = sorted(
            svc.gateway.iter_events(types=OUTCOME_EVENTS, created_gte=since, page_retry=retry),
            key=lambda e: int(e["created"]),
        )
        seen: dict[str, str] = {}  # PaymentIntent -> what this run did to its debit, at most
        for event in events:
            _note(seen, _object_id(event), record_event(svc.engine, event))
        # Events carry the intent unexpanded: read each named intent once more, expanded, for
        # the payment method (institution, FC account, block) and the latest charge (EXPAND).
        named = {str((e.get("data") or {}).get("object", {}).get("id")) for e in events}
        named.discard("None")
        for n, intent_id in enumerate(sorted(named), 1):
            pi = patiently(
                partial(svc.gateway.retrieve_payment_intent, intent_id, expand=EXPAND),
                retry,
            )
            _note(seen, intent_id, record_payment_intent(svc.engine, pi, at=now))
            report(n, len(named), f"{n:,} of {len(named):,} changed PaymentIntents read")
        if cursor is None:
            # Stripe keeps events for 30 days only: on the first (or a full) run, the debits of
            # the whole window are read from the PaymentIntent list itself.
            listed = svc.gateway.iter_payment_intents(
                created_gte=since, expand=EXPAND, page_retry=retry
            )
            for pi in listed:
                if str(pi.get("id")) not in named:
                    named.add(str(pi.get("id")))
                    _note(seen, str(pi.get("id")), record_payment_intent(svc.engine, pi, at=now))
                    report(len(named), None, f"{len(named):,} PaymentIntents read")
        tally = Counter(seen.values())
        newest = max((int(e["created"]) for e in events), default=since)
        mark_sync(
            svc.engine,
            SYNC_NAME,
            cursor=str(max(since, newest - 2 * 86_400)),
            last_finished_at=utcnow(),
        )
        message = sync_words(len(events), len(named), tally)
        ctx.params.update({"events": len(events), "intents": len(named)})
        ctx.message = message
        return OutcomeSync(
            len(events),
            len(named),
            tally["inserted"],
            tally["updated"],
            tally["unchanged"],
            message,
        )


def outcome_from_row(row: Any) -> Outcome:
    """From a stored row (a record, or a plain row of its columns: no ORM objects to build)."""
    ret = None
    if row.status == "returned" and row.return_code and row.category:
        ret = Return(row.failure_code or "", tuple(row.return_code.split("/")), row.category)
    return Outcome(
        id=row.id,
        created=row.created,
        amount=row.amount,
        currency=row.currency,
        customer=row.customer_id,
        payment_method=row.payment_method,
        account=row.account_id,
        institution=row.institution,
        last4=row.last4,
        verification_method=row.verification_method,
        flow=row.flow,
        status=row.status,
        ret=ret,
        retry_of=None if row.original_id == row.id else row.original_id,
        blocked_reason=row.blocked_reason,
        blocked_code=row.blocked_code,
    )


def load_outcomes(engine: Engine, *, since: int | None = None) -> list[Outcome]:
    """Stored debits (created at or after ``since``), oldest first."""
    rows = rows_since(engine, DebitOutcomeRecord, DebitOutcomeRecord.created, since)
    return [outcome_from_row(r) for r in rows]


def stored_rows(engine: Engine, ids: Iterable[str]) -> dict[str, DebitOutcomeRecord]:
    with session_scope(engine) as session:
        rows = session.exec(
            select(DebitOutcomeRecord).where(col(DebitOutcomeRecord.id).in_(list(ids)))
        )
        return {r.id: r for r in rows}


def load_attempts(engine: Engine, original_id: str) -> list[Outcome]:
    """A debit and its re-initiations, oldest first."""
    with session_scope(engine) as session:
        query = (
            select(DebitOutcomeRecord)
            .where(col(DebitOutcomeRecord.original_id) == original_id)
            .order_by(col(DebitOutcomeRecord.created), col(DebitOutcomeRecord.id))
        )
        rows = [outcome_from_row(r) for r in session.exec(query)]
    return sorted(
        rows, key=lambda o: (o.created, o.retry_of is not None)
    )  # original first on a tie


def window_debits(
    table: Any, *, since: int, start: int, end: int, complete: bool = False
) -> tuple[Any, list[Any]]:
    """The FROM clause and conditions that select the attempts (rows of ``table``, the debit
    outcomes or an alias of them, created since ``since``) whose original was made from
    ``start`` to ``end`` (the attempt's own date when its original is older than ``since``)."""
    # kept on the attempt: no join to the original (``complete``: every row computed)
    dated = original_dates.dated(table, since, complete=complete)
    return table, [table.c.created >= since, dated >= start, dated <= end]


def _behind(
    conn: Any, since: int, start: int, end: int, category: str | None, group: Any
) -> tuple[Any, list[Any]]:
    """The rows :func:`load_behind` and :func:`count_behind` read: FROM and WHERE."""
    record = DebitOutcomeRecord.__table__.c  # type: ignore[attr-defined]
    table = DebitOutcomeRecord.__table__  # type: ignore[attr-defined]
    complete = not original_dates.missing(conn)
    joined, where = window_debits(table, since=since, start=start, end=end, complete=complete)
    if category is not None:
        where += [
            record.status == "returned",
            record.return_code.is_not(None),
            record.category.is_not(None),
        ]
        if category != "overall":
            where.append(record.category == category)
    if group is not None:
        column, value = group
        where.append(func.coalesce(func.nullif(record[column], ""), "unknown") == value)
    return joined, where


def load_behind(
    engine: Engine,
    *,
    since: int,
    start: int,
    end: int,
    category: str | None = None,
    group: tuple[str, str] | None = None,
    limit: int | None = None,
) -> tuple[list[Outcome], int]:
    """The attempts (created since ``since``) whose original was made from ``start`` to ``end``
    (the attempt's own date when its original is older than ``since``), newest first, at most
    ``limit``, and how many there are: only the returns of ``category`` ("overall": any), only
    those whose ``group`` column (verification_method, institution, flow) has that value
    ("unknown": empty). What ``rules.returns.in_window`` and ``matches`` select in Python."""
    record = DebitOutcomeRecord.__table__.c  # type: ignore[attr-defined]
    table = DebitOutcomeRecord.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        joined, where = _behind(conn, since, start, end, category, group)
        stmt = sa_select(table).select_from(joined).where(*where)
        stmt = stmt.order_by(record.created.desc(), record.id)
        rows = conn.execute(stmt if limit is None else stmt.limit(limit)).all()
        total = conn.execute(sa_select(func.count()).select_from(joined).where(*where)).scalar()
    return [outcome_from_row(r) for r in rows], int(total or 0)


def count_behind(
    engine: Engine,
    *,
    since: int,
    start: int,
    end: int,
    category: str | None = None,
    group: tuple[str, str] | None = None,
) -> tuple[int, int]:
    """(payments, debits) among :func:`load_behind`'s attempts: every PaymentIntent sent, and
    the debits as the rates count them, an original and its retries once."""
    record = DebitOutcomeRecord.__table__.c  # type: ignore[attr-defined]
    with engine.connect() as conn:
        joined, where = _behind(conn, since, start, end, category, group)
        counts = sa_select(func.count(), func.count(func.distinct(record.original_id)))
        payments, debits = conn.execute(counts.select_from(joined).where(*where)).one()
    return int(payments or 0), int(debits or 0)
