"""Cash flow over Financial Connections transactions: money in and out per period, the rebuilt
daily balance, the largest counterparties and the 30/60/90-day risk windows.

Conventions and status rules: :mod:`services.rules.transactions`. Pure: no I/O.
"""

from __future__ import annotations

import bisect
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd

from services.rules.descriptions import normalise_description
from services.rules.transactions import (
    DIRECTIONS,
    Txn,
    as_date,
    as_timestamp,
    direction_of,
    end_of_day_ts,
    live_rows,
    single_currency,
    txn_day,
)

__all__ = [
    "RiskWindow",
    "daily_cash_flow",
    "risk_aggregates",
    "running_balance",
    "top_counterparties",
]

_FREQ_ALIASES = {"ME": "M", "MS": "M", "QE": "Q", "QS": "Q", "YE": "Y", "YS": "Y", "A": "Y"}
_CASH_FLOW_COLUMNS = ["period", "money_in", "money_out", "net"]


def daily_cash_flow(transactions: Sequence[Txn], *, freq: str = "D") -> pd.DataFrame:
    """Money in, money out (as a positive number) and net per period, gaps filled with zeros.

    ``freq`` is a pandas period alias: "D", "W" (weeks starting Monday), "M", "Q", "Y";
    ``period`` is the start of each period. Pending rows count (the money is moving).
    """
    live = live_rows(transactions)
    single_currency(live)
    if not live:
        return _empty_frame(_CASH_FLOW_COLUMNS, datetime_columns=("period",))
    frame = pd.DataFrame(
        {
            "day": pd.to_datetime([txn_day(t) for t in live]),
            "amount": [int(t["amount"]) for t in live],
        }
    )
    period_freq = _FREQ_ALIASES.get(freq, freq)
    frame["period"] = frame["day"].dt.to_period(period_freq)
    frame["money_in"] = frame["amount"].clip(lower=0)
    frame["money_out"] = (-frame["amount"]).clip(lower=0)
    sums = frame.groupby("period")[["money_in", "money_out"]].sum()
    full = pd.period_range(sums.index.min(), sums.index.max(), freq=period_freq)
    sums = sums.reindex(full, fill_value=0)
    out = pd.DataFrame(
        {
            "period": full.to_timestamp(how="start").as_unit("ns"),
            "money_in": sums["money_in"].to_numpy(dtype="int64"),
            "money_out": sums["money_out"].to_numpy(dtype="int64"),
        }
    )
    out["net"] = out["money_in"] - out["money_out"]
    return out


def _empty_frame(columns: Sequence[str], *, datetime_columns: Sequence[str] = ()) -> pd.DataFrame:
    return pd.DataFrame(
        {
            c: pd.Series(dtype="datetime64[ns]" if c in datetime_columns else "int64")
            for c in columns
        }
    )


# --------------------------------------------------------------------------- balances


def _posted_effect_ts(t: Txn) -> int:
    posted_at = (t.get("status_transitions") or {}).get("posted_at")
    return int(posted_at) if posted_at is not None else int(t["transacted_at"])


class _BalanceTimeline:
    """Balance at any instant, anchored on one known balance and the posted movements."""

    def __init__(self, transactions: Sequence[Txn], *, current_balance: int, as_of_ts: int):
        moves = sorted(
            (_posted_effect_ts(t), int(t["amount"]))
            for t in transactions
            if t.get("status") == "posted"
        )
        self._times = [ts for ts, _ in moves]
        self._cumulative = [0]
        for _, amount in moves:
            self._cumulative.append(self._cumulative[-1] + amount)
        self._anchor = current_balance - self._moved_by(as_of_ts)

    def _moved_by(self, ts: int) -> int:
        return self._cumulative[bisect.bisect_right(self._times, ts)]

    def at(self, ts: int) -> int:
        return self._anchor + self._moved_by(ts)

    def end_of_day(self, d: date) -> int:
        return self.at(end_of_day_ts(d))


def running_balance(
    transactions: Sequence[Txn],
    *,
    current_balance: int,
    as_of: datetime | int,
    days: int = 90,
) -> pd.DataFrame:
    """End-of-day balances for the ``days`` days ending on the ``as_of`` date, rebuilt backwards.

    ``current_balance`` is the FC ``balance.current`` (posted) at ``as_of``; walking back, each
    posted movement after a day's end is undone. Posted rows that land after ``as_of`` on the
    same day are applied forwards. History older than the bank returns (≤180 days) is
    indistinguishable from a quiet account, so far-back values are only as good as the feed.
    """
    live = live_rows(transactions)
    single_currency(live)
    timeline = _BalanceTimeline(live, current_balance=current_balance, as_of_ts=as_timestamp(as_of))
    last = as_date(as_of)
    dates = [last - timedelta(days=k) for k in range(days - 1, -1, -1)]
    return pd.DataFrame(
        {
            "date": pd.to_datetime(dates).as_unit("ns"),
            "balance": pd.Series([timeline.end_of_day(d) for d in dates], dtype="int64"),
        }
    )


# --------------------------------------------------------------------------- counterparties


def top_counterparties(
    transactions: Sequence[Txn], *, limit: int = 10, direction: str = "out"
) -> pd.DataFrame:
    """Who the money goes to ("out") or comes from ("in"), or both ("both"), biggest first.

    Rows are grouped by ``normalise_description``; ``total`` is a positive number.
    """
    if direction not in (*DIRECTIONS, "both"):
        raise ValueError(f"direction must be 'in', 'out' or 'both', not {direction!r}")
    live = live_rows(transactions)
    single_currency(live)
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for t in live:
        way = direction_of(t)
        if way is None or direction not in (way, "both"):
            continue
        entry = totals[(normalise_description(str(t.get("description") or "")), way)]
        entry[0] += 1
        entry[1] += abs(int(t["amount"]))
    rows = sorted(
        ((name, count, total, way) for (name, way), (count, total) in totals.items()),
        key=lambda r: (-r[2], -r[1], r[0], r[3]),
    )[: max(0, limit)]
    return pd.DataFrame(
        {
            "counterparty": pd.Series([r[0] for r in rows], dtype="str"),
            "count": pd.Series([r[1] for r in rows], dtype="int64"),
            "total": pd.Series([r[2] for r in rows], dtype="int64"),
            "direction": pd.Series([r[3] for r in rows], dtype="str"),
        }
    )


# --------------------------------------------------------------------------- risk


@dataclass(frozen=True)
class RiskWindow:
    """Underwriting aggregates over the last ``days`` days (sums are positive minor units).

    Balance figures are ``None`` when no current balance is known to rebuild them from.
    """

    days: int
    average_daily_balance: int | None
    minimum_daily_balance: int | None
    credits_count: int
    credits_sum: int
    debits_count: int
    debits_sum: int
    negative_balance_days: int | None


def risk_aggregates(
    transactions: Sequence[Txn],
    *,
    current_balance: int | None,
    as_of: datetime | int,
    now: datetime | int,
    windows: Sequence[int] = (30, 60, 90),
) -> list[RiskWindow]:
    """Credits, debits and end-of-day balance statistics for each trailing window ending ``now``.

    A window of N days covers the N calendar days ending on ``now``'s UTC date. Credit and debit
    counts include pending rows; balances are rebuilt from posted rows around the balance known
    at ``as_of`` (which may be older or newer than ``now``).
    """
    live = live_rows(transactions)
    single_currency(live)
    end = as_date(now)
    timeline = (
        _BalanceTimeline(live, current_balance=current_balance, as_of_ts=as_timestamp(as_of))
        if current_balance is not None
        else None
    )
    return [_risk_window(live, days=n, end=end, timeline=timeline) for n in windows]


def _risk_window(
    live: Sequence[Txn], *, days: int, end: date, timeline: _BalanceTimeline | None
) -> RiskWindow:
    start = end - timedelta(days=days - 1)
    inside = [int(t["amount"]) for t in live if start <= txn_day(t) <= end]
    credits = [a for a in inside if a > 0]
    debits = [-a for a in inside if a < 0]
    balances = (
        [timeline.end_of_day(start + timedelta(days=k)) for k in range(days)] if timeline else []
    )
    return RiskWindow(
        days=days,
        average_daily_balance=int(round(statistics.fmean(balances))) if balances else None,
        minimum_daily_balance=min(balances) if balances else None,
        credits_count=len(credits),
        credits_sum=sum(credits),
        debits_count=len(debits),
        debits_sum=sum(debits),
        negative_balance_days=sum(b < 0 for b in balances) if balances else None,
    )
