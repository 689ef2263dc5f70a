"""The one refresh rule: what it allows, until when, and how a refresh Stripe started is told apart."""

from __future__ import annotations

from typing import Any

import pytest

from services.rules import refresh_rule
from services.rules.refresh_rule import judge, not_started_reason, started
from tests.stripe_shapes import NOW, account, refresh


@pytest.mark.parametrize(
    ("fields", "kind", "allowed", "until"),
    [
        ({"balance_refresh": None}, "never_refreshed", True, None),
        ({}, "no_time_given", True, None),  # Stripe's example: failed, next time null
        ({"balance_refresh": refresh("succeeded", next_at=NOW)}, "ready", True, None),
        ({"balance_refresh": refresh("failed", next_at=NOW + 90)}, "throttled", False, NOW + 90),
        ({"balance_refresh": refresh("pending", attempted=NOW)}, "pending", False, None),
        ({"status": "inactive"}, "inactive", False, None),
        ({"status": "disconnected"}, "disconnected", False, None),
        ({"permissions": ["payment_method"]}, "no_permission", False, None),
        ({"permissions": None}, "no_permission", False, None),
    ],
)
def test_the_rule_reads_status_refresh_status_and_next_time(
    fields: dict[str, Any], kind: str, allowed: bool, until: int | None
) -> None:
    verdict = judge(account(**fields), "balance", now=NOW)
    assert (verdict.kind, verdict.allowed, verdict.until) == (kind, allowed, until)
    assert (verdict.reason == "") == allowed


def test_a_manual_bank_account_has_nothing_to_refresh() -> None:
    verdict = judge(None, "ownership", now=NOW)
    assert (verdict.allowed, verdict.kind) == (False, "manual")
    assert "entered manually" in verdict.reason


def test_reasons_say_until_when_and_that_earlier_data_stays() -> None:
    throttled = judge(
        account(ownership_refresh=refresh("succeeded", next_at=NOW + 300)), "ownership", now=NOW
    )
    assert "next ownership refresh from 2027-01-15 08:05 UTC (in 5 min)" in throttled.reason
    assert "stays available" in judge(account(status="inactive"), "balance", now=NOW).reason
    assert "link it again" in judge(account(status="disconnected"), "balance", now=NOW).reason


def test_an_unknown_feature_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="not a refresh Stripe offers"):
        judge(account(), "balances", now=NOW)


def test_only_a_newer_attempt_counts_as_started() -> None:
    before = account(balance_refresh=refresh("failed", attempted=NOW - 100))
    new = account(balance_refresh=refresh("pending", attempted=NOW))
    assert started(before, new, "balance")
    assert not started(before, before, "balance")  # 200 with the account unchanged
    assert started(account(balance_refresh=None), new, "balance")  # the first refresh
    already = account(balance_refresh=refresh("pending", attempted=NOW - 5))
    assert not started(already, already, "balance")
    assert not started(before, account(balance_refresh=None), "balance")
    finished_fast = account(balance_refresh=refresh("succeeded", attempted=NOW, next_at=NOW + 60))
    assert started(before, finished_fast, "balance")


def test_a_refresh_not_started_is_explained_from_stripes_answer() -> None:
    pending = account(transaction_refresh=refresh("pending", attempted=NOW - 5, id="fctxnref_1"))
    text = not_started_reason(pending, "transactions", now=NOW)
    assert text.startswith("Stripe did not start the transactions refresh.")
    assert "already running" in text
    unchanged = not_started_reason(account(), "balance", now=NOW)
    assert "gave no reason" in unchanged


def test_the_feature_tables_cover_every_refresh() -> None:
    assert set(refresh_rule.FEATURE_FIELD) == set(refresh_rule.FEATURES)
    assert set(refresh_rule.FEATURE_PERMISSION) == set(refresh_rule.FEATURES)
