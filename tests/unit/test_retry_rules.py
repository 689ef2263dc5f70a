"""Retry rules: R01/R09 only, at most three attempts, within 180 days, aimed after payday."""

from __future__ import annotations

from datetime import date

import pytest

from services.rules.calendar import is_business_day
from services.rules.income import IncomeStream
from services.rules.nacha import return_from
from services.rules.retry import plan_retry
from services.rules.returns import Outcome

TODAY = date(2026, 12, 4)  # a Friday


def attempt(
    i: int,
    code: str | None = "insufficient_funds",
    status: str = "returned",
    network: str | None = None,
) -> Outcome:
    return Outcome(
        id=f"pi_{i}",
        created=1_790_000_000 + i * 86_400,
        amount=5000,
        currency="usd",
        customer="cus_1",
        payment_method="pm_1",
        account="fca_1",
        institution="Bank",
        last4="6789",
        verification_method="instant",
        flow=None,
        status=status,
        ret=return_from(code, network) if status == "returned" else None,
        retry_of=None if i == 0 else "pi_0",
        blocked_reason=None,
    )


def biweekly(last: date) -> IncomeStream:
    dates = tuple(date.fromordinal(last.toordinal() - 14 * k) for k in range(5, -1, -1))
    return IncomeStream(
        "ACME PAYROLL",
        "biweekly",
        200_000,
        "usd",
        last,
        date.fromordinal(last.toordinal() + 14),
        0.9,
        6,
        (200_000,) * 6,
        dates,
        "fits",
    )


def test_r01_may_be_retried_twice_then_refused() -> None:
    first = plan_retry([attempt(0)], original_settled=date(2026, 11, 30), today=TODAY)
    assert first.allowed and first.attempt == 2 and first.of == 3
    assert first.deadline == date(2027, 5, 29)
    second = plan_retry([attempt(0), attempt(1)], original_settled=date(2026, 11, 30), today=TODAY)
    assert second.allowed and second.attempt == 3
    third = plan_retry(
        [attempt(0), attempt(1), attempt(2)], original_settled=date(2026, 11, 30), today=TODAY
    )
    assert not third.allowed and "at most two re-initiations" in third.reason


@pytest.mark.parametrize(
    ("code", "network"),
    [
        ("account_closed", None),
        ("bank_account_invalid_details", "R03"),
        ("debit_not_authorized", "R10"),
        ("debit_not_authorized", None),
        ("bank_account_frozen", None),
        ("recipient_deceased", None),
    ],
)
def test_other_codes_are_refused_with_a_sentence(code: str, network: str | None) -> None:
    plan = plan_retry(
        [attempt(0, code, network=network)], original_settled=date(2026, 11, 30), today=TODAY
    )
    assert not plan.allowed and plan.suggested is None
    assert "only R01 and R09" in plan.reason and "Traceback" not in plan.reason


def test_the_180_day_deadline() -> None:
    settled = date(2026, 6, 7)
    assert plan_retry(
        [attempt(0)], original_settled=settled, today=date(2026, 12, 4)
    ).allowed  # day 180
    late = plan_retry([attempt(0)], original_settled=settled, today=date(2026, 12, 5))
    assert not late.allowed and "2026-12-04" in late.reason


def test_nothing_to_retry_when_the_latest_attempt_settled_or_is_pending() -> None:
    for status in ("settled", "pending"):
        plan = plan_retry(
            [attempt(0), attempt(1, status=status)],
            original_settled=date(2026, 11, 30),
            today=TODAY,
        )
        assert not plan.allowed and "nothing to retry" in plan.reason


def test_suggested_date_is_the_business_day_after_the_next_payday() -> None:
    stream = biweekly(date(2026, 11, 27))  # paid Fridays; next pay 2026-12-11
    plan = plan_retry(
        [attempt(0)], original_settled=date(2026, 11, 30), today=TODAY, income=[stream]
    )
    assert plan.suggested == date(2026, 12, 14)  # Monday after Friday the 11th
    assert "ACME PAYROLL" in plan.suggestion_reason


def test_without_income_the_next_business_day() -> None:
    plan = plan_retry([attempt(0)], original_settled=date(2026, 11, 30), today=TODAY)
    assert plan.suggested == date(2026, 12, 7) and is_business_day(plan.suggested)
    # The page shows it in parentheses: "suggested 2026-12-07 (…)." — none nested inside.
    assert plan.suggestion_reason == "the next business day; no regular income detected"


def test_a_payday_after_the_deadline_is_not_called_no_income() -> None:
    stream = biweekly(date(2026, 11, 27))  # next pay 2026-12-11, after the 12-10 deadline
    plan = plan_retry(
        [attempt(0)], original_settled=date(2026, 6, 13), today=TODAY, income=[stream]
    )
    assert plan.deadline == date(2026, 12, 10) and plan.suggested == date(2026, 12, 7)
    assert plan.suggestion_reason == (
        "the next business day; the next expected pay falls after the deadline"
    )


def test_a_suggestion_never_passes_the_deadline() -> None:
    stream = biweekly(date(2026, 11, 27))
    plan = plan_retry([attempt(0)], original_settled=date(2026, 6, 8), today=TODAY, income=[stream])
    assert plan.allowed and plan.deadline == date(2026, 12, 5)
    assert plan.suggested is not None and plan.suggested <= plan.deadline
