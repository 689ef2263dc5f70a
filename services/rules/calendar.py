"""US banking calendar: weekends and Federal Reserve holidays.

ACH settles on Federal Reserve business days, so payroll and debit dates shift around
weekends and these holidays.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    return first + timedelta(days=offset + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(d: date) -> date:
    # The Federal Reserve does not move Saturday holidays to Friday; Sunday ones move to Monday.
    return d + timedelta(days=1) if d.weekday() == 6 else d


@lru_cache(maxsize=64)
def us_bank_holidays(year: int) -> frozenset[date]:
    """Federal Reserve holidays observed in ``year``."""
    return frozenset(
        {
            _observed(date(year, 1, 1)),
            _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
            _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
            _last_weekday(year, 5, 0),  # Memorial Day
            _observed(date(year, 6, 19)),  # Juneteenth
            _observed(date(year, 7, 4)),
            _nth_weekday(year, 9, 0, 1),  # Labor Day
            _nth_weekday(year, 10, 0, 2),  # Columbus Day
            _observed(date(year, 11, 11)),
            _nth_weekday(year, 11, 3, 4),  # Thanksgiving
            _observed(date(year, 12, 25)),
        }
    )


def is_business_day(d: date) -> bool:
    return d.weekday() < 5 and d not in us_bank_holidays(d.year)


def next_business_day(d: date) -> date:
    """The first business day strictly after ``d``."""
    d += timedelta(days=1)
    while not is_business_day(d):
        d += timedelta(days=1)
    return d


def previous_business_day(d: date) -> date:
    """The last business day strictly before ``d``."""
    d -= timedelta(days=1)
    while not is_business_day(d):
        d -= timedelta(days=1)
    return d


def on_or_before_business_day(d: date) -> date:
    """``d`` if it is a business day, else the business day before (how payroll shifts)."""
    return d if is_business_day(d) else previous_business_day(d)


def on_or_after_business_day(d: date) -> date:
    return d if is_business_day(d) else next_business_day(d)
