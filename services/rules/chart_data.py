"""Honest rates for charts, cards and tables: never a rate without its count.

Pure data shaping (no altair, no Streamlit): the chart builders in ``components/`` and the pages
draw what these return. The rules, in one place:

- A rate is shown with the count it is a share of ("72 % · 18 of 25").
- Pending intents have not ended, so they are neither conversions nor failures: a conversion
  rate is usable ÷ *ended* (started − pending − paid by another method), and pending is counted
  apart. An intent the customer paid by card or Link ("paid by another method") did not fail
  bank verification, so it is out of the base too: it says nothing about the method.
- A bucket (a week, a method) with fewer than :data:`MIN_COUNT` in its base is drawn as such
  ("n < 20": too few to judge) and kept off the rate line, so one intent never plots as 0 % or
  100 %.
- Nothing to count is "No data yet", never 0.0 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from services.rules import wording

__all__ = [
    "MIN_COUNT",
    "NO_DATA",
    "OUTCOME_GROUPS",
    "Rate",
    "conversion_of",
    "flag_small_buckets",
    "partial_weeks",
    "weekly_outcomes",
    "weekly_points",
    "with_settled",
]

MIN_COUNT = 20  # below this many in a bucket's base, its rate is shown but not judged
NO_DATA = "No data yet"
# How the week's intents ended, in the order the stacked bars draw them.
# Paid by another method (card or Link) is apart from "ended without": it is not in the rate's base.
OUTCOME_GROUPS: tuple[str, ...] = (
    "Usable",
    "Ended without a bank account",
    "Paid by another method",
    "Pending",
)
_ENDED_OTHERWISE = ("failed", "canceled", "abandoned")


@dataclass(frozen=True)
class Rate:
    """``hits`` of ``base`` (e.g. usable of ended), with what was left out (``pending``)."""

    hits: int
    base: int
    pending: int = 0
    min_count: int = MIN_COUNT

    @property
    def value(self) -> float | None:
        """The share, or None when there is nothing to divide (never 0.0 for "no data")."""
        return self.hits / self.base if self.base > 0 else None

    @property
    def small(self) -> bool:
        """There is a rate, but from fewer than ``min_count``: too few to judge."""
        return 0 < self.base < self.min_count

    def label(self, decimals: int = 1) -> str:
        """The rate as a person reads it: "72 %", "72.5 %", or "No data yet"."""
        value = self.value
        return NO_DATA if value is None else wording.percent(value, decimals)

    def counts(self, phrase: str = "{hits} usable of {base} ended") -> str:
        """The count behind the rate: "18 usable of 25 ended · 3 pending (not counted yet)"."""
        parts = [phrase.format(hits=f"{self.hits:,}", base=f"{self.base:,}")]
        if self.small:
            parts.append(f"n < {self.min_count}: too few to judge")
        if self.pending:
            parts.append(f"{self.pending:,} pending (not counted yet)")
        return " · ".join(parts)


def conversion_of(
    started: int,
    succeeded: int,
    pending: int,
    *,
    other_method: int = 0,
    min_count: int = MIN_COUNT,
) -> Rate:
    """Usable ÷ ended: pending intents are left out of the base and counted apart, and so are
    intents paid by another method (card or Link): they neither converted nor failed."""
    return Rate(
        hits=int(succeeded),
        base=max(0, int(started) - int(pending) - int(other_method)),
        pending=int(pending),
        min_count=min_count,
    )


def with_settled(frame: pd.DataFrame) -> pd.DataFrame:
    """A funnel frame (per method, or per week and method) plus ``ended`` (started − pending −
    paid by another method: the base :func:`conversion_of` uses) and ``ended_conversion_rate``
    (usable ÷ ended; NaN, not 0, when nothing ended)."""
    out = frame.copy()
    other = out.get("other_method", 0)
    ended = (out["started"] - out["pending"] - other).clip(lower=0).astype("int64")
    out["ended"] = ended
    out["ended_conversion_rate"] = (out["succeeded"] / ended.where(ended > 0)).astype("float64")
    return out


def _day_label(day: date) -> str:
    return f"{day:%b} {day.day}"


def partial_weeks(
    weeks: pd.Series, start: date | None = None, end: date | None = None
) -> tuple[pd.Series, pd.Series]:
    """For weeks starting on ``weeks`` (Mondays), which the range ``start``–``end`` cuts (it
    covers only some of their seven days), and what the cut week covers ("partial week: Nov 7–8
    only"; "" for a whole week). A partial week holds fewer intents by construction, so the
    charts mark it apart instead of letting it read as a dip."""
    partial: list[bool] = []
    notes: list[str] = []
    for value in pd.to_datetime(weeks):
        first = value.date()
        last = first + timedelta(days=6)
        shown_from = max(first, start) if start else first
        shown_to = min(last, end) if end else last
        cut = (shown_from, shown_to) != (first, last)
        partial.append(cut)
        if not cut:
            notes.append("")
        elif shown_from == shown_to:
            notes.append(f"partial week: {_day_label(shown_from)} only")
        elif shown_from.month == shown_to.month:
            notes.append(f"partial week: {_day_label(shown_from)}–{shown_to.day} only")
        else:
            notes.append(f"partial week: {_day_label(shown_from)}–{_day_label(shown_to)} only")
    index = weeks.index
    return pd.Series(partial, index=index, dtype=bool), pd.Series(notes, index=index, dtype=object)


def weekly_points(
    weekly: pd.DataFrame,
    *,
    min_count: int = MIN_COUNT,
    keep_empty: bool = False,
    start: date | None = None,
    end: date | None = None,
) -> pd.DataFrame:
    """One point per (week, method) that started anything (every week with ``keep_empty``, so
    a line breaks at a week without data), for the weekly conversion chart.

    Columns: ``week`` (Timestamp), ``verification_method``, ``started``, ``succeeded``,
    ``pending``, ``ended``, ``rate`` (usable ÷ ended, NaN when nothing ended), ``partial``
    (the range ``start``–``end`` cuts the week: :func:`partial_weeks`), ``enough`` (ended ≥
    ``min_count`` in a whole week: a rate to judge), ``line_rate`` (``rate`` where enough, else
    NaN: the line skips small and partial weeks) and ``note`` (what the tooltip says about the
    point).
    """
    columns = [
        "week",
        "verification_method",
        "started",
        "succeeded",
        "pending",
        "ended",
        "rate",
        "partial",
        "enough",
        "line_rate",
        "note",
    ]
    if weekly.empty:
        return pd.DataFrame(columns=columns)
    data = with_settled(weekly)
    if not keep_empty:
        data = data.loc[data["started"] > 0].copy()
    data["week"] = pd.to_datetime(data["week"])
    data["rate"] = data["ended_conversion_rate"]
    data["partial"], cut = partial_weeks(data["week"], start, end)
    data["enough"] = (data["ended"] >= min_count) & ~data["partial"]
    data["line_rate"] = data["rate"].where(data["enough"])
    data["note"] = [
        " · ".join(filter(None, (cut_note, _note(int(ended), int(pending), min_count))))
        for ended, pending, cut_note in zip(data["ended"], data["pending"], cut, strict=True)
    ]
    return data[columns].reset_index(drop=True)


def _note(ended: int, pending: int, min_count: int) -> str:
    if ended == 0:
        return f"{NO_DATA}: all {pending:,} still pending" if pending else NO_DATA
    if ended < min_count:
        return f"n < {min_count}: too few to judge"
    return ""


def weekly_outcomes(
    weekly: pd.DataFrame, *, start: date | None = None, end: date | None = None
) -> pd.DataFrame:
    """Per week (all methods in ``weekly`` together): how many intents became usable, ended
    without a bank account, were paid by another method (card or Link), or are still pending.
    Long form: ``week``, ``week_end`` (the next Monday: a bar spans its week), ``outcome``,
    ``count``, ``order``, ``partial`` and ``note`` (the range ``start``–``end`` cuts the week:
    :func:`partial_weeks`); weeks in which nothing started are left out."""
    columns = ["week", "week_end", "outcome", "count", "order", "partial", "note"]
    if weekly.empty:
        return pd.DataFrame(columns=columns)
    ended_otherwise = weekly[[c for c in _ENDED_OTHERWISE if c in weekly.columns]].sum(axis=1)
    per_week = (
        pd.DataFrame(
            {
                "week": pd.to_datetime(weekly["week"]),
                "started": weekly["started"],
                OUTCOME_GROUPS[0]: weekly["succeeded"],
                OUTCOME_GROUPS[1]: ended_otherwise,
                OUTCOME_GROUPS[2]: weekly.get("other_method", 0),
                OUTCOME_GROUPS[3]: weekly["pending"],
            }
        )
        .groupby("week", as_index=False)
        .sum()
    )
    per_week = per_week.loc[per_week["started"] > 0]
    partial, notes = partial_weeks(per_week["week"], start, end)
    records = [
        {
            "week": row["week"],
            "week_end": row["week"] + pd.Timedelta(days=7),
            "outcome": group,
            "count": int(row[group]),
            "order": i,
            "partial": bool(cut),
            "note": note,
        }
        for (_, row), cut, note in zip(per_week.iterrows(), partial, notes, strict=True)
        for i, group in enumerate(OUTCOME_GROUPS)
    ]
    return pd.DataFrame(records, columns=columns)


def flag_small_buckets(
    frame: pd.DataFrame, *, base: str, rate: str = "rate", min_count: int = MIN_COUNT
) -> pd.DataFrame:
    """Any rate-per-bucket frame plus ``enough`` (``base`` ≥ ``min_count``), ``line_rate``
    (the rate where enough, else NaN) and ``note`` ("No data yet" / "n < 20: too few to judge")."""
    out = frame.copy()
    counts = out[base].astype("int64")
    out["enough"] = counts >= min_count
    out["line_rate"] = out[rate].where(out["enough"])
    out["note"] = [
        NO_DATA
        if n == 0 or math.isnan(float(r))
        else ("" if n >= min_count else f"n < {min_count}: too few to judge")
        for n, r in zip(counts, out[rate].astype("float64"), strict=True)
    ]
    return out
