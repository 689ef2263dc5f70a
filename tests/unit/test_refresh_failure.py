"""A failed refresh's next step: what is shown instead, when to try again, when to relink."""

from __future__ import annotations

from typing import Any

from services.rules.refresh_failure import next_step

NOW = 1_796_000_000
FEATURES = ("balance", "ownership", "transactions")


def account(**fields: Any) -> dict[str, Any]:
    return {
        "id": "fca_1",
        "status": "active",
        "permissions": ["balances", "ownership", "transactions"],
        "balance_refresh": {"status": "succeeded", "last_attempted_at": NOW - 600,
                            "next_refresh_available_at": NOW - 60},
        **fields,
    }  # fmt: skip


def failed(next_at: int | None) -> dict[str, Any]:
    return {"status": "failed", "last_attempted_at": NOW - 300, "next_refresh_available_at": next_at}


def test_a_failed_balance_refresh_says_how_old_the_balance_shown_is_and_when_to_retry() -> None:
    said = next_step(
        account(balance_refresh=failed(NOW + 300), balance={"as_of": NOW - 3 * 3600}),
        FEATURES, now=NOW,
    )  # fmt: skip
    assert said is not None
    assert "The last balance refresh (2026-11-30 00:48 UTC) failed" in said
    assert "the balance shown is the bank's from 2026-11-29 21:53 UTC (3 h old)" in said
    assert "Stripe does not try again by itself: press Refresh balance again from " in said
    assert "(in 5 min)" in said
    assert "If the next attempt fails too" in said and "link the account again" in said


def test_a_refresh_stripe_allows_again_says_now_and_no_balance_yet() -> None:
    said = next_step(account(balance_refresh=failed(None), balance=None), FEATURES, now=NOW)
    assert said is not None
    assert "there is no balance from the bank yet" in said
    assert "press Refresh balance again now." in said


def test_subscribed_transactions_are_tried_again_by_stripe_daily() -> None:
    said = next_step(
        account(transaction_refresh=failed(NOW - 1), subscriptions=["transactions"]),
        FEATURES, now=NOW,
    )  # fmt: skip
    assert said is not None and "about once a day" in said and "balance refresh" not in said


def test_a_person_who_may_not_refresh_is_told_ops_can() -> None:
    said = next_step(
        account(ownership_refresh=failed(None)), FEATURES, now=NOW,
        may_refresh={"ownership": False},
    )  # fmt: skip
    assert said is not None and "ops can refresh it again now" in said
    assert "press Refresh ownership" not in said


def test_no_failure_or_an_inactive_account_has_no_next_step_here() -> None:
    assert next_step(account(), FEATURES, now=NOW) is None
    assert next_step(account(status="inactive", balance_refresh=failed(None)), FEATURES, now=NOW) is None
