"""Re-initiating a returned debit (Nacha): which returns may be retried, attempt n of 3, the
180-day deadline, and the date to aim at from the account's detected income.

Nacha lets a debit returned R01 (insufficient funds) or R09 (uncollected funds) be re-initiated
at most twice (three attempts in all) within 180 days of the original entry's settlement; no
other return may be re-initiated (a new authorization is needed). The best day to try again is
the business day after the customer's next payday. Pure: ``today`` and the income are passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from services.rules.calendar import next_business_day
from services.rules.income import IncomeStream, suggest_debit_date
from services.rules.nacha import RETRYABLE, describe_code
from services.rules.returns import Outcome

__all__ = ["MAX_ATTEMPTS", "RETRY_DAYS", "RetryPlan", "plan_retry"]

MAX_ATTEMPTS = 3  # the original and at most two re-initiations
RETRY_DAYS = 180  # from the original entry's settlement


@dataclass(frozen=True)
class RetryPlan:
    """Whether a returned debit may be retried, and when; ``reason`` is a sentence for a person."""

    allowed: bool
    reason: str
    attempt: int  # the attempt a retry would be (2 or 3); the attempts made so far when refused
    deadline: date | None  # last day a re-initiation may be made
    suggested: date | None  # the business day after the next expected payday (or tomorrow's)
    suggestion_reason: str = ""

    @property
    def of(self) -> int:
        return MAX_ATTEMPTS


def _next_expected_pay(streams: Sequence[IncomeStream], today: date) -> tuple[date | None, str]:
    for stream in streams:  # most trustworthy first (detect_income's order)
        day = suggest_debit_date(stream, today=today)
        if day is not None:
            return day, f"the day after {stream.description}'s next expected {stream.cadence} pay"
    return None, ""


def plan_retry(
    attempts: Sequence[Outcome],
    *,
    original_settled: date,
    today: date,
    income: Sequence[IncomeStream] = (),
) -> RetryPlan:
    """Plan a re-initiation of a debit from all its attempts so far (the original first).

    Allowed only when the latest attempt came back R01/R09, fewer than three attempts were made,
    and ``today`` is within 180 days of ``original_settled``. The suggested date is the business
    day after the next expected payday from ``income`` (``detect_income``'s streams), or the next
    business day when no regular income is known; never after the deadline.
    """
    if not attempts:
        raise ValueError("plan_retry needs at least the original debit")
    made = len(attempts)
    latest = max(
        attempts, key=lambda a: (a.created, a.retry_of is not None)
    )  # retries after a same-second original
    deadline = original_settled + timedelta(days=RETRY_DAYS)

    def refuse(reason: str) -> RetryPlan:
        return RetryPlan(False, reason, made, deadline, None)

    if latest.status != "returned" or latest.ret is None:
        state = "is still processing" if latest.status == "pending" else "settled"
        return refuse(f"The latest attempt ({latest.id}) {state}; there is nothing to retry.")
    if not all(code in RETRYABLE for code in latest.ret.codes):
        return refuse(
            f"This debit came back {describe_code(latest.ret.code)}. Nacha allows re-initiating only "
            "R01 and R09 returns; collect a new authorization (or a new account) instead."
        )
    if made >= MAX_ATTEMPTS:
        return refuse(
            f"This debit was already tried {made} times. Nacha allows at most two re-initiations; "
            "contact the customer for another way to pay."
        )
    if today > deadline:
        return refuse(
            f"The 180 days after the original settlement ended on {deadline.isoformat()}; "
            "a re-initiation is no longer allowed."
        )
    # The reasons go inside the page's own parentheses: "suggested 2026-12-07 (the next
    # business day; no regular income detected)", so none has parentheses of its own.
    suggested, why = _next_expected_pay(income, today)
    if suggested is None or suggested > deadline:
        after = "no regular income detected" if suggested is None else (
            "the next expected pay falls after the deadline"
        )
        suggested, why = next_business_day(today), f"the next business day; {after}"
        if suggested > deadline:
            suggested, why = today, "today, the last day allowed"
    return RetryPlan(
        True,
        f"Attempt {made + 1} of {MAX_ATTEMPTS} may be made until {deadline.isoformat()}.",
        made + 1,
        deadline,
        suggested,
        why,
    )
