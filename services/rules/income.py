"""Recurring income in an account's transactions: pay streams, their confidence, the debit date.

Inputs are ``financial_connections.transaction`` objects as plain mappings (see
:mod:`services.rules.transactions` for the conventions). Income detection uses **posted**
deposits only: a pending credit can still be voided or change amount, and one missing day at the
end of a stream is absorbed by the overdue grace period. Pure: no I/O.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from services.rules import wording
from services.rules.calendar import next_business_day, on_or_before_business_day
from services.rules.descriptions import looks_like_income, normalise_description, payer_key
from services.rules.pay_calendar import MIN_STREAM_COUNT, Fit, best_fit, describe
from services.rules.transactions import Moment, Txn, as_date, txn_day

__all__ = ["IncomeRow", "IncomeStream", "detect_income", "suggest_debit_date"]

# Deposits smaller than this (minor units) are noise for income detection: cash-back, interest,
# small peer-to-peer credits. Callers with other currencies can pass their own ``min_amount``.
DEFAULT_MIN_INCOME_AMOUNT = 5_000
AMOUNT_TOLERANCE = 0.25  # raises and overtime stay within ±25 % of the payer's median
OVERDUE_GRACE_DAYS = 3
# Paychecks from one payer whose amounts sit this far apart (relative) are separate paychecks
# (two jobs, or two people), not one paycheck drifting: raises and overtime move less than that.
CLUSTER_GAP = 0.15


@dataclass(frozen=True)
class IncomeStream:
    """A recurring source of deposits, with the evidence behind it."""

    description: str  # normalised payer label, e.g. "ACME CORP PAYROLL"
    cadence: str  # "weekly" | "biweekly" | "semimonthly" | "monthly" | "irregular"
    typical_amount: int  # minor units, median of recent deposits
    currency: str
    last_date: date
    next_expected: date | None  # None for irregular
    confidence: float  # 0..1
    count: int
    amounts: tuple[int, ...]  # oldest first
    dates: tuple[date, ...]
    reason: str


@dataclass(frozen=True)
class IncomeRow:
    """An income stream plus the debit date it suggests."""

    stream: IncomeStream
    suggested_debit_date: date | None


@dataclass(frozen=True)
class _Deposit:
    day: date
    amount: int
    label: str


def detect_income(
    transactions: Sequence[Txn],
    *,
    now: Moment,
    min_amount: int = DEFAULT_MIN_INCOME_AMOUNT,
) -> list[IncomeStream]:
    """Find recurring income in an account's history, most trustworthy first.

    Posted deposits of at least ``min_amount`` are grouped by payer (purpose words such as
    PAYROLL or DIRECT DEP are ignored so variants group together); refunds, reversals and
    transfers from the holder's own accounts are not income. Each payer with three or more
    deposits is fitted against weekly, biweekly, semimonthly and monthly pay calendars (a day of
    the month, or the nth weekday as Social Security pays; all with the weekend/holiday shift);
    a payer that fits none is reported as ``irregular``. A payer whose deposits fall into
    clearly different amounts paid side by side, each on its own calendar (two jobs at one
    employer), gives one stream per amount.
    Sorted by confidence, then typical amount, both descending.
    """
    today = as_date(now)
    groups: dict[tuple[str, str], list[_Deposit]] = defaultdict(list)
    for t in transactions:
        amount = int(t["amount"])
        if t.get("status") != "posted" or amount < min_amount:
            continue
        day = txn_day(t)
        label = normalise_description(str(t.get("description") or ""))
        if day > today or not looks_like_income(label):
            continue
        currency = str(t.get("currency", "")).lower()
        groups[(payer_key(label), currency)].append(_Deposit(day, amount, label))
    streams = [
        stream
        for (_, currency), deposits in groups.items()
        for stream in _streams_from(_by_day(deposits), currency, today)
    ]
    return sorted(streams, key=lambda s: (s.confidence, s.typical_amount), reverse=True)


def _by_day(deposits: Iterable[_Deposit]) -> list[_Deposit]:
    return sorted(deposits, key=lambda d: (d.day, d.amount))


def _streams_from(deposits: list[_Deposit], currency: str, today: date) -> list[IncomeStream]:
    """One payer's streams: usually one, but two paychecks from the same employer (two jobs
    there, or a couple who both work there) are two streams told apart by their amounts."""
    if len(deposits) < MIN_STREAM_COUNT:
        return []
    concurrent = _concurrent_paychecks(deposits, currency, today)
    if concurrent:
        return concurrent
    stream = _stream_from(deposits, currency, today)
    return [stream] if stream else []


def _amount_clusters(deposits: Sequence[_Deposit]) -> list[list[_Deposit]]:
    """Deposits grouped by amount, split wherever the next larger amount is more than
    ``CLUSTER_GAP`` above the previous one; each group in date order."""
    by_amount = sorted(deposits, key=lambda d: d.amount)
    clusters: list[list[_Deposit]] = [[by_amount[0]]]
    for previous, deposit in zip(by_amount, by_amount[1:], strict=False):
        if deposit.amount > previous.amount * (1 + CLUSTER_GAP):
            clusters.append([])
        clusters[-1].append(deposit)
    return [_by_day(c) for c in clusters]


def _concurrent(clusters: Sequence[Sequence[_Deposit]]) -> bool:
    """Every pair of clusters runs side by side (a raise or a new job is one after the other)."""
    for a, b in itertools.combinations(clusters, 2):
        overlap = (min(a[-1].day, b[-1].day) - max(a[0].day, b[0].day)).days
        shorter = min((a[-1].day - a[0].day).days, (b[-1].day - b[0].day).days)
        if overlap < 0.5 * shorter or shorter <= 0:
            return False
    return True


def _concurrent_paychecks(
    deposits: list[_Deposit], currency: str, today: date
) -> list[IncomeStream] | None:
    """Two or more amount clusters paid side by side, each on its own convincing calendar; None
    when the payer's deposits do not split that way (then they are judged as one stream)."""
    clusters = _amount_clusters(deposits)
    big = [c for c in clusters if len(c) >= MIN_STREAM_COUNT]
    extra = [d for c in clusters if len(c) < MIN_STREAM_COUNT for d in c]
    if len(big) < 2 or len(extra) > max(1, len(deposits) // 4) or not _concurrent(big):
        return None
    fits = [best_fit([d.day for d in c], convincing=True) for c in big]
    if any(fit is None for fit in fits):
        return None
    medians = [statistics.median(d.amount for d in c) for c in big]
    outliers = Counter(
        min(range(len(big)), key=lambda k: abs(math.log(d.amount / medians[k]))) for d in extra
    )
    note = f"one of {len(big)} paychecks from this payer, told apart by amount"
    return [
        _regular_stream(c, fit, currency, today, outliers=outliers[k], note=note)
        for k, (c, fit) in enumerate(zip(big, fits, strict=True))
        if fit is not None
    ]


def _stream_from(deposits: list[_Deposit], currency: str, today: date) -> IncomeStream | None:
    if len(deposits) < MIN_STREAM_COUNT:
        return None
    median = statistics.median(d.amount for d in deposits)
    core = [d for d in deposits if abs(d.amount - median) <= AMOUNT_TOLERANCE * median]
    outliers = len(deposits) - len(core)
    # One bonus does not break a salary; amounts that jump around (freelance invoices) are not
    # one pay stream, whatever the dates say.
    if len(core) >= MIN_STREAM_COUNT and outliers <= max(1, len(deposits) // 4):
        fit = best_fit([d.day for d in core], convincing=True)
        if fit is not None:
            return _regular_stream(core, fit, currency, today, outliers=outliers)
    return _irregular_stream(deposits, currency, today)


_RECENT = {"weekly": 8, "biweekly": 4, "semimonthly": 4, "monthly": 3}
_COUNT_TARGET = {"weekly": 10, "biweekly": 6, "semimonthly": 6, "monthly": 4}


def _regular_stream(
    core: list[_Deposit],
    fit: Fit,
    currency: str,
    today: date,
    *,
    outliers: int,
    note: str | None = None,
) -> IncomeStream:
    cadence = fit.schedule.cadence
    chosen = [core[i] for i, _ in fit.matched]
    amounts = [d.amount for d in chosen]
    typical = _median_int(amounts[-_RECENT[cadence] :])
    next_expected = fit.payday(fit.matched[-1][1] + 1)
    spread = max(abs(a - typical) for a in amounts) / typical
    late_days = (today - next_expected).days - OVERDUE_GRACE_DAYS
    confidence = _regular_confidence(fit, amounts, typical) * _overdue_factor(
        late_days, fit.schedule.period_days
    )
    reason = _regular_reason(fit, len(chosen), spread, outliers, late_days)
    if note:
        reason = f"{reason}; {note}"
    return IncomeStream(
        description=_most_common_label(chosen),
        cadence=cadence,
        typical_amount=typical,
        currency=currency,
        last_date=chosen[-1].day,
        next_expected=next_expected,
        confidence=round(confidence, 3),
        count=len(chosen),
        amounts=tuple(amounts),
        dates=tuple(d.day for d in chosen),
        reason=reason,
    )


def _regular_confidence(fit: Fit, amounts: Sequence[int], typical: int) -> float:
    cadence = fit.schedule.cadence
    count_score = min(1.0, len(amounts) / _COUNT_TARGET[cadence])
    regularity = fit.quality * (1 - 0.5 * fit.mean_abs_residual / fit.schedule.tolerance)
    drift = statistics.fmean(abs(a - typical) for a in amounts) / typical
    amount_score = 1 - 0.5 * min(1.0, drift / AMOUNT_TOLERANCE)
    return 0.3 * count_score + 0.4 * regularity + 0.3 * amount_score


def _overdue_factor(late_days: int, period_days: int) -> float:
    """Confidence fades as the stream goes quiet: gone after about one missed period."""
    if late_days <= 0:
        return 1.0
    return max(0.05, 1 - late_days / period_days)


def _regular_reason(fit: Fit, count: int, spread: float, outliers: int, late: int) -> str:
    wobble = max(abs(r) for r in fit.residuals)
    when = describe(fit.schedule)
    parts = [f"{count} deposits {when} (±{wobble}), amounts within {wording.percent(spread, 0)}"]
    if fit.missing:
        parts.append(f"{fit.missing} missed")
    if fit.unmatched:
        parts.append(f"{fit.unmatched} off-schedule left out")
    if outliers:
        parts.append(f"{outliers} unusual amount{'s' if outliers > 1 else ''} left out")
    if late > 0:
        parts.append(f"overdue by {late + OVERDUE_GRACE_DAYS} days")
    return ", ".join(parts)


def _irregular_stream(deposits: list[_Deposit], currency: str, today: date) -> IncomeStream:
    days = [d.day for d in deposits]
    gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)]
    typical_gap = max(1.0, statistics.median(gaps)) if gaps else 30.0
    quiet_for = (today - days[-1]).days
    recency = 1.0 if quiet_for <= 2 * typical_gap else max(0.1, 2 * typical_gap / quiet_for)
    # Capped at 0.5: a payer without a rhythm never outranks one with a rhythm.
    confidence = min(0.5, 0.08 * len(deposits)) * recency
    reason = (
        f"{len(deposits)} deposits at no stable interval"
        + (f" (gaps {min(gaps)}–{max(gaps)} days)" if gaps else "")
        + (f", quiet for {quiet_for} days" if recency < 1 else "")
    )
    return IncomeStream(
        description=_most_common_label(deposits),
        cadence="irregular",
        typical_amount=_median_int([d.amount for d in deposits]),
        currency=currency,
        last_date=days[-1],
        next_expected=None,
        confidence=round(confidence, 3),
        count=len(deposits),
        amounts=tuple(d.amount for d in deposits),
        dates=tuple(days),
        reason=reason,
    )


def _median_int(values: Sequence[int]) -> int:
    return int(round(statistics.median(values)))


def _most_common_label(deposits: Sequence[_Deposit]) -> str:
    counts = Counter(d.label for d in deposits)
    # On a tie the most recent wording wins: banks change formats, not payers.
    latest = {d.label: i for i, d in enumerate(deposits)}
    return max(counts, key=lambda label: (counts[label], latest[label]))


def suggest_debit_date(stream: IncomeStream, *, today: date | None = None) -> date | None:
    """The first business day after the next expected pay, so the debit meets a funded account.

    With ``today`` the expected payday is rolled forward past any paydays already behind
    ``today``; without it, ``stream.next_expected`` is used as is (this function never reads the
    clock). ``None`` for irregular streams, which have no next payday to aim at.
    """
    if stream.next_expected is None:
        return None
    expected = stream.next_expected
    if today is not None and expected < today:
        expected = _next_payday_on_or_after(stream, today)
    return next_business_day(expected)


def _next_payday_on_or_after(stream: IncomeStream, day: date) -> date:
    dates = sorted(stream.dates) or [stream.next_expected or day]
    fit = best_fit(dates, cadence=stream.cadence) if len(dates) >= 2 else None
    if fit is not None:
        upcoming = fit.schedule.paydays(day, day + timedelta(days=62))
        if upcoming:
            return upcoming[0]
    # No schedule to refit (a hand-built stream): step by the nominal period.
    step = timedelta(days={"weekly": 7, "biweekly": 14, "semimonthly": 15}.get(stream.cadence, 30))
    expected = stream.next_expected or day
    while expected < day:
        expected += step
    return on_or_before_business_day(expected)
