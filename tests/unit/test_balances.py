from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from services.rules import refresh_rule
from services.rules.debit import (
    Assessment,
    DebitPolicy,
    assess_debit,
    effective_balance,
)
from services.rules.money import MoneyError

NOW = 1_700_000_000
HOUR = 3600


def account(**overrides: Any) -> dict[str, Any]:
    """A healthy, freshly refreshed checking account with $500.00 available ($600.00 posted)."""
    base: dict[str, Any] = {
        "id": "fca_test",
        "object": "financial_connections.account",
        "status": "active",
        "category": "cash",
        "subcategory": "checking",
        "permissions": ["balances", "payment_method"],
        "balance": {
            "as_of": NOW - HOUR,
            "type": "cash",
            "current": {"usd": 60000},
            "cash": {"available": {"usd": 50000}},
        },
        "balance_refresh": {
            "status": "succeeded",
            "last_attempted_at": NOW - HOUR,
            "next_refresh_available_at": NOW - 60,
        },
    }
    base.update(overrides)
    return base


def text(result: Assessment) -> str:
    return " ".join(result.reasons)


# --- DebitPolicy ----------------------------------------------------------------------------


def test_required_adds_the_fixed_buffer_and_the_percentage_rounded_up() -> None:
    policy = DebitPolicy(buffer_amount=500, buffer_percent=10.0)
    assert policy.required(10001) == 10001 + 500 + math.ceil(10001 * 10 / 100)


def test_required_is_the_amount_itself_without_buffers() -> None:
    assert DebitPolicy().required(12345) == 12345


def test_required_does_not_add_a_cent_for_float_noise() -> None:
    # 1.1 % of 1,000 cents is exactly 11 cents, though 1000 * 1.1 / 100 is 11.000000000000002.
    assert DebitPolicy(buffer_percent=1.1).required(1000) == 1011


@pytest.mark.parametrize(
    "kwargs",
    [
        {"buffer_amount": -1},
        {"buffer_percent": -0.5},
        {"max_age_seconds": 0},
        {"buffer_percent": math.nan},
    ],
)
def test_policy_refuses_nonsense_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        DebitPolicy(**kwargs)


# --- effective_balance ----------------------------------------------------------------------


def test_effective_balance_prefers_available_cash() -> None:
    assert effective_balance(account(), "usd") == (50000, "available")


def test_effective_balance_falls_back_to_current_when_available_is_missing() -> None:
    acct = account(balance={"as_of": NOW, "type": "cash", "current": {"usd": 700}, "cash": None})
    assert effective_balance(acct, "usd") == (700, "current")


def test_effective_balance_falls_back_when_available_has_no_figure_for_the_currency() -> None:
    acct = account(
        balance={
            "as_of": NOW,
            "type": "cash",
            "current": {"usd": 700},
            "cash": {"available": {"usd": None}},
        }
    )
    assert effective_balance(acct, "usd") == (700, "current")


def test_effective_balance_is_empty_without_a_figure_in_the_currency() -> None:
    assert effective_balance(account(), "eur") == (None, None)
    assert effective_balance(account(balance=None), "usd") == (None, None)


# --- the refresh rule as the debit check reads it ------------------------------------------


def refresh_state(
    acct: dict[str, Any] | None, *, now: int | datetime
) -> tuple[bool, int | None, str]:
    """(allowed, from when, why not) from the one rule, as ``assess_debit`` reads it."""
    verdict = refresh_rule.judge(acct, "balance", now=now)
    return verdict.allowed, verdict.until or verdict.next_refresh_available_at, verdict.reason


def test_refresh_is_possible_once_the_cooldown_has_passed() -> None:
    can, when, why = refresh_state(account(), now=NOW)
    assert (can, when, why) == (True, NOW - 60, "")


def test_refresh_waits_for_next_refresh_available_at() -> None:
    acct = account(
        balance_refresh={
            "status": "succeeded",
            "last_attempted_at": NOW - 10,
            "next_refresh_available_at": NOW + HOUR,
        }
    )
    can, when, why = refresh_state(acct, now=NOW)
    assert not can
    assert when == NOW + HOUR
    assert "2023-11-14 23:13 UTC" in why


def test_refresh_is_not_possible_while_one_is_pending() -> None:
    acct = account(
        balance_refresh={
            "status": "pending",
            "last_attempted_at": NOW,
            "next_refresh_available_at": None,
        }
    )
    can, when, why = refresh_state(acct, now=NOW)
    assert (can, when) == (False, None)
    assert "already running" in why


def test_an_account_never_refreshed_can_be_refreshed() -> None:
    assert refresh_state(account(balance=None, balance_refresh=None), now=NOW)[0] is True


@pytest.mark.parametrize(
    ("acct", "fragment"),
    [
        (None, "manually"),
        (account(permissions=["payment_method"]), "balances"),
        (account(permissions=None), "balances"),
        (account(status="inactive"), "inactive"),
        (account(status="disconnected"), "disconnected"),
    ],
)
def test_refresh_is_refused_for_accounts_stripe_will_not_refresh(
    acct: dict[str, Any] | None, fragment: str
) -> None:
    can, _, why = refresh_state(acct, now=NOW)
    assert not can
    assert fragment in why


def test_refresh_state_accepts_a_datetime() -> None:
    later = datetime.fromtimestamp(NOW + 2 * HOUR, tz=UTC)
    acct = account(
        balance_refresh={
            "status": "succeeded",
            "last_attempted_at": NOW,
            "next_refresh_available_at": NOW + HOUR,
        }
    )
    assert refresh_state(acct, now=later)[0] is True
    assert refresh_state(acct, now=NOW)[0] is False


# --- assess_debit: unavailable --------------------------------------------------------------


def test_a_manually_entered_payment_method_has_no_balance_to_check() -> None:
    result = assess_debit(None, 1000, "usd", now=NOW)
    assert result.verdict == "unavailable"
    assert "entered manually" in result.reasons[0]
    assert result.balance is None and result.balance_source is None
    assert result.can_refresh_now is False


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"permissions": ["payment_method"]}, "balances"),
        ({"status": "inactive", "balance": None}, "inactive"),
        ({"status": "disconnected", "balance": None}, "disconnected"),
        ({"category": "credit"}, "credit"),
        ({"category": "investment"}, "investment"),
        ({"category": "other"}, "other"),
        ({"balance": None, "balance_refresh": None}, "never been refreshed"),
        ({"balance": None}, "not provided a balance"),
    ],
)
def test_debit_cannot_be_checked_without_a_usable_cash_balance(
    overrides: dict[str, Any], fragment: str
) -> None:
    result = assess_debit(account(**overrides), 1000, "usd", now=NOW)
    assert result.verdict == "unavailable"
    assert fragment in result.reasons[0]
    assert result.shortfall is None


def test_no_balances_permission_wins_over_a_balance_that_is_still_there() -> None:
    result = assess_debit(account(permissions=["ownership"]), 100_000_000, "usd", now=NOW)
    assert result.verdict == "unavailable"
    assert result.balance is None


def test_a_balance_only_in_another_currency_is_unavailable_and_says_which() -> None:
    acct = account(
        balance={
            "as_of": NOW,
            "type": "cash",
            "current": {"cad": 900},
            "cash": {"available": {"cad": 800}},
        }
    )
    result = assess_debit(acct, 100, "usd", now=NOW)
    assert result.verdict == "unavailable"
    assert "CAD" in result.reasons[0] and "USD" in result.reasons[0]
    # A refresh is not known to bring a USD figure: nothing offers or promises one
    assert result.needs_refresh is False
    assert "refresh can be requested" not in text(result)


def test_an_unrefreshed_account_says_a_refresh_can_be_requested() -> None:
    result = assess_debit(account(balance=None, balance_refresh=None), 1000, "usd", now=NOW)
    assert result.can_refresh_now is True
    assert "can be requested now" in text(result)


def test_a_failed_first_refresh_is_mentioned() -> None:
    acct = account(
        balance=None,
        balance_refresh={
            "status": "failed",
            "last_attempted_at": NOW - 50,
            "next_refresh_available_at": NOW + 50,
        },
    )
    result = assess_debit(acct, 1000, "usd", now=NOW)
    assert result.verdict == "unavailable"
    assert "last balance refresh failed" in text(result)
    assert result.refreshable_at == NOW + 50
    assert result.can_refresh_now is False


# --- assess_debit: stale --------------------------------------------------------------------


def stale_account(available: int) -> dict[str, Any]:
    return account(
        balance={
            "as_of": NOW - 3 * 86_400,
            "type": "cash",
            "current": {"usd": available},
            "cash": {"available": {"usd": available}},
        }
    )


def test_an_old_balance_is_stale_even_if_it_would_cover_the_debit() -> None:
    result = assess_debit(stale_account(50000), 1000, "usd", now=NOW)
    assert result.verdict == "stale"
    assert result.age_seconds == 3 * 86_400
    assert result.as_of == NOW - 3 * 86_400
    assert result.balance == 50000
    assert "3 days old" in result.reasons[0]
    assert "would cover" in text(result)
    assert "can be requested now" in text(result)
    assert result.can_refresh_now is True


def test_a_stale_balance_says_it_would_not_cover_a_larger_debit() -> None:
    result = assess_debit(stale_account(500), 1000, "usd", now=NOW)
    assert result.verdict == "stale"
    assert "would not cover" in text(result)
    assert result.shortfall is None


def test_a_stale_balance_says_when_a_refresh_is_allowed() -> None:
    acct = stale_account(500)
    acct["balance_refresh"] = {
        "status": "succeeded",
        "last_attempted_at": NOW - 3 * 86_400,
        "next_refresh_available_at": NOW + 2 * HOUR,
    }
    result = assess_debit(acct, 1000, "usd", now=NOW)
    assert result.refreshable_at == NOW + 2 * HOUR
    assert result.can_refresh_now is False
    assert datetime.fromtimestamp(NOW + 2 * HOUR, tz=UTC).strftime("%Y-%m-%d %H:%M") in text(result)


def test_max_age_comes_from_the_policy() -> None:
    acct = stale_account(50000)
    lenient = DebitPolicy(max_age_seconds=4 * 86_400)
    assert assess_debit(acct, 1000, "usd", now=NOW, policy=lenient).verdict == "ok"
    assert assess_debit(acct, 1000, "usd", now=NOW).verdict == "stale"


def test_a_balance_exactly_at_the_age_limit_is_still_fresh() -> None:
    acct = stale_account(50000)
    acct["balance"]["as_of"] = NOW - 86_400
    assert assess_debit(acct, 1000, "usd", now=NOW).verdict == "ok"


def test_a_balance_without_as_of_is_treated_as_stale() -> None:
    acct = account()
    del acct["balance"]["as_of"]
    result = assess_debit(acct, 1000, "usd", now=NOW)
    assert result.verdict == "stale"
    assert result.age_seconds is None


def test_a_pending_refresh_on_a_stale_balance_is_mentioned_once() -> None:
    acct = stale_account(500)
    acct["balance_refresh"] = {
        "status": "pending",
        "last_attempted_at": NOW,
        "next_refresh_available_at": None,
    }
    result = assess_debit(acct, 1000, "usd", now=NOW)
    assert result.verdict == "stale"
    assert sum("in progress" in reason for reason in result.reasons) == 1


# --- assess_debit: insufficient and ok ------------------------------------------------------


def test_a_debit_above_the_available_balance_is_insufficient_with_the_shortfall() -> None:
    result = assess_debit(account(), 50001, "usd", now=NOW)
    assert result.verdict == "insufficient"
    assert result.balance == 50000
    assert result.balance_source == "available"
    assert result.shortfall == 1
    assert "$0.01 short" in result.reasons[0]


def test_buffers_can_turn_a_covered_debit_into_an_insufficient_one() -> None:
    policy = DebitPolicy(buffer_amount=1000, buffer_percent=5.0)
    amount = 47000
    result = assess_debit(account(), amount, "usd", now=NOW, policy=policy)
    expected_required = amount + 1000 + math.ceil(amount * 5 / 100)
    assert result.required == expected_required
    assert result.verdict == "insufficient"
    assert result.shortfall == expected_required - 50000
    assert "plus buffer" in result.reasons[0]
    assert assess_debit(account(), amount, "usd", now=NOW).verdict == "ok"


def test_a_debit_equal_to_the_available_balance_is_ok() -> None:
    result = assess_debit(account(), 50000, "usd", now=NOW)
    assert result.verdict == "ok"
    assert result.is_ok
    assert result.shortfall is None
    assert result.required == 50000
    assert result.age_seconds == HOUR


def test_available_is_used_even_when_the_posted_balance_is_higher() -> None:
    result = assess_debit(account(), 55000, "usd", now=NOW)
    assert result.verdict == "insufficient"
    assert result.balance == 50000


def test_current_balance_is_used_and_flagged_when_available_is_missing() -> None:
    acct = account(balance={"as_of": NOW - 10, "type": "cash", "current": {"usd": 2000}})
    result = assess_debit(acct, 1500, "usd", now=NOW)
    assert result.verdict == "ok"
    assert result.balance_source == "current"
    assert "pending items and holds" in text(result)


def test_a_failed_refresh_is_noted_alongside_an_older_figure() -> None:
    acct = account()
    acct["balance_refresh"] = {
        "status": "failed",
        "last_attempted_at": NOW - 5,
        "next_refresh_available_at": NOW + 5,
    }
    result = assess_debit(acct, 100, "usd", now=NOW)
    assert result.verdict == "ok"
    assert "refresh failed" in result.reasons[-1]
    assert "earlier refresh" in result.reasons[-1]


def test_a_negative_balance_is_insufficient_by_the_full_gap() -> None:
    acct = account(
        balance={
            "as_of": NOW,
            "type": "cash",
            "current": {"usd": -300},
            "cash": {"available": {"usd": -300}},
        }
    )
    result = assess_debit(acct, 1000, "usd", now=NOW)
    assert result.shortfall == 1300


def test_a_balance_time_slightly_in_the_future_counts_as_brand_new() -> None:
    acct = account()
    acct["balance"]["as_of"] = NOW + 30
    result = assess_debit(acct, 100, "usd", now=NOW)
    assert result.age_seconds == 0
    assert result.verdict == "ok"


def test_currency_is_normalised_and_matched_case_insensitively() -> None:
    result = assess_debit(account(), 100, "USD", now=datetime.fromtimestamp(NOW, tz=UTC))
    assert result.currency == "usd"
    assert result.verdict == "ok"


def test_a_naive_datetime_is_taken_as_utc() -> None:
    naive = datetime.fromtimestamp(NOW, tz=UTC).replace(tzinfo=None)
    assert assess_debit(account(), 100, "usd", now=naive).age_seconds == HOUR


# --- assess_debit: input validation ---------------------------------------------------------


@pytest.mark.parametrize("amount", [0, -1, True, 12.5])
def test_a_non_positive_or_non_integer_amount_is_refused(amount: Any) -> None:
    with pytest.raises(MoneyError):
        assess_debit(account(), amount, "usd", now=NOW)


@pytest.mark.parametrize("currency", ["", "dollars", "us"])
def test_a_bad_currency_is_refused(currency: str) -> None:
    with pytest.raises(MoneyError):
        assess_debit(account(), 100, currency, now=NOW)


# --- inactive and disconnected accounts (B8) --------------------------------------------------


@pytest.mark.parametrize("status", ["inactive", "disconnected"])
def test_a_fresh_balance_of_an_account_that_lost_its_connection_is_still_judged(
    status: str,
) -> None:
    """Earlier data stays readable and the payment method usable (Stripe's disconnections
    guide): the last balance is judged, and the check says it cannot get fresher."""
    covered = assess_debit(account(status=status), 10_000, "usd", now=NOW)
    assert covered.verdict == "ok" and covered.balance == 50_000
    assert covered.can_refresh_now is False
    assert f"The account is {status}, so this balance can no longer be refreshed" in text(covered)
    assert "payment method stays usable" in text(covered)
    assert "fail" not in text(covered)
    short = assess_debit(account(status=status), 60_000, "usd", now=NOW)
    assert short.verdict == "insufficient" and short.shortfall == 10_000


def test_an_old_balance_of_an_inactive_account_is_stale_and_not_offered_a_refresh() -> None:
    old = account(
        status="inactive",
        balance={"as_of": NOW - 3 * 86_400, "type": "cash", "current": {"usd": 60000},
                 "cash": {"available": {"usd": 50000}}},
    )  # fmt: skip
    result = assess_debit(old, 10_000, "usd", now=NOW)
    assert result.verdict == "stale"
    assert "can be requested now" not in text(result)
    assert sum("can no longer be refreshed" in r for r in result.reasons) == 1


def test_an_announced_deactivation_is_a_reason_with_its_date() -> None:
    relinking = account(
        status_details={
            "active": {
                "action": "relink_required",
                "cause": "access_expired",
                "expected_deactivation_date": NOW + 5 * 86_400,
            }
        }
    )
    result = assess_debit(relinking, 10_000, "usd", now=NOW)
    assert result.verdict == "ok"  # the account works until then
    assert result.reasons[-1].startswith("Relink needed by 2023-11-19")
    assert "access at the bank expires" in result.reasons[-1]
    none_needed = account(
        status_details={
            "active": {"action": "none", "cause": "unspecified", "expected_deactivation_date": 0}
        }
    )
    assert "Relink" not in text(assess_debit(none_needed, 10_000, "usd", now=NOW))


def test_a_pending_refresh_says_when_it_started_and_offers_none() -> None:
    """A refresh still running says when it started (its last_attempted_at), as the Stripe
    Dashboard does, and never "A balance refresh can be requested now." beside it."""
    acct = stale_account(500)
    acct["balance_refresh"] = {
        "status": "pending",
        "last_attempted_at": NOW - 120,
        "next_refresh_available_at": None,
    }
    result = assess_debit(acct, 1000, "usd", now=NOW)
    assert "A balance refresh is in progress (started 2023-11-14 22:11 UTC)" in text(result)
    assert "can be requested now" not in text(result)
    assert not result.can_refresh_now and not result.refresh_offered
