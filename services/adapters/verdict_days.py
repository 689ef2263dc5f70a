"""The verdict day counts (``debit_verdict_days``): the debits per UTC day of their date, last
check's verdict and outcome columns, kept at write time so the verdict table of "Did our check
work?" (:mod:`services.usecases.check_figures`) adds up whole days and reads the debits of its
two edge days only, instead of grouping every debit of its window on each read (issue 13).

A debit's date in a window (:func:`services.usecases.debit_outcomes.window_debits`) is its
original's ``created`` when that is stored and at or after the window's ``since``, else its own.
Here it is dated by its original's ``created`` when stored (``original_created`` not -1), else
its own: the same date for every debit within :data:`FAR` of its original, in any window whose
``since`` is at least :data:`FAR` before its start (every caller's is 180 days). Only those
"near" debits are counted; the others (an attempt more than 30 days from its original, which
makes its chain ``long``: a handful) are counted from their rows by the reader, as are the
debits not computed or copied yet (the reader falls back to the rows while any exists).

Writers call :func:`recount` in their transaction, after their data-version bump (on
PostgreSQL its row lock makes two writers take turns, so the later one counts both), with the
days their debits were and are dated at (:func:`days_of`); :func:`rebuild` counts every day
again (a bulk load, a backfill, a store from before the table).

The same days keep a second table, ``debit_headroom_days``: of the near debits that settled
after an ``ok`` verdict, how many (and how much) per currency, headroom percentage and balance
age bucket (:func:`percent_bucket`, :func:`age_bucket`), what the policy options' "would have
held back" adds up (:mod:`services.usecases.check_buckets`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select
from sqlalchemy.engine import Connection, Engine

from services.adapters import kept
from services.adapters.models import (
    DebitHeadroomDayRecord,
    DebitOutcomeRecord,
    DebitVerdictDayRecord,
)
from services.rules.debit import OK

__all__ = [
    "AGE_CAP",
    "AGE_UNIT",
    "DAY",
    "FAR",
    "age_bucket",
    "backfill_if_empty",
    "counted_in_headroom",
    "day_of",
    "days_of",
    "far",
    "headroom_rows",
    "in_dates",
    "near",
    "percent_bucket",
    "rebuild",
    "rebuild_in",
    "recount",
]

DAY = 86_400
FAR = 30 * 86_400  # a debit dated further than this from its original is counted from its row
DEBITS: Any = DebitOutcomeRecord.__table__  # type: ignore[attr-defined]
DAYS: Any = DebitVerdictDayRecord.__table__  # type: ignore[attr-defined]
HEADROOM: Any = DebitHeadroomDayRecord.__table__  # type: ignore[attr-defined]
AGE_UNIT = 900  # a quarter hour: every age a policy option offers is a multiple of it
AGE_CAP = 30 * 96 + 1  # past 30 days (the longest maximum age a policy may hold)
PERCENT_CAP = 101  # past every percentage a policy may hold (100)
NO_AMOUNT = 102  # an amount of 0 or less, the balance not below it
UNDECIDED = 103  # an amount of 0 or less, the balance below it
NO_ORIGINAL = -1  # original_dates.NO_ORIGINAL: the original is not stored
CHUNK = 500
UNCOPIED = "-"  # never a verdict
KEYS = ("check_verdict", "status", "return_code", "category")


def _dated(t: Any) -> Any:
    c = t.c
    return func.coalesce(func.nullif(c.original_created, NO_ORIGINAL), c.created)


def near(t: Any) -> Any:
    """Whether the debit (a row of ``t``) is counted in the day table: computed and copied,
    its original not stored, or stored within :data:`FAR` of it."""
    c = t.c
    return and_(
        # copied (not NULL), written so no plan seeks it on an index of the verdict: the
        # dates are what narrows the rows (ix_debit_days)
        func.coalesce(c.check_verdict, UNCOPIED) != UNCOPIED,
        or_(
            c.original_created == NO_ORIGINAL,
            and_(
                c.original_created >= 0,
                c.created - c.original_created <= FAR,
                c.original_created - c.created <= FAR,
            ),
        ),
    )


def far(t: Any) -> Any:
    """Whether the debit (a row of ``t``, computed) is dated more than :data:`FAR` from its
    stored original: counted from its row by the reader."""
    c = t.c
    return and_(
        c.original_created >= 0,
        or_(c.created - c.original_created > FAR, c.original_created - c.created > FAR),
    )


def in_dates(t: Any, start: int, end: int) -> Any:
    """Whether the near debit (a row of ``t``) is dated from ``start`` to ``end``, as two
    ranges ``ix_debit_days`` seeks."""
    c = t.c
    return or_(
        and_(c.original_created >= start, c.original_created <= end),
        and_(c.original_created == NO_ORIGINAL, c.created >= start, c.created <= end),
    )


def percent_bucket(t: Any) -> Any:
    """The headroom of the debit's (a row of ``t``) last check in whole percent of the amount
    asked: (balance - amount) × 100 // amount (both integers, not negative there), -1 when
    negative, :data:`PERCENT_CAP` at or over it; :data:`NO_AMOUNT` or :data:`UNDECIDED` for
    an amount of 0 or less."""
    c = t.c
    room, asked = c.check_room, c.check_asked
    return case(
        (asked <= 0, case((room >= 0, NO_AMOUNT), else_=UNDECIDED)),
        (room < 0, -1),
        (room * 100 >= asked * PERCENT_CAP, PERCENT_CAP),
        else_=(room * 100) // asked,
    )


def age_bucket(t: Any) -> Any:
    """The age of the debit's (a row of ``t``) last check's balance in units of :data:`AGE_UNIT`,
    rounded up: 0 at or below 0, :data:`AGE_CAP` past (AGE_CAP - 1) units."""
    age = t.c.check_age
    return case(
        (age <= 0, 0),
        (age > (AGE_CAP - 1) * AGE_UNIT, AGE_CAP),
        else_=(age + AGE_UNIT - 1) // AGE_UNIT,
    )


def headroom_rows(t: Any) -> list[Any]:
    """The debits (rows of ``t``) the headroom table counts, near or not: settled after an
    ``ok`` verdict whose balance and its age are known."""
    c = t.c
    return [
        c.check_verdict == OK,
        c.status == "settled",
        c.check_room.is_not(None),
        c.check_age.is_not(None),
        c.check_asked.is_not(None),
    ]


def counted_in_headroom(t: Any) -> Any:
    """Whether the debit (a row of ``t``) is counted in the headroom table: a day whose
    debits are none of these before and after a write keeps its headroom rows."""
    return case((and_(near(t), *headroom_rows(t)), 1), else_=0)


def _per_day(keys: list[Any], counted: list[Any], *where: Any) -> Any:
    """A day table's rows: the near debits meeting ``where`` per day of their date and
    ``keys``, with ``counted``."""
    day = (_dated(DEBITS) // DAY).label("day")
    stmt = select(day, *keys, *counted).where(near(DEBITS), *where)
    return stmt.group_by(day, *keys)


def _headroom_counts(*where: Any) -> Any:
    """The headroom table's rows of the near debits meeting ``where``."""
    c = DEBITS.c
    keys = [c.currency, percent_bucket(DEBITS).label("percent"), age_bucket(DEBITS).label("age_unit")]
    counted = [func.count().label("n"), func.sum(c.amount).label("amount")]
    return _per_day(keys, counted, *headroom_rows(DEBITS), *where)


def _insert(conn: Connection | Any, table: Any, stmt: Any) -> None:
    conn.execute(table.insert().from_select([c.name for c in stmt.selected_columns], stmt))


def _counts(*where: Any) -> Any:
    """The day table's rows of the near debits meeting ``where``."""
    c = DEBITS.c
    keys = [
        c.check_verdict,
        c.status,
        func.coalesce(c.return_code, "").label("return_code"),
        func.coalesce(c.category, "").label("category"),
    ]
    return _per_day(keys, [func.count().label("n")], *where)


def day_of(t: Any) -> Any:
    """The day the debit (a row of ``t``) is counted at; NULL when not computed yet."""
    return case((t.c.original_created.is_not(None), _dated(t) // DAY))


def days_of(conn: Connection | Any, where: Any, params: dict[str, Any] | None = None) -> set[int]:
    """The days the debits ``where`` selects (with its bound ``params``) are dated at (computed
    ones only)."""
    stmt = select(day_of(DEBITS)).where(where, DEBITS.c.original_created.is_not(None))
    return {int(d) for d in conn.execute(stmt.distinct(), params or {}).scalars()}


def recount(
    conn: Connection | Any, days: Iterable[int], headroom: Iterable[int] | None = None
) -> None:
    """Count these days again from the debits: their rows deleted, the recount inserted; of
    the headroom table only the ``headroom`` days (default: the same days), those of the
    written debits counted there before or after the write (:func:`counted_in_headroom`)."""
    for table, counts, chosen in (
        (DAYS, _counts, days),
        (HEADROOM, _headroom_counts, days if headroom is None else headroom),
    ):
        ordered = sorted(set(chosen))
        for at in range(0, len(ordered), CHUNK):
            chunk = ordered[at : at + CHUNK]
            conn.execute(delete(table).where(table.c.day.in_(chunk)))
            runs = kept.day_runs(chunk)
            dated = or_(*(in_dates(DEBITS, a * DAY, (b + 1) * DAY - 1) for a, b in runs))
            _insert(conn, table, counts(dated))


def rebuild_in(conn: Connection | Any) -> None:
    """Every day again from ``debit_outcomes``, in the caller's transaction."""
    _rebuild(conn)


def _rebuild(conn: Connection | Any) -> None:
    conn.execute(delete(DAYS))
    conn.execute(delete(HEADROOM))
    _insert(conn, DAYS, _counts())
    _insert(conn, HEADROOM, _headroom_counts())


def rebuild(engine: Engine) -> None:
    """Every day again from ``debit_outcomes``, in one transaction (after a bulk load or a
    backfill that bypassed the writers)."""
    with engine.begin() as conn:
        _rebuild(conn)


def _unfilled(conn: Connection) -> bool:
    """Near debits but no day rows, or near debits the headroom table counts but no headroom
    rows (a store from before either table)."""
    no_days = conn.execute(select(DAYS.c.day).limit(1)).first() is None
    if no_days and conn.execute(select(DEBITS.c.id).where(near(DEBITS)).limit(1)).first():
        return True
    if conn.execute(select(HEADROOM.c.day).limit(1)).first() is not None:
        return False
    counted = select(DEBITS.c.id).where(near(DEBITS), *headroom_rows(DEBITS)).limit(1)
    return conn.execute(counted).first() is not None


def backfill_if_empty(engine: Engine) -> bool:
    """Fill the table of a store that has debits but no day rows yet; True when it did."""
    return kept.fill_once(engine, _unfilled, _rebuild)
