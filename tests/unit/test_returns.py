"""Nacha return rates over Stripe-shaped PaymentIntents (hand-made, fields as in the pinned SDK's
PaymentIntent / PaymentMethod types)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.returns import outcome_of, return_rates
from services.rules.nacha import RETRYABLE, category_of, return_from
from services.rules.returns import RETRY_OF, rate_text, warnings, weekly_rates

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DAY = 86_400


def _pm(
    pm_id: str = "pm_1", *, kind: str = "us_bank_account", blocked: dict[str, Any] | None = None
) -> dict[str, Any]:
    pm: dict[str, Any] = {"id": pm_id, "object": "payment_method", "type": kind}
    if kind == "us_bank_account":
        pm["us_bank_account"] = {
            "bank_name": "STRIPE TEST BANK",
            "last4": "6789",
            "financial_connections_account": "fca_1",
            "status_details": {"blocked": blocked} if blocked else None,
        }
    return pm


def pi(
    pi_id: str,
    days_ago: float,
    status: str = "succeeded",
    code: str | None = None,
    *,
    kind: str = "us_bank_account",
    blocked: dict[str, Any] | None = None,
    metadata: dict[str, str] | None = None,
    expand: bool = True,
) -> dict[str, Any]:
    created = int((NOW - timedelta(days=days_ago)).timestamp())
    pm = _pm(f"pm_{pi_id}", kind=kind, blocked=blocked)
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": 5000,
        "currency": "usd",
        "created": created,
        "customer": "cus_1",
        "status": status,
        "payment_method": pm if expand else pm["id"],
        "payment_method_types": [kind],
        "payment_method_options": {kind: {"verification_method": "instant"}}
        if kind == "us_bank_account"
        else {},
        "last_payment_error": (
            {
                "type": "card_error" if kind == "card" else "invalid_request_error",
                "code": code,
                "payment_method": pm,
                "payment_method_type": kind,
            }
            if code
            else None
        ),
        "metadata": metadata or {},
    }


def rates(intents: list[dict[str, Any]], **kw: Any) -> dict[str, dict[str, Any]]:
    frame = return_rates(intents, now=NOW, **kw)
    assert list(frame.columns) == ["category", "debits", "returns", "rate", "limit"]
    assert list(frame["category"]) == ["unauthorized", "administrative", "overall"]
    return {row["category"]: row for row in frame.to_dict("records")}


def test_no_debits_gives_empty_rates_not_zero() -> None:
    r = rates([])
    for category, limit in [("unauthorized", 0.005), ("administrative", 0.03), ("overall", 0.15)]:
        assert r[category]["debits"] == 0 and r[category]["returns"] == 0
        assert math.isnan(r[category]["rate"])
        assert r[category]["limit"] == limit


def test_counts_each_category() -> None:
    intents = [pi(f"pi_ok{i}", 5) for i in range(6)] + [
        pi("pi_r01", 5, "requires_payment_method", "insufficient_funds"),
        pi("pi_r02", 5, "requires_payment_method", "bank_account_closed"),
        pi("pi_r03", 5, "requires_payment_method", "no_account"),
        pi(
            "pi_r10",
            5,
            "requires_payment_method",
            "debit_not_authorized",
            blocked={"network_code": "R10", "reason": "debit_not_authorized"},
        ),
    ]
    r = rates(intents)
    assert r["overall"]["debits"] == 10
    assert (
        r["unauthorized"]["returns"],
        r["administrative"]["returns"],
        r["overall"]["returns"],
    ) == (1, 2, 4)
    assert r["unauthorized"]["rate"] == pytest.approx(0.1)
    assert r["administrative"]["rate"] == pytest.approx(0.2)
    assert r["overall"]["rate"] == pytest.approx(0.4)


def test_window_edges_by_creation_date() -> None:
    intents = [
        pi("pi_edge_in", 60),  # exactly 60 days before now: in
        pi("pi_edge_out", 60 + 1 / DAY),  # one second older: out
        pi("pi_future", -1),  # created after now: out
        pi("pi_old_return", 61, "requires_payment_method", "account_closed"),
    ]
    r = rates(intents)
    assert r["overall"]["debits"] == 1 and r["overall"]["returns"] == 0
    assert rates(intents, window_days=61)["administrative"]["returns"] == 1


def test_late_unauthorized_return_counts_against_the_window_it_was_made_in() -> None:
    # Debited 55 days ago, claimed unauthorized much later: still in the window, by origination.
    late = pi("pi_late", 55, "requires_payment_method", "debit_not_authorized")
    r = rates([late, pi("pi_a", 1), pi("pi_b", 2), pi("pi_c", 3)])
    assert r["unauthorized"]["returns"] == 1 and r["unauthorized"]["debits"] == 4
    # Made 65 days ago: outside, however late its return arrives.
    old = pi("pi_old", 65, "requires_payment_method", "debit_not_authorized")
    assert rates([old, pi("pi_a", 1)])["unauthorized"]["returns"] == 0


def test_non_ach_and_non_debits_are_not_counted() -> None:
    intents = [
        pi("pi_card", 3, kind="card"),
        pi("pi_card_declined", 3, "requires_payment_method", "insufficient_funds", kind="card"),
        pi("pi_link", 3, kind="link"),
        pi("pi_unconfirmed", 3, "requires_payment_method"),
        pi("pi_needs_action", 3, "requires_action"),
        pi(
            "pi_blocked_at_confirm",
            3,
            "requires_payment_method",
            "payment_method_bank_account_blocked",
        ),
        pi("pi_processing", 3, "processing"),
        pi("pi_ach", 3, "requires_payment_method", "insufficient_funds", expand=False),
    ]
    r = rates(intents)
    assert r["overall"]["debits"] == 2  # the processing debit and the unexpanded ACH return
    assert r["overall"]["returns"] == 1


def test_reinitiations_count_once_per_original_debit() -> None:
    intents = [
        pi("pi_orig", 30, "requires_payment_method", "insufficient_funds"),
        pi(
            "pi_retry1",
            25,
            "requires_payment_method",
            "insufficient_funds",
            metadata={RETRY_OF: "pi_orig"},
        ),
        pi("pi_retry2", 20, "succeeded", metadata={RETRY_OF: "pi_orig"}),
        pi("pi_other", 10),
    ]
    r = rates(intents)
    assert r["overall"]["debits"] == 2
    assert r["overall"]["returns"] == 1
    # A re-initiation that comes back unauthorized puts its original debit in that category once.
    intents.append(
        pi(
            "pi_retry3",
            5,
            "requires_payment_method",
            "debit_not_authorized",
            metadata={RETRY_OF: "pi_orig"},
        )
    )
    r = rates(intents)
    assert (r["overall"]["debits"], r["overall"]["returns"], r["unauthorized"]["returns"]) == (
        2,
        1,
        1,
    )


def test_reinitiation_is_dated_by_its_original() -> None:
    intents = [
        pi("pi_orig", 70, "requires_payment_method", "insufficient_funds"),
        pi("pi_retry", 10, "succeeded", metadata={RETRY_OF: "pi_orig"}),
    ]
    assert rates(intents)["overall"]["debits"] == 0


def test_network_code_from_the_block_decides_the_category() -> None:
    stop = pi(
        "pi_r08",
        3,
        "requires_payment_method",
        "debit_not_authorized",
        blocked={"network_code": "R08", "reason": "debit_not_authorized"},
    )
    out = outcome_of(stop)
    assert out is not None and out.return_code == "R08" and out.category == "other"
    r = rates([stop])
    assert (r["unauthorized"]["returns"], r["overall"]["returns"]) == (0, 1)
    # Without the block, debit_not_authorized counts as unauthorized (it usually is).
    guess = outcome_of(pi("pi_x", 3, "requires_payment_method", "debit_not_authorized"))
    assert guess is not None and guess.category == "unauthorized" and not guess.ret.exact  # type: ignore[union-attr]


def test_outcome_fields() -> None:
    out = outcome_of(
        pi("pi_1", 2, "requires_payment_method", "insufficient_funds", metadata={"flow": "rent"})
    )
    assert out is not None
    assert (out.status, out.return_code, out.category) == ("returned", "R01/R09", "other")
    assert (out.account, out.institution, out.last4) == ("fca_1", "STRIPE TEST BANK", "6789")
    assert (out.verification_method, out.flow, out.amount) == ("instant", "rent", 5000)
    assert out.ret is not None and out.ret.retryable


def test_code_tables() -> None:
    assert {
        c for c in ["R05", "R07", "R10", "R11", "R29", "R51"] if category_of(c) == "unauthorized"
    } == {"R05", "R07", "R10", "R11", "R29", "R51"}
    assert [category_of(c) for c in ["R02", "R03", "R04", "R01", "R08", "R16"]] == [
        "administrative"
    ] * 3 + ["other"] * 3
    assert {"R01", "R09"} == RETRYABLE
    assert return_from("payment_method_bank_account_blocked") is None
    assert return_from("bank_account_invalid_details", "R04").code == "R04"  # type: ignore[union-attr]
    assert return_from("bank_account_invalid_details", "R10").code == "R03/R04"  # type: ignore[union-attr]


def test_weekly_rates_cover_every_week() -> None:
    from services.rules.returns import outcomes

    debits = outcomes([pi("pi_a", 1), pi("pi_b", 8, "requires_payment_method", "account_closed")])
    frame = weekly_rates(debits, now=NOW, weeks=4)
    assert len(frame) == 12
    overall = frame[frame["category"] == "overall"]
    assert list(overall["debits"]) == [0, 0, 1, 1]
    assert list(overall["returns"]) == [0, 0, 1, 0]


def test_bank_account_unusable_is_a_return_the_block_names_exactly() -> None:
    """Stripe's bank_account_unusable (the SDK's code for an R04 return) was no return at all:
    the debit vanished from the Returns page and from the administrative rate."""
    r04 = pi(
        "pi_r04",
        3,
        "requires_payment_method",
        "bank_account_unusable",
        blocked={"network_code": "R04", "reason": "bank_account_invalid_details"},
    )
    out = outcome_of(r04)
    assert out is not None and out.status == "returned"
    assert (out.return_code, out.category) == ("R04", "administrative")
    r = rates([r04, pi("pi_ok", 3)])
    assert (r["administrative"]["returns"], r["overall"]["returns"], r["overall"]["debits"]) == (
        1,
        1,
        2,
    )
    # Without the block, the candidates are listed and it counts as a return, category unknown.
    guess = return_from("bank_account_unusable")
    assert guess is not None and guess.code == "R04/R03/R02/R16/R20" and not guess.exact
    assert guess.category == "other" and not guess.retryable
    assert return_from("bank_account_unusable", "R16").category == "other"  # type: ignore[union-attr]
    assert return_from("bank_account_unusable", "R02").code == "R02"  # type: ignore[union-attr]


def _cleared(pi_id: str, charge: Any, *, blocked: dict[str, Any] | None = None) -> dict[str, Any]:
    """A debit back to requires_payment_method, updated since: Stripe cleared its
    last_payment_error and payment_method; ``charge`` is its latest_charge (expanded or an ID)."""
    intent = pi(pi_id, 3, "requires_payment_method", "insufficient_funds", blocked=blocked)
    if isinstance(charge, dict):
        charge = {"id": f"py_{pi_id}", "object": "charge", "payment_method": _pm(
            f"pm_{pi_id}", blocked=blocked), "payment_method_details": {"type": "us_bank_account"},
            **charge}  # fmt: skip
    return {**intent, "last_payment_error": None, "payment_method": None, "latest_charge": charge}


def test_a_cleared_last_payment_error_falls_back_to_the_failed_charges_known_code() -> None:
    """An intent updated after its return has no last_payment_error (the pinned SDK: "cleared
    if the PaymentIntent is later updated for any reason"): the return was lost. The charge's
    failure_code (a free string) is read, as a return only when fcops maps that code."""
    from services.rules.returns import attempt_error

    failed = {"status": "failed", "failure_code": "account_closed", "failure_message": "Closed."}
    closed = outcome_of(_cleared("pi_c", failed, blocked={"network_code": "R02"}))
    assert closed is not None and closed.status == "returned" and closed.return_code == "R02"
    assert (closed.payment_method, closed.account) == ("pm_pi_c", "fca_1")
    unknown = _cleared("pi_u", {**failed, "failure_code": "invalid_currency"})
    assert outcome_of(unknown) is None  # no return guessed for a code fcops does not map
    assert attempt_error(unknown)["code"] == "invalid_currency"
    # Only a failed charge with a code says why; an ID alone (not expanded) says nothing.
    for charge in ("py_x", {**failed, "status": "succeeded"}, {**failed, "failure_code": None}):
        assert outcome_of(_cleared("pi_n", charge)) is None
    # last_payment_error, when Stripe still has it, is what counts.
    kept = {**_cleared("pi_k", failed), "last_payment_error": {"code": "insufficient_funds"}}
    assert attempt_error(kept) == {"code": "insufficient_funds"}


def test_a_listed_return_known_only_by_its_charge_keeps_the_bank_the_charge_names() -> None:
    """Listed with its latest charge expanded (the SDK's ``Charge.payment_method`` is an ID and
    cannot be expanded), a return whose last_payment_error Stripe cleared came out with no bank
    name or last 4: the charge's ``payment_method_details.us_bank_account`` has both."""
    failed = {"status": "failed", "failure_code": "insufficient_funds", "payment_method": "pm_l",
              "payment_method_details": {"type": "us_bank_account", "us_bank_account": {
                  "bank_name": "STRIPEBANK", "last4": "3453", "routing_number": "110000000"}}}  # fmt: skip
    outcome = outcome_of(_cleared("pi_l", "py_l") | {"latest_charge": {"id": "py_l", **failed}})
    assert outcome is not None and outcome.return_code == "R01/R09"
    assert (outcome.payment_method, outcome.institution, outcome.last4) == (
        "pm_l", "STRIPEBANK", "3453"
    )  # fmt: skip
    assert outcome.account is None and outcome.blocked_reason is None


@pytest.mark.parametrize(
    ("rate", "limit", "shown"),
    [
        (0.05, None, "5 %"),  # whole percent, as the cards (and Conversion's cards) say it
        (1 / 3, None, "33 %"),  # the Breakdown table said "33.33 %"
        (2 / 11, 0.15, "18 %"),
        (0.004, 0.005, "0.4 %"),  # under 1 %: one decimal, so it is not "0 %"
        (0.0004, None, "< 0.1 %"),  # not nil, and not "0 %" either
        (0.0, None, "0 %"),
        (0.0296, 0.03, "2.96 %"),  # under the limit: never "3 %" against "limit 3 %"
        (0.0049, 0.005, "0.49 %"),
        (0.031, 0.03, "3 %"),  # over it: whole percent, the card says "over the limit"
        (0.15, None, "15 %"),
        (math.nan, None, "—"),
        (None, None, "—"),
    ],
)
def test_the_returns_page_writes_every_share_by_one_rule(
    rate: float | None, limit: float | None, shown: str
) -> None:
    assert rate_text(rate, limit) == shown


def test_a_warning_writes_its_rate_and_limit_as_the_cards_do() -> None:
    import pandas as pd

    rates = pd.DataFrame(
        [{"category": "overall", "debits": 300, "returns": 43, "rate": 43 / 300, "limit": 0.15}]
    )
    assert warnings(rates) == [
        "The overall return rate is near Nacha's limit: 14 % (43 of 300 debits) against 15 %."
    ]
