"""Recurring deposits (payroll, gig payouts, benefits; a company's payouts): the planted
truth income detection is tested against, and the rule that dates each payday."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from sandbox.demo.model import Cadence, DemoAccount, DemoIncome
from sandbox.demo.seeds import (
    HISTORY_DAYS,
    HOUR,
    date_of,
    day_start,
    last_day_of_month,
    sub_seed,
    unit,
    weighted,
)
from sandbox.shared_facts import is_business_day, on_or_before_business_day

Rule = Literal[
    "weekly", "biweekly", "semimonthly_1_15", "semimonthly_15_last", "monthly_day",
    "monthly_last_business", "monthly_nth_wednesday", "irregular",
]  # fmt: skip


_EMPLOYERS = (
    "NORTHWIND TRADERS", "CONTOSO LTD", "GLOBEX CORP", "INITECH INC", "UMBRELLA HEALTH",
    "STARK LOGISTICS", "WAYNE ENTERPRISES", "HOOLI INC", "VANDELAY INDUSTRIES", "PIED PIPER",
    "BLUTH COMPANY", "DUNDER MIFFLIN", "TYRELL SYSTEMS", "SOYLENT FOODS", "MASSIVE DYNAMIC",
    "OCEANIC AIR", "CYBERDYNE", "WONKA CONFECTIONS", "GRINGOTTS HOLDINGS", "KRUSTY CO",
    "CITY OF SPRINGFIELD", "COUNTY SCHOOL DIST", "ST MARY MEDICAL CTR", "STATE UNIV PAYROLL",
)  # fmt: skip


_GIG_PAYERS = (
    "UBER USA 6787 EDI PAYMNT", "LYFT DRIVER PAYOUT", "DOORDASH INC DASHER", "UPWORK ESCROW INC",
    "ETSY INC PAYOUT", "INSTACART SHOPPER PAY", "FIVERR INTL PAYOUT", "TASKRABBIT PAYOUT",
)  # fmt: skip


@dataclass(frozen=True)
class PayStream:
    """One planted recurring deposit with the rule that dates it (richer than DemoIncome)."""

    description: str
    cadence: Cadence
    rule: Rule
    amount: int  # typical deposit, cents
    anchor: date  # a real payday (weekly/biweekly) — the schedule repeats from here
    day: int  # monthly_day: day of month; monthly_nth_wednesday: n
    key: int  # sub-seed for per-date decisions (missed, bonus, drift)
    hour_offset: int  # seconds after 10:00 UTC the bank posts it (same date in every US zone)
    per_day: float = 0.0  # irregular: chance of a payout on a given day


# How often a rule pays (every other rule pays monthly).
_CADENCE: dict[str, Cadence] = {
    "weekly": "weekly",
    "biweekly": "biweekly",
    "semimonthly_1_15": "semimonthly",
    "semimonthly_15_last": "semimonthly",
    "irregular": "irregular",
}


def weekday_anchor(rng: random.Random, weekday: int, today: date) -> date:
    back = (today.weekday() - weekday) % 7 + 7 * rng.randrange(0, 2)
    return today - timedelta(days=back)


def _make_stream(
    rng: random.Random, *, seed: int, index: int, today: date, business: bool
) -> PayStream:
    key = sub_seed(seed, "stream", index)
    offset = rng.randrange(0, 2 * HOUR)

    def stream(
        description: str, rule: Rule, amount: int, anchor: date, day: int = 0, per_day: float = 0.0
    ) -> PayStream:
        cadence = _CADENCE.get(rule, "monthly")
        return PayStream(description, cadence, rule, amount, anchor, day, key, offset, per_day)

    if business:
        if index == 0:
            anchor = weekday_anchor(rng, rng.choice((0, 1)), today)
            amount = rng.randrange(60_000, 350_000)
            return stream(
                f"STRIPE TRANSFER ST-{rng.randrange(10**7):07d}", "weekly", amount, anchor
            )
        client = rng.choice(_EMPLOYERS)
        amount = rng.randrange(50_000, 300_000)
        per_day = rng.uniform(0.05, 0.12)
        return stream(f"ACH CREDIT {client} PAYMENT", "irregular", amount, today, per_day=per_day)
    kind = weighted(rng, (("payroll", 80), ("gig", 9), ("ssa", 7), ("pension", 4)))
    if kind == "gig":
        payer = rng.choice(_GIG_PAYERS)
        amount, per_day = rng.randrange(8_000, 45_000), rng.uniform(0.08, 0.3)
        return stream(payer, "irregular", amount, today, per_day=per_day)
    if kind == "ssa":
        amount = rng.randrange(110_000, 320_000)
        wednesday = rng.choice((2, 3, 4))  # 2nd, 3rd or 4th by birthday
        return stream("SSA TREAS 310 XXSOC SEC", "monthly_nth_wednesday", amount, today, wednesday)
    if kind == "pension":
        amount = rng.randrange(60_000, 280_000)
        name = rng.choice(("CALPERS RETIREMENT", "TEACHERS RETIREMENT SYS", "FIDELITY PENSION PMT"))
        return stream(name, "monthly_day", amount, today, 1)
    employer = rng.choice(_EMPLOYERS)
    description = weighted(
        rng,
        (
            (f"{employer} PAYROLL", 35), (f"{employer} DIR DEP", 20),
            (f"ADP WAGE PAY {employer}", 12), (f"GUSTO PAY {employer}", 10),
            (f"PAYCHEX {employer} PAYROLL", 8), (f"{employer} DIRECT DEP PPD", 15),
        ),
    )  # fmt: skip
    rule: Rule = weighted(
        rng,
        (("weekly", 12), ("biweekly", 46), ("semimonthly_1_15", 13), ("semimonthly_15_last", 13),
         ("monthly_day", 8), ("monthly_last_business", 8)),
    )  # fmt: skip
    annual = rng.lognormvariate(math.log(5_800_000), 0.45)  # take-home, cents per year
    annual = min(max(annual, 2_200_000), 18_000_000)
    per_year = {"weekly": 52, "biweekly": 26, "monthly_day": 12, "monthly_last_business": 12}.get(
        rule, 24
    )
    anchor = weekday_anchor(rng, 4 if rng.random() < 0.85 else rng.choice((2, 3)), today)
    day = rng.choice((1, 1, 15, 25, 28))
    return stream(description, rule, int(annual / per_year), anchor, day)


def pay_streams(account: DemoAccount, *, now: int) -> list[PayStream]:
    """The recurring deposits planted in this account (derived from ``txn_seed`` alone).

    Only checking accounts are paid into: individuals get payroll, gig payouts or benefits;
    companies get weekly Stripe payouts and irregular client payments.
    """
    if account.subcategory != "checking":
        return []
    rng = random.Random(sub_seed(account.txn_seed, "incomes"))
    today = date_of(now)
    business = account.account_holder_type == "company"
    if business:
        count = weighted(rng, ((1, 55), (2, 35), (0, 10)))
        streams = [
            _make_stream(rng, seed=account.txn_seed, index=i, today=today, business=True)
            for i in range(count)
        ]
        if count == 1 and rng.random() < 0.3:
            streams = [
                _make_stream(rng, seed=account.txn_seed, index=1, today=today, business=True)
            ]
        return streams
    count = weighted(rng, ((1, 64), (2, 14), (0, 22)))
    return [
        _make_stream(rng, seed=account.txn_seed, index=i, today=today, business=False)
        for i in range(count)
    ]


def _scheduled_dates(stream: PayStream, start: date, end: date) -> list[date]:
    """Paydays in [start, end], moved to the previous business day like real payroll."""
    dates: list[date] = []
    if stream.rule in ("weekly", "biweekly"):
        step = 7 if stream.rule == "weekly" else 14
        k = math.ceil((start - stream.anchor).days / step) - 1
        while True:
            payday = stream.anchor + timedelta(days=step * k)
            k += 1
            if payday > end + timedelta(days=3):
                break
            dates.append(on_or_before_business_day(payday))
    elif stream.rule == "irregular":
        d = start
        while d <= end:
            if is_business_day(d) and unit(stream.key, "gig", d.toordinal()) < stream.per_day:
                dates.append(d)
            d += timedelta(days=1)
    else:
        year, month = start.year, start.month
        month -= 1  # a payday shifted back can fall into the previous month
        if month == 0:
            year, month = year - 1, 12
        while date(year, month, 1) <= end + timedelta(days=3):
            last = last_day_of_month(year, month)
            nominal: list[date]
            if stream.rule == "semimonthly_1_15":
                nominal = [date(year, month, 1), date(year, month, 15)]
            elif stream.rule == "semimonthly_15_last":
                nominal = [date(year, month, 15), last]
            elif stream.rule == "monthly_day":
                nominal = [date(year, month, min(stream.day, last.day))]
            elif stream.rule == "monthly_last_business":
                nominal = [last]
            else:  # Social Security: 2nd/3rd/4th Wednesday by birthday
                first_wed = date(year, month, 1) + timedelta(
                    days=(2 - date(year, month, 1).weekday()) % 7
                )
                nominal = [first_wed + timedelta(days=7 * (stream.day - 1))]
            dates.extend(on_or_before_business_day(d) for d in nominal)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return [d for d in dates if start <= d <= end]


def deposits_of(stream: PayStream, *, start: date, now: int) -> list[tuple[int, int]]:
    """(timestamp, amount) of every deposit of ``stream`` from ``start`` up to ``now``.

    Missed paydays (rare) and bonuses are decided per date, so any window agrees with any
    other; nothing is ever missed in the last 45 days, so the truth's `last_date` is firm.
    """
    out: list[tuple[int, int]] = []
    recent = date_of(now) - timedelta(days=45)
    for d in _scheduled_dates(stream, start, date_of(now)):
        ts = day_start(d) + 10 * HOUR + stream.hour_offset
        if ts > now:
            continue
        ordinal = d.toordinal()
        if d < recent and stream.rule != "irregular" and unit(stream.key, "miss", ordinal) < 0.015:
            continue
        if stream.rule == "irregular":
            factor = 0.45 + 1.1 * unit(stream.key, "amt", ordinal)
        else:
            factor = 1 + (unit(stream.key, "amt", ordinal) - 0.5) * 0.03
            if unit(stream.key, "bonus", ordinal) < 0.025:
                factor *= 1.6 + unit(stream.key, "bonus-size", ordinal)
        out.append((ts, int(round(stream.amount * factor))))
    return out


def income_truth(stream: PayStream, *, now: int) -> DemoIncome:
    deposits: list[tuple[int, int]] = []
    for lookback in (40, 120, HISTORY_DAYS):  # gig payouts: look back only as far as needed
        deposits = deposits_of(stream, start=date_of(now) - timedelta(days=lookback), now=now)
        if deposits:
            break
    last = date_of(deposits[-1][0]).isoformat() if deposits else ""
    return DemoIncome(
        description=stream.description,
        cadence=stream.cadence,
        typical_amount=stream.amount,
        last_date=last,
    )
