"""Pay calendars: which weekly, biweekly, semimonthly or monthly calendar explains a set of dates.

A calendar's nominal paydays move to the previous business day when they land on a weekend or
a Fed holiday (or to the next one, for payers that pay late). :func:`best_fit` tries every
calendar worth trying against a payer's deposit dates and keeps the one that explains them best;
:func:`is_convincing` guards against a calendar that only fits by chance. Pure: no I/O.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from services.rules.calendar import on_or_after_business_day, on_or_before_business_day

__all__ = ["CADENCES", "Fit", "Schedule", "best_fit", "describe", "is_convincing"]

CADENCES = ("weekly", "biweekly", "semimonthly", "monthly", "irregular")
MIN_STREAM_COUNT = 3  # a single deposit (or two) is never a stream
MIN_FIT_QUALITY = 0.75  # share of expected paydays that must be hit for a regular cadence
# Paydays land exactly on the (shifted) schedule almost always; dates that only sit somewhere
# inside the ±3-day window are what chance produces, so the average miss must stay small.
MAX_MEAN_RESIDUAL_DAYS = 1.0
FULL_EVIDENCE_COUNT = 5  # below this many deposits a stream must be complete: no gaps, no extras

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
LAST = 5  # "n" of an nth-weekday schedule meaning the last such weekday of the month


@dataclass(frozen=True)
class Schedule:
    """A pay calendar: a fixed period (phase = ordinal % period), anchor days of the month, or
    (``by_weekday``) the nth weekday of the month, params ``(n, weekday)``: US Social Security
    pays on the 2nd, 3rd or 4th Wednesday depending on the birth date.

    Nominal paydays that land on a weekend or Fed holiday move to the previous business day,
    the way US payroll providers (and the SSA) shift them; ``forward`` covers the payers that
    pay late instead.
    """

    cadence: str
    params: tuple[int, ...]
    forward: bool = False
    by_weekday: bool = False

    @property
    def period_days(self) -> int:
        return {"weekly": 7, "biweekly": 14, "semimonthly": 15, "monthly": 30}[self.cadence]

    @property
    def tolerance(self) -> int:
        # A weekly window of ±3 would match any date at all, so weekly is held tighter.
        return 2 if self.cadence == "weekly" else 3

    def paydays(self, start: date, end: date) -> list[date]:
        """Shifted paydays between ``start`` and ``end`` inclusive."""
        ordinals = _payday_ordinals(self, start.year - 1, end.year + 1)
        lo = bisect.bisect_left(ordinals, start.toordinal())
        hi = bisect.bisect_right(ordinals, end.toordinal())
        return [date.fromordinal(o) for o in ordinals[lo:hi]]


def _month_end(year: int, month: int) -> int:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def _nth_weekday(year: int, month: int, n: int, weekday: int) -> date:
    if n == LAST:
        last = date(year, month, _month_end(year, month))
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _nominal_in_year(schedule: Schedule, year: int) -> list[date]:
    if schedule.cadence in ("weekly", "biweekly"):
        period, phase = schedule.period_days, schedule.params[0]
        start, end = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
        first = start + (phase - start) % period
        return [date.fromordinal(o) for o in range(first, end + 1, period)]
    if schedule.by_weekday:
        n, weekday = schedule.params
        return [_nth_weekday(year, month, n, weekday) for month in range(1, 13)]
    return [
        date(year, month, min(anchor, _month_end(year, month)))
        for month in range(1, 13)
        for anchor in schedule.params
    ]


@lru_cache(maxsize=4096)
def _paydays_in_year(schedule: Schedule, year: int) -> tuple[int, ...]:
    shift = on_or_after_business_day if schedule.forward else on_or_before_business_day
    return tuple(shift(d).toordinal() for d in _nominal_in_year(schedule, year))


@lru_cache(maxsize=8192)
def _payday_ordinals(schedule: Schedule, first_year: int, last_year: int) -> tuple[int, ...]:
    """Every shifted payday (as a date ordinal) of the years given, sorted; cached because the
    same few hundred calendars are tried on every payer of every account."""
    days = (
        o for year in range(first_year, last_year + 1) for o in _paydays_in_year(schedule, year)
    )
    return tuple(sorted(days))


@dataclass(frozen=True)
class Fit:
    schedule: Schedule
    paydays: tuple[int, ...]  # shifted paydays as date ordinals, sorted
    matched: tuple[tuple[int, int], ...]  # (index into dates, index into paydays), by date
    residuals: tuple[int, ...]  # actual - nominal, days, per matched deposit
    missing: int
    unmatched: int
    quality: float  # matched share of the expected paydays, extra deposits counted against it
    mean_abs_residual: float

    def payday(self, slot: int) -> date:
        return date.fromordinal(self.paydays[slot])

    def sort_key(self) -> tuple[float, float, int, bool, bool]:
        # On a tie: prefer the longer period (a monthly stream also "fits" semimonthly with
        # gaps), then the usual backward shift, then a day of the month over an nth weekday.
        order = CADENCES.index(self.schedule.cadence)
        schedule = self.schedule
        return (
            round(self.quality, 6),
            -self.mean_abs_residual,
            order,
            not schedule.forward,
            not schedule.by_weekday,
        )


def _years_around(ordinals: Sequence[int]) -> tuple[int, int]:
    """Calendar years holding every payday a fit can use: two longest periods and a week
    either side of the deposits, so the next payday after the last deposit is always there."""
    margin = 2 * 30 + 7
    return date.fromordinal(ordinals[0] - margin).year, date.fromordinal(ordinals[-1] + margin).year


def _fit(ordinals: Sequence[int], schedule: Schedule) -> Fit | None:
    """Match each deposit (a date ordinal, sorted) to its nearest scheduled payday within the
    schedule's tolerance; one deposit per payday, the closest (then the earliest) wins."""
    paydays = _payday_ordinals(schedule, *_years_around(ordinals))
    tolerance, last = schedule.tolerance, len(paydays) - 1
    best_for_slot: dict[int, tuple[int, int]] = {}  # slot -> (abs residual, date index)
    for i, o in enumerate(ordinals):
        k = bisect.bisect_left(paydays, o)
        if k > last:
            j = last
        elif k == 0 or o - paydays[k - 1] > paydays[k] - o:
            j = k
        else:
            j = k - 1
        gap = abs(o - paydays[j])
        if gap <= tolerance and (j not in best_for_slot or gap < best_for_slot[j][0]):
            best_for_slot[j] = (gap, i)
    if not best_for_slot:
        return None
    matched = tuple(sorted((i, j) for j, (_, i) in best_for_slot.items()))
    span = matched[-1][1] - matched[0][1] + 1  # slots are increasing with dates
    unmatched = len(ordinals) - len(matched)
    residuals = tuple(ordinals[i] - paydays[j] for i, j in matched)
    return Fit(
        schedule=schedule,
        paydays=paydays,
        matched=matched,
        residuals=residuals,
        missing=span - len(matched),
        unmatched=unmatched,
        quality=len(matched) / (span + unmatched),
        mean_abs_residual=sum(abs(r) for r in residuals) / len(residuals),
    )


def _anchor_days(dates: Sequence[date]) -> list[int]:
    """Plausible days of the month: observed days, give or take the 3 days a weekend or holiday
    shift can move a payday, plus 31 meaning "the last day" near month ends."""
    days = {min(max(d.day + k, 1), 31) for d in dates for k in range(-3, 4)}
    if any(_month_end(d.year, d.month) - d.day <= 3 or d.day <= 3 for d in dates):
        days.add(31)
    return sorted(days)


# --------------------------------------------------------------------------- pruning
# Every candidate calendar is fitted only when it could still win. A fit's quality is at most
# (deposits it matches) / (all deposits), and it matches at most one deposit per day that lies
# within tolerance of one of its paydays. With the deposit days and each calendar's covered
# days as bit masks, that count is one AND and a popcount, so most calendars are dropped
# without being fitted.


@lru_cache(maxsize=8192)
def _coverage(schedule: Schedule, first_year: int, last_year: int) -> int:
    """Bit k set when day ``Jan 1 of first_year + k`` is within tolerance of a payday."""
    base = date(first_year, 1, 1).toordinal()
    tolerance = schedule.tolerance
    block = (1 << (2 * tolerance + 1)) - 1
    mask = 0
    for payday in _payday_ordinals(schedule, first_year, last_year):
        offset = payday - tolerance - base
        mask |= block << offset if offset >= 0 else block >> -offset
    return mask


def _candidates(dates: Sequence[date]) -> Iterable[Schedule]:
    """Every calendar worth trying, in the order that breaks exact ties (the earlier wins)."""
    anchors = _anchor_days(dates)
    weekdays = [(n, wd) for n in (1, 2, 3, 4, LAST) for wd in range(5)]
    for forward in (False, True):
        yield from (Schedule("weekly", (p,), forward) for p in range(7))
        yield from (Schedule("biweekly", (p,), forward) for p in range(14))
        yield from (Schedule("monthly", (a,), forward) for a in anchors)
        for a in anchors:
            for b in anchors:
                if 10 <= b - a <= 20:
                    yield Schedule("semimonthly", (a, b), forward)
        yield from (Schedule("monthly", key, forward, by_weekday=True) for key in weekdays)


def best_fit(
    dates: Sequence[date], *, cadence: str | None = None, convincing: bool = False
) -> Fit | None:
    """The calendar that explains the dates best (``convincing``: only fits that pass
    :func:`is_convincing`); None when no calendar fits."""
    ordinals = [d.toordinal() for d in dates]
    years = _years_around(ordinals)
    base = date(years[0], 1, 1).toordinal()
    days = 0
    for o in ordinals:
        days |= 1 << (o - base)
    n = len(ordinals)
    candidates = [
        (index, schedule, (days & _coverage(schedule, *years)).bit_count())
        for index, schedule in enumerate(_candidates(dates))
        if cadence is None or schedule.cadence == cadence
    ]
    floor = MIN_FIT_QUALITY if convincing else 0.0
    best_key: tuple[tuple[float, float, int, bool, bool], int] | None = None
    best_fit: Fit | None = None
    # Likeliest first, so the bar rises fast and the rest are dropped without fitting.
    for index, schedule, bound in sorted(candidates, key=lambda c: -c[2]):
        bar = max(floor, best_fit.quality if best_fit else 0.0)
        if bound == 0 or bound / n < bar - 1e-9:
            break  # sorted by bound: nothing after this can reach the bar either
        fit = _fit(ordinals, schedule)
        if fit is None or (convincing and not is_convincing(fit)):
            continue
        key = (fit.sort_key(), -index)  # on a full tie the earlier candidate wins
        if best_key is None or key > best_key:
            best_key, best_fit = key, fit
    return best_fit


def is_convincing(fit: Fit) -> bool:
    """Guards against fitting a calendar to chance: with many candidate calendars, a few random
    dates will match one of them loosely, so short or loose fits must be clean."""
    matched = len(fit.matched)
    if matched < MIN_STREAM_COUNT or fit.quality < MIN_FIT_QUALITY:
        return False
    if fit.mean_abs_residual > MAX_MEAN_RESIDUAL_DAYS:
        return False
    return matched >= FULL_EVIDENCE_COUNT or (fit.missing == 0 and fit.unmatched == 0)


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _day_words(anchor: int) -> str:
    return "last day" if anchor >= 31 else _ordinal(anchor)


def _weekday_words(n: int, weekday: int) -> str:
    """ "2nd Wednesday", "last Friday"."""
    return f"{'last' if n == LAST else _ordinal(n)} {WEEKDAYS[weekday]}"


def describe(schedule: Schedule) -> str:
    """When the calendar pays, in words: "every 14 days", "on the 2nd Wednesday of each month"."""
    if schedule.cadence in ("weekly", "biweekly"):
        return f"every {schedule.period_days} days"
    if schedule.by_weekday:
        return f"on the {_weekday_words(*schedule.params)} of each month"
    days = " and ".join(_day_words(a) for a in schedule.params)
    return f"on the {days} of each month"
