"""Per-day intent counts kept at write time, so conversion adds up days, not intents (issue 13).

One ``intent_days`` row per (creation day in UTC, verification method, flow) that holds
intents: how many started, took each path, were verified, and ended in each stored outcome.
Every intent write counts the (method, day) groups its new or changed rows left or joined
again from the intents, in the writer's transaction and after its data-version bump: on
PostgreSQL that bump's row lock orders concurrent writers, so the last count sees every
committed intent (a recount, never a delta, so it cannot drift). A store that held intents before this table existed, or rows bulk-inserted
around the writers, is counted whole by :func:`rebuild`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, case, delete, func, literal, literal_column, or_, select, true
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from services.adapters import data_version, row_locks
from services.adapters.models import IntentDay, IntentRecord
from services.adapters.store import session_scope
from services.rules.funnel import STAGES

DAY = 86_400
OUTCOMES = (*STAGES, "waiting")  # what the intents' outcome column holds
COUNTS = ("started", "instant", "manual", "verified", *OUTCOMES)
_GROUPS_PER_STATEMENT = 200

_days = IntentDay.__table__  # type: ignore[attr-defined]
_intents = IntentRecord.__table__  # type: ignore[attr-defined]


def _counted(where: Any = None) -> Any:
    """The intents' day rows (day, method, flow, COUNTS), grouped, as an INSERT source."""
    t = _intents.c
    day: Any = literal_column(f"(intents.created / {DAY})")

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    columns = [
        day.label("day"),
        t.verification_method,
        t.flow,
        func.count().label("started"),
        count(t.path == "instant").label("instant"),
        count(t.path == "manual").label("manual"),
        count(t.verified == true()).label("verified"),
        *(count(t.outcome == name).label(name) for name in OUTCOMES),
    ]
    stmt = select(*columns)
    if where is not None:
        stmt = stmt.where(where)
    return stmt.group_by(day, t.verification_method, t.flow)


def _insert_counted(session: Session, where: Any = None) -> None:
    names = ["day", "verification_method", "flow", *COUNTS]
    session.execute(_days.insert().from_select(names, _counted(where)))


def refresh(session: Session, groups: Iterable[tuple[str, int]]) -> None:
    """Count the (verification method, creation time) groups again from the intents, inside
    the writer's transaction; call it after the writer's data-version bump. ``groups`` hold
    creation times (seconds); each stands for its whole UTC day."""
    keys = sorted({(str(method), int(created) // DAY) for method, created in groups})
    t, d = _intents.c, _days.c
    for start in range(0, len(keys), _GROUPS_PER_STATEMENT):
        chunk = keys[start : start + _GROUPS_PER_STATEMENT]
        session.execute(
            delete(_days).where(
                or_(*(and_(d.verification_method == m, d.day == day) for m, day in chunk))
            )
        )
        _insert_counted(
            session,
            or_(
                *(
                    and_(
                        t.verification_method == m,
                        t.created >= day * DAY,
                        t.created < (day + 1) * DAY,
                    )
                    for m, day in chunk
                )
            ),
        )


FACTS = ("verification_method", "created", "flow", "path", "verified", "outcome")


def facts_of(session: Session, ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """What the day counts count (:data:`FACTS`) of the stored intents ``ids``, read before a
    write changes them, and locked for it (:func:`row_locks.lock_rows`)."""
    row_locks.lock_rows(session, _intents, "id", ids)
    found: dict[str, tuple[Any, ...]] = {}
    t = _intents.c
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(t.id, *(t[name] for name in FACTS)).where(
                t.id.in_(list(ids[start : start + 500]))
            )
        )
        found |= {str(ident): tuple(rest) for ident, *rest in rows}
    return found


def moved(
    before: dict[str, tuple[Any, ...]], rows: Iterable[dict[str, Any]]
) -> list[tuple[str, int]]:
    """(method, created) of the groups that written ``rows`` left or joined: a new row, or one
    whose counted facts changed (a write of other columns changes no day count)."""
    groups: list[tuple[str, int]] = []
    for row in rows:
        now = tuple(row.get(name) for name in FACTS)
        old = before.get(str(row["id"]))
        if old == now:
            continue
        groups.append((str(row["verification_method"]), int(row["created"])))
        if old is not None:
            groups.append((str(old[0]), int(old[1])))
    return groups


def rebuild(engine: Engine) -> None:
    """Count every stored intent again (a store from before this table, a bulk load)."""
    with session_scope(engine) as session:
        data_version.bump(session, data_version.INTENTS)  # orders this with the writers
        session.execute(delete(_days))
        _insert_counted(session)


def backfill_if_empty(engine: Engine) -> bool:
    """:func:`rebuild` a store that holds intents but no day rows (made before this table);
    two cheap probes otherwise. True when it counted."""

    def unfilled(conn: Connection) -> bool:
        if conn.execute(select(_days.c.day).limit(1)).first() is not None:
            return False
        return conn.execute(select(_intents.c.id).limit(1)).first() is not None

    with engine.connect() as conn:
        if not unfilled(conn):
            return False
    rebuild(engine)  # after the bump's row lock: a replica opening it at once counts again
    return True


def grouped(
    conn: Connection,
    *,
    by_week: bool,
    where: Sequence[Any],
    cut: int,
) -> dict[tuple[int, str], list[int]]:
    """The day counts under ``where`` (conditions on ``intent_days``), added up per (week,
    method) (week 0 without ``by_week``; a week is its Monday's day number): started, instant,
    manual, verified, then one count per stage in ``services.rules.funnel.STAGES``' order.

    ``cut``: intents waiting on the customer created before it are abandoned, the others
    pending. The day holding ``cut`` is left out (its waiting intents fall on both sides): the
    caller counts that day from the intents themselves."""
    d = _days.c
    boundary = cut // DAY
    week = (d.day - (d.day + 3) % 7) if by_week else literal(0)
    sums = [func.sum(d[name]) for name in ("started", "instant", "manual", "verified")]
    stages: dict[str, Any] = {name: func.sum(d[name]) for name in OUTCOMES if name != "waiting"}
    stages["abandoned"] = stages["abandoned"] + func.sum(
        case((d.day < boundary, d.waiting), else_=0)
    )
    stages["pending"] = stages["pending"] + func.sum(case((d.day > boundary, d.waiting), else_=0))
    stmt = (
        select(week.label("week"), d.verification_method, *sums, *(stages[s] for s in STAGES))
        .where(d.day != boundary, *where)
        .group_by(*([week] if by_week else []), d.verification_method)
    )
    return {(int(w), str(m)): [int(v or 0) for v in rest] for w, m, *rest in conn.execute(stmt)}


def conditions(
    *,
    flows: Sequence[str] | None,
    methods: Sequence[str] | None,
    first_day: int | None,
    last_day: int | None,
) -> list[Any]:
    """The ``intent_days`` rows a report's filters keep (days are UTC days, both ends in)."""
    d = _days.c
    where: list[Any] = []
    if flows:
        where.append(d.flow.in_(list(flows)))
    if methods:
        where.append(d.verification_method.in_(list(methods)))
    if first_day is not None:
        where.append(d.day >= first_day)
    if last_day is not None:
        where.append(d.day <= last_day)
    return where


def methods_on(conn: Connection, day: int) -> list[str]:
    """The verification methods of the intents created on ``day`` (a day number)."""
    d = _days.c
    found = conn.execute(select(d.verification_method).where(d.day == day).distinct())
    return sorted(str(m) for m in found.scalars())


def stored(conn: Connection) -> int:
    """How many intents are stored (from the day rows)."""
    total = conn.execute(select(func.coalesce(func.sum(_days.c.started), 0))).scalar()
    return int(total or 0)


def summary(conn: Connection) -> tuple[int, list[str], list[str]]:
    """How many intents are stored, and their flows and methods (from the day rows)."""
    d = _days.c
    total = stored(conn)
    flows = conn.execute(select(d.flow).distinct()).scalars().all()
    methods = conn.execute(select(d.verification_method).distinct()).scalars().all()
    return int(total or 0), [f for f in flows if f], [m for m in methods if m]
