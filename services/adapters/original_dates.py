"""Each attempt's original's date, kept on the attempt (``debit_outcomes.original_created``) when
either is written, so a window of debits (:func:`services.usecases.debit_outcomes.window_debits`)
is dated from the attempt's own row instead of joining every attempt to its original (issue 13).

The column holds the ``created`` of the row ``original_id`` names (an original names itself), or
``NO_ORIGINAL`` (-1, before any real date) when that row is not stored; NULL says "not computed
yet" (a row written before the column existed, or by a bulk insert): readers look those up
(:func:`dated`) and :func:`backfill` fills them when the store is opened.

Kept in the writer's transaction: debits written look their original up again, and so do the
attempts naming a written debit as their original (:func:`refresh_debits`). Only a changed
value is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, case, exists, func, or_, select, update
from sqlalchemy.engine import Connection, Engine

from services.adapters.models import DebitOutcomeRecord

__all__ = ["NO_ORIGINAL", "backfill", "dated", "fill_missing", "missing", "refresh_debits"]

DEBITS: Any = DebitOutcomeRecord.__table__  # type: ignore[attr-defined]
NO_ORIGINAL = -1
CHUNK = 500


def _original_created(table: Any, *, since: int | None = None) -> Any:
    """The ``created`` of the row ``table``'s ``original_id`` names (at or after ``since``), a
    correlated subquery by primary key (NULL: none)."""
    first = DEBITS.alias("original")
    where = [first.c.id == table.c.original_id]
    if since is not None:
        where.append(first.c.created >= since)
    return select(first.c.created).where(*where).correlate(table).scalar_subquery()


def dated(table: Any, since: int, *, complete: bool = False) -> Any:
    """The date ``table``'s attempt is counted at: its original's ``created`` when that is
    stored and at or after ``since``, else its own; from the kept column, looked up for a row
    not computed yet. ``complete``: the caller found no such row (:func:`missing`), so no
    lookup is written into the query (on PostgreSQL a subquery here costs a parallel scan)."""
    stored = table.c.original_created
    if complete:
        return case((stored >= since, stored), else_=table.c.created)
    return case(
        (stored.is_(None), func.coalesce(_original_created(table, since=since), table.c.created)),
        (stored >= since, stored),
        else_=table.c.created,
    )


def _computed() -> Any:
    return func.coalesce(_original_created(DEBITS), NO_ORIGINAL)


@lru_cache(maxsize=1)
def _refresh_debits() -> Any:
    ids: Any = bindparam("ids", expanding=True)
    value = _computed()
    return (
        update(DEBITS)
        .where(
            or_(DEBITS.c.id.in_(ids), DEBITS.c.original_id.in_(ids)),
            DEBITS.c.original_created.is_distinct_from(value),
        )
        .values(original_created=value)
    )


def refresh_debits(conn: Connection | Any, ids: Sequence[str]) -> int:
    """After debits ``ids`` were written (new, or their date changed): they and the attempts
    naming them as their original look the original's date up again."""
    done = 0
    for i in range(0, len(ids), CHUNK):
        chunk = list(ids[i : i + CHUNK])
        done += int(conn.execute(_refresh_debits(), {"ids": chunk}).rowcount or 0)
    return done


def missing(conn: Connection | Any) -> bool:
    """Whether any debit is not computed yet."""
    probe = exists().where(DEBITS.c.original_created.is_(None))
    return bool(conn.execute(select(probe)).scalar())


def fill_missing(conn: Connection | Any) -> int:
    """Compute every debit not computed yet; returns how many."""
    stmt = (
        update(DEBITS)
        .where(DEBITS.c.original_created.is_(None))
        .values(original_created=_computed())
    )
    return int(conn.execute(stmt).rowcount or 0)


def backfill(engine: Engine) -> int:
    """:func:`fill_missing` in its own transaction, when any debit needs it (opening an older
    store, or one filled by bulk inserts); returns how many were computed."""
    with engine.connect() as conn:
        if not missing(conn):
            return 0
    with engine.begin() as conn:
        return fill_missing(conn)
