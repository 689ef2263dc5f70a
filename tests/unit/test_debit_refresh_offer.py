"""When a person is offered a balance refresh (``Assessment.refresh_offered``): a stale or
missing balance as before, and now also a short debit on a balance at least an hour old, while
Stripe allows a refresh. Never for a covered debit, a fresh figure or a refresh not allowed."""

from __future__ import annotations

from typing import Any

import pytest

from services.rules.debit import REFRESH_OFFER_AGE, DebitPolicy, assess_debit
from tests.unit.test_balances import HOUR, NOW, account

DAY = 86_400
TWO_DAYS = DebitPolicy(buffer_amount=10_000, max_age_seconds=2 * DAY)


def aged(age: int, *, next_refresh_in: int = -60, available: int = 50_000) -> dict[str, Any]:
    return account(
        balance={
            "as_of": NOW - age,
            "type": "cash",
            "current": {"usd": available},
            "cash": {"available": {"usd": available}},
        },
        balance_refresh={
            "status": "succeeded",
            "last_attempted_at": NOW - age,
            "next_refresh_available_at": NOW + next_refresh_in,
        },
    )


def test_a_short_debit_on_a_day_old_balance_offers_a_refresh_but_never_makes_one() -> None:
    # The tester's case: 48 h max age, $100 buffer, a 28 h old balance $50.13 short.
    result = assess_debit(aged(28 * HOUR), 45_013, "usd", now=NOW, policy=TWO_DAYS)
    assert result.verdict == "insufficient" and result.shortfall == 5_013
    assert result.refresh_offered and result.can_refresh_now
    assert not result.needs_refresh  # the batch and "Refresh stale balances" do not refresh it


@pytest.mark.parametrize(
    ("age", "offered"),
    [(60, False), (REFRESH_OFFER_AGE - 1, False), (REFRESH_OFFER_AGE, True), (DAY, True)],
)
def test_a_short_debit_is_offered_a_refresh_from_an_hour_old_balance(
    age: int, offered: bool
) -> None:
    result = assess_debit(aged(age), 60_000, "usd", now=NOW, policy=TWO_DAYS)
    assert result.verdict == "insufficient" and result.refresh_offered is offered


def test_no_refresh_is_offered_while_stripe_does_not_allow_one() -> None:
    result = assess_debit(aged(DAY, next_refresh_in=HOUR), 60_000, "usd", now=NOW, policy=TWO_DAYS)
    assert result.verdict == "insufficient" and not result.refresh_offered


def test_a_covered_debit_is_never_offered_a_refresh() -> None:
    result = assess_debit(aged(DAY), 1_000, "usd", now=NOW, policy=TWO_DAYS)
    assert result.verdict == "ok" and not result.refresh_offered


def test_a_stale_balance_is_offered_a_refresh_as_it_needs_one() -> None:
    result = assess_debit(aged(3 * DAY), 1_000, "usd", now=NOW, policy=TWO_DAYS)
    assert result.verdict == "stale" and result.needs_refresh and result.refresh_offered


def test_a_refresh_offered_but_not_allowed_yet_is_said_to_wait_for_stripe() -> None:
    """``refresh_waits``: the page said when the next refresh comes only for a stale balance; a
    short debit on a day-old balance whose refresh Stripe does not allow yet said nothing."""
    short = assess_debit(aged(DAY, next_refresh_in=HOUR), 60_000, "usd", now=NOW, policy=TWO_DAYS)
    assert short.verdict == "insufficient" and not short.refresh_offered
    assert short.refresh_waits and short.refreshable_at == NOW + HOUR
    stale = assess_debit(aged(3 * DAY, next_refresh_in=HOUR), 1_000, "usd", now=NOW, policy=TWO_DAYS)
    assert stale.verdict == "stale" and stale.refresh_waits
    for no_offer in (
        assess_debit(aged(60, next_refresh_in=HOUR), 60_000, "usd", now=NOW, policy=TWO_DAYS),
        assess_debit(aged(DAY, next_refresh_in=HOUR), 1_000, "usd", now=NOW, policy=TWO_DAYS),
        assess_debit(aged(DAY), 60_000, "usd", now=NOW, policy=TWO_DAYS),  # allowed: offered
    ):
        assert not no_offer.refresh_waits, no_offer.verdict


def test_the_refresh_button_is_named_by_whether_there_is_a_figure_to_refresh() -> None:
    """Balance check draws this label and its sentence after a 5xx names it: one rule for both,
    by the figure in the debit's currency (the sentence went by the raw account, so an account
    with only another currency's figure was named "Refresh balance now" beside "Fetch …")."""
    has = assess_debit(aged(28 * HOUR), 45_013, "usd", now=NOW, policy=TWO_DAYS)
    assert has.refresh_label == "Refresh balance now"
    other = assess_debit(aged(28 * HOUR), 45_013, "eur", now=NOW, policy=TWO_DAYS)
    assert other.balance is None and other.refresh_label == "Fetch the balance now"
    none = assess_debit(account(balance=None), 45_013, "usd", now=NOW, policy=TWO_DAYS)
    assert none.refresh_label == "Fetch the balance now"
