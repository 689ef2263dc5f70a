"""Nacha return rates counted in SQL over the debit-outcome mirror (issue 13).

The same figures as :mod:`services.rules.returns` computes from every :class:`Outcome` in
Python (``rates_of``, ``weekly_rates``, ``breakdown``), as one GROUP BY per figure on
SQLite and PostgreSQL alike, so a page never loads the debits to count them. A chain is an
original debit and its re-initiations (one debit for Nacha), dated by the original; it counts as
a return in each category any of its attempts came back in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Engine

from services.adapters.models import DebitOutcomeRecord
from services.rules.nacha import CATEGORIES, LIMITS
from services.rules.returns import RATE_COLUMNS

__all__ = ["breakdown", "rates", "weekly"]

WEEK = 7 * 86_400
FIRST_MONDAY = 4 * 86_400  # 1970-01-05, the first Monday after the epoch
TABLE: Any = DebitOutcomeRecord.__table__  # type: ignore[attr-defined]


def _chains(since: int, by: str | None = None) -> Any:
    """One row per chain of the debits created at or after ``since``: its date, a 0/1 flag per
    category, and (with ``by``) the original's value of that column ("unknown" when empty)."""
    t = TABLE
    original = t.c.id == t.c.original_id
    returned = and_(
        t.c.status == "returned", t.c.return_code.is_not(None), t.c.category.is_not(None)
    )

    def any_of(condition: Any) -> Any:
        return func.max(case((condition, 1), else_=0))

    columns = [
        func.coalesce(func.max(case((original, t.c.created))), func.min(t.c.created)).label(
            "created"
        ),
        any_of(and_(returned, t.c.category == "unauthorized")).label("unauthorized"),
        any_of(and_(returned, t.c.category == "administrative")).label("administrative"),
        any_of(returned).label("overall"),
    ]
    if by is not None:
        value = func.coalesce(func.nullif(t.c[by], ""), "unknown")
        # the original's value; without the original (made before ``since``) the attempts'
        columns.append(
            func.coalesce(func.max(case((original, value))), func.min(value)).label("value")
        )
    return select(*columns).where(t.c.created >= since).group_by(t.c.original_id).subquery()


def _counts(chains: Any, *keys: Any) -> Any:
    return select(
        *keys,
        func.count().label("debits"),
        *(func.coalesce(func.sum(chains.c[c]), 0).label(c) for c in CATEGORIES),
    )


def _frame(row: Any) -> pd.DataFrame:
    debits = int(row.debits) if row is not None else 0
    rows = []
    for category in CATEGORIES:
        returns = int(getattr(row, category)) if row is not None else 0
        rows.append(
            {
                "category": category,
                "debits": debits,
                "returns": returns,
                "rate": returns / debits if debits else None,
                "limit": LIMITS[category],
            }
        )
    frame = pd.DataFrame(rows, columns=RATE_COLUMNS)
    frame["rate"] = frame["rate"].astype("float64")  # NaN (empty), never 0, without debits
    return frame


def rates(engine: Engine, *, since: int, start: int, end: int) -> pd.DataFrame:
    """``rules.returns.rates_of`` over the debits created since ``since``, for the chains
    dated from ``start`` to ``end`` (both included)."""
    chains = _chains(since)
    stmt = _counts(chains).where(chains.c.created >= start, chains.c.created <= end)
    with engine.connect() as conn:
        return _frame(conn.execute(stmt).one())


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly(engine: Engine, *, since: int, now: int, weeks: int = 13) -> pd.DataFrame:
    """``rules.returns.weekly_rates``: the rates per Monday-based UTC week of origination."""
    first = _monday(datetime.fromtimestamp(now, tz=UTC).date()) - timedelta(weeks=weeks - 1)
    chains = _chains(since)
    week = ((chains.c.created - FIRST_MONDAY) // WEEK).label("week")  # whole weeks since 1970-01-05
    stmt = _counts(chains, week).where(chains.c.created <= now).group_by(week)
    with engine.connect() as conn:
        found = {int(r.week): r for r in conn.execute(stmt)}
    frames = []
    for i in range(weeks):
        monday = first + timedelta(weeks=i)
        number = (monday - date(1970, 1, 5)).days // 7
        frame = _frame(found.get(number))
        frame.insert(0, "week", pd.Timestamp(monday))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def breakdown(engine: Engine, by: str, *, since: int, start: int, end: int) -> pd.DataFrame:
    """``rules.returns.breakdown``: the three rates per value of ``by`` (groups with debits)."""
    chains = _chains(since, by)
    stmt = (
        _counts(chains, chains.c.value)
        .where(chains.c.created >= start, chains.c.created <= end)
        .group_by(chains.c.value)
    )
    rows = []
    with engine.connect() as conn:
        for found in conn.execute(stmt):
            row: dict[str, Any] = {by: str(found.value), "debits": int(found.debits)}
            for category in CATEGORIES:
                returns = int(getattr(found, category))
                row[f"{category}_returns"] = returns
                row[f"{category}_rate"] = returns / int(found.debits)
            rows.append(row)
    rows.sort(key=lambda r: r[by])  # as Python orders the values (not the database's collation)
    columns = [by, "debits"] + [f"{c}_{k}" for c in CATEGORIES for k in ("returns", "rate")]
    return pd.DataFrame(rows, columns=columns)
