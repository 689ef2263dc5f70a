"""The demo world generator: reproducible, fast, and realistic enough to demo and test against."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import get_args

import pytest

from sandbox.demo import (
    HISTORY_DAYS,
    INTENT_WINDOW_DAYS,
    Ledger,
    generate,
    ledger,
    transactions_for,
)
from sandbox.demo.model import (
    DemoAccount,
    DemoCustomer,
    DemoIncome,
    DemoWorld,
    IntentOutcome,
    VerificationMethod,
)
from services.rules.calendar import is_business_day

# 2026-01-02 15:00 UTC: right after New Year's Day, so holiday shifts are in the last weeks
NOW = int(datetime(2026, 1, 2, 15, tzinfo=UTC).timestamp())
DAY = 86_400


@pytest.fixture(scope="module")
def world() -> DemoWorld:
    return generate(seed=42, customers=2_000, now=NOW)


def _accounts(world: DemoWorld) -> list[DemoAccount]:
    return [a for c in world.customers for a in c.accounts]


def _share(items: list, predicate) -> float:
    return sum(1 for x in items if predicate(x)) / len(items)


_BOOKS: dict[int, Ledger] = {}


def _book(account: DemoAccount) -> Ledger:
    """Each account's year of history, built once for the whole module (it costs ~5 ms)."""
    if id(account) not in _BOOKS:
        _BOOKS[id(account)] = ledger(account, now=NOW)
    return _BOOKS[id(account)]


def _day(ts: int) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


def _aba_ok(routing: str) -> bool:
    d = [int(c) for c in routing]
    return (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8]) % 10 == 0


# --- determinism and speed --------------------------------------------------------------------


def test_the_same_seed_and_now_give_an_identical_world() -> None:
    assert generate(seed=7, customers=150, now=NOW) == generate(seed=7, customers=150, now=NOW)


def test_a_different_seed_gives_a_different_world() -> None:
    a = generate(seed=7, customers=50, now=NOW)
    b = generate(seed=8, customers=50, now=NOW)
    assert [c.name for c in a.customers] != [c.name for c in b.customers]
    assert [c.accounts for c in a.customers] != [c.accounts for c in b.customers]


def test_a_small_world_is_the_start_of_a_larger_one() -> None:
    small = generate(seed=3, customers=40, now=NOW)
    large = generate(seed=3, customers=120, now=NOW)
    assert large.customers[:40] == small.customers


def test_transactions_are_deterministic_from_the_account_seed() -> None:
    account = generate(seed=5, customers=1, now=NOW).customers[0].accounts[0]
    again = generate(seed=5, customers=1, now=NOW).customers[0].accounts[0]
    first = transactions_for(account, now=NOW)
    assert first == transactions_for(again, now=NOW)
    assert first == ledger(account, now=NOW).transactions
    assert account.transactions == []  # lazy: the world itself carries none


# How fast the world generates (about 3 s of CPU for 20,000 customers, 0.1 s for 200) is a
# number `python bench/bench_sandbox.py --customers 20000` prints, not a timed test here.


# --- institutions ---------------------------------------------------------------------------


def test_institutions_cover_the_test_banks_and_realistic_ones(world: DemoWorld) -> None:
    banks = {b.name: b for b in world.institutions}
    assert 9 <= len(banks) <= 14
    assert banks["Invalid Payment Accounts"].supports_payments is False
    assert banks["Down Bank (Error)"].link_fails and banks["Down Bank (Error)"].refresh_fails
    realistic = [b for b in banks.values() if b.routing_number != "110000000"]
    assert len(realistic) >= 4
    assert sum(b.refresh_fails for b in realistic) == 1
    assert all(len(b.routing_number) == 9 and _aba_ok(b.routing_number) for b in banks.values())


def test_every_account_is_at_a_known_bank_with_its_routing_number(world: DemoWorld) -> None:
    banks = {b.name: b for b in world.institutions}
    for account in _accounts(world):
        assert account.routing_number == banks[account.institution].routing_number


# --- customers ------------------------------------------------------------------------------


def test_customers_look_like_real_people_and_businesses(world: DemoWorld) -> None:
    customers = world.customers
    assert 0.02 <= _share(customers, lambda c: c.is_business) <= 0.09
    assert len({c.name.split()[-1] for c in customers}) > 150  # many families, many cultures
    assert any(not c.name.isascii() for c in customers)  # José, Nguyễn, Müller...
    emails = [c.email for c in customers]
    assert len(set(emails)) == len(emails)
    assert all(re.fullmatch(r"[a-z0-9._+-]+@[a-z0-9-]+(\.[a-z]+)+", e) for e in emails)
    people = [c for c in customers if not c.is_business]
    assert _share(people, lambda c: _email_mentions_name(c)) > 0.9
    for c in customers:
        assert re.fullmatch(r"\d+ .+", c.address["line1"])
        assert re.fullmatch(r"[A-Z]{2}", c.address["state"])
        assert re.fullmatch(r"\d{5}", c.address["postal_code"])
        assert c.address["country"] == "US"
        assert c.phone is None or "555" in c.phone
        assert c.created < NOW
    assert any(c.name.endswith(("LLC", "Inc.")) for c in customers if c.is_business)


def _email_mentions_name(customer: DemoCustomer) -> bool:
    import unicodedata

    local = customer.email.split("@")[0]
    words = unicodedata.normalize("NFKD", customer.name).encode("ascii", "ignore").decode().lower()
    return any(part and part[:3] in local for part in re.split(r"[^a-z]+", words))


# --- accounts and balances ------------------------------------------------------------------


def test_customers_have_one_to_three_accounts_a_few_only_manual_ones(world: DemoWorld) -> None:
    counts = Counter(len(c.accounts) for c in world.customers)
    assert set(counts) <= {0, 1, 2, 3}
    assert 0.01 <= counts[0] / len(world.customers) <= 0.08
    for customer in (c for c in world.customers if not c.accounts):
        assert any(i.manual_last4 for i in customer.intents)


def test_account_statuses_kinds_and_permissions_follow_realistic_mixes(world: DemoWorld) -> None:
    accounts = _accounts(world)
    assert 0.82 <= _share(accounts, lambda a: a.status == "active") <= 0.93
    assert 0.04 <= _share(accounts, lambda a: a.status == "inactive") <= 0.11
    assert 0.02 <= _share(accounts, lambda a: a.status == "disconnected") <= 0.08
    assert _share(accounts, lambda a: a.subcategory == "checking") > 0.55
    assert 0.04 <= _share(accounts, lambda a: a.category == "credit") <= 0.15
    assert all("payment_method" in a.permissions for a in accounts)
    assert all(a.permissions == sorted(set(a.permissions)) for a in accounts)
    assert 0.7 <= _share(accounts, lambda a: "balances" in a.permissions) <= 0.95
    assert 0.3 <= _share(accounts, lambda a: "transactions" in a.permissions) <= 0.6
    for a in accounts:
        assert set(a.subscriptions) <= {"transactions"}
        if a.subscriptions:
            assert "transactions" in a.permissions and a.status != "disconnected"
        assert re.fullmatch(r"\d{4}", a.last4) and a.display_name


def test_balances_are_plausible_sometimes_stale_and_sometimes_missing(world: DemoWorld) -> None:
    accounts = _accounts(world)
    with_balance = [a for a in accounts if a.balance is not None]
    assert all(a.balance is None for a in accounts if a.status == "disconnected")
    assert all(a.balance is None for a in accounts if "balances" not in a.permissions)
    never = [a for a in accounts if a.status != "disconnected" and "balances" in a.permissions]
    assert 0.03 <= _share(never, lambda a: a.balance is None) <= 0.2
    ages = [NOW - a.balance["as_of"] for a in with_balance]  # type: ignore[index]
    assert min(ages) < 3_600 and max(ages) > 7 * DAY
    assert 0.25 <= _share(ages, lambda age: age > DAY) <= 0.65
    cash = [a for a in with_balance if a.category == "cash"]
    current = [a.balance["current"]["usd"] for a in cash]  # type: ignore[index]
    assert any(x < 0 for x in current) and any(0 <= x < 5_000 for x in current)
    people = [a for a in cash if a.account_holder_type == "individual"]
    assert all(a.balance["current"]["usd"] <= 2_500_000 for a in people)  # type: ignore[index]
    assert 100_000 < statistics.median(current) < 1_500_000
    assert any(a.balance["cash"]["available"] is None for a in cash)  # type: ignore[index]
    for a in with_balance:
        b = a.balance
        assert b is not None and b["as_of"] <= NOW and a.balance_refreshed_at is not None
        assert b["type"] == ("credit" if a.category == "credit" else "cash")
        if a.category == "credit":
            assert b["current"]["usd"] <= 0
            assert b["credit"]["used"]["usd"] == -b["current"]["usd"]


# --- owners ---------------------------------------------------------------------------------


def test_owner_truth_matches_the_owners_planted(world: DemoWorld) -> None:
    for customer in world.customers:
        for a in customer.accounts:
            mine = [o for o in a.owners if o.is_customer]
            if a.ownership_truth == "exact":
                assert [o.name for o in a.owners] == [customer.name]
            elif a.ownership_truth == "variant":
                assert len(a.owners) == 1 and mine and mine[0].name != customer.name
            elif a.ownership_truth == "joint":
                two = len(a.owners) == 2 and len(mine) == 1
                one_string = len(a.owners) == 1 and re.search(r" (&|AND|OR) ", a.owners[0].name)
                assert two or one_string
            else:
                assert a.owners and not mine


def test_owner_names_vary_the_way_banks_write_them(world: DemoWorld) -> None:
    accounts = _accounts(world)
    truth = Counter(a.ownership_truth for a in accounts)
    assert 0.015 <= truth["mismatch"] / len(accounts) <= 0.08
    assert truth["variant"] / len(accounts) > 0.2 and truth["joint"] / len(accounts) > 0.07
    variants = Counter(o.name_variant for a in accounts for o in a.owners)
    for kind in ("upper", "last_first", "initials", "middle_initial", "nickname", "formal",
                 "suffix", "joint_string", "co_owner", "other_person", "business"):  # fmt: skip
        assert variants[kind] > 0, kind
    owners = [o for a in accounts for o in a.owners]
    assert any(re.fullmatch(r"[A-Z' -]+, [A-Z' -]+", o.name) for o in owners)  # "SMITH, JOHN"
    assert 0.1 < _share(owners, lambda o: o.email is not None) < 0.5
    phones = [o.phone for o in owners if o.phone]
    assert phones and all(re.fullmatch(r"\+1 555-\d{3}-\d{4}", p) for p in phones)
    assert any(o.raw_address and re.search(r", [A-Z]{2} \d{5}$", o.raw_address) for o in owners)


# --- intents --------------------------------------------------------------------------------


def test_every_intent_points_at_a_real_payable_account_or_a_manual_one(world: DemoWorld) -> None:
    banks = {b.name: b for b in world.institutions}
    for customer in world.customers:
        for intent in customer.intents:
            assert customer.created <= intent.created <= NOW
            assert intent.created >= NOW - INTENT_WINDOW_DAYS * DAY
            if intent.account_index is not None:
                assert 0 <= intent.account_index < len(customer.accounts)
                account = customer.accounts[intent.account_index]
                assert account.category == "cash"
                assert banks[account.institution].supports_payments
                assert not banks[account.institution].link_fails
                assert intent.manual_last4 is None
            if intent.outcome.startswith("manual"):
                assert (
                    intent.account_index is None and intent.manual_last4 and intent.manual_bank_name
                )
                assert intent.microdeposit_type in ("amounts", "descriptor_code")


def test_outcomes_and_verification_methods_are_all_represented(world: DemoWorld) -> None:
    intents = [i for c in world.customers for i in c.intents]
    assert {i.outcome for i in intents} == set(get_args(IntentOutcome))
    assert {i.verification_method for i in intents} == set(get_args(VerificationMethod))
    assert {i.kind for i in intents} == {"setup_intent", "payment_intent"}
    setup_outcomes = {i.outcome for i in intents if i.kind == "setup_intent"}
    assert setup_outcomes == set(get_args(IntentOutcome)) - {"processing"}


def test_each_verification_method_has_its_own_outcomes(world: DemoWorld) -> None:
    intents = [i for c in world.customers for i in c.intents]
    manual = {"manual_verified", "manual_pending", "manual_failed"}
    instant = [i for i in intents if i.verification_method == "instant"]
    assert not any(i.outcome in manual or i.manual_last4 for i in instant)
    micro = [i for i in intents if i.verification_method == "microdeposits"]
    assert not any(i.account_index is not None for i in micro)
    assert not any(i.outcome in ("instant_success", "instant_failed") for i in micro)
    automatic = [i for i in intents if i.verification_method == "automatic"]
    assert _share(automatic, lambda i: i.outcome == "instant_success") > 0.5
    assert 0.08 <= _share(automatic, lambda i: i.outcome in manual) <= 0.25
    assert all(i.kind == "payment_intent" for i in intents if i.outcome == "processing")
    failed_links = [i for i in intents if i.outcome == "instant_failed"]
    assert failed_links and all(i.institution == "Down Bank (Error)" for i in failed_links)


def test_intent_timings_are_realistic(world: DemoWorld) -> None:
    intents = [(c, i) for c in world.customers for i in c.intents]
    for customer, i in intents:
        if i.finished_at is not None:
            assert i.created <= i.finished_at <= NOW
        if i.outcome in ("abandoned", "manual_pending", "processing"):
            assert i.finished_at is None
        if i.outcome == "instant_success" and i.kind == "setup_intent":
            assert i.finished_at is not None and 60 <= i.finished_at - i.created <= 11 * 60
            account = customer.accounts[i.account_index]  # type: ignore[index]
            assert account.created <= i.finished_at or account.created < i.created
        if i.outcome == "manual_verified" and i.kind == "setup_intent":
            assert i.finished_at is not None and DAY <= i.finished_at - i.created <= 4 * DAY
        if i.outcome == "manual_failed":
            assert i.failure_code and i.failure_code.startswith("payment_method_microdeposit")
            if i.failure_code.endswith("timeout"):
                assert i.finished_at is not None and i.finished_at - i.created >= 10 * DAY
        if i.outcome == "manual_pending":
            assert NOW - i.created <= 10 * DAY
        if i.outcome == "abandoned":
            assert NOW - i.created >= 2 * DAY
        if i.kind == "payment_intent":
            assert i.amount is not None and i.amount > 0 and i.currency == "usd"
        else:
            assert i.amount is None
    codes = {i.failure_code for _, i in intents if i.failure_code}
    assert {
        "payment_method_microdeposit_verification_attempts_exceeded",
        "payment_method_microdeposit_verification_timeout",
    } <= codes


# --- transactions ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(world: DemoWorld) -> list[DemoAccount]:
    """A spread of account kinds, with and without balances, small enough to stay fast."""
    accounts = _accounts(world)
    picked = [a for a in accounts if a.subcategory == "checking"][:80]
    picked += [a for a in accounts if a.subcategory == "savings"][:20]
    picked += [a for a in accounts if a.category == "credit"][:20]
    picked += [a for a in accounts if a.account_holder_type == "company"][:15]
    return picked


def test_transactions_end_at_the_account_balance(sample: list[DemoAccount]) -> None:
    checked = 0
    for account in sample:
        book = _book(account)
        if account.balance is None:
            continue
        as_of = account.balance["as_of"]
        posted = [t for t in book.transactions if t.status == "posted" and t.posted_at <= as_of]  # type: ignore[operator]
        assert (
            book.opening_balance + sum(t.amount for t in posted)
            == account.balance["current"]["usd"]
        )
        checked += 1
    assert checked > 50


def test_a_year_of_history_with_pending_and_void_items(sample: list[DemoAccount]) -> None:
    statuses: Counter[str] = Counter()
    for account in sample:
        txns = _book(account).transactions
        assert txns, account.display_name
        times = [t.transacted_at for t in txns]
        assert times == sorted(times)
        assert times[0] >= NOW - (HISTORY_DAYS + 1) * DAY and times[-1] <= NOW
        for t in txns:
            statuses[t.status] += 1
            assert t.amount != 0 and t.description
            if t.status == "posted":
                assert t.posted_at is not None and t.transacted_at <= t.posted_at <= NOW
            if t.status == "pending":
                assert t.posted_at is None and NOW - t.transacted_at < 4 * DAY
            if t.status == "void":
                assert t.void_at is not None and t.posted_at is None
    assert statuses["posted"] > 100 * statuses["pending"] > 0 and statuses["void"] > 0


def test_the_running_balance_stays_plausible_all_year(sample: list[DemoAccount]) -> None:
    lows: list[int] = []
    for account in sample:
        if account.category != "cash" or account.account_holder_type != "individual":
            continue
        book = _book(account)
        balance, low, high = book.opening_balance, book.opening_balance, book.opening_balance
        for t in book.transactions:
            if t.status == "posted":
                balance += t.amount
                low, high = min(low, balance), max(high, balance)
        lows.append(low)
        assert low > -1_500_000 and high < 6_000_000, (account.subcategory, low, high)
    assert statistics.median(lows) > -20_000  # most people are never more than $200 overdrawn


def test_spending_looks_like_a_real_bank_feed(sample: list[DemoAccount]) -> None:
    descriptions = {t.description for a in sample for t in _book(a).transactions}
    text = " | ".join(descriptions)
    for needle in ("AMAZON", "NETFLIX", "SQ *", "PAYMENT", "TRANSFER"):
        assert needle in text, needle
    assert re.search(r"(SHELL OIL|CHEVRON|EXXONMOBIL) \d+", text)


def _deposits(account: DemoAccount, income: DemoIncome) -> list[tuple[date, int]]:
    return [
        (_day(t.transacted_at), t.amount)
        for t in _book(account).transactions
        if t.description == income.description and t.amount > 0
    ]


GAPS = {"semimonthly": (10, 20), "monthly": (26, 35)}
STEP = {"weekly": 7, "biweekly": 14}


def _follows_cadence(cadence: str, days: list[date]) -> bool:
    """Weekly/biweekly: nominal paydays (the usual weekday on or after the deposit, where the
    deposit moved back over a holiday) are whole steps apart; others: gaps in a range.
    A gap of several steps is a missed payday, which happens but rarely."""
    if cadence in STEP:
        weekday = Counter(d.weekday() for d in days).most_common(1)[0][0]
        nominal = [d + timedelta(days=(weekday - d.weekday()) % 7) for d in days]
        for d, n in zip(days, nominal, strict=True):
            if any(is_business_day(d + timedelta(days=k)) for k in range(1, (n - d).days + 1)):
                return False  # moved further back than the holiday required
        gaps = [(b - a).days for a, b in zip(nominal, nominal[1:], strict=False)]
        regular = [g for g in gaps if g == STEP[cadence]]
        return all(g % STEP[cadence] == 0 for g in gaps) and len(regular) >= 0.9 * len(gaps)
    low, high = GAPS[cadence]
    gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)]
    return len([g for g in gaps if low <= g <= high]) >= 0.9 * len(gaps)


def test_payroll_lands_on_business_days_and_follows_its_cadence(world: DemoWorld) -> None:
    streams = [(a, i) for a in _accounts(world) for i in a.incomes][:160]
    cadences = {i.cadence for _, i in streams}
    assert cadences >= {"weekly", "biweekly", "semimonthly", "monthly", "irregular"}
    for account, income in streams:
        deposits = _deposits(account, income)
        days = [d for d, _ in deposits]
        assert days and all(is_business_day(d) for d in days)
        assert days[-1].isoformat() == income.last_date
        if income.cadence == "irregular":
            continue
        assert _follows_cadence(income.cadence, days), (income, days)
        amounts = [a for _, a in deposits]
        drift = abs(statistics.median(amounts) - income.typical_amount)
        assert drift <= 0.03 * income.typical_amount
        per_year = {"weekly": 52, "biweekly": 26, "semimonthly": 24, "monthly": 12}
        assert per_year[income.cadence] - 3 <= len(days) <= per_year[income.cadence] + 1


def test_paydays_move_back_before_weekends_and_holidays(world: DemoWorld) -> None:
    semimonthly = [
        (a, i) for a in _accounts(world) for i in a.incomes if i.cadence == "semimonthly"
    ][:40]
    shifted = 0
    for account, income in semimonthly:
        for d, _ in _deposits(account, income):
            if d.day not in (1, 15) and d != _last_day(d):
                nominal = [x for x in (_next(d, 1), _next(d, 15), _last_day(d)) if x > d]
                assert nominal and min(nominal) - d <= timedelta(days=4)
                assert all(
                    not is_business_day(d + timedelta(days=k))
                    for k in range(1, (min(nominal) - d).days + 1)
                )
                shifted += 1
    assert shifted > 10


def _last_day(d: date) -> date:
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _next(d: date, day: int) -> date:
    """The next date after ``d`` that falls on ``day`` of a month."""
    candidate = d.replace(day=day) if d.day < day else _last_day(d) + timedelta(days=day)
    return candidate


def test_income_truth_is_only_planted_on_checking_accounts(world: DemoWorld) -> None:
    accounts = _accounts(world)
    assert all(not a.incomes for a in accounts if a.subcategory != "checking")
    checking = [a for a in accounts if a.subcategory == "checking"]
    assert 0.6 <= _share(checking, lambda a: bool(a.incomes)) <= 0.95
    for income in (i for a in checking for i in a.incomes):
        assert income.typical_amount > 0
        age = _day(NOW) - date.fromisoformat(income.last_date)
        if income.cadence != "irregular":  # nobody was let go: the last payday is recent
            assert timedelta(0) <= age <= timedelta(days=36), income
