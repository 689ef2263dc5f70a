"""Linked bank accounts of a demo customer: kind, bank, status, permissions, a plausible
balance and its age, owners and planted incomes."""

from __future__ import annotations

import math
import random

from sandbox.demo.banks import BANK_BY_NAME, Bank
from sandbox.demo.income import income_truth, pay_streams
from sandbox.demo.model import DemoAccount, DemoCustomer
from sandbox.demo.owners import business_owners, individual_owners
from sandbox.demo.people import Person
from sandbox.demo.seeds import DAY, HOUR, MINUTE, weighted

MAX_BALANCE = 2_500_000  # $25,000: balances stay in a range a demo viewer finds plausible


_DISPLAY_NAMES = {
    ("individual", "checking"): (
        "Everyday Checking", "Total Checking", "Advantage Checking", "Premier Checking",
        "Free Checking", "Interest Checking", "Student Checking", "Smart Checking",
    ),
    ("individual", "savings"): (
        "Way2Save Savings", "High Yield Savings", "Savings", "Money Market Savings",
        "Online Savings", "Emergency Fund",
    ),
    ("individual", "credit_card"): (
        "Cash Rewards Visa", "Platinum Mastercard", "Travel Rewards Card", "Everyday Visa Signature",
    ),
    ("company", "checking"): (
        "Business Checking", "Business Advantage Checking", "Analyzed Business Checking",
        "Small Business Checking",
    ),
    ("company", "savings"): ("Business Savings", "Business Money Market"),
    ("company", "credit_card"): ("Business Platinum Card", "Business Cash Rewards"),
}  # fmt: skip


def balance_figure(rng: random.Random, subcategory: str, *, business: bool) -> int:
    roll = rng.random()
    if subcategory == "credit_card":
        if roll < 0.06:
            return 0
        return -min(int(rng.lognormvariate(math.log(140_000), 0.9)), 900_000)
    if subcategory == "savings":
        if roll < 0.05:
            return rng.randrange(0, 2_500)
        return min(int(rng.lognormvariate(math.log(650_000), 0.9)), MAX_BALANCE)
    if roll < 0.05:
        return rng.randrange(0, 5_000)  # scraping by
    if roll < 0.09:
        return -rng.randrange(100, 45_000)  # overdrawn
    if business:  # small businesses keep more on hand, up to $75,000
        figure = rng.lognormvariate(math.log(1_400_000), 0.8)
        return min(max(int(figure), 20_000), 3 * MAX_BALANCE)
    return min(max(int(rng.lognormvariate(math.log(260_000), 0.85)), 5_000), MAX_BALANCE)


def _balance_age(rng: random.Random, *, failing_bank: bool) -> int:
    """Seconds between the balance's `as_of` and now; about 45% are older than a day (stale)."""
    band = weighted(rng, (("minutes", 25), ("hours", 30), ("days", 30), ("weeks", 15)))
    if failing_bank and band in ("minutes", "hours"):
        band = "weeks"  # refreshes there have been failing for a while
    if band == "minutes":
        return rng.randrange(MINUTE, HOUR)
    if band == "hours":
        return rng.randrange(HOUR, DAY - MINUTE)
    if band == "days":
        return rng.randrange(DAY + MINUTE, 7 * DAY)
    return rng.randrange(7 * DAY, 35 * DAY)


def _set_balance(
    rng: random.Random, account: DemoAccount, bank: Bank, *, business: bool, now: int
) -> None:
    figure = balance_figure(rng, account.subcategory, business=business)
    never = rng.random() < (0.3 if bank.institution.refresh_fails else 0.07)
    if account.status == "disconnected" or "balances" not in account.permissions or never:
        account.balance = None
        return
    as_of = min(
        max(
            now - _balance_age(rng, failing_bank=bank.institution.refresh_fails),
            account.created + 5,
        ),
        now,
    )
    if account.category == "credit":
        balance = {
            "as_of": as_of,
            "type": "credit",
            "current": {"usd": figure},
            "credit": {"used": {"usd": max(-figure, 0)}},
        }
    else:
        hold = 0 if rng.random() < 0.6 else rng.randrange(500, 20_000)
        available = None if bank.only_current else {"usd": figure - hold}
        balance = {
            "as_of": as_of,
            "type": "cash",
            "current": {"usd": figure},
            "cash": {"available": available},
        }
    account.balance = balance
    account.balance_refreshed_at = min(as_of + rng.randrange(2, 120), now)
    if account.status == "active":
        account.next_refresh_available_at = account.balance_refreshed_at + 120


def account_kind(rng: random.Random, index: int, *, business: bool) -> str:
    if index == 0:
        return "checking" if business or rng.random() < 0.92 else "savings"
    return weighted(rng, (("checking", 35), ("savings", 42), ("credit_card", 23)))


def random_permissions(rng: random.Random) -> list[str]:
    perms = ["payment_method"]
    if rng.random() < 0.85:
        perms.append("balances")
    if rng.random() < 0.6:
        perms.append("ownership")
    if rng.random() < 0.45:
        perms.append("transactions")
    return sorted(perms)


def make_account(
    rng: random.Random,
    *,
    customer: DemoCustomer,
    person: Person,
    index: int,
    created: int,
    kind: str,
    bank: Bank,
    txn_seed: int,
    now: int,
) -> DemoAccount:
    holder = "company" if customer.is_business else "individual"
    names = _DISPLAY_NAMES[(holder, kind)]
    display = rng.choice(names)
    last4 = f"{rng.randrange(10_000):04d}"
    if bank.institution.name == "StripeBank" and kind == "checking" and rng.random() < 0.5:
        display, last4 = "Sample Checking Account", "6789"  # Stripe's own test account
    status = weighted(rng, (("active", 88), ("inactive", 7), ("disconnected", 5)))
    permissions = random_permissions(rng)
    subscriptions = (
        ["transactions"]
        if "transactions" in permissions and status != "disconnected" and rng.random() < 0.5
        else []
    )
    account = DemoAccount(
        institution=bank.institution.name,
        display_name=display,
        last4=last4,
        category="credit" if kind == "credit_card" else "cash",
        subcategory=kind,
        status=status,  # type: ignore[arg-type]
        permissions=permissions,
        subscriptions=subscriptions,
        created=created,
        balance=None,
        owners=[],
        account_holder_type=holder,  # type: ignore[arg-type]
        txn_seed=txn_seed,
        routing_number=bank.institution.routing_number,
    )
    _set_balance(rng, account, bank, business=customer.is_business, now=now)
    if customer.is_business:
        account.owners, account.ownership_truth = business_owners(rng, customer, person)
    else:
        account.owners, account.ownership_truth = individual_owners(rng, person, customer)
    account.incomes = [income_truth(s, now=now) for s in pay_streams(account, now=now)]
    return account


def can_pay(account: DemoAccount) -> bool:
    """Whether an ACH debit could use this account (cash, at a bank that allows payments)."""
    bank = BANK_BY_NAME.get(account.institution)
    return (
        account.category == "cash"
        and bank is not None
        and bank.institution.supports_payments
        and not bank.institution.link_fails
    )
