"""The decision functions on Stripe's own example objects and variants the pinned types allow
(issue 7, §C): each gives the answer Stripe's semantics call for."""

from __future__ import annotations

from typing import Any

import pytest

from services.rules import refresh_rule
from services.rules.bank_account import flatten_account
from services.rules.debit import assess_debit, effective_balance
from services.rules.funnel import classify_intent
from services.rules.owners import match_owners
from services.rules.relink import relink_needed
from tests.stripe_shapes import (
    DAY,
    NOW,
    account,
    cash_balance,
    credit_balance,
    fixture,
    refresh,
    relink_required,
)


def reasons(result: Any) -> str:
    return " ".join(result.reasons)


def test_stripes_example_account_has_no_usd_figure_and_no_permission_to_refresh() -> None:
    example = fixture("financial_connections.account")
    result = assess_debit(example, 1000, "usd", now=NOW)
    assert result.verdict == "unavailable"  # permissions: [] -> no balance access
    assert "did not grant access to balances" in reasons(result)
    assert not refresh_rule.judge(example, "balance", now=NOW).allowed
    assert flatten_account(example)["balance_currency"] is None  # "undefined" is a placeholder


@pytest.mark.parametrize(
    ("fields", "verdict", "words"),
    [
        ({"balance": None, "balance_refresh": None}, "unavailable", "never been refreshed"),
        ({"balance": None}, "unavailable", "not provided a balance"),
        ({"balance": cash_balance(available=None)}, "stale", "only the posted balance"),
        ({"balance": cash_balance(current=None, available=None)}, "unavailable", "not in USD"),
        (
            {"category": "credit", "subcategory": "credit_card", "balance": credit_balance()},
            "unavailable",
            "credit account",
        ),
        ({"balance": cash_balance(as_of=NOW - 60)}, "ok", "covers"),
        (
            {"balance": cash_balance(as_of=NOW - 60, available=-5_000, current=-5_000)},
            "insufficient",
            "short of",
        ),
    ],
)
def test_balance_shapes_get_the_verdict_stripes_semantics_call_for(
    fields: dict[str, Any], verdict: str, words: str
) -> None:
    result = assess_debit(account(**fields), 1000, "usd", now=NOW)
    assert result.verdict == verdict
    assert words in reasons(result)


def test_a_credit_balance_is_money_owed_not_money_available() -> None:
    credit = account(category="credit", balance=credit_balance(used=50_000))
    assert effective_balance(credit, "usd") == (-50_000, "current")  # negative: owed
    assert flatten_account(credit)["balance_available"] is None


def test_relink_needs_an_active_account_asked_to_relink_with_a_date() -> None:
    soon = account(status_details=relink_required(NOW + DAY, cause="unspecified"))
    relink = relink_needed(soon)
    assert relink is not None and relink.by == NOW + DAY and "no reason" in relink.sentence()
    assert relink_needed(account(status_details=None)) is None
    assert relink_needed(account(status_details={"active": None})) is None
    inactive = account(status="inactive", status_details=relink_required(NOW + DAY))
    assert relink_needed(inactive) is None  # already inactive: its status says more
    assert flatten_account(soon)["relink_required_by"] == NOW + DAY


def test_refresh_shapes_of_every_feature_follow_the_one_rule() -> None:
    shape = account(
        balance_refresh=refresh("failed", next_at=None),
        ownership_refresh=refresh("pending", attempted=NOW - 1),
        transaction_refresh=refresh("succeeded", next_at=NOW + 30, id="fctxnref_x"),
    )
    kinds = {f: refresh_rule.judge(shape, f, now=NOW).kind for f in refresh_rule.FEATURES}
    assert kinds == {
        "balance": "no_time_given",
        "ownership": "pending",
        "transactions": "throttled",
    }


def test_stripes_example_intents_are_classified_without_guessing() -> None:
    setup = fixture("setup_intent")  # requires_payment_method, a last_setup_error, card only
    outcome = classify_intent({**setup, "created": NOW - 60}, now=NOW)
    assert (outcome.path, outcome.stage, outcome.verified) == ("none", "failed", False)
    payment = fixture("payment_intent")
    outcome = classify_intent({**payment, "created": NOW - 60}, now=NOW)
    assert outcome.stage == "failed" and outcome.path == "none"


def test_owners_with_null_fields_are_compared_on_what_is_there() -> None:
    customer = {**fixture("customer"), "name": "Jane Smith", "email": "jane.smith@example.com"}
    owner = {**fixture("financial_connections.account_owner"), "email": None, "phone": None,
             "raw_address": None, "refreshed_at": None}  # fmt: skip
    match = match_owners(customer, [owner])
    assert (match.verdict, match.score, match.best_owner) == ("match", 100, "Jane Smith")
    assert {name for name, f in match.fields.items() if f.score is not None} == {"name"}
    assert match.fields["email"].detail == "bank returned no email"  # not a mismatch
    stranger = {**owner, "name": "Rocket Rides LLC"}
    assert match_owners(customer, [stranger]).verdict == "mismatch"
    nameless = {**owner, "name": None}  # typed as str, but a bank may send nothing
    assert match_owners(customer, [nameless]).verdict in ("no_data", "mismatch")
