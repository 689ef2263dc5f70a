"""The chain table (``debit_chains``): one row per original debit and its re-initiations, kept
at write time from ``debit_outcomes`` so the return rates count chains without grouping every
debit again on each read (issue 13; :mod:`services.adapters.outcome_figures` reads it).

A chain's row holds what ``outcome_figures._chains`` computes for it when every attempt is
counted: its date (the original's ``created``, else its attempts' earliest), a 0/1 flag per
Nacha category, the breakdown values (the original's, else the least; empty is "unknown"), and
whether its attempts span more than :data:`LONG` (such chains are counted from their attempts).

The short chains are also summed per UTC day of their date and breakdown values
(``debit_chain_days``), so a figure over weeks adds up whole days and reads the chains of its two
edge days only. Each write recounts the day sums its chains were and are counted in.

Writers call :func:`refresh` in their transaction with the chains they touched; :func:`rebuild`
recomputes both from the debits (a bulk load, or a store from before the tables).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Boolean, and_, case, delete, false, func, or_, select, tuple_, type_coerce
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from services.adapters import kept
from services.adapters.models import DebitChainDayRecord, DebitChainRecord, DebitOutcomeRecord

__all__ = [
    "BY",
    "DAY",
    "LONG",
    "backfill_if_empty",
    "chain_columns",
    "chain_value",
    "rebuild",
    "refresh",
]

DAY = 86_400
LONG = 30 * 86_400  # a chain whose attempts span more than this is "long"
BY = ("verification_method", "institution", "flow")  # the breakdown columns
OUTCOMES: Any = DebitOutcomeRecord.__table__  # type: ignore[attr-defined]
CHAINS: Any = DebitChainRecord.__table__  # type: ignore[attr-defined]
DAYS: Any = DebitChainDayRecord.__table__  # type: ignore[attr-defined]
SUMS = ("unauthorized", "administrative", "overall")
CHUNK = 500


def _any_of(condition: Any) -> Any:
    return func.max(case((condition, 1), else_=0))


def chain_columns(t: Any) -> list[Any]:
    """Per chain (a GROUP BY original_id over rows of ``t``): ``created`` (the original's, else
    the earliest attempt's) and a 0/1 flag per category (an attempt came back in it)."""
    original = t.c.id == t.c.original_id
    returned = and_(
        t.c.status == "returned", t.c.return_code.is_not(None), t.c.category.is_not(None)
    )
    return [
        func.coalesce(func.max(case((original, t.c.created))), func.min(t.c.created)).label(
            "created"
        ),
        _any_of(and_(returned, t.c.category == "unauthorized")).label("unauthorized"),
        _any_of(and_(returned, t.c.category == "administrative")).label("administrative"),
        _any_of(returned).label("overall"),
    ]


def chain_value(t: Any, by: str) -> Any:
    """Per chain: the original's value of ``by`` ("unknown" when empty), else the least of its
    attempts' values."""
    value = func.coalesce(func.nullif(t.c[by], ""), "unknown")
    original = t.c.id == t.c.original_id
    return func.coalesce(func.max(case((original, value))), func.min(value))


def _whole_chains() -> Any:
    """Every column of a ``debit_chains`` row, grouped from all of a chain's attempts."""
    t = OUTCOMES
    first, last = func.min(t.c.created), func.max(t.c.created)
    return select(
        t.c.original_id,
        *chain_columns(t),
        first.label("first_created"),
        last.label("last_created"),
        *(chain_value(t, by).label(by) for by in BY),
        type_coerce(last - first > LONG, Boolean).label("long"),
    ).group_by(t.c.original_id)


def refresh(session: Session, original_ids: Iterable[str]) -> None:
    """Recompute the rows of these chains from their attempts, and the day sums they were
    and are counted in, in the caller's transaction (a chain left without attempts loses its
    row)."""
    from services.adapters.store import upsert  # the store opens (and fills) this table

    ids = sorted(set(original_ids))
    keys: set[tuple[Any, ...]] = set()  # (day, *values of BY) of the chains, before and after
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        was = select(CHAINS.c.created, *(CHAINS.c[by] for by in BY))
        keys.update(_key(r) for r in session.execute(was.where(CHAINS.c.original_id.in_(chunk))))
        stmt = _whole_chains().where(OUTCOMES.c.original_id.in_(chunk))
        rows = [dict(r) for r in session.execute(stmt).mappings()]
        keys.update(_key((r["created"], *(r[by] for by in BY))) for r in rows)
        if rows:
            upsert(session, DebitChainRecord, rows, key="original_id")
        gone = set(chunk) - {r["original_id"] for r in rows}
        if gone:
            session.execute(delete(CHAINS).where(CHAINS.c.original_id.in_(sorted(gone))))
    _recount(session, {k[0] for k in keys}, {k[1:] for k in keys})


def _key(row: Any) -> tuple[Any, ...]:
    created, *values = row
    return (created // DAY, *values)


def _day_sums(*where: Any) -> Any:
    """The ``debit_chain_days`` rows of the short chains meeting ``where``."""
    c = CHAINS.c
    day = (c.created // DAY).label("day")
    keys = (day, *(c[by] for by in BY))
    sums = (func.sum(c[name]).label(name) for name in SUMS)
    return (
        select(*keys, func.count().label("debits"), *sums)
        .where(c.long == false(), *where)
        .group_by(*keys)
    )


def _recount(session: Session | Connection, days: set[int], values: set[tuple[Any, ...]]) -> None:
    """The day sums of these days and breakdown values (every pair of one and the other) again
    from the chain rows: deleted, then the recount inserted. Each statement reads the chains
    of at most ``CHUNK`` of the days and values."""
    created, by = CHAINS.c.created, tuple_(*(CHAINS.c[b] for b in BY))
    ordered, listed = sorted(days), sorted(values)
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        runs = kept.day_runs(chunk)
        on_days = or_(*(and_(created >= a * DAY, created < (b + 1) * DAY) for a, b in runs))
        for low in range(0, len(listed), CHUNK):
            some = listed[low : low + CHUNK]
            of_values = tuple_(*(DAYS.c[b] for b in BY)).in_(some)
            session.execute(delete(DAYS).where(DAYS.c.day.in_(chunk), of_values))
            stmt = _day_sums(on_days, by.in_(some))
            names = [c.name for c in stmt.selected_columns]
            session.execute(DAYS.insert().from_select(names, stmt))


def _rebuild(conn: Connection) -> None:
    conn.execute(delete(CHAINS))
    stmt = _whole_chains()
    names = [c.name for c in stmt.selected_columns]
    conn.execute(CHAINS.insert().from_select(names, stmt))
    conn.execute(delete(DAYS))
    sums = _day_sums()
    conn.execute(DAYS.insert().from_select([c.name for c in sums.selected_columns], sums))


def rebuild(engine: Engine) -> None:
    """Every chain's row and the day sums again from ``debit_outcomes``, in one transaction
    (after a bulk load that bypassed the writers)."""
    with engine.begin() as conn:
        _rebuild(conn)


def _unfilled(conn: Connection) -> bool:
    """Debits without chains, or short chains without day sums (a store from before either
    table)."""

    def some(stmt: Any) -> bool:
        return conn.execute(stmt.limit(1)).first() is not None

    if some(select(CHAINS.c.original_id)):
        short = select(CHAINS.c.original_id).where(CHAINS.c.long == false())
        return not some(select(DAYS.c.day)) and some(short)
    return some(select(OUTCOMES.c.id))


def backfill_if_empty(engine: Engine) -> bool:
    """Fill the tables of a store that has debits but no chains or day sums yet (made before
    the tables); a few cheap reads otherwise. True when it filled them."""
    return kept.fill_once(engine, _unfilled, _rebuild)
