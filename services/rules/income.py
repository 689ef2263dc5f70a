"""Transaction insight over Financial Connections transactions, as pure functions.

Inputs are ``financial_connections.transaction`` objects as plain mappings (see the FC reference
§2.3): ``amount`` is signed integer minor units, **positive = money in, negative = money out**
(the opposite of Plaid), ``transacted_at`` is Unix seconds. Dates are taken in UTC.

Status rules, applied everywhere:

* ``void`` transactions never happened and are ignored by every function here (a table filter
  returns them only when ``status="void"`` is asked for explicitly).
* ``pending`` transactions count as cash flow (``daily_cash_flow``, ``top_counterparties``,
  ``risk_aggregates`` credit/debit totals) because the money is moving.
* Income detection uses **posted** deposits only: a pending credit can still be voided or change
  amount, and one missing day at the end of a stream is absorbed by the overdue grace period.
* Balance reconstruction uses **posted** transactions only, timed by ``status_transitions.posted_at``
  (falling back to ``transacted_at``), because an FC ``balance.current`` is the posted balance,
  before pending items (reference §2.1).

Nothing here touches the network, a database or Streamlit.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import pandas as pd

from services.rules.calendar import (
    next_business_day,
    on_or_after_business_day,
    on_or_before_business_day,
)

__all__ = [
    "IncomeStream",
    "RiskWindow",
    "daily_cash_flow",
    "detect_income",
    "filter_transactions",
    "normalise_description",
    "risk_aggregates",
    "running_balance",
    "suggest_debit_date",
    "top_counterparties",
]

Txn = Mapping[str, Any]
Moment = datetime | date | int

# Deposits smaller than this (minor units) are noise for income detection: cash-back, interest,
# small peer-to-peer credits. Callers with other currencies can pass their own ``min_amount``.
DEFAULT_MIN_INCOME_AMOUNT = 5_000
MIN_STREAM_COUNT = 3  # a single deposit (or two) is never a stream
AMOUNT_TOLERANCE = 0.25  # raises and overtime stay within ±25 % of the payer's median
MIN_FIT_QUALITY = 0.75  # share of expected paydays that must be hit for a regular cadence
# Paydays land exactly on the (shifted) schedule almost always; dates that only sit somewhere
# inside the ±3-day window are what chance produces, so the average miss must stay small.
MAX_MEAN_RESIDUAL_DAYS = 1.0
FULL_EVIDENCE_COUNT = 5  # below this many deposits a stream must be complete: no gaps, no extras
OVERDUE_GRACE_DAYS = 3
# Paychecks from one payer whose amounts sit this far apart (relative) are separate paychecks
# (two jobs, or two people), not one paycheck drifting: raises and overtime move less than that.
CLUSTER_GAP = 0.15

CADENCES = ("weekly", "biweekly", "semimonthly", "monthly", "irregular")


# --------------------------------------------------------------------------- time helpers


def _as_datetime(value: Moment) -> datetime:
    """A timezone-aware UTC datetime; a bare date means the start of that UTC day."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time.min, tzinfo=UTC)
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    raise TypeError(f"expected a datetime, date or Unix seconds, got {type(value).__name__}")


def _as_date(value: Moment) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return _as_datetime(value).date()


def _as_timestamp(value: Moment) -> int:
    return int(_as_datetime(value).timestamp())


def _day_of(ts: int) -> date:
    return datetime.fromtimestamp(ts, tz=UTC).date()


def _end_of_day_ts(d: date) -> int:
    return int(datetime.combine(d, time.max, tzinfo=UTC).timestamp())


def _txn_day(t: Txn) -> date:
    return _day_of(int(t["transacted_at"]))


def _is_void(t: Txn) -> bool:
    return t.get("status") == "void"


def _live(transactions: Iterable[Txn]) -> list[Txn]:
    return [t for t in transactions if not _is_void(t)]


def _single_currency(transactions: Sequence[Txn]) -> str | None:
    """Sums across currencies are meaningless, so refuse them with a clear message."""
    currencies = {str(t.get("currency", "")).lower() for t in transactions}
    if len(currencies) > 1:
        raise ValueError(
            f"transactions mix currencies ({', '.join(sorted(currencies))}); "
            "pass one account's (or one currency's) transactions"
        )
    return next(iter(currencies), None)


# --------------------------------------------------------------------------- descriptions

_CHASE_ACH = re.compile(r"ORIG CO NAME:\s*(?P<name>.+?)\s+(?:ORIG ID|DESC DATE|CO ENTRY|SEC:|$)")
_CHASE_DESCR = re.compile(r"CO ENTRY DESCR:\s*(?P<descr>.+?)\s+(?:SEC:|TRACE|EED|IND|ORIG|$)")
_STRIP_PATTERNS = [
    # "PPD ID: 9876", "WEB ID: 1234567890", "CCD ID:XYZ123"
    re.compile(r"\b(?:PPD|CCD|WEB|TEL|CTX|ARC|BOC|POP|IAT)\s*ID\s*:?\s*\S+"),
    # "ID: 123", "REF #ABC12", "TRACE 0210...", "CONF# 99", "INDN:JANE DOE" keeps the name
    re.compile(
        r"\b(?:ID|REF|REFERENCE|TRACE|CONF|CONFIRMATION|TRN|TXN|TRANS|AUTH|SEQ|ACCT|ACCOUNT)"
        r"\s*(?:#|NO\.?|NUMBER)?\s*[:#]?\s*\S*\d\S*"
    ),
    re.compile(r"\b(?:INDN|IND NAME|CO ID)\s*:"),
    # dates: 12/13, 12-13-2024, 2024-12-13
    re.compile(r"\b\d{1,4}[/-]\d{1,2}(?:[/-]\d{2,4})?\b"),
    # masked accounts and card numbers: XXXX1234, ****1234, x1234
    re.compile(r"[X*]+\d+\b"),
    re.compile(r"#\S*"),
    # split "AMAZON.COM*2K4" into words before judging them
    re.compile(r"[*./\\_,:;()\[\]-]"),
    # any remaining token that carries a digit is an identifier, not a name
    re.compile(r"\S*\d\S*"),
]
_PREFIXES = re.compile(
    r"^(?:POS DEBIT|POS PURCHASE|POS|DEBIT CARD PURCHASE|CHECKCARD|CHECK CARD|"
    r"PURCHASE AUTHORIZED ON|RECURRING PAYMENT AUTHORIZED ON|DBT CRD|ACH DEBIT|ACH CREDIT|"
    r"ACH DEPOSIT|ACH)\s+"
)
_SEC_SUFFIX = re.compile(r"(?:\s+(?:PPD|CCD|WEB|TEL|CTX|SEC|ID|CO|ORIG|ON))+$")
_PUNCT = re.compile(r"[^A-Z&' ]+")
_SPACES = re.compile(r"\s+")


def normalise_description(text: str) -> str:
    """Reduce a bank description to a stable payer/payee label so rows can be grouped.

    Banks decorate the same counterparty with trace ids, dates, masked account numbers and
    NACHA codes ("ACME CORP PAYROLL PPD ID: 9876 12/13"); those change on every row, so they are
    removed and what is left (the name and its purpose words) is upper-cased and collapsed.
    """
    s = (text or "").upper()
    chase = _CHASE_ACH.search(s)
    if chase:
        descr = _CHASE_DESCR.search(s)
        s = chase["name"] + (" " + descr["descr"] if descr else "")
    for pattern in _STRIP_PATTERNS:
        s = pattern.sub(" ", s)
    s = _PUNCT.sub(" ", s)
    s = _SPACES.sub(" ", s).strip()
    s = _PREFIXES.sub("", s)
    s = _SEC_SUFFIX.sub("", s).strip()
    return s or _SPACES.sub(" ", (text or "").upper()).strip()


# Words that describe *how* money arrived rather than *who* sent it: "ACME CORP PAYROLL" and
# "ACME CORP DIRECT DEP" are the same payer.
_PURPOSE_WORDS = frozenset(
    {
        "PAYROLL", "PAYRLL", "PYRL", "DIRECT", "DIR", "DEP", "DEPOSIT", "DD", "SALARY", "SAL",
        "WAGES", "PAY", "PAYMENT", "PMT", "PYMT", "ACH", "CREDIT", "CR", "EDI", "PPD", "CCD",
        "REG", "NET",
    }
)  # fmt: skip


def _payer_key(label: str) -> str:
    words = [w for w in label.split() if w not in _PURPOSE_WORDS]
    return " ".join(words) or label


# Credits that are not earnings: refunds and reversals give money back, and transfers from the
# holder's own savings move it; neither says anything about ability to pay.
_NOT_INCOME = [
    re.compile(r"\b(?:REFUND|REFUNDS|REVERSAL|REVERSED|RETURN|RETURNED|CHARGEBACK|CASHBACK)\b"),
    re.compile(r"\bCASH BACK\b|\bREWARDS?\b|\bADJUSTMENT\b|\bDISPUTE\b"),
    re.compile(r"\b(?:ONLINE|INTERNAL|BOOK|MOBILE|OVERDRAFT) (?:TRANSFER|XFER|TFR)\b"),
    # a credit card account credited by the holder's own payment
    re.compile(r"\bPAYMENT THANK YOU\b|\bAUTOPAY PAYMENT RECEIVED\b"),
    re.compile(
        r"\b(?:TRANSFER|XFER|TFR)\b.*\b(?:SAV|SAVINGS|CHK|CHECKING|SHARE|MMA|MONEY MARKET)\b"
    ),
]


def _looks_like_income(label: str) -> bool:
    return not any(p.search(label) for p in _NOT_INCOME)


# --------------------------------------------------------------------------- income: schedules

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_LAST = 5  # "n" of an nth-weekday schedule meaning the last such weekday of the month


@dataclass(frozen=True)
class _Schedule:
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
    if n == _LAST:
        last = date(year, month, _month_end(year, month))
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _nominal_in_year(schedule: _Schedule, year: int) -> list[date]:
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
def _paydays_in_year(schedule: _Schedule, year: int) -> tuple[int, ...]:
    shift = on_or_after_business_day if schedule.forward else on_or_before_business_day
    return tuple(shift(d).toordinal() for d in _nominal_in_year(schedule, year))


@lru_cache(maxsize=8192)
def _payday_ordinals(schedule: _Schedule, first_year: int, last_year: int) -> tuple[int, ...]:
    """Every shifted payday (as a date ordinal) of the years given, sorted; cached because the
    same few hundred calendars are tried on every payer of every account."""
    days = (
        o for year in range(first_year, last_year + 1) for o in _paydays_in_year(schedule, year)
    )
    return tuple(sorted(days))


@dataclass(frozen=True)
class _Fit:
    schedule: _Schedule
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


def _fit(ordinals: Sequence[int], schedule: _Schedule) -> _Fit | None:
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
    return _Fit(
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


# --------------------------------------------------------------------------- income: pruning
# Every candidate calendar is fitted only when it could still win. A fit's quality is at most
# (deposits it matches) / (all deposits), and it matches at most one deposit per day that lies
# within tolerance of one of its paydays. With the deposit days and each calendar's covered
# days as bit masks, that count is one AND and a popcount, so most calendars are dropped
# without being fitted.


@lru_cache(maxsize=8192)
def _coverage(schedule: _Schedule, first_year: int, last_year: int) -> int:
    """Bit k set when day ``Jan 1 of first_year + k`` is within tolerance of a payday."""
    base = date(first_year, 1, 1).toordinal()
    tolerance = schedule.tolerance
    block = (1 << (2 * tolerance + 1)) - 1
    mask = 0
    for payday in _payday_ordinals(schedule, first_year, last_year):
        offset = payday - tolerance - base
        mask |= block << offset if offset >= 0 else block >> -offset
    return mask


def _candidates(dates: Sequence[date]) -> Iterable[_Schedule]:
    """Every calendar worth trying, in the order that breaks exact ties (the earlier wins)."""
    anchors = _anchor_days(dates)
    weekdays = [(n, wd) for n in (1, 2, 3, 4, _LAST) for wd in range(5)]
    for forward in (False, True):
        yield from (_Schedule("weekly", (p,), forward) for p in range(7))
        yield from (_Schedule("biweekly", (p,), forward) for p in range(14))
        yield from (_Schedule("monthly", (a,), forward) for a in anchors)
        for a in anchors:
            for b in anchors:
                if 10 <= b - a <= 20:
                    yield _Schedule("semimonthly", (a, b), forward)
        yield from (_Schedule("monthly", key, forward, by_weekday=True) for key in weekdays)


def _best_fit(
    dates: Sequence[date], *, cadence: str | None = None, convincing: bool = False
) -> _Fit | None:
    """The calendar that explains the dates best (``convincing``: only fits that pass
    :func:`_is_convincing`); None when no calendar fits."""
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
    best_fit: _Fit | None = None
    # Likeliest first, so the bar rises fast and the rest are dropped without fitting.
    for index, schedule, bound in sorted(candidates, key=lambda c: -c[2]):
        bar = max(floor, best_fit.quality if best_fit else 0.0)
        if bound == 0 or bound / n < bar - 1e-9:
            break  # sorted by bound: nothing after this can reach the bar either
        fit = _fit(ordinals, schedule)
        if fit is None or (convincing and not _is_convincing(fit)):
            continue
        key = (fit.sort_key(), -index)  # on a full tie the earlier candidate wins
        if best_key is None or key > best_key:
            best_key, best_fit = key, fit
    return best_fit


# --------------------------------------------------------------------------- income: streams


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
    today = _as_date(now)
    groups: dict[tuple[str, str], list[_Deposit]] = defaultdict(list)
    for t in transactions:
        amount = int(t["amount"])
        if t.get("status") != "posted" or amount < min_amount:
            continue
        day = _txn_day(t)
        label = normalise_description(str(t.get("description") or ""))
        if day > today or not _looks_like_income(label):
            continue
        currency = str(t.get("currency", "")).lower()
        groups[(_payer_key(label), currency)].append(_Deposit(day, amount, label))
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
    fits = [_best_fit([d.day for d in c], convincing=True) for c in big]
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
        fit = _best_fit([d.day for d in core], convincing=True)
        if fit is not None:
            return _regular_stream(core, fit, currency, today, outliers=outliers)
    return _irregular_stream(deposits, currency, today)


def _is_convincing(fit: _Fit) -> bool:
    """Guards against fitting a calendar to chance: with many candidate calendars, a few random
    dates will match one of them loosely, so short or loose fits must be clean."""
    matched = len(fit.matched)
    if matched < MIN_STREAM_COUNT or fit.quality < MIN_FIT_QUALITY:
        return False
    if fit.mean_abs_residual > MAX_MEAN_RESIDUAL_DAYS:
        return False
    return matched >= FULL_EVIDENCE_COUNT or (fit.missing == 0 and fit.unmatched == 0)


_RECENT = {"weekly": 8, "biweekly": 4, "semimonthly": 4, "monthly": 3}
_COUNT_TARGET = {"weekly": 10, "biweekly": 6, "semimonthly": 6, "monthly": 4}


def _regular_stream(
    core: list[_Deposit],
    fit: _Fit,
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


def _regular_confidence(fit: _Fit, amounts: Sequence[int], typical: int) -> float:
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


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _day_words(anchor: int) -> str:
    return "last day" if anchor >= 31 else _ordinal(anchor)


def _weekday_words(n: int, weekday: int) -> str:
    """ "2nd Wednesday", "last Friday"."""
    return f"{'last' if n == _LAST else _ordinal(n)} {_WEEKDAYS[weekday]}"


def _regular_reason(fit: _Fit, count: int, spread: float, outliers: int, late: int) -> str:
    schedule = fit.schedule
    wobble = max(abs(r) for r in fit.residuals)
    if schedule.cadence in ("weekly", "biweekly"):
        when = f"every {schedule.period_days} days"
    elif schedule.by_weekday:
        when = f"on the {_weekday_words(*schedule.params)} of each month"
    else:
        days = " and ".join(_day_words(a) for a in schedule.params)
        when = f"on the {days} of each month"
    parts = [f"{count} deposits {when} (±{wobble}), amounts within {round(spread * 100)}%"]
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
    fit = _best_fit(dates, cadence=stream.cadence) if len(dates) >= 2 else None
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


# --------------------------------------------------------------------------- cash flow

_FREQ_ALIASES = {"ME": "M", "MS": "M", "QE": "Q", "QS": "Q", "YE": "Y", "YS": "Y", "A": "Y"}
_CASH_FLOW_COLUMNS = ["period", "money_in", "money_out", "net"]


def daily_cash_flow(transactions: Sequence[Txn], *, freq: str = "D") -> pd.DataFrame:
    """Money in, money out (as a positive number) and net per period, gaps filled with zeros.

    ``freq`` is a pandas period alias: "D", "W" (weeks starting Monday), "M", "Q", "Y";
    ``period`` is the start of each period. Pending rows count (the money is moving).
    """
    live = _live(transactions)
    _single_currency(live)
    if not live:
        return _empty_frame(_CASH_FLOW_COLUMNS, datetime_columns=("period",))
    frame = pd.DataFrame(
        {
            "day": pd.to_datetime([_txn_day(t) for t in live]),
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
        return self.at(_end_of_day_ts(d))


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
    live = _live(transactions)
    _single_currency(live)
    timeline = _BalanceTimeline(
        live, current_balance=current_balance, as_of_ts=_as_timestamp(as_of)
    )
    last = _as_date(as_of)
    dates = [last - timedelta(days=k) for k in range(days - 1, -1, -1)]
    return pd.DataFrame(
        {
            "date": pd.to_datetime(dates).as_unit("ns"),
            "balance": pd.Series([timeline.end_of_day(d) for d in dates], dtype="int64"),
        }
    )


# --------------------------------------------------------------------------- counterparties

_DIRECTIONS = ("in", "out")


def _direction_of(t: Txn) -> str | None:
    amount = int(t["amount"])
    return "in" if amount > 0 else "out" if amount < 0 else None


def top_counterparties(
    transactions: Sequence[Txn], *, limit: int = 10, direction: str = "out"
) -> pd.DataFrame:
    """Who the money goes to ("out") or comes from ("in"), or both ("both"), biggest first.

    Rows are grouped by ``normalise_description``; ``total`` is a positive number.
    """
    if direction not in (*_DIRECTIONS, "both"):
        raise ValueError(f"direction must be 'in', 'out' or 'both', not {direction!r}")
    live = _live(transactions)
    _single_currency(live)
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for t in live:
        way = _direction_of(t)
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
    live = _live(transactions)
    _single_currency(live)
    end = _as_date(now)
    timeline = (
        _BalanceTimeline(live, current_balance=current_balance, as_of_ts=_as_timestamp(as_of))
        if current_balance is not None
        else None
    )
    return [_risk_window(live, days=n, end=end, timeline=timeline) for n in windows]


def _risk_window(
    live: Sequence[Txn], *, days: int, end: date, timeline: _BalanceTimeline | None
) -> RiskWindow:
    start = end - timedelta(days=days - 1)
    inside = [int(t["amount"]) for t in live if start <= _txn_day(t) <= end]
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


# --------------------------------------------------------------------------- filtering


def filter_transactions(
    transactions: Sequence[Txn],
    *,
    start: date | None = None,
    end: date | None = None,
    direction: str | None = None,
    status: str | None = None,
    text: str | None = None,
) -> list[Txn]:
    """The rows matching every given criterion, in their original order.

    ``start``/``end`` are inclusive UTC dates of ``transacted_at``; ``direction`` is "in" or
    "out"; ``text`` is a case-insensitive substring of the description. Void rows are left out
    unless ``status="void"`` asks for them.
    """
    if direction is not None and direction not in _DIRECTIONS:
        raise ValueError(f"direction must be 'in' or 'out', not {direction!r}")
    checks: list[Callable[[Txn], bool]] = [
        (lambda t: t.get("status") == status) if status else (lambda t: not _is_void(t))
    ]
    if start is not None:
        checks.append(lambda t: _txn_day(t) >= start)
    if end is not None:
        checks.append(lambda t: _txn_day(t) <= end)
    if direction is not None:
        checks.append(lambda t: _direction_of(t) == direction)
    if text:
        needle = text.casefold()
        checks.append(lambda t: needle in str(t.get("description") or "").casefold())
    return [t for t in transactions if all(check(t) for check in checks)]
