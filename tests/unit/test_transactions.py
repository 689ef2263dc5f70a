"""Transaction insight: income streams on synthetic bank histories, balances, risk, cash flow."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
import pytest

from services.rules.calendar import (
    is_business_day,
    next_business_day,
    on_or_after_business_day,
    on_or_before_business_day,
    us_bank_holidays,
)
from services.rules.cashflow import (
    daily_cash_flow,
    risk_aggregates,
    running_balance,
    top_counterparties,
)
from services.rules.descriptions import normalise_description
from services.rules.income import IncomeStream, detect_income, suggest_debit_date
from services.rules.transactions import filter_transactions

_ids = itertools.count(1)

HISTORY_START = date(2025, 6, 16)
NOW = date(2025, 12, 22)


def ts(day: date, at: time = time(12)) -> int:
    return int(datetime.combine(day, at, tzinfo=UTC).timestamp())


def txn(
    day: date,
    amount: int,
    description: str,
    *,
    status: str = "posted",
    currency: str = "usd",
    at: time = time(12),
    posted_on: datetime | None = None,
) -> dict[str, Any]:
    """One FC transaction dict, shaped like Stripe's (reference §2.3)."""
    transacted_at = ts(day, at)
    posted_at = None
    if status == "posted":
        posted_at = int(posted_on.timestamp()) if posted_on else transacted_at
    return {
        "id": f"fctxn_test{next(_ids):06d}",
        "object": "financial_connections.transaction",
        "account": "fca_test",
        "amount": amount,
        "currency": currency,
        "description": description,
        "livemode": False,
        "status": status,
        "status_transitions": {
            "posted_at": posted_at,
            "void_at": transacted_at if status == "void" else None,
        },
        "transacted_at": transacted_at,
        "transaction_refresh": "fctxnref_test",
        "updated": transacted_at,
    }


# --------------------------------------------------------------------------- pay calendars
# The truth is written from the calendar rules directly: nominal payday, then moved to the
# previous business day when it lands on a weekend or Fed holiday.


def every(period: int, first: date, end: date) -> list[date]:
    days, d = [], first
    while d <= end:
        days.append(on_or_before_business_day(d))
        d += timedelta(days=period)
    return days


def month_days(anchors: tuple[int, ...], start: date, end: date) -> list[date]:
    """Nominal days of the month (31 = the last day), shifted; from ``start``'s month on."""
    days = []
    for year, month in [(y, m) for y in (start.year, start.year + 1) for m in range(1, 13)]:
        last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
        for anchor in anchors:
            nominal = date(year, month, min(anchor, last))
            if nominal >= start:
                days.append(on_or_before_business_day(nominal))
    return sorted(d for d in days if d <= end)


@dataclass(frozen=True)
class Pattern:
    cadence: str
    schedule: Callable[[date], list[date]]  # all paydays up to the given date
    holiday_shift: date  # a payday in the history that the calendar moved


PATTERNS = {
    # Mondays; Labor Day (Sep 1) and Columbus Day (Oct 13) move pay to the Friday before.
    "weekly": Pattern("weekly", lambda end: every(7, date(2025, 6, 16), end), date(2025, 8, 29)),
    # Fridays; July 4th 2025 is a Friday, paid Thursday July 3rd.
    "biweekly": Pattern(
        "biweekly", lambda end: every(14, date(2025, 6, 20), end), date(2025, 7, 3)
    ),
    # 15th and last day: Aug 31 (Sun) -> Aug 29, Nov 15 (Sat) -> Nov 14, Nov 30 (Sun) -> Nov 28.
    "semimonthly_15_last": Pattern(
        "semimonthly", lambda end: month_days((15, 31), date(2025, 6, 16), end), date(2025, 11, 14)
    ),
    # 1st and 15th: Sep 1 (Labor Day) -> Aug 29, Nov 1 (Sat) -> Oct 31, Jan 1 -> Dec 31.
    "semimonthly_1_15": Pattern(
        "semimonthly", lambda end: month_days((1, 15), date(2025, 6, 16), end), date(2025, 8, 29)
    ),
    # Same day each month: the 15th; Jun 15 (Sun) -> Jun 13, Nov 15 (Sat) -> Nov 14.
    "monthly_15": Pattern(
        "monthly", lambda end: month_days((15,), date(2025, 6, 10), end), date(2025, 11, 14)
    ),
    # Last business day: Aug 31 (Sun) -> Aug 29, Nov 30 (Sun) -> Nov 28.
    "monthly_last": Pattern(
        "monthly", lambda end: month_days((31,), date(2025, 6, 16), end), date(2025, 8, 29)
    ),
}

BASE_AMOUNT = {"weekly": 95_000, "biweekly": 250_000, "semimonthly": 270_000, "monthly": 540_000}


@dataclass(frozen=True)
class Employer:
    name: str  # what the payer key should read as
    variants: tuple[str, ...]  # description formats the bank uses, most common first
    base: int
    raise_pct: float = 0.04


def pay_history(
    pattern: Pattern, employer: Employer, rng: random.Random, *, now: date = NOW
) -> tuple[list[dict[str, Any]], list[date], int]:
    """Deposits with drift, a raise, one missed payday and a bonus; returns the true paydays
    that were paid and the final (post-raise) base amount."""
    paydays = [d for d in pattern.schedule(now) if d >= HISTORY_START]
    assert pattern.holiday_shift in paydays, "the history must include a holiday shift"
    missed = paydays[len(paydays) // 2]
    paid = [d for d in paydays if d != missed]
    raised = int(employer.base * (1 + employer.raise_pct))
    rows = []
    for k, day in enumerate(paid):
        base = employer.base if k < len(paid) // 2 else raised
        amount = int(base * rng.uniform(0.98, 1.02))
        form = employer.variants[1] if k % 4 == 3 and len(employer.variants) > 1 else None
        description = (
            form or f"{employer.variants[0]} PPD ID: {rng.randint(1000, 9999)} {day:%m/%d}"
        )
        rows.append(txn(day, amount, description))
    # A bonus paid alongside one regular deposit: far off the usual amount.
    bonus_day = paid[len(paid) // 3]
    rows.append(
        txn(bonus_day, employer.base * 3, f"{employer.variants[0]} PPD ID: 4242 {bonus_day:%m/%d}")
    )
    return rows, paid, raised


ACME = Employer("ACME CORP PAYROLL", ("ACME CORP PAYROLL", "ACME CORP DIRECT DEP"), 0)
GLOBEX = Employer("GLOBEX INC PAYROLL", ("GLOBEX INC PAYROLL", "GLOBEX INC DIR DEP"), 270_000)


def one_offs() -> list[dict[str, Any]]:
    """Credits that are not income: a refund, a transfer from savings, a tax refund."""
    return [
        txn(date(2025, 9, 9), 45_999, "AMAZON.COM*RT4K2 REFUND AMZN.COM/BILL WA"),
        txn(date(2025, 10, 21), 150_000, "ONLINE TRANSFER FROM SAV XXXXXX1234 REF #IB0QX7"),
        txn(date(2025, 8, 14), 120_000, "IRS TREAS 310 TAX REF"),
    ]


def noise(rng: random.Random, *, start: date = HISTORY_START, end: date = NOW) -> list[dict]:
    """Small credits from friends and card rewards, monthly cents of interest, card spending."""
    span = (end - start).days
    rows = []
    for _ in range(30):
        day = start + timedelta(days=rng.randrange(span))
        payer = rng.choice(["VENMO CASHOUT", "ZELLE FROM JOHN DOE", "CASH APP*JANE"])
        rows.append(txn(day, rng.randint(100, 4_000), f"{payer} {rng.randint(10**6, 10**7)}"))
    for month in range(6, 12):
        rows.append(txn(date(2025, month, 28), rng.randint(5, 40), "INTEREST PAYMENT"))
    for _ in range(80):
        day = start + timedelta(days=rng.randrange(span))
        shop = rng.choice(["SQ *BLUE BOTTLE", "POS DEBIT SAFEWAY #1234", "NETFLIX.COM"])
        rows.append(txn(day, -rng.randint(300, 20_000), f"{shop} {day:%m/%d}"))
    return rows


def employer_for(pattern: Pattern) -> Employer:
    return replace(ACME, base=BASE_AMOUNT[pattern.cadence])


def expected_next(pattern: Pattern, last_paid: date) -> date:
    return next(d for d in pattern.schedule(last_paid + timedelta(days=70)) if d > last_paid)


# --------------------------------------------------------------------------- income detection


@pytest.mark.parametrize("pattern_name", sorted(PATTERNS))
def test_each_pay_cadence_is_found_through_holidays_drift_gaps_one_offs_and_noise(
    pattern_name: str,
) -> None:
    rng = random.Random(f"income-{pattern_name}")
    pattern = PATTERNS[pattern_name]
    employer = employer_for(pattern)
    pay, paid, raised = pay_history(pattern, employer, rng)
    history = pay + one_offs() + noise(rng)
    rng.shuffle(history)

    streams = detect_income(history, now=NOW)

    assert len(streams) == 1, [(s.description, s.cadence, s.reason) for s in streams]
    stream = streams[0]
    assert stream.description == "ACME CORP PAYROLL"
    assert stream.cadence == pattern.cadence
    assert stream.currency == "usd"
    assert stream.last_date == paid[-1]
    assert stream.next_expected == expected_next(pattern, paid[-1])
    assert abs(stream.typical_amount - raised) <= 0.03 * raised
    assert stream.dates == tuple(paid)  # the bonus and the one-offs are not in it
    assert stream.count == len(paid) == len(stream.amounts)
    assert stream.confidence >= 0.7
    assert "1 missed" in stream.reason


def test_two_employers_at_once_are_two_streams_with_their_own_cadences() -> None:
    rng = random.Random("two-employers")
    acme_pattern, globex_pattern = PATTERNS["biweekly"], PATTERNS["semimonthly_15_last"]
    acme, acme_paid, acme_raised = pay_history(acme_pattern, employer_for(acme_pattern), rng)
    globex, globex_paid, globex_raised = pay_history(globex_pattern, GLOBEX, rng)

    streams = detect_income(acme + globex + one_offs() + noise(rng), now=NOW)

    by_name = {s.description: s for s in streams}
    assert set(by_name) == {"ACME CORP PAYROLL", "GLOBEX INC PAYROLL"}
    assert by_name["ACME CORP PAYROLL"].cadence == "biweekly"
    assert by_name["ACME CORP PAYROLL"].dates == tuple(acme_paid)
    assert by_name["GLOBEX INC PAYROLL"].cadence == "semimonthly"
    assert by_name["GLOBEX INC PAYROLL"].dates == tuple(globex_paid)
    assert abs(by_name["GLOBEX INC PAYROLL"].typical_amount - globex_raised) <= 0.03 * globex_raised


def freelancer(rng: random.Random) -> list[dict[str, Any]]:
    rows, day = [], HISTORY_START + timedelta(days=3)
    while day <= NOW - timedelta(days=5):
        rows.append(
            txn(day, rng.randint(30_000, 300_000), f"UPWORK ESCROW INC {rng.randint(10**5, 10**6)}")
        )
        day += timedelta(days=rng.randint(4, 40))
    return rows


def test_a_freelancer_paid_at_no_stable_interval_is_irregular_and_ranks_below_a_salary() -> None:
    rng = random.Random("freelancer")
    gigs = freelancer(rng)
    salary, _, _ = pay_history(
        PATTERNS["monthly_last"], employer_for(PATTERNS["monthly_last"]), rng
    )

    streams = detect_income(gigs + salary + noise(rng), now=NOW)

    assert [s.cadence for s in streams] == ["monthly", "irregular"]
    gig = streams[1]
    assert gig.description == "UPWORK ESCROW INC"
    assert gig.next_expected is None
    assert gig.count == len(gigs)
    assert gig.amounts == tuple(g["amount"] for g in gigs)
    assert gig.confidence <= 0.5 < streams[0].confidence
    assert suggest_debit_date(gig) is None


def test_noise_refunds_and_transfers_alone_make_no_income_stream() -> None:
    rng = random.Random("noise-only")

    assert detect_income(one_offs() + noise(rng), now=NOW) == []


def test_regular_transfers_from_savings_and_repeated_refunds_are_not_income() -> None:
    sweeps = [
        txn(d, 200_000, f"ONLINE TRANSFER FROM SAV XXXXXX1234 REF #IB{k}QX7")
        for k, d in enumerate(month_days((1,), date(2025, 7, 1), NOW))
    ]
    refunds = [
        txn(d, 30_000, "AMAZON.COM REFUND AMZN.COM/BILL WA")
        for d in every(14, date(2025, 9, 5), NOW)
    ]
    assert len(sweeps) >= 5 and len(refunds) >= 5

    assert detect_income(sweeps + refunds, now=NOW) == []


def test_one_or_two_deposits_from_a_payer_are_never_a_stream() -> None:
    one = [txn(date(2025, 12, 5), 250_000, "NEWCO PAYROLL")]
    two = one + [txn(date(2025, 12, 19), 250_000, "NEWCO PAYROLL")]
    three = two + [txn(date(2026, 1, 2), 250_000, "NEWCO PAYROLL")]

    assert detect_income(one, now=NOW) == []
    assert detect_income(two, now=NOW) == []
    assert [s.cadence for s in detect_income(three, now=date(2026, 1, 5))] == ["biweekly"]


def test_pending_and_void_deposits_do_not_count_as_income_history() -> None:
    rng = random.Random("pending")
    pattern = PATTERNS["biweekly"]
    pay, paid, _ = pay_history(pattern, employer_for(pattern), rng)
    latest = next(t for t in pay if t["transacted_at"] == ts(paid[-1]) and t["amount"] < 500_000)
    latest.update(status="pending", status_transitions={"posted_at": None, "void_at": None})
    voids = [txn(paid[3] + timedelta(days=4), 250_000, "ACME CORP PAYROLL", status="void")]

    (stream,) = detect_income(pay + voids, now=NOW)

    assert stream.last_date == paid[-2]
    assert stream.dates == tuple(paid[:-1])


def test_a_stream_that_has_gone_quiet_loses_confidence_and_says_overdue() -> None:
    rng = random.Random("overdue")
    pattern = PATTERNS["biweekly"]
    pay, paid, _ = pay_history(pattern, employer_for(pattern), rng)

    (on_time,) = detect_income(pay, now=paid[-1] + timedelta(days=3))
    (late,) = detect_income(pay, now=paid[-1] + timedelta(days=30))

    assert late.next_expected == on_time.next_expected
    assert late.confidence < on_time.confidence / 2
    assert "overdue" in late.reason and "overdue" not in on_time.reason


def test_now_may_be_a_date_a_utc_datetime_or_unix_seconds() -> None:
    rng = random.Random("now-types")
    pattern = PATTERNS["weekly"]
    pay, _, _ = pay_history(pattern, employer_for(pattern), rng)
    as_datetime = datetime.combine(NOW, time(9), tzinfo=UTC)

    results = [detect_income(pay, now=n) for n in (NOW, as_datetime, int(as_datetime.timestamp()))]

    assert results[0] == results[1] == results[2] != []


def test_streams_are_sorted_by_confidence_then_amount() -> None:
    rng = random.Random("sorting")
    acme, _, _ = pay_history(PATTERNS["biweekly"], employer_for(PATTERNS["biweekly"]), rng)
    globex, _, _ = pay_history(PATTERNS["semimonthly_15_last"], GLOBEX, rng)

    streams = detect_income(acme + globex + freelancer(rng), now=NOW)

    keys = [(s.confidence, s.typical_amount) for s in streams]
    assert len(streams) == 3
    assert keys == sorted(keys, reverse=True)


def test_descriptions_lose_ids_dates_and_codes_but_keep_the_payer() -> None:
    assert normalise_description("ACME CORP PAYROLL PPD ID: 9876 12/13") == "ACME CORP PAYROLL"
    assert normalise_description("acme corp payroll ppd id: 1111 01/02") == "ACME CORP PAYROLL"
    assert normalise_description("ACME CORP DIRECT DEP") == "ACME CORP DIRECT DEP"
    chase = (
        "ORIG CO NAME:ACME CORP ORIG ID:1234567 DESC DATE:231213 CO ENTRY DESCR:PAYROLL "
        "SEC:PPD TRACE#:021000021234 EED:231213 IND ID:0001 IND NAME:JANE DOE"
    )
    assert normalise_description(chase) == "ACME CORP PAYROLL"
    assert normalise_description("VENMO CASHOUT 1029384756") == "VENMO CASHOUT"
    assert normalise_description("SQ *BLUE BOTTLE 12/01") == normalise_description(
        "SQ *BLUE BOTTLE 11/17"
    )
    assert normalise_description(
        "PURCHASE AUTHORIZED ON 12/01 STARBUCKS STORE 123 SEATTLE WA"
    ) == normalise_description("PURCHASE AUTHORIZED ON 11/09 STARBUCKS STORE 77 SEATTLE WA")


# --------------------------------------------------------------------------- debit dates


def stream_expecting(day: date, cadence: str = "monthly") -> IncomeStream:
    return IncomeStream(
        description="ACME CORP PAYROLL",
        cadence=cadence,
        typical_amount=250_000,
        currency="usd",
        last_date=day - timedelta(days=30),
        next_expected=day,
        confidence=0.9,
        count=6,
        amounts=(250_000,) * 6,
        dates=(),
        reason="test",
    )


def test_debit_date_is_the_first_business_day_after_payday_skipping_weekends_and_holidays() -> None:
    friday, columbus_day = date(2025, 10, 10), date(2025, 10, 13)
    christmas_eve = date(2025, 12, 24)
    assert columbus_day in us_bank_holidays(2025)

    assert suggest_debit_date(stream_expecting(friday)) == date(2025, 10, 14)
    assert suggest_debit_date(stream_expecting(christmas_eve)) == date(2025, 12, 26)
    assert suggest_debit_date(stream_expecting(date(2025, 12, 19))) == date(2025, 12, 22)


def test_a_past_payday_is_rolled_forward_to_the_next_one_after_today() -> None:
    rng = random.Random("roll-forward")
    pattern = PATTERNS["biweekly"]
    pay, paid, _ = pay_history(pattern, employer_for(pattern), rng)
    (stream,) = detect_income(pay, now=NOW)
    assert stream.next_expected is not None
    today = stream.next_expected + timedelta(days=3)  # a payday slipped by

    suggested = suggest_debit_date(stream, today=today)

    following = next(d for d in pattern.schedule(today + timedelta(days=30)) if d >= today)
    assert suggested == next_business_day(following)
    assert suggested is not None and is_business_day(suggested) and suggested > following
    # Here that payday is Friday Jan 16 2026 and the Monday after is Martin Luther King Jr. Day.
    assert (following, suggested) == (date(2026, 1, 16), date(2026, 1, 20))
    # Without today, the function does not read the clock: it uses next_expected as is.
    assert suggest_debit_date(stream) == next_business_day(stream.next_expected)


# --------------------------------------------------------------------------- balances and risk


def test_running_balance_rebuilds_end_of_day_balances_backwards_from_the_known_balance() -> None:
    as_of = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
    rows = [
        txn(date(2025, 3, 10), -2_000, "RENT", at=time(9)),  # before as_of: inside the balance
        txn(date(2025, 3, 10), 500, "REFUND", at=time(18)),  # after as_of: added forwards
        txn(date(2025, 3, 9), 5_000, "PAYROLL"),
        txn(date(2025, 3, 8), -12_000, "CAR"),
        txn(date(2025, 3, 8), -700, "PENDING CARD", status="pending"),  # not in `current`
        txn(date(2025, 3, 7), -9_999, "VOIDED", status="void"),
        # Card swiped on the 7th, posted on the 9th: it hits the posted balance on the 9th.
        txn(
            date(2025, 3, 7),
            -1_000,
            "LATE POST",
            posted_on=datetime(2025, 3, 9, 8, tzinfo=UTC),
        ),
    ]

    frame = running_balance(rows, current_balance=10_000, as_of=as_of, days=5)

    # By hand: Mar 10 = 10,000 + 500; Mar 9 = 10,000 + 2,000; Mar 8 = 12,000 - 5,000 + 1,000;
    # Mar 7 = 8,000 + 12,000; Mar 6 = Mar 7 (the void and the pending change nothing).
    assert list(frame.columns) == ["date", "balance"]
    assert list(frame["date"].dt.date) == [date(2025, 3, d) for d in range(6, 11)]
    assert frame["balance"].tolist() == [20_000, 20_000, 8_000, 12_000, 10_500]
    assert frame["balance"].dtype == "int64"
    assert running_balance(
        rows, current_balance=10_000, as_of=int(as_of.timestamp()), days=5
    ).equals(frame)


def risk_rows() -> list[dict[str, Any]]:
    return [
        txn(date(2025, 3, 10), -4_000, "RENT", at=time(10)),
        txn(date(2025, 3, 9), 1_000, "GIG"),
        txn(date(2025, 3, 8), -3_000, "CARD", status="pending"),
        txn(date(2025, 3, 7), 2_500, "PAYROLL"),
        txn(date(2025, 3, 6), -500, "COFFEE"),
        txn(date(2025, 3, 5), 100_000, "VOIDED", status="void"),
    ]


def test_risk_windows_count_negative_days_and_sum_credits_and_debits() -> None:
    as_of = datetime(2025, 3, 10, 20, tzinfo=UTC)

    short, week = risk_aggregates(
        risk_rows(), current_balance=-1_500, as_of=as_of, now=as_of, windows=(3, 7)
    )

    # End-of-day balances by hand, Mar 4..10: -500, -500, -1,000, 1,500, 1,500, 2,500, -1,500.
    assert (short.days, short.minimum_daily_balance, short.negative_balance_days) == (3, -1_500, 1)
    assert short.average_daily_balance == round((1_500 + 2_500 - 1_500) / 3)
    assert (short.credits_count, short.credits_sum) == (1, 1_000)
    assert (short.debits_count, short.debits_sum) == (2, 7_000)  # the pending card counts
    assert (week.minimum_daily_balance, week.negative_balance_days) == (-1_500, 4)
    assert week.average_daily_balance == round(
        (-500 - 500 - 1_000 + 1_500 + 1_500 + 2_500 - 1_500) / 7
    )
    assert (week.credits_count, week.credits_sum, week.debits_count, week.debits_sum) == (
        2,
        3_500,
        3,
        7_500,
    )


def test_a_stale_balance_is_rolled_forward_to_now_and_no_balance_means_no_balance_figures() -> None:
    now = datetime(2025, 3, 10, 20, tzinfo=UTC)
    fresh = risk_aggregates(risk_rows(), current_balance=-1_500, as_of=now, now=now, windows=(7,))
    stale_as_of = datetime(2025, 3, 8, 23, tzinfo=UTC)  # end of the 8th: 1,500 by hand
    stale = risk_aggregates(
        risk_rows(), current_balance=1_500, as_of=stale_as_of, now=now, windows=(7,)
    )
    unknown = risk_aggregates(risk_rows(), current_balance=None, as_of=now, now=now, windows=(7,))

    assert stale == fresh
    (blind,) = unknown
    assert blind.average_daily_balance is None and blind.negative_balance_days is None
    assert blind.minimum_daily_balance is None
    assert (blind.credits_sum, blind.debits_sum) == (fresh[0].credits_sum, fresh[0].debits_sum)


def test_a_day_ending_at_exactly_zero_is_not_a_negative_balance_day() -> None:
    now = datetime(2025, 3, 10, 20, tzinfo=UTC)
    rows = [txn(date(2025, 3, 10), -1_000, "FEE")]  # 1,000 on the 9th, 0 on the 10th

    (window,) = risk_aggregates(rows, current_balance=0, as_of=now, now=now, windows=(2,))

    assert (window.minimum_daily_balance, window.negative_balance_days) == (0, 0)
    assert window.average_daily_balance == 500


# --------------------------------------------------------------------------- cash flow


def test_daily_cash_flow_sums_in_and_out_per_day_and_fills_quiet_days_with_zero() -> None:
    rows = [
        txn(date(2025, 5, 1), 10_000, "PAYROLL"),
        txn(date(2025, 5, 1), -2_500, "GROCER", at=time(23, 59)),
        txn(date(2025, 5, 3), -1_000, "CARD", status="pending"),
        txn(date(2025, 5, 3), -50_000, "VOIDED", status="void"),
    ]

    frame = daily_cash_flow(rows)

    assert list(frame.columns) == ["period", "money_in", "money_out", "net"]
    assert str(frame["period"].dtype).startswith("datetime64")
    assert list(frame["period"].dt.date) == [date(2025, 5, d) for d in (1, 2, 3)]
    assert frame["money_in"].tolist() == [10_000, 0, 0]
    assert frame["money_out"].tolist() == [2_500, 0, 1_000]
    assert frame["net"].tolist() == [7_500, 0, -1_000]
    assert all(frame[c].dtype == "int64" for c in ("money_in", "money_out", "net"))


def test_cash_flow_totals_match_the_transactions_at_any_frequency() -> None:
    rng = random.Random("cash-flow")
    rows = noise(rng) + one_offs()
    money_in = sum(t["amount"] for t in rows if t["amount"] > 0)
    money_out = -sum(t["amount"] for t in rows if t["amount"] < 0)

    for freq in ("D", "W", "M"):
        frame = daily_cash_flow(rows, freq=freq)
        assert (frame["money_in"].sum(), frame["money_out"].sum()) == (money_in, money_out)
        assert frame["period"].is_monotonic_increasing and frame["period"].is_unique
    weekly = daily_cash_flow(rows, freq="W")
    assert set(weekly["period"].dt.day_of_week) == {0}  # weeks start on Monday


def test_cash_flow_of_nothing_is_an_empty_frame_and_mixed_currencies_are_refused() -> None:
    empty = daily_cash_flow([])
    assert empty.empty and list(empty.columns) == ["period", "money_in", "money_out", "net"]

    mixed = [txn(date(2025, 5, 1), 100, "A"), txn(date(2025, 5, 1), 100, "B", currency="eur")]
    with pytest.raises(ValueError, match="mix currencies"):
        daily_cash_flow(mixed)


# --------------------------------------------------------------------------- counterparties


def test_top_counterparties_groups_description_variants_and_ranks_by_total() -> None:
    rows = [
        txn(date(2025, 5, 1), -1_500, "SQ *BLUE BOTTLE 05/01"),
        txn(date(2025, 5, 2), -1_700, "SQ *BLUE BOTTLE 05/02"),
        txn(date(2025, 5, 3), -150_000, "LANDLORD LLC WEB ID: 99881"),
        txn(date(2025, 5, 4), -1_000, "NETFLIX.COM", status="pending"),
        txn(date(2025, 5, 5), -80_000, "VOIDED BIG SPEND", status="void"),
        txn(date(2025, 5, 6), 250_000, "ACME CORP PAYROLL PPD ID: 1234"),
    ]

    out = top_counterparties(rows)
    top_one = top_counterparties(rows, limit=1)
    incoming = top_counterparties(rows, direction="in")
    both = top_counterparties(rows, direction="both")

    assert out["counterparty"].tolist() == ["LANDLORD LLC", "SQ BLUE BOTTLE", "NETFLIX COM"]
    assert out["count"].tolist() == [1, 2, 1]
    assert out["total"].tolist() == [150_000, 3_200, 1_000]
    assert set(out["direction"]) == {"out"}
    assert top_one["counterparty"].tolist() == ["LANDLORD LLC"]
    assert incoming[["counterparty", "total"]].values.tolist() == [["ACME CORP PAYROLL", 250_000]]
    assert both["direction"].tolist() == ["in", "out", "out", "out"]
    with pytest.raises(ValueError):
        top_counterparties(rows, direction="sideways")


# --------------------------------------------------------------------------- filters


def test_filters_combine_dates_direction_status_and_text_and_hide_voids_unless_asked() -> None:
    rows = [
        txn(date(2025, 5, 1), 10_000, "ACME CORP PAYROLL"),
        txn(date(2025, 5, 2), -2_000, "Blue Bottle Coffee"),
        txn(date(2025, 5, 3), -3_000, "BLUE BOTTLE", status="pending"),
        txn(date(2025, 5, 4), -4_000, "blue bottle refund later voided", status="void"),
        txn(date(2025, 5, 5), -5_000, "RENT", at=time(0, 0)),
    ]

    def ids(selected: list) -> list[str]:
        return [t["id"] for t in selected]

    assert ids(filter_transactions(rows)) == ids(rows[:3] + rows[4:])
    assert ids(filter_transactions(rows, start=date(2025, 5, 2), end=date(2025, 5, 5))) == ids(
        [rows[1], rows[2], rows[4]]
    )
    assert ids(filter_transactions(rows, direction="in")) == ids(rows[:1])
    assert ids(filter_transactions(rows, direction="out", text="blue bottle")) == ids(rows[1:3])
    assert ids(filter_transactions(rows, status="pending")) == ids([rows[2]])
    assert ids(filter_transactions(rows, status="void")) == ids([rows[3]])
    assert filter_transactions(rows, end=date(2025, 4, 30)) == []
    with pytest.raises(ValueError):
        filter_transactions(rows, direction="both")


def test_money_out_frames_never_carry_negative_numbers() -> None:
    rng = random.Random("signs")
    rows = noise(rng)

    assert (daily_cash_flow(rows)["money_out"] >= 0).all()
    assert (top_counterparties(rows, limit=50)["total"] > 0).all()
    assert isinstance(running_balance(rows, current_balance=0, as_of=ts(NOW)), pd.DataFrame)


def test_a_payer_that_moves_weekend_paydays_later_keeps_its_habit_for_the_next_payday() -> None:
    rng = random.Random("forward")
    firsts = [date(2025, m, 1) for m in range(7, 13)]
    paid = [on_or_after_business_day(d) for d in firsts]  # Sep 1 -> Sep 2, Nov 1 -> Nov 3
    rows = [txn(d, int(300_000 * rng.uniform(0.97, 1.03)), "INITECH DIR DEP") for d in paid]

    (stream,) = detect_income(rows + noise(rng), now=NOW)

    assert stream.cadence == "monthly"
    assert stream.dates == tuple(paid)
    assert stream.next_expected == on_or_after_business_day(date(2026, 1, 1))  # New Year's Day
    assert stream.next_expected != on_or_before_business_day(date(2026, 1, 1))


# --------------------------------------------------------------------------- benefits calendars


def nth_weekday_of(year: int, month: int, n: int, weekday: int = 2) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def social_security_days(n: int, start: date, end: date) -> list[date]:
    """The nth Wednesday of each month, moved to the business day before on a holiday."""
    months = [(y, m) for y in range(start.year, end.year + 1) for m in range(1, 13)]
    days = [on_or_before_business_day(nth_weekday_of(y, m, n)) for y, m in months]
    return [d for d in days if start <= d <= end]


SSA = "SSA TREAS 310 XXSOC SEC"


@pytest.mark.parametrize(
    ("n", "words", "next_payday"),
    [
        (2, "2nd Wednesday", date(2024, 12, 11)),
        (3, "3rd Wednesday", date(2024, 12, 18)),  # June 19th 2024 (Juneteenth) paid June 18th
        (4, "4th Wednesday", date(2024, 12, 24)),  # Christmas Day is the 4th Wednesday
    ],
)
def test_social_security_on_the_nth_wednesday_is_monthly_and_its_next_payday_skips_holidays(
    n: int, words: str, next_payday: date
) -> None:
    rng = random.Random(f"ssa-{n}")
    start, now = date(2024, 1, 1), date(2024, 12, 2)
    paid = social_security_days(n, start, now)
    rows = [txn(d, int(182_400 * rng.uniform(0.99, 1.01)), SSA) for d in paid]

    (stream,) = detect_income(rows + noise(rng, start=start, end=now), now=now)

    assert stream.cadence == "monthly"
    assert words in stream.reason
    assert stream.dates == tuple(paid)
    assert stream.next_expected == next_payday
    assert stream.confidence >= 0.7
    assert suggest_debit_date(stream) == next_business_day(next_payday)


def test_a_payday_rolled_forward_keeps_the_nth_weekday_rule() -> None:
    paid = social_security_days(2, date(2026, 1, 1), date(2026, 10, 20))
    (stream,) = detect_income([txn(d, 150_000, SSA) for d in paid], now=date(2026, 10, 20))

    # Veterans Day 2026 is the 2nd Wednesday of November: paid the Tuesday before.
    assert stream.next_expected == date(2026, 11, 10)
    assert suggest_debit_date(stream, today=date(2026, 11, 20)) == next_business_day(
        date(2026, 12, 9)
    )


@pytest.mark.parametrize(
    ("anchor", "next_payday"), [(3, date(2026, 1, 2)), (1, date(2025, 12, 31))]
)
def test_older_social_security_on_the_3rd_and_ssi_on_the_1st_are_monthly(
    anchor: int, next_payday: date
) -> None:
    rng = random.Random(f"ssa-day-{anchor}")
    paid = month_days((anchor,), date(2025, 1, 1), NOW)  # Jan 3 2026 is a Saturday
    rows = [txn(d, 94_300, "SSI TREAS 310 XXSUPP SEC") for d in paid]

    (stream,) = detect_income(rows + noise(rng), now=NOW)

    assert stream.cadence == "monthly"
    assert stream.dates == tuple(paid)
    assert stream.next_expected == next_payday
    assert "Wednesday" not in stream.reason


def test_a_biweekly_wednesday_payroll_is_not_mistaken_for_a_monthly_weekday_rule() -> None:
    paid = every(14, date(2025, 6, 18), NOW)
    (stream,) = detect_income(
        [txn(d, 210_000, "COUNTY SCHOOL DIST PAYROLL") for d in paid], now=NOW
    )

    assert stream.cadence == "biweekly"
    assert stream.dates == tuple(paid)


def test_one_wednesday_a_month_with_no_fixed_week_stays_irregular() -> None:
    rng = random.Random("wandering-wednesdays")
    paid = [nth_weekday_of(2025, m, rng.choice((1, 2, 3, 4))) for m in range(1, 13)]
    paid = [on_or_before_business_day(d) for d in paid]
    weeks = {(d.day - 1) // 7 for d in paid}
    assert len(weeks) >= 3  # the seed really wanders

    (stream,) = detect_income([txn(d, 120_000, "ACME CONSULTING") for d in paid], now=NOW)

    assert stream.cadence == "irregular"


# --------------------------------------------------------------------------- one payer, two paychecks


@pytest.mark.parametrize("second_first_payday", [date(2025, 6, 27), date(2025, 6, 20)])
def test_two_biweekly_paychecks_from_one_employer_are_two_streams(
    second_first_payday: date,
) -> None:
    """Alternating weeks (a couple on different crews) or the same weeks (two jobs)."""
    rng = random.Random(f"two-jobs-{second_first_payday}")
    nurse = every(14, date(2025, 6, 20), NOW)
    porter = every(14, second_first_payday, NOW)
    label = "ST MARY MEDICAL CTR PAYROLL PPD ID: 7781"
    rows = [txn(d, int(223_900 * rng.uniform(0.99, 1.01)), label) for d in nurse]
    rows += [txn(d, int(164_600 * rng.uniform(0.99, 1.01)), label) for d in porter]

    streams = detect_income(rows + noise(rng), now=NOW)

    assert sorted((s.cadence, s.dates) for s in streams) == sorted(
        [("biweekly", tuple(nurse)), ("biweekly", tuple(porter))]
    )
    by_amount = sorted(streams, key=lambda s: s.typical_amount)
    assert abs(by_amount[0].typical_amount - 164_600) <= 0.02 * 164_600
    assert abs(by_amount[1].typical_amount - 223_900) <= 0.02 * 223_900
    assert all("one of 2 paychecks" in s.reason for s in streams)
    assert {s.description for s in streams} == {"ST MARY MEDICAL CTR PAYROLL"}


def test_a_big_raise_midyear_stays_one_stream() -> None:
    paid = every(14, date(2025, 6, 20), NOW)
    amounts = [200_000 if k < len(paid) // 2 else 240_000 for k in range(len(paid))]
    rows = [txn(d, a, "GLOBEX INC PAYROLL") for d, a in zip(paid, amounts, strict=True)]

    (stream,) = detect_income(rows, now=NOW)

    assert stream.cadence == "biweekly"
    assert stream.dates == tuple(paid)
    assert stream.typical_amount == 240_000
    assert "paychecks" not in stream.reason


def test_credit_card_payments_are_not_income() -> None:
    paid = month_days((6,), date(2025, 1, 1), NOW)
    rows = [txn(d, 130_000 + 997 * k, "ONLINE PAYMENT THANK YOU") for k, d in enumerate(paid)]
    rows += [
        txn(d, 90_000, "AUTOPAY PAYMENT RECEIVED") for d in month_days((20,), date(2025, 1, 1), NOW)
    ]

    assert detect_income(rows, now=NOW) == []


# --------------------------------------------------------------------------- speed


def year_of_history(rng: random.Random) -> list[dict[str, Any]]:
    """About 600 rows: two paychecks, benefits, gig payouts, card spending and small credits."""
    start = NOW - timedelta(days=365)
    rows = [txn(d, 250_000, "ACME CORP PAYROLL") for d in every(14, date(2024, 12, 27), NOW)]
    rows += [txn(d, 91_000, "GLOBEX INC DIR DEP") for d in month_days((15, 31), start, NOW)]
    rows += [txn(d, 120_000, SSA) for d in social_security_days(3, start, NOW)]
    rows += [
        txn(start + timedelta(days=rng.randrange(365)), rng.randint(6_000, 40_000), "DOORDASH INC")
        for _ in range(40)
    ]
    for _ in range(4):
        rows += noise(rng, start=start, end=NOW)
    return rows


def test_a_year_of_history_finds_its_three_regular_payers() -> None:
    """The speed of this (about 2 ms per account) is measured by bench/bench_income.py, not
    asserted here: a wall-clock bound in a test flakes on a loaded machine."""
    rng = random.Random("speed")
    history = year_of_history(rng)
    assert 550 <= len(history) <= 650
    streams = detect_income(history, now=NOW)
    assert {s.description for s in streams if s.cadence != "irregular"} == {
        "ACME CORP PAYROLL",
        "GLOBEX INC DIR DEP",
        "SSA TREAS XXSOC",
    }


def test_a_last_friday_payroll_is_monthly_on_the_last_friday() -> None:
    def last_friday(year: int, month: int) -> date:
        day = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
        return day - timedelta(days=(day.weekday() - 4) % 7)

    paid = [on_or_before_business_day(last_friday(2025, m)) for m in range(1, 12)]

    (stream,) = detect_income([txn(d, 410_000, "UMBRELLA HEALTH PAYROLL") for d in paid], now=NOW)

    assert stream.cadence == "monthly"
    assert stream.dates == tuple(paid)
    assert "last Friday" in stream.reason
    assert stream.next_expected == date(2025, 12, 26)
