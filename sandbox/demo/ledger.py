"""What moves through each kind of account: paychecks, bills and spending on checking;
savings transfers and interest; card purchases and payments. :func:`ledger` builds the year."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import date, timedelta

from sandbox.demo.income import PayStream, deposits_of, pay_streams, weekday_anchor
from sandbox.demo.merchants import (
    BUSINESS_SPEND,
    FRIENDS,
    INSURANCE,
    INTERNET,
    LOANS,
    MOBILE,
    MORTGAGE,
    PERSONAL_SPEND,
    RENT,
    SUBSCRIPTIONS,
    UTILITIES,
    fill_descriptor,
)
from sandbox.demo.model import DemoAccount, DemoTransaction
from sandbox.demo.seeds import DAY, HOUR, date_of, last_day_of_month
from sandbox.demo.simulation import Event, Ledger, Sim
from sandbox.shared_facts import on_or_before_business_day


def _seasonal(base: int, rng: random.Random) -> Callable[[date], int]:
    """Utility bills: higher in winter and high summer, never the same twice."""

    def amount(d: date) -> int:
        season = 1 + 0.35 * math.cos((d.month - 1) / 12 * 2 * math.pi) + 0.15 * (d.month in (7, 8))
        return -int(base * season * rng.uniform(0.85, 1.15))

    return amount


def _fixed(amount: int) -> Callable[[date], int]:
    return lambda _d: -amount


def _monthly_income(streams: list[PayStream]) -> int:
    per_month = {"weekly": 52 / 12, "biweekly": 26 / 12, "semimonthly": 2, "monthly": 1}
    total = 0.0
    for s in streams:
        if s.rule == "irregular":
            total += s.amount * s.per_day * 21.7
        else:
            total += s.amount * per_month[s.cadence]
    return int(total)


def _pay_period_income(streams: list[PayStream]) -> int:
    """Income of the longest pay period: a monthly earner needs a month of spending on hand."""
    per_month = {"weekly": 4.33, "biweekly": 2.17, "semimonthly": 2, "monthly": 1}
    return max(
        (
            int(_monthly_income([s]) / per_month[s.cadence])
            for s in streams
            if s.rule != "irregular"
        ),
        default=0,
    )


def _checking(sim: Sim) -> None:
    rng, account = sim.rng, sim.account
    business = account.account_holder_type == "company"
    streams = pay_streams(account, now=sim.now)
    for stream in streams:
        for ts, amount in deposits_of(stream, start=sim.start, now=sim.now):
            sim.by_day.setdefault(date_of(ts), []).append(Event(ts, amount, stream.description))
    income = _monthly_income(streams)
    swing = _pay_period_income(streams)  # how far a paycheck lifts the balance
    if income < 50_000:  # no paycheck here: the account is fed by transfers
        funding = (
            rng.randrange(80_000, 300_000) if not business else rng.randrange(400_000, 1_500_000)
        )
        source = f"ONLINE TRANSFER FROM SAV ...{rng.randrange(10_000):04d}"
        d = sim.start + timedelta(days=rng.randrange(0, 14))
        while d <= sim.today:
            label = source if rng.random() < 0.7 else rng.choice(
                (f"ZELLE FROM {rng.choice(FRIENDS)}", "MOBILE DEPOSIT REF #" + str(rng.randrange(10**8, 10**9)))
            )  # fmt: skip
            sim.at(d, amount=int(funding / 2 * rng.uniform(0.8, 1.2)), description=label, hour=15)
            d += timedelta(days=rng.randrange(11, 18))
        income += funding
        swing = max(swing, funding // 2)
    fixed = 0
    if business:
        payroll = int(income * rng.uniform(0.3, 0.45) / 2.17)
        anchor = weekday_anchor(rng, 4, sim.today)
        provider = rng.choice(("GUSTO", "ADP", "PAYCHEX"))
        d = anchor - timedelta(days=14 * 27)
        while d <= sim.today:
            pay = on_or_before_business_day(d)
            sim.at(
                pay,
                amount=-int(payroll * rng.uniform(0.97, 1.05)),
                description=f"{provider} NET PAY {rng.randrange(10**5, 10**6)}",
            )
            sim.at(
                pay,
                amount=-int(payroll * 0.28),
                description=f"{provider} TAX {rng.randrange(10**5, 10**6)}",
            )
            d += timedelta(days=14)
        rent = int(income * rng.uniform(0.08, 0.15))
        sim.monthly(
            day=1,
            amount=_fixed(rent),
            description=f"COMMERCIAL RENT {fill_descriptor('{n6}', rng)}",
        )
        sim.monthly(
            day=rng.randrange(5, 25),
            amount=_seasonal(rng.randrange(15_000, 60_000), rng),
            description="COMCAST BUSINESS" if rng.random() < 0.5 else rng.choice(UTILITIES),
        )
        sim.monthly(
            day=rng.randrange(1, 28),
            amount=_fixed(rng.choice((3_000, 5_500, 9_000))),
            description="INTUIT *QBOOKS ONLINE",
            card=True,
        )
        fixed = int(payroll * 1.28 * 2.17) + rent + 40_000
    else:
        if rng.random() < 0.72:
            housing = int(income * rng.uniform(0.22, 0.34))
            payee = fill_descriptor(rng.choice(MORTGAGE if rng.random() < 0.35 else RENT), rng)
            sim.monthly(day=1, amount=_fixed(housing), description=payee)
            fixed += housing
        bills = [
            (rng.choice(UTILITIES), _seasonal(rng.randrange(5_500, 16_000), rng), False),
            (*(lambda p: (p[0], _fixed(p[1])))(rng.choice(INTERNET)), False),
            (*(lambda p: (p[0], _fixed(p[1])))(rng.choice(MOBILE)), False),
        ]
        if rng.random() < 0.5:
            bills.append((rng.choice(INSURANCE), _fixed(rng.randrange(9_000, 24_000)), False))
        if rng.random() < 0.35:
            bills.append((rng.choice(LOANS), _fixed(rng.randrange(18_000, 55_000)), False))
        for name, price in rng.sample(SUBSCRIPTIONS, rng.randrange(1, 6)):
            bills.append((fill_descriptor(name, rng), _fixed(price), True))
        for description, price_on, card in bills:
            sim.monthly(
                day=rng.randrange(1, 29), amount=price_on, description=description, card=card
            )
            fixed += -price_on(date(2020, 1, 15))
    categories = BUSINESS_SPEND if business else PERSONAL_SPEND
    mean = sum(c.weight * (c.low + c.high) / 2 for c in categories) / sum(
        c.weight for c in categories
    )
    budget_per_day = max(income * 0.92 - fixed, income * 0.2) / 30.4 / 100  # dollars
    per_day = min(max(budget_per_day / mean, 0.6), 4.5 if not business else 6.0)
    scale = min(max(budget_per_day / (per_day * mean), 0.3), 4.0)
    if business:
        level = max(sim.end_balance, int(income * 0.5), 200_000)
    else:
        level = max(sim.end_balance, int(swing * 0.55) + 50_000)
        sim.glide_floor = int(swing * 0.5)
    transfer = _Transfers(sim, level=level, income=income)
    sim.run(level=level, per_day=per_day, categories=categories, scale=scale, daily=transfer)


class _Transfers:
    """Move money to/from savings when the balance strays far from its usual level."""

    def __init__(self, sim: Sim, *, level: int, income: int) -> None:
        self.sim = sim
        self.level = level
        self.band = max(income, 150_000)
        self.floor = -sim.rng.choice((0, 5_000, 15_000, 30_000))  # how far they let it go
        self.last = 0
        self.last_fee = 0

    def __call__(self, d: date, day_ts: int) -> None:
        sim = self.sim
        ts = day_ts + 16 * HOUR + sim.rng.randrange(0, 3 * HOUR)
        if ts > sim.now:
            return
        target = sim.target(ts, self.level)
        gap = sim.balance - target
        if sim.balance < 0 and ts - self.last_fee > 30 * DAY and sim.rng.random() < 0.5:
            self.last_fee = ts
            sim._book(Event(ts, -3_500, "OVERDRAFT FEE"))
        if sim.balance < self.floor and ts - self.last > 3 * DAY:
            self.last = ts
            top_up = max(target, 0) - sim.balance
            sim._book(Event(ts, _round_to(int(top_up * 0.8), 5_000), sim.correction_in))
        elif gap > 1.2 * self.band and ts - self.last > 14 * DAY:
            self.last = ts
            sim._book(Event(ts, -_round_to(int(gap * 0.7), 5_000), sim.correction_out))


def _round_to(value: int, step: int) -> int:
    return max(step, round(value / step) * step)


def _savings(sim: Sim) -> None:
    rng = sim.rng
    level = max(sim.end_balance, 20_000)
    deposit = _round_to(int(rng.uniform(0.01, 0.04) * max(level, 100_000)), 2_500)
    source = f"ONLINE TRANSFER FROM CHK ...{rng.randrange(10_000):04d}"
    sim.monthly(day=rng.choice((1, 5, 15, 20)), amount=lambda _d: deposit, description=source)
    sim.correction_in, sim.correction_out = source, source.replace("FROM", "TO")
    apy = rng.choice((0.0001, 0.001, 0.005, 0.02, 0.035, 0.044))
    last_withdrawal = [0]
    back = source.replace("FROM", "TO")

    def daily(d: date, day_ts: int) -> None:
        if d == last_day_of_month(d.year, d.month) and sim.balance > 0:
            interest = int(sim.balance * apy / 12)
            if interest > 0:
                sim._book(Event(day_ts + 20 * HOUR, interest, "INTEREST PAYMENT"))
        ts = day_ts + 15 * HOUR
        gap = sim.balance - sim.target(ts, level)
        if ts <= sim.now and ts - last_withdrawal[0] > 20 * DAY and gap > max(2 * deposit, 20_000):
            last_withdrawal[0] = ts
            sim._book(Event(ts, -_round_to(int(gap * rng.uniform(0.6, 1.0)), 1_000), back))
        elif (
            ts <= sim.now and ts - last_withdrawal[0] > 20 * DAY and gap < -max(2 * deposit, 20_000)
        ):
            last_withdrawal[0] = ts
            sim._book(Event(ts, _round_to(int(-gap * 0.8), 1_000), source))

    sim.run(level=level, per_day=0, categories=(), scale=1.0, daily=daily)


def _credit_card(sim: Sim) -> None:
    rng = sim.rng
    owed = -min(sim.end_balance, 0)
    monthly_spend = max(int(owed * rng.uniform(0.9, 1.4)), rng.randrange(30_000, 200_000))
    level = -int(monthly_spend * 0.6)
    full_payer = rng.random() < 0.6
    statement_day = rng.randrange(1, 28)
    payment_label = rng.choice(
        ("PAYMENT - THANK YOU", "AUTOPAY PAYMENT RECEIVED", "ONLINE PAYMENT THANK YOU")
    )
    statement = [0]

    def daily(d: date, day_ts: int) -> None:
        if d.day == statement_day:
            statement[0] = max(-sim.balance, 0)
            if not full_payer and statement[0] > 0:
                sim._book(
                    Event(
                        day_ts + 6 * HOUR,
                        -int(statement[0] * 0.2299 / 12),
                        "INTEREST CHARGE ON PURCHASES",
                    )
                )
        if d.day == (statement_day + 22) % 28 + 1 and statement[0] > 0:
            share = 1.0 if full_payer else rng.uniform(0.3, 0.9)
            ts = day_ts + 11 * HOUR
            if ts <= sim.now:
                sim._book(Event(ts, int(statement[0] * share), payment_label))
            statement[0] = 0

    mean = sum(c.weight * (c.low + c.high) / 2 for c in PERSONAL_SPEND) / sum(
        c.weight for c in PERSONAL_SPEND
    )
    budget_per_day = monthly_spend / 30.4 / 100
    per_day = min(max(budget_per_day / mean, 0.4), 3.5)
    scale = min(max(budget_per_day / (per_day * mean), 0.3), 4.0)
    sim.card_prefix = ""
    sim.correction_in = payment_label
    big = ("BEST BUY {n8}", "DELTA AIR LINES", "MARRIOTT HOTELS", "APPLE STORE R{n3}")
    sim.correction_out = fill_descriptor(rng.choice(big), rng)
    sim.run(level=level, per_day=per_day, categories=PERSONAL_SPEND, scale=scale, daily=daily)


def ledger(account: DemoAccount, *, now: int) -> Ledger:
    """A year of the account's transactions (oldest first) and the balance they start from.

    Deterministic from ``account.txn_seed`` and ``now``; works for any account, whatever its
    permissions (the sandbox decides what a caller may see).
    """
    sim = Sim(account, now=now)
    if account.category == "credit":
        _credit_card(sim)
    elif account.subcategory == "checking":
        _checking(sim)
    else:
        _savings(sim)
    return sim.finish()


def transactions_for(account: DemoAccount, *, now: int) -> list[DemoTransaction]:
    """The account's transactions for the year before ``now``, oldest first (see :func:`ledger`)."""
    return ledger(account, now=now).transactions
