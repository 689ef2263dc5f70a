"""The demo world's planted truth, recovered by the product's own detectors.

``sandbox.demo`` plants recurring income and ownership relations (``DemoAccount.incomes``,
``DemoAccount.ownership_truth``); the pages are only convincing if ``detect_income`` and
``match_owners`` find what was planted. Several seeds are pooled so one odd world neither hides
nor exaggerates a regression.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pytest

from sandbox import demo
from sandbox.demo.model import DemoAccount, DemoCustomer, DemoIncome, DemoWorld
from services.rules.income import IncomeStream, detect_income
from services.rules.owners import match_owners

NOW = int(datetime(2026, 6, 15, 12, tzinfo=UTC).timestamp())
SEEDS = (1, 2, 3)
CUSTOMERS = 45


@cache
def _world(seed: int) -> DemoWorld:
    return demo.generate(seed=seed, customers=CUSTOMERS, now=NOW)


def _accounts() -> list[tuple[DemoCustomer, DemoAccount]]:
    return [(c, a) for seed in SEEDS for c in _world(seed).customers for a in c.accounts]


_DETECTED: dict[int, list[IncomeStream]] = {}


def _detected(account: DemoAccount) -> list[IncomeStream]:
    """detect_income on the account's history, once per test session (it is the slow part)."""
    if id(account) not in _DETECTED:
        _DETECTED[id(account)] = detect_income(_as_stripe(account), now=NOW)
    return _DETECTED[id(account)]


def _as_stripe(account: DemoAccount) -> list[dict[str, Any]]:
    """The transactions as Stripe would return them (the shape detect_income reads)."""
    return [
        {
            "amount": t.amount,
            "currency": "usd",
            "description": t.description,
            "status": t.status,
            "transacted_at": t.transacted_at,
            "status_transitions": {"posted_at": t.posted_at, "void_at": t.void_at},
        }
        for t in demo.transactions_for(account, now=NOW)
    ]


def _recovered(planted: DemoIncome, found: list[IncomeStream]) -> bool:
    # Irregular income has no schedule to pin the amount to, so its median wanders more.
    tolerance = 0.25 if planted.cadence == "irregular" else 0.10
    return any(
        s.cadence == planted.cadence
        and abs(s.typical_amount - planted.typical_amount) <= tolerance * planted.typical_amount
        for s in found
    )


def test_planted_income_is_recovered_with_its_cadence_and_amount_for_most_accounts() -> None:
    with_income = [a for _, a in _accounts() if a.incomes]
    assert len(with_income) >= 80

    recovered = [all(_recovered(p, _detected(a)) for p in a.incomes) for a in with_income]

    assert sum(recovered) / len(recovered) >= 0.97


def test_irregular_income_is_reported_as_irregular_not_forced_into_a_cadence() -> None:
    irregular = [(a, p) for _, a in _accounts() for p in a.incomes if p.cadence == "irregular"]
    assert irregular

    verdicts: Counter[tuple[str, ...]] = Counter()
    for account, planted in irregular:
        found = _detected(account)
        same_payer = [s for s in found if s.description.split()[0] in planted.description]
        verdicts[tuple(sorted({s.cadence for s in same_payer}))] += 1

    assert verdicts[("irregular",)] >= 0.9 * len(irregular)


def _owners_as_stripe(account: DemoAccount) -> list[dict[str, Any]]:
    return [
        {"name": o.name, "email": o.email, "phone": o.phone, "raw_address": o.raw_address}
        for o in account.owners
    ]


def _customer_as_stripe(customer: DemoCustomer) -> dict[str, Any]:
    return {
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "address": customer.address,
        "description": customer.description,
    }


def _verdicts(truth: str) -> Counter[str]:
    return Counter(
        match_owners(_customer_as_stripe(c), _owners_as_stripe(a)).verdict
        for c, a in _accounts()
        if a.ownership_truth == truth and a.owners
    )


def test_planted_mismatches_are_mismatches_and_never_a_match() -> None:
    verdicts = _verdicts("mismatch")
    total = sum(verdicts.values())
    assert total >= 10
    assert verdicts["match"] == 0
    assert verdicts["mismatch"] >= 0.95 * total


@pytest.mark.parametrize("truth", ["exact", "joint"])
def test_the_customer_as_owner_is_a_match(truth: str) -> None:
    verdicts = _verdicts(truth)
    assert sum(verdicts.values()) >= 10
    assert verdicts["mismatch"] == 0
    assert verdicts["match"] >= 0.95 * sum(verdicts.values())


def test_differently_written_names_are_rarely_called_mismatches() -> None:
    verdicts = _verdicts("variant")
    assert verdicts["mismatch"] <= 0.02 * sum(verdicts.values())
