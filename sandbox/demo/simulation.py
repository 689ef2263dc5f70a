"""A year of an account's money, simulated day by day and steered towards its real balance."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sandbox.demo.accounts import balance_figure
from sandbox.demo.banks import BANK_BY_NAME
from sandbox.demo.merchants import Category, fill_descriptor
from sandbox.demo.model import DemoAccount, DemoTransaction
from sandbox.demo.seeds import (
    DAY,
    HISTORY_DAYS,
    HOUR,
    MINUTE,
    date_of,
    day_start,
    last_day_of_month,
    sub_seed,
)
from sandbox.shared_facts import is_business_day, next_business_day


@dataclass
class Ledger:
    """An account's history: the balance a year ago plus everything that happened since.

    Invariant: ``opening_balance`` + the amounts of posted transactions with
    ``posted_at <= balance["as_of"]`` == ``balance["current"]["usd"]`` (``current`` is the
    posted balance before pending items, reference §2.1). Accounts without a balance end
    at a hidden figure instead.
    """

    opening_balance: int
    transactions: list[DemoTransaction]


@dataclass
class Event:
    ts: int
    amount: int
    description: str
    card: bool = False  # card purchases post a day or two later and may be pending or void


class Sim:
    """A forward simulation that steers the balance towards a target trajectory.

    Discretionary spending grows when the balance runs above the target and shrinks below
    it, the way people actually spend, so a year of history stays plausible; the last
    weeks glide towards the real balance and the opening balance absorbs what is left.
    """

    def __init__(self, account: DemoAccount, *, now: int) -> None:
        self.account = account
        self.now = now
        self.rng = random.Random(account.txn_seed)
        self.today = date_of(now)
        self.start = self.today - timedelta(days=HISTORY_DAYS)
        if account.balance is not None:
            self.end_balance = int(account.balance["current"]["usd"])
            self.end_at = int(account.balance["as_of"])
        else:  # never refreshed / disconnected: a hidden figure, just as real
            hidden = random.Random(sub_seed(account.txn_seed, "hidden"))
            business = account.account_holder_type == "company"
            self.end_balance = balance_figure(hidden, account.subcategory, business=business)
            self.end_at = now
        bank = BANK_BY_NAME.get(account.institution)
        self.card_prefix = bank.card_prefix if bank else ""
        self.events: list[Event] = []
        self.by_day: dict[date, list[Event]] = {}
        self.balance = 0
        self.start_balance = 0
        # a balance just after payday cannot glide to near zero without an overdraft first;
        # finish() explains the rest with one transfer after the paycheck instead
        self.glide_floor = -(10**12)
        suffix = f"{self.rng.randrange(10_000):04d}"
        self.correction_in = f"ONLINE TRANSFER FROM SAV ...{suffix}"
        self.correction_out = f"ONLINE TRANSFER TO SAV ...{suffix}"

    # scheduling helpers ---------------------------------------------------------------

    def at(
        self, d: date, *, amount: int, description: str, card: bool = False, hour: float = 10.0
    ) -> None:
        ts = day_start(d) + int(hour * HOUR) + self.rng.randrange(0, 45 * MINUTE)
        if self.start <= d and ts <= self.now:
            self.by_day.setdefault(d, []).append(Event(ts, amount, description, card))

    def monthly(
        self, *, day: int, amount: Callable[[date], int], description: str, card: bool = False
    ) -> None:
        """A bill on the same day every month (ACH debits wait for the next business day)."""
        year, month = self.start.year, self.start.month
        while date(year, month, 1) <= self.today:
            d = date(year, month, min(day, last_day_of_month(year, month).day))
            if not card:
                d = d if is_business_day(d) else next_business_day(d)
            self.at(d, amount=amount(d), description=description, card=card, hour=13 if card else 9)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def target(self, ts: int, level: int) -> int:
        """Hover around ``level``, then glide to the real balance over the last 25 days."""
        glide = 25 * DAY
        if ts >= self.end_at:
            return max(self.end_balance, self.glide_floor)
        if ts <= self.end_at - glide:
            return level
        share = (ts - (self.end_at - glide)) / glide
        goal = max(self.end_balance, self.glide_floor)
        return int(level + (goal - level) * share)

    # the day loop ----------------------------------------------------------------------

    def run(
        self,
        *,
        level: int,
        per_day: float,
        categories: Sequence[Category],
        scale: float,
        daily: Callable[[date, int], None] | None = None,
    ) -> None:
        """Walk the year day by day: scheduled items, then card spending steered by the target."""
        rng = self.rng
        weights = [c.weight for c in categories]
        favorites = [
            [fill_descriptor(m, rng) for m in rng.sample(c.merchants, min(3, len(c.merchants)))]
            for c in categories
        ]
        stiffness = max(abs(level), 150_000)
        self.balance = self.start_balance = level
        d = self.start
        while d <= self.today:
            day_ts = day_start(d)
            for event in sorted(self.by_day.get(d, ()), key=lambda e: e.ts):
                self._book(event)
            if daily is not None:
                daily(d, day_ts)
            if categories:
                gap = self.balance - self.target(day_ts, level)
                factor = min(max(1 + gap / stiffness, 0.2), 3.0)
                for _ in range(_poisson(rng, per_day * (0.6 + 0.4 * min(factor, 1.6)))):
                    i = rng.choices(range(len(categories)), weights)[0]
                    cat = categories[i]
                    dollars = rng.uniform(cat.low, cat.high) * scale * factor**0.5
                    merchant = rng.choice(favorites[i])
                    ts = day_ts + 13 * HOUR + rng.randrange(0, 11 * HOUR)
                    if ts <= self.now:
                        self._book(Event(ts, -int(dollars * 100), merchant, card=True))
            d += timedelta(days=1)

    def _book(self, event: Event) -> None:
        if event.card and not event.description.startswith(("VENMO", "ACH", "WIRE")):
            event.description = self.card_prefix + event.description
        self.events.append(event)
        self.balance += event.amount

    # turning events into Stripe-like transactions ----------------------------------------

    def finish(self) -> Ledger:
        """Turn events into transactions and land exactly on the account's balance.

        The steering keeps the balance near the target, not on it; a small miss moves the
        opening balance, a large one becomes one believable transfer a few days before
        ``as_of`` (shifting a whole year by thousands would make it implausible).
        """
        rng = self.rng
        txns = [self._transaction(e) for e in sorted(self.events, key=lambda e: e.ts)]
        counted = sum(
            t.amount for t in txns if t.posted_at is not None and t.posted_at <= self.end_at
        )
        miss = self.end_balance - (self.start_balance + counted)
        if abs(miss) <= max(abs(self.start_balance) // 4, 20_000):
            return Ledger(opening_balance=self.start_balance + miss, transactions=txns)
        lo = max(day_start(self.start), self.end_at - 3 * DAY)
        hi = self.end_at - 6 * HOUR
        if miss < 0:  # money moved out after the last paycheck, not before it
            paid = [
                t.transacted_at for t in txns if t.amount > 0 and t.transacted_at <= self.end_at
            ]
            lo = max([lo, *(p + 30 * MINUTE for p in paid[-1:])])
            hi = self.end_at - 5 * MINUTE
        ts = rng.randrange(lo, hi) if hi > lo else max(self.end_at - MINUTE, day_start(self.start))
        label = self.correction_in if miss > 0 else self.correction_out
        fix = DemoTransaction(amount=miss, description=label, transacted_at=ts, posted_at=ts)
        txns.append(fix)
        txns.sort(key=lambda t: t.transacted_at)
        return Ledger(opening_balance=self.start_balance, transactions=txns)

    def _transaction(self, e: Event) -> DemoTransaction:
        rng = self.rng
        txn = DemoTransaction(amount=e.amount, description=e.description, transacted_at=e.ts)
        if e.card and rng.random() < 0.006:
            void_at = e.ts + rng.randrange(HOUR, 30 * HOUR)
            if void_at <= self.now:
                txn.status, txn.void_at = "void", void_at
            else:
                txn.status = "pending"
            return txn
        posted = e.ts + (rng.randrange(18 * HOUR, 60 * HOUR) if e.card else 0)
        if posted <= self.now:
            txn.posted_at = posted
        else:
            txn.status = "pending"
        return txn


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
