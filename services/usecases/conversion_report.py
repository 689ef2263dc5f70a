"""A manager reads conversion by verification method from the intents the sync mirrored.

Filters run in SQL on the stored intents (never Stripe), so filters and charts stay fast; the
funnel itself is the pure rule in :mod:`services.rules.funnel`. The page calls :func:`report`
and :func:`store_status`, which check the role; the engine-level functions below them are for
the overview and the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any, TypedDict, Unpack

import pandas as pd
from sqlalchemy import case, literal, literal_column, true, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from services.adapters import data_version, intent_days
from services.adapters.models import IntentRecord, SyncState
from services.adapters.store import session_scope
from services.audit import audited
from services.auth import Actor, require
from services.context import Services
from services.errors import ValidationError
from services.rules import funnel, input_limits
from services.rules.chart_data import with_settled
from services.rules.clock import as_utc, unix_seconds
from services.rules.intent_fields import UNKNOWN_FLOW
from services.rules.spreadsheet import frame_csv
from services.usecases.sync_intents import SYNC_NAME


@dataclass(frozen=True)
class StoreSummary:
    """What the stored intents add up to; changes only with the intents' data version."""

    intents: int
    flows: list[str]
    methods: list[str]
    first_created: int | None
    last_created: int | None


@dataclass(frozen=True)
class StoreInfo:
    """How much the store holds and when it was last synced (for the page's sync decision)."""

    intents: int
    flows: list[str]
    methods: list[str]
    first_created: int | None
    last_created: int | None
    last_finished_at: datetime | None
    cursor: int | None
    version: int = 0  # the intents' data version: the page's cached figures key on it
    store: str = ""  # which store (its URL without password), the other half of that key


@dataclass(frozen=True)
class Report:
    """What the conversion page draws: the funnel per method and per week (SQL aggregates).

    Downloads are :func:`figures_csv`, built on the click (a rerun never touches every stored
    intent) and audited.
    """

    funnel: pd.DataFrame
    weekly: pd.DataFrame


def store_status(svc: Services, actor: Actor, *, summary: StoreSummary | None = None) -> StoreInfo:
    """How much the store holds and when it was last synced (managers and admins).

    ``summary``: what :func:`store_summary` read for the current data version (a page caches
    it), so only the sync state and the version are read here."""
    require(actor, "conversion.view")
    return store_info(svc.engine, summary=summary)


def store_summary(svc: Services, actor: Actor) -> StoreSummary:
    """How many intents, their flows, methods and first and last creation (scans the intents'
    index, so a page caches it on :func:`intents_version`)."""
    require(actor, "conversion.view")
    return summarise(svc.engine)


def intents_version(svc: Services, actor: Actor) -> tuple[str, int]:
    """(the store, the intents' data version): what the page's caches key on. One row read."""
    require(actor, "conversion.view")
    url = svc.engine.url.render_as_string(hide_password=True)
    return url, data_version.read(svc.engine, data_version.INTENTS)


class ReportFilters(TypedDict, total=False):
    """What the report is filtered by (each optional): flows, verification methods, and the
    first and last creation day."""

    flows: Sequence[str] | None
    methods: Sequence[str] | None
    start: date | None
    end: date | None


def report(
    svc: Services, actor: Actor, *, now: datetime | int, **chosen: Unpack[ReportFilters]
) -> Report:
    """The funnel, weekly and per-intent frames for these filters (managers and admins)."""
    require(actor, "conversion.view")
    filters = _checked(chosen)
    funnel_frame, weekly = conversions(svc.engine, now=now, bys=(None, "week"), **filters)
    return Report(funnel=funnel_frame, weekly=weekly)


def intents_csv(
    svc: Services, actor: Actor, *, now: datetime | int, **chosen: Unpack[ReportFilters]
) -> str:
    """One row per intent for these filters, as CSV (built on the download click only)."""
    return figures_csv(svc, actor, "intents", now=now, **chosen)


def _checked(chosen: ReportFilters) -> ReportFilters:
    """The filters as the store may see them: clean words, real dates (a crafted client can
    send anything)."""
    flows, methods = chosen.get("flows"), chosen.get("methods")
    start, end = chosen.get("start"), chosen.get("end")
    for value, field in ((start, "The start date"), (end, "The end date")):
        if value is not None and not isinstance(value, date):
            raise ValidationError(f"{field} must be a date.")
    return ReportFilters(
        flows=input_limits.text_list(flows, field="The flows") if flows is not None else None,
        methods=(
            input_limits.text_list(methods, field="The methods") if methods is not None else None
        ),
        start=start,
        end=end,
    )


CSV_TABLES = ("funnel", "weekly", "intents")


def figures_csv(
    svc: Services,
    actor: Actor,
    table: str,
    *,
    now: datetime | int,
    **chosen: Unpack[ReportFilters],
) -> str:
    """One of the page's tables as CSV, built on the download click: ``funnel`` (per method),
    ``weekly`` (per week and method) or ``intents`` (one row per intent). Text cells are
    formula-escaped; audited as ``conversion.export`` (refusals too)."""
    params = {
        "table": table,
        "flows": _as_param(chosen.get("flows")),
        "methods": _as_param(chosen.get("methods")),
        "start": str(chosen.get("start") or ""),
        "end": str(chosen.get("end") or ""),
    }
    with audited(svc.engine, actor=actor, action="conversion.export", params=params) as ctx:
        require(actor, "conversion.view")
        filters = _checked(chosen)
        if table not in CSV_TABLES:
            raise ValidationError(
                f"No table '{table}' to download; use one of: {', '.join(CSV_TABLES)}."
            )
        if table == "intents":
            frame = outcomes(svc.engine, now=now, **filters).drop(
                columns=["created_at"], errors="ignore"
            )
        else:
            by = "week" if table == "weekly" else None
            # conversion_rate is the page's Conversion (usable ÷ ended; empty when nothing
            # ended, not 0); the column named so was usable ÷ started, which the page never shows.
            frame = with_settled(conversion(svc.engine, now=now, by=by, **filters)).rename(
                columns={"conversion_rate": "started_conversion_rate"}
            ).rename(columns={"ended_conversion_rate": "conversion_rate"})
        ctx.params["rows"] = len(frame)
        ctx.message = f"Exported {len(frame)} rows ({table}) as CSV."
    return frame_csv(frame)


def _as_param(values: object) -> list[str] | str:
    """A filter as the audit row keeps it, whatever a crafted client sent (checked later)."""
    if values is None:
        return []
    if isinstance(values, list | tuple):
        return [str(v) for v in values]
    return str(values)


def summarise(engine: Engine) -> StoreSummary:
    """Added up from the day counts; the first and last creation are one index read each."""
    classify_missing(engine)
    t = IntentRecord.__table__.c  # type: ignore[attr-defined]
    with engine.connect() as conn:
        count, flows, methods = intent_days.summary(conn)
        first = conn.execute(sa_select(func.min(t.created))).scalar()
        last = conn.execute(sa_select(func.max(t.created))).scalar()
    return StoreSummary(
        intents=int(count),
        flows=sorted(str(f) for f in flows if f),
        methods=sorted(str(m) for m in methods if m),
        first_created=int(first) if first is not None else None,
        last_created=int(last) if last is not None else None,
    )


def stored_intents(engine: Engine) -> int:
    """How many intents the store holds, added up from the day counts."""
    classify_missing(engine)
    with engine.connect() as conn:
        return intent_days.stored(conn)


def store_info(engine: Engine, *, summary: StoreSummary | None = None) -> StoreInfo:
    version = data_version.read(engine, data_version.INTENTS)
    whole = summary or summarise(engine)
    with session_scope(engine) as session:
        state = session.get(SyncState, SYNC_NAME)
    cursor = int(state.cursor) if state and state.cursor and state.cursor.isdigit() else None
    return StoreInfo(
        intents=whole.intents,
        flows=whole.flows,
        methods=whole.methods,
        first_created=whole.first_created,
        last_created=whole.last_created,
        last_finished_at=as_utc(state.last_finished_at) if state else None,
        cursor=cursor,
        version=version,
        store=engine.url.render_as_string(hide_password=True),
    )


def _day_start(day: date) -> int:
    return int(datetime.combine(day, dtime.min, tzinfo=UTC).timestamp())


def _where(chosen: ReportFilters) -> list[Any]:
    """The stored intents these filters keep; dates are UTC days of ``created``, both ends
    included."""
    flows, methods = chosen.get("flows"), chosen.get("methods")
    start, end = chosen.get("start"), chosen.get("end")
    if start and end and end < start:
        raise ValidationError("The end date is before the start date; pick a later end date.")
    conditions: list[Any] = []
    if flows:
        conditions.append(col(IntentRecord.flow).in_(list(flows)))
    if methods:
        conditions.append(col(IntentRecord.verification_method).in_(list(methods)))
    if start:
        conditions.append(col(IntentRecord.created) >= _day_start(start))
    if end:
        conditions.append(col(IntentRecord.created) < _day_start(end + timedelta(days=1)))
    return conditions


def _load(engine: Engine, chosen: ReportFilters) -> list[IntentRecord]:
    stmt = select(IntentRecord).where(*_where(chosen))
    with session_scope(engine) as session:
        return list(session.exec(stmt.order_by(col(IntentRecord.created))).all())


def _stored_success_times(rows: list[IntentRecord]) -> dict[str, int]:
    """When each stored intent first had a usable payment method (from its events)."""
    return {r.id: int(r.succeeded_at) for r in rows if r.succeeded_at is not None}


ABANDON_AFTER_SECONDS = 86_400 * 7  # as services.rules.funnel.classify_intent
DAY_SECONDS = 86_400


def classify_missing(engine: Engine, *, batch: int = 2000) -> int:
    """Classify rows stored before the funnel columns existed (once; then a cheap no-op)."""
    done = 0
    while True:
        with session_scope(engine) as session:
            rows = session.exec(
                select(
                    IntentRecord.id,
                    IntentRecord.raw,
                    IntentRecord.verification_method,
                    IntentRecord.created,
                )
                .where(col(IntentRecord.path).is_(None))
                .limit(batch)
            ).all()
            if not rows:
                return done
            for ident, raw, _method, _created in rows:
                try:
                    facts = funnel.stored_facts(raw)
                except (KeyError, TypeError, ValueError):
                    facts = {"path": "unknown", "outcome": "pending", "verified": False}
                session.execute(
                    update(IntentRecord).where(col(IntentRecord.id) == ident).values(**facts)
                )
            data_version.bump(session, data_version.INTENTS)
            intent_days.refresh(session, [(m, c) for _i, _r, m, c in rows])
            done += len(rows)


def conversion(
    engine: Engine,
    *,
    now: datetime | int,
    by: str | None = None,
    **chosen: Unpack[ReportFilters],
) -> pd.DataFrame:
    """Funnel counts per verification method (or per week and method with ``by="week"``).

    The counts add up the day counts kept at write time (:mod:`services.adapters.intent_days`),
    except for the one day on which intents waiting on the customer turn from pending to
    abandoned at ``now``: that day, and the spans behind the median time to usable, are read
    from the intents' covering index. Same numbers as :func:`services.rules.funnel.funnel` over
    the stored intents; dates are UTC days of ``created``, both ends included. With ``methods``
    given, only those methods' rows are returned.
    """
    if by not in (None, "week"):
        raise ValueError(f"conversion(by=...) must be None or 'week', not {by!r}.")
    return conversions(engine, now=now, bys=(by,), **chosen)[0]


def conversions(
    engine: Engine,
    *,
    now: datetime | int,
    bys: Sequence[str | None],
    **chosen: Unpack[ReportFilters],
) -> list[pd.DataFrame]:
    """:func:`conversion` for each of ``bys`` (None, "week"), reading the spans once."""
    conditions = _where(chosen)
    classify_missing(engine)
    moment = unix_seconds(now)
    cut = moment - ABANDON_AFTER_SECONDS  # waiting intents created before it are abandoned
    boundary = cut // DAY_SECONDS
    start, end = chosen.get("start"), chosen.get("end")
    kept = intent_days.conditions(
        flows=chosen.get("flows"),
        methods=chosen.get("methods"),
        first_day=_day_start(start) // DAY_SECONDS if start else None,
        last_day=_day_start(end) // DAY_SECONDS if end else None,
    )
    t = IntentRecord.__table__.c  # type: ignore[attr-defined]
    that_day = [t.created >= boundary * DAY_SECONDS, t.created < (boundary + 1) * DAY_SECONDS]
    per_by: list[dict[tuple[int, str], list[int]]] = []
    with engine.connect() as conn:
        on_that_day = intent_days.methods_on(conn, boundary)  # lets it seek the funnel index
        that_day.append(t.verification_method.in_(on_that_day))
        # one day lies in one week: its counts per (week, method) serve both groupings
        cut_day = _row_counts(conn, moment, "week", [*conditions, *that_day]) if on_that_day else {}
        for by in bys:
            totals = intent_days.grouped(conn, by_week=by == "week", where=kept, cut=cut)
            for (week, method), counts in cut_day.items():
                key = (week if by == "week" else 0, method)
                before = totals.get(key, [0] * len(counts))
                totals[key] = [a + b for a, b in zip(before, counts, strict=True)]
            per_by.append(totals)
        present = sorted({m for totals in per_by for (_w, m), c in totals.items() if c[0]})
        spans = _spans(conn, conditions, present) if present else []
    return [
        _frame(totals, by, _medians(spans, by), chosen.get("methods"))
        for by, totals in zip(bys, per_by, strict=True)
    ]


def _frame(
    totals: dict[tuple[int, str], list[int]],
    by: str | None,
    middle: dict[tuple[int, str], float],
    methods: Sequence[str] | None,
) -> pd.DataFrame:
    groups = {
        (_week_date(w) if by else None, m): funnel.GroupCounts(
            started=n,
            linked_instantly=inst,
            manual_entry=manual,
            verified=ver,
            stages=dict(zip(funnel.STAGES, stages, strict=True)),
            median_seconds_to_success=middle.get((w, m)),
        )
        for (w, m), (n, inst, manual, ver, *stages) in totals.items()
        if n
    }
    frame = funnel.frame_from_groups(groups, by=by)
    if methods:
        frame = frame[frame["verification_method"].isin(list(methods))].reset_index(drop=True)
    return frame


def _week(by: str | None) -> Any:
    """Monday (UTC) of the creation week as a day number; integer division in both databases
    (created is positive, so it floors). 1970-01-01 was a Thursday, hence the + 3."""
    day = f"(intents.created / {DAY_SECONDS})"
    return (literal_column(f"({day} - (({day} + 3) % 7))") if by == "week" else literal(0)).label(
        "week"
    )


def _count(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _row_counts(
    conn: Any, moment: int, by: str | None, conditions: list[Any]
) -> dict[tuple[int, str], list[int]]:
    """The counts of :func:`services.adapters.intent_days.grouped`, from the intents under
    ``conditions`` themselves (the day the abandoning cut falls in)."""
    t = IntentRecord.__table__.c  # type: ignore[attr-defined]
    stage = case(
        (
            t.outcome == "waiting",
            case(
                (literal(moment) - t.created > ABANDON_AFTER_SECONDS, "abandoned"), else_="pending"
            ),
        ),
        else_=t.outcome,
    ).label("stage")
    base = (
        sa_select(t.verification_method.label("method"), _week(by), t.path, t.verified, stage)
        .where(*conditions)
        .subquery()
    )
    keys = (base.c.week, base.c.method)
    counts = sa_select(
        *keys,
        func.count(),
        _count(base.c.path == "instant"),
        _count(base.c.path == "manual"),
        _count(base.c.verified == true()),
        *(_count(base.c.stage == s) for s in funnel.STAGES),
    ).group_by(*keys)
    return {(int(w), str(m)): [int(v or 0) for v in rest] for w, m, *rest in conn.execute(counts)}


def _spans(conn: Any, conditions: list[Any], methods: list[str]) -> list[tuple[int, str, int]]:
    """(creation day, method, seconds to usable) of the intents under ``conditions`` that
    ended usable, timed from creation to their first success (or the payment method's
    creation); dropped when that came before the creation.

    ``methods``: the methods with intents under ``conditions``; named, they let the database
    seek each one's creation range on the covering index ``ix_intent_funnel`` (led by the
    method) instead of reading rows off the creation index."""
    t = IntentRecord.__table__.c  # type: ignore[attr-defined]
    success = func.coalesce(t.succeeded_at, t.pm_created)
    stmt = (
        sa_select(
            literal_column(f"(intents.created / {DAY_SECONDS})"),
            t.verification_method,
            success - t.created,
        )
        .where(*conditions, t.verification_method.in_(methods))
        .where(t.outcome == "succeeded", success >= t.created)
    )
    return [(int(d), str(m), int(s)) for d, m, s in conn.execute(stmt)]


def _medians(spans: list[tuple[int, str, int]], by: str | None) -> dict[tuple[int, str], float]:
    """The median span per (week, method) (week 0 without ``by``): the middle one, or the
    mean of the middle two."""
    groups: dict[tuple[int, str], list[int]] = {}
    for day, method, span in spans:
        week = day - (day + 3) % 7 if by == "week" else 0  # as :func:`_week`
        groups.setdefault((week, method), []).append(span)
    middle: dict[tuple[int, str], float] = {}
    for key, values in groups.items():
        values.sort()
        half = len(values) // 2
        middle[key] = (
            float(values[half]) if len(values) % 2 else (values[half - 1] + values[half]) / 2
        )
    return middle


def _week_date(day_number: int) -> date:
    return date(1970, 1, 1) + timedelta(days=int(day_number))


def outcomes(
    engine: Engine, *, now: datetime | int, **chosen: Unpack[ReportFilters]
) -> pd.DataFrame:
    """One row per stored intent with its funnel stage and path (for drill-down and CSV)."""
    rows = _load(engine, chosen)
    frame = funnel.outcomes_frame(
        [r.raw for r in rows], now=unix_seconds(now), success_times=_stored_success_times(rows)
    )
    flow_by_id = {r.id: r.flow or UNKNOWN_FLOW for r in rows}
    status_by_id = {r.id: r.status for r in rows}
    frame.insert(2, "flow", frame["id"].map(flow_by_id).astype("str"))
    frame.insert(3, "status", frame["id"].map(status_by_id).astype("str"))
    return frame
