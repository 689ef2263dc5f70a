"""Nacha return rates counted in SQL over the debit-outcome mirror (issue 13).

The same figures as :mod:`services.rules.returns` computes from every :class:`Outcome` in
Python (``rates_of``, ``weekly_rates``, ``breakdown``), on SQLite and PostgreSQL alike, so a
page never loads the debits to count them. A chain is an original debit and its
re-initiations (one debit for Nacha), dated by the original; it counts as a return in each
category any of its attempts came back in.

The exact definition is :func:`_chains`: the chains of the debits created at or after
``since`` (a chain cut at ``since`` keeps only its later attempts). Grouping every debit again
on each read costs a pass over all of them, so the figures read the chain table kept at write
time (:mod:`services.adapters.debit_chains`: one row per whole chain, and per day the sums of
the short ones) instead, and the two agree whenever the figure's first date ``start`` is at
least ``LONG`` (30 days) after ``since``:

* a chain whose attempts all lie within ``LONG`` of each other (first <= last <= first + LONG)
  and whose date (one of its attempts' dates, so first <= created <= last) is counted:

  - if all its attempts are at or after ``since``, the cut chain is the whole chain;
  - if none is, the cut chain does not exist, and the whole chain is dated
    created <= last < since < start: not counted either;
  - if some are, first < since, so both the whole chain's date and the cut chain's (again one
    of its attempts' dates, or its original's) are <= last <= first + LONG < since + LONG
    <= start: neither is counted.

  So over the chains that are not long the table's rows give exactly :func:`_chains`' figures,
  and so do their sums per UTC day for the whole days of a span (a span is in seconds: the
  chains of its first and last, partial, days are read from their rows);
* the long chains (a few: re-initiations months apart) are counted by :func:`_chains` itself,
  restricted to their original ids, and the two tallies add up per week or value.

Every caller's span qualifies (Returns: ``since`` is 120 days before the window, and the 13
weeks start 91 days at most before now; Home: 180 against 60 days); a shorter one falls back
to :func:`_chains` over every debit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import false, func, select, true
from sqlalchemy.engine import Connection, Engine

from services.adapters.debit_chains import (
    CHAINS,
    DAY,
    DAYS,
    LONG,
    OUTCOMES,
    chain_columns,
    chain_value,
)
from services.rules.nacha import CATEGORIES, LIMITS
from services.rules.returns import RATE_COLUMNS

__all__ = ["breakdown", "rates", "weekly"]

WEEK = 7 * 86_400
FIRST_MONDAY = 4 * 86_400  # 1970-01-05, the first Monday after the epoch
TABLE: Any = OUTCOMES
Counts = dict[str, int]  # debits, and returns per category


def _chains(since: int, by: str | None = None, among: Any = None) -> Any:
    """One row per chain of the debits created at or after ``since``: its date, a 0/1 flag per
    category, and (with ``by``) the original's value of that column ("unknown" when empty);
    only the chains whose original id is in ``among`` (a SELECT of ids) when given."""
    t = TABLE
    columns = chain_columns(t)
    if by is not None:
        # the original's value; without the original (made before ``since``) the attempts'
        columns.append(chain_value(t, by).label("value"))
    stmt = select(*columns).where(t.c.created >= since)
    if among is not None:
        stmt = stmt.where(t.c.original_id.in_(among))
    return stmt.group_by(t.c.original_id).subquery()


def _split(start: int, end: int) -> tuple[tuple[int, int] | None, list[tuple[int, int]]]:
    """The whole UTC days (first, last day numbers) within ``start``..``end`` (seconds, both
    included), if any, and the ranges of seconds left at either edge."""
    first, last = -(-start // DAY), (end + 1) // DAY - 1
    if first > last:
        return None, [(start, end)]
    edges = [(start, first * DAY - 1)] if start < first * DAY else []
    edges += [((last + 1) * DAY, end)] if (last + 1) * DAY <= end else []
    return (first, last), edges


def _counted(chains: Any, key: Any, *where: Any) -> Any:
    """Per ``key`` (none: one row) of the rows of ``chains`` (one a chain) meeting ``where``:
    the chains, and those returned per category."""
    keys = [key.label("key")] if key is not None else []
    stmt = select(
        *keys,
        func.count().label("debits"),
        *(func.coalesce(func.sum(chains.c[c]), 0).label(c) for c in CATEGORIES),
    ).where(*where)
    return stmt.group_by(key) if key is not None else stmt


def _summed(key: Any, first: int, last: int) -> Any:
    """:func:`_counted` of the short chains dated on the days ``first``..``last``, from their
    day sums."""
    keys = [key.label("key")] if key is not None else []
    sums = (func.coalesce(func.sum(DAYS.c[c]), 0).label(c) for c in ("debits", *CATEGORIES))
    stmt = select(*keys, *sums).where(DAYS.c.day >= first, DAYS.c.day <= last)
    return stmt.group_by(key) if key is not None else stmt


def _statements(
    *, since: int, start: int, end: int, by: str | None = None, weekly: bool = False
) -> list[Any]:
    """What adds up to :func:`_chains` ``(since, by)`` counted per ``key`` (the value of
    ``by``, the week with ``weekly``, else none) over the chains dated ``start``..``end``:
    with ``since`` far enough back (the module's docstring says why), the short chains from
    the day sums of the whole days and the chain rows of the edges, the long ones exactly."""

    def key(chains: Any, value: Any) -> Any:
        # whole weeks since 1970-01-05
        return (chains.c.created - FIRST_MONDAY) // WEEK if weekly else value

    def dated(chains: Any, low: int, high: int) -> tuple[Any, Any]:
        return chains.c.created >= low, chains.c.created <= high

    if start - since < LONG:  # a chain cut at ``since`` may be dated in the span
        chains = _chains(since, by)
        value = chains.c.value if by else None
        return [_counted(chains, key(chains, value), *dated(chains, start, end))]
    whole, edges = _split(start, end)
    short = CHAINS.c.long == false()
    value = CHAINS.c[by] if by else None
    stmts = [_counted(CHAINS, key(CHAINS, value), short, *dated(CHAINS, *e)) for e in edges]
    if whole:
        day_key = DAYS.c[by] if by else None
        if weekly:  # a day's week: the week of its first second
            day_key = (DAYS.c.day - FIRST_MONDAY // DAY) // (WEEK // DAY)
        stmts.append(_summed(day_key, *whole))
    long = select(CHAINS.c.original_id).where(CHAINS.c.long == true())
    exact = _chains(since, by, among=long)
    value = exact.c.value if by else None
    stmts.append(_counted(exact, key(exact, value), *dated(exact, start, end)))
    return stmts


def _tally(conn: Connection, stmts: Iterable[Any], into: dict[Any, Counts]) -> None:
    """Add the counts of each statement's rows (``key``, debits, categories) per key."""
    for stmt in stmts:
        for row in conn.execute(stmt).mappings():
            counts = into.setdefault(row.get("key"), dict.fromkeys(("debits", *CATEGORIES), 0))
            for name in counts:
                counts[name] += int(row[name])


def _rows(counts: Mapping[str, int] | None) -> list[dict[str, Any]]:
    debits = int(counts["debits"]) if counts else 0
    rows = []
    for category in CATEGORIES:
        returns = int(counts[category]) if counts else 0
        rows.append(
            {
                "category": category,
                "debits": debits,
                "returns": returns,
                "rate": returns / debits if debits else None,
                "limit": LIMITS[category],
            }
        )
    return rows


def _frame(counts: Mapping[str, int] | None, *, week: Any = None) -> pd.DataFrame:
    """The rates frame of these counts (``week``: per week, the (Monday, counts) of each)."""
    if week is None:
        frame = pd.DataFrame(_rows(counts), columns=RATE_COLUMNS)
    else:
        rows = [{"week": monday} | row for monday, found in week for row in _rows(found)]
        frame = pd.DataFrame(rows, columns=["week", *RATE_COLUMNS])
    frame["rate"] = frame["rate"].astype("float64")  # NaN (empty), never 0, without debits
    return frame


def rates(engine: Engine, *, since: int, start: int, end: int) -> pd.DataFrame:
    """``rules.returns.rates_of`` over the debits created since ``since``, for the chains
    dated from ``start`` to ``end`` (both included)."""
    stmts = _statements(since=since, start=start, end=end)
    found: dict[Any, Counts] = {}
    with engine.connect() as conn:
        _tally(conn, stmts, found)
    return _frame(found.get(None))


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly(
    engine: Engine, *, since: int, now: int, weeks: int = 13, start: int | None = None
) -> pd.DataFrame:
    """``rules.returns.weekly_rates``: the rates per Monday-based UTC week of origination.

    ``start``: the window's first second instead of ``weeks``: the weeks from the one it falls
    in, that first week counting only the debits made from ``start`` and dated by its day (a
    part week, unless ``start`` falls on a Monday)."""
    last = _monday(datetime.fromtimestamp(now, tz=UTC).date())
    opens = datetime.fromtimestamp(start, tz=UTC).date() if start is not None else None
    if opens is not None:
        weeks = (last - _monday(opens)).days // 7 + 1
    first = last - timedelta(weeks=weeks - 1)
    # chains dated before the first Monday (or the window) fall in weeks not shown
    begins = int(datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp())
    stmts = _statements(since=since, start=max(begins, start or begins), end=now, weekly=True)
    found: dict[Any, Counts] = {}
    with engine.connect() as conn:
        _tally(conn, stmts, found)
    mondays = [first + timedelta(weeks=i) for i in range(weeks)]
    numbers = [(monday - date(1970, 1, 5)).days // 7 for monday in mondays]
    labels = [opens or first, *mondays[1:]]
    # one frame for every week (a frame per week and a concat cost more than the counting)
    counted = [(pd.Timestamp(m), found.get(n)) for m, n in zip(labels, numbers, strict=True)]
    return _frame(None, week=counted)


def breakdown(engine: Engine, by: str, *, since: int, start: int, end: int) -> pd.DataFrame:
    """``rules.returns.breakdown``: the three rates per value of ``by`` (groups with debits)."""
    stmts = _statements(since=since, start=start, end=end, by=by)
    found: dict[Any, Counts] = {}
    with engine.connect() as conn:
        _tally(conn, stmts, found)
    rows = []
    for value, counts in found.items():
        row: dict[str, Any] = {by: str(value), "debits": counts["debits"]}
        for category in CATEGORIES:
            row[f"{category}_returns"] = counts[category]
            row[f"{category}_rate"] = counts[category] / counts["debits"]
        rows.append(row)
    rows.sort(key=lambda r: r[by])  # as Python orders the values (not the database's collation)
    columns = [by, "debits"] + [f"{c}_{k}" for c in CATEGORIES for k in ("returns", "rate")]
    return pd.DataFrame(rows, columns=columns)
