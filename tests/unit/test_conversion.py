from __future__ import annotations

import math
import statistics
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from services.rules.funnel import (
    FUNNEL_COLUMNS,
    OUTCOME_COLUMNS,
    VERIFICATION_METHODS,
    classify_intent,
    funnel,
    outcomes_frame,
    week_of,
)

# Wednesday 2024-03-13 12:00 UTC.
T0 = int(datetime(2024, 3, 13, 12, tzinfo=UTC).timestamp())
DAY = 86_400
NOW = T0 + 30 * DAY


def pm(*, fca: str | None, created: int = T0 + 60) -> dict[str, Any]:
    return {
        "id": f"pm_{created}",
        "object": "payment_method",
        "type": "us_bank_account",
        "created": created,
        "us_bank_account": {"financial_connections_account": fca, "last4": "6789"},
    }


def intent(
    ident: str,
    *,
    status: str,
    created: int = T0,
    method: str | None = None,
    payment_method: dict[str, Any] | str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    kind = "setup_intent" if ident.startswith("seti_") else "payment_intent"
    options = {} if method is None else {"us_bank_account": {"verification_method": method}}
    body: dict[str, Any] = {
        "id": ident,
        "object": kind,
        "created": created,
        "status": status,
        "payment_method": payment_method,
        "payment_method_options": options,
        "next_action": None,
        "cancellation_reason": None,
        "last_setup_error" if kind == "setup_intent" else "last_payment_error": None,
    }
    body.update(extra)
    return body


MICRODEPOSITS_ACTION = {
    "type": "verify_with_microdeposits",
    "verify_with_microdeposits": {"arrival_date": T0 + DAY, "microdeposit_type": "descriptor_code"},
}
ERROR = {
    "type": "invalid_request_error",
    "code": "payment_method_microdeposit_verification_timeout",
}


# --- stages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "stage"),
    [
        (intent("seti_a", status="succeeded", payment_method=pm(fca="fca_1")), "succeeded"),
        (intent("pi_a", status="succeeded", payment_method=pm(fca="fca_1")), "succeeded"),
        (intent("pi_b", status="processing", payment_method=pm(fca="fca_1")), "succeeded"),
        (intent("seti_b", status="processing", payment_method=pm(fca=None)), "pending"),
        (intent("seti_c", status="canceled", cancellation_reason="abandoned"), "abandoned"),
        (intent("pi_c", status="canceled", cancellation_reason="duplicate"), "canceled"),
        (intent("seti_d", status="canceled"), "canceled"),
        (intent("seti_e", status="requires_payment_method", last_setup_error=ERROR), "failed"),
        (intent("pi_d", status="requires_payment_method", last_payment_error=ERROR), "failed"),
        (intent("seti_f", status="requires_payment_method", created=NOW - 8 * DAY), "abandoned"),
        (intent("pi_e", status="requires_confirmation", created=NOW - 8 * DAY), "abandoned"),
        (intent("seti_g", status="requires_payment_method", created=NOW - 6 * DAY), "pending"),
        (intent("pi_f", status="requires_confirmation", created=NOW - DAY), "pending"),
        (
            intent(
                "seti_h",
                status="requires_action",
                created=NOW - 20 * DAY,
                payment_method=pm(fca=None),
                next_action=MICRODEPOSITS_ACTION,
            ),
            "pending",
        ),
    ],
)
def test_every_status_maps_to_its_funnel_stage(body: dict[str, Any], stage: str) -> None:
    assert classify_intent(body, now=NOW).stage == stage


def test_an_old_failure_stays_failed_rather_than_abandoned() -> None:
    body = intent(
        "seti_x", status="requires_payment_method", created=NOW - 60 * DAY, last_setup_error=ERROR
    )
    assert classify_intent(body, now=NOW).stage == "failed"


def test_the_abandon_window_is_configurable() -> None:
    body = intent("seti_x", status="requires_payment_method", created=NOW - 2 * DAY)
    assert classify_intent(body, now=NOW, abandon_after_seconds=DAY).stage == "abandoned"
    assert classify_intent(body, now=NOW).stage == "pending"


def test_now_can_be_a_datetime() -> None:
    body = intent("seti_x", status="requires_payment_method", created=NOW - 8 * DAY)
    assert classify_intent(body, now=datetime.fromtimestamp(NOW, tz=UTC)).stage == "abandoned"


# --- paths ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (intent("seti_a", status="succeeded", payment_method=pm(fca="fca_1")), "instant"),
        (intent("seti_b", status="succeeded", payment_method=pm(fca=None)), "manual"),
        (
            intent(
                "seti_c",
                status="requires_action",
                payment_method="pm_1",
                next_action=MICRODEPOSITS_ACTION,
            ),
            "manual",
        ),
        (intent("seti_d", status="requires_payment_method"), "none"),
        (intent("seti_e", status="succeeded", method="instant", payment_method="pm_1"), "instant"),
        (
            intent("seti_f", status="succeeded", method="microdeposits", payment_method="pm_1"),
            "manual",
        ),
        (intent("seti_g", status="succeeded", payment_method="pm_1"), "unknown"),
    ],
)
def test_the_path_says_how_the_bank_account_was_attached(body: dict[str, Any], path: str) -> None:
    assert classify_intent(body, now=NOW).path == path


def test_a_failed_intent_takes_its_path_from_the_payment_method_in_the_error() -> None:
    error = {**ERROR, "payment_method": pm(fca=None)}
    body = intent("seti_x", status="requires_payment_method", last_setup_error=error)
    outcome = classify_intent(body, now=NOW)
    assert (outcome.stage, outcome.path) == ("failed", "manual")


def test_verification_method_defaults_to_automatic_and_reads_the_options() -> None:
    assert (
        classify_intent(intent("seti_a", status="succeeded"), now=NOW).verification_method
        == "automatic"
    )
    body = intent("seti_b", status="succeeded", method="microdeposits")
    assert classify_intent(body, now=NOW).verification_method == "microdeposits"
    bare = {"id": "pi_c", "created": T0, "status": "processing"}
    assert classify_intent(bare, now=NOW).verification_method == "automatic"


def test_the_kind_comes_from_object_or_else_the_id_prefix() -> None:
    assert (
        classify_intent({"id": "pi_1", "created": T0, "status": "succeeded"}, now=NOW).kind
        == "payment_intent"
    )
    assert (
        classify_intent({"id": "seti_1", "created": T0, "status": "succeeded"}, now=NOW).kind
        == "setup_intent"
    )
    with pytest.raises(ValueError):
        classify_intent({"id": "cus_1", "object": "customer", "created": T0}, now=NOW)


# --- verified and time to success -----------------------------------------------------------


@pytest.mark.parametrize(
    ("ident", "status", "fca", "verified"),
    [
        ("seti_a", "succeeded", None, True),
        ("pi_a", "processing", None, True),
        ("seti_b", "processing", None, True),
        ("seti_c", "succeeded", "fca_1", False),
        ("seti_d", "requires_action", None, False),
    ],
)
def test_verified_means_a_manual_account_passed_microdeposits(
    ident: str, status: str, fca: str | None, verified: bool
) -> None:
    body = intent(ident, status=status, payment_method=pm(fca=fca))
    assert classify_intent(body, now=NOW).verified is verified


def test_success_time_comes_from_the_event_when_given() -> None:
    body = intent("seti_a", status="succeeded", payment_method=pm(fca=None, created=T0 + 10))
    assert classify_intent(body, now=NOW, success_time=T0 + 2 * DAY).seconds_to_success == 2 * DAY


def test_success_time_falls_back_to_the_payment_method_creation() -> None:
    body = intent("seti_a", status="succeeded", payment_method=pm(fca="fca_1", created=T0 + 45))
    assert classify_intent(body, now=NOW).seconds_to_success == 45


def test_success_time_is_unknown_without_an_event_or_an_expanded_payment_method() -> None:
    body = intent("seti_a", status="succeeded", payment_method="pm_1")
    assert classify_intent(body, now=NOW).seconds_to_success is None


def test_a_reused_older_payment_method_gives_no_success_time() -> None:
    body = intent("pi_a", status="succeeded", payment_method=pm(fca="fca_1", created=T0 - DAY))
    assert classify_intent(body, now=NOW).seconds_to_success is None


def test_only_successes_have_a_success_time() -> None:
    body = intent("seti_a", status="requires_action", payment_method=pm(fca=None))
    assert classify_intent(body, now=NOW, success_time=T0 + 5).seconds_to_success is None


# --- weeks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "monday"),
    [
        (datetime(2024, 3, 13, 12, tzinfo=UTC), date(2024, 3, 11)),
        (datetime(2024, 3, 11, 0, 0, tzinfo=UTC), date(2024, 3, 11)),
        (datetime(2024, 3, 17, 23, 59, 59, tzinfo=UTC), date(2024, 3, 11)),
        (datetime(2024, 3, 18, 0, 0, tzinfo=UTC), date(2024, 3, 18)),
        (datetime(2024, 1, 1, 5, tzinfo=UTC), date(2024, 1, 1)),
        (datetime(2023, 12, 31, 23, tzinfo=UTC), date(2023, 12, 25)),
    ],
)
def test_week_is_the_utc_monday_of_the_creation_week(moment: datetime, monday: date) -> None:
    assert week_of(int(moment.timestamp())) == monday
    body = intent("seti_a", status="succeeded", created=int(moment.timestamp()))
    assert classify_intent(body, now=NOW).week == monday


# --- the funnel -----------------------------------------------------------------------------


def sample() -> list[dict[str, Any]]:
    return [
        # automatic: two instant links, one manual fallback that verified, one abandoned
        intent("seti_1", status="succeeded", payment_method=pm(fca="fca_1", created=T0 + 30)),
        intent("seti_2", status="succeeded", payment_method=pm(fca="fca_2", created=T0 + 90)),
        intent("seti_3", status="succeeded", payment_method=pm(fca=None, created=T0 + 100)),
        intent("seti_4", status="canceled", cancellation_reason="abandoned"),
        # instant: one success, one failure, one canceled
        intent(
            "pi_1",
            status="processing",
            method="instant",
            payment_method=pm(fca="fca_3", created=T0 + 20),
        ),
        intent(
            "pi_2", status="requires_payment_method", method="instant", last_payment_error=ERROR
        ),
        intent(
            "pi_3", status="canceled", method="instant", cancellation_reason="requested_by_customer"
        ),
        # microdeposits: one waiting, created a week later
        intent(
            "seti_5",
            status="requires_action",
            method="microdeposits",
            created=T0 + 7 * DAY,
            payment_method="pm_9",
            next_action=MICRODEPOSITS_ACTION,
        ),
    ]


def test_funnel_counts_each_method_across_stages_and_paths() -> None:
    success_times = {"seti_3": T0 + 3 * DAY}
    frame = funnel(sample(), now=NOW, success_times=success_times).set_index("verification_method")
    auto, instant, micro = (frame.loc[m] for m in VERIFICATION_METHODS)

    assert (auto.started, auto.linked_instantly, auto.manual_entry, auto.verified) == (4, 2, 1, 1)
    assert (auto.succeeded, auto.abandoned, auto.failed, auto.pending) == (3, 1, 0, 0)
    assert auto.conversion_rate == pytest.approx(3 / 4)
    assert auto.fallback_rate == pytest.approx(1 / 4)
    assert auto.median_seconds_to_success == statistics.median([30, 90, 3 * DAY])

    assert (instant.started, instant.succeeded, instant.failed, instant.canceled) == (3, 1, 1, 1)
    assert instant.linked_instantly == 1  # failed and canceled attempts carry no payment method
    assert instant.median_seconds_to_success == 20

    assert (micro.started, micro.pending, micro.manual_entry, micro.succeeded) == (1, 1, 1, 0)
    assert math.isnan(micro.median_seconds_to_success)


def test_funnel_stages_add_up_to_started_for_every_method() -> None:
    frame = funnel(sample(), now=NOW)
    stages = frame[["succeeded", "failed", "canceled", "abandoned", "pending"]].sum(axis=1)
    assert (stages == frame["started"]).all()


def test_funnel_has_all_methods_and_columns_even_when_empty() -> None:
    frame = funnel([], now=NOW)
    assert list(frame["verification_method"]) == list(VERIFICATION_METHODS)
    assert list(frame.columns) == list(FUNNEL_COLUMNS)
    assert (frame["started"] == 0).all()
    assert (frame["conversion_rate"] == 0.0).all()
    assert (frame["fallback_rate"] == 0.0).all()
    assert frame["median_seconds_to_success"].isna().all()


def test_funnel_rates_are_floats_and_counts_are_integers() -> None:
    frame = funnel(sample(), now=NOW)
    assert pd.api.types.is_float_dtype(frame["conversion_rate"])
    assert pd.api.types.is_float_dtype(frame["median_seconds_to_success"])
    assert pd.api.types.is_integer_dtype(frame["started"])
    assert frame["conversion_rate"].between(0, 1).all()


def test_an_unexpected_verification_method_gets_its_own_row_after_the_known_ones() -> None:
    frame = funnel([intent("seti_z", status="succeeded", method="skip")], now=NOW)
    assert list(frame["verification_method"]) == [*VERIFICATION_METHODS, "skip"]


def test_weekly_funnel_has_a_row_per_week_and_method_without_gaps() -> None:
    bodies = [
        intent("seti_1", status="succeeded", payment_method=pm(fca="fca_1")),
        intent(
            "seti_2",
            status="succeeded",
            created=T0 + 14 * DAY,
            payment_method=pm(fca="fca_2", created=T0 + 14 * DAY + 5),
        ),
    ]
    frame = funnel(bodies, now=NOW, by="week")
    first = week_of(T0)
    weeks = [first, first + timedelta(weeks=1), first + timedelta(weeks=2)]
    assert list(frame.columns) == ["week", *FUNNEL_COLUMNS]
    assert list(frame[["week", "verification_method"]].itertuples(index=False, name=None)) == [
        (week, method) for week in weeks for method in VERIFICATION_METHODS
    ]
    started = frame.set_index(["week", "verification_method"])["started"]
    assert started[(weeks[0], "automatic")] == 1
    assert started[(weeks[1], "automatic")] == 0
    assert started[(weeks[2], "automatic")] == 1
    assert frame.loc[frame["week"] == weeks[2], "median_seconds_to_success"].iloc[0] == 5


def test_weekly_funnel_matches_the_overall_funnel_when_summed() -> None:
    weekly = funnel(sample(), now=NOW, by="week")
    overall = funnel(sample(), now=NOW).set_index("verification_method")
    summed = weekly.groupby("verification_method")[["started", "succeeded", "manual_entry"]].sum()
    for method in VERIFICATION_METHODS:
        assert (
            summed.loc[method].tolist()
            == overall.loc[method, ["started", "succeeded", "manual_entry"]].tolist()
        )


def test_weekly_funnel_of_nothing_is_an_empty_frame_with_the_columns() -> None:
    frame = funnel([], now=NOW, by="week")
    assert frame.empty
    assert list(frame.columns) == ["week", *FUNNEL_COLUMNS]


def test_funnel_refuses_an_unknown_grouping() -> None:
    with pytest.raises(ValueError):
        funnel(sample(), now=NOW, by="month")


def test_medians_of_an_even_count_average_the_middle_pair() -> None:
    spans = [10, 40, 100, 1000]
    bodies = [
        intent(f"seti_{n}", status="succeeded", payment_method=pm(fca="fca_1", created=T0 + s))
        for n, s in enumerate(spans)
    ]
    frame = funnel(bodies, now=NOW).set_index("verification_method")
    assert frame.loc["automatic", "median_seconds_to_success"] == statistics.median(spans)


# --- outcomes_frame -------------------------------------------------------------------------


def test_outcomes_frame_has_one_row_per_intent_with_the_classification() -> None:
    bodies = sample()
    frame = outcomes_frame(bodies, now=NOW, success_times={"seti_3": T0 + 3 * DAY})
    assert list(frame.columns) == list(OUTCOME_COLUMNS)
    assert list(frame["id"]) == [b["id"] for b in bodies]
    row = frame.set_index("id").loc["seti_3"]
    assert (row.path, row.stage, bool(row.verified), row.seconds_to_success) == (
        "manual",
        "succeeded",
        True,
        3 * DAY,
    )
    assert frame.set_index("id").loc["seti_5", "week"] == week_of(T0 + 7 * DAY)
    assert frame.set_index("id")["created_at"].loc["seti_1"] == pd.Timestamp(T0, unit="s", tz="UTC")
    assert pd.isna(frame.set_index("id").loc["seti_4", "seconds_to_success"])


def test_outcomes_frame_of_nothing_keeps_its_columns() -> None:
    frame = outcomes_frame([], now=NOW)
    assert frame.empty
    assert list(frame.columns) == list(OUTCOME_COLUMNS)


def test_intents_can_come_from_a_generator() -> None:
    frame = funnel((b for b in sample()), now=NOW)
    assert frame["started"].sum() == len(sample())


# --- dynamic payment methods (B2): paid by card or Link -------------------------------------

DYNAMIC = ["card", "link", "us_bank_account"]


def card_pm() -> dict[str, Any]:
    """Stripe's own example payment method: a Visa card (with a Link wallet)."""
    from tests.stripe_shapes import fixture

    return {**fixture("payment_method"), "created": T0 + 60}


def link_pm() -> dict[str, Any]:
    return {
        **card_pm(),
        "type": "link",
        "card": None,
        "link": {"email": "jenny@example.com", "persistent_token": None},
    }


@pytest.mark.parametrize("paid_with", [card_pm, link_pm])
@pytest.mark.parametrize("ident", ["pi_paid_other", "seti_paid_other"])
def test_an_intent_paid_by_card_or_link_is_neither_manual_nor_verified_nor_usable(
    paid_with: Any, ident: str
) -> None:
    status = "succeeded"
    paid = intent(
        ident, status=status, method="automatic", payment_method=paid_with(),
        payment_method_types=DYNAMIC,
    )  # fmt: skip
    outcome = classify_intent(paid, now=NOW)
    assert (outcome.path, outcome.stage, outcome.verified) == ("other", "other_method", False)
    assert outcome.seconds_to_success is None
    [row] = funnel([paid], now=NOW).query("verification_method == 'automatic'").to_dict("records")
    assert (row["started"], row["other_method"]) == (1, 1)
    assert row["manual_entry"] == row["verified"] == row["linked_instantly"] == 0
    assert row["succeeded"] == 0 and row["conversion_rate"] == 0.0
    assert row["fallback_rate"] == 0.0


def test_a_dynamic_offer_paid_by_bank_account_counts_as_usual() -> None:
    by_bank = intent(
        "pi_dyn_bank", status="processing", method="automatic",
        payment_method=pm(fca="fca_1"), payment_method_types=DYNAMIC,
    )  # fmt: skip
    outcome = classify_intent(by_bank, now=NOW)
    assert (outcome.path, outcome.stage) == ("instant", "succeeded")


def test_an_unexpanded_payment_method_of_a_dynamic_offer_is_unknown_not_instant() -> None:
    """Only the id: it could be a card, so even the 'instant' method does not decide it."""
    only_id = intent(
        "seti_dyn_id", status="succeeded", method="instant", payment_method="pm_123",
        payment_method_types=DYNAMIC,
    )  # fmt: skip
    assert classify_intent(only_id, now=NOW).path == "unknown"
    ach_only = intent("seti_ach_id", status="succeeded", method="instant", payment_method="pm_1")
    assert classify_intent(ach_only, now=NOW).path == "instant"


def test_a_failed_card_attempt_is_a_failure_on_the_other_route() -> None:
    failed = intent(
        "pi_card_failed", status="requires_payment_method", method="automatic",
        payment_method_types=DYNAMIC,
        last_payment_error={"code": "card_declined", "payment_method": card_pm()},
    )  # fmt: skip
    outcome = classify_intent(failed, now=NOW)
    assert (outcome.path, outcome.stage, outcome.verified) == ("other", "failed", False)


def test_the_funnel_has_a_paid_by_another_method_column_and_stages_still_add_up() -> None:
    intents = [
        intent("pi_a", status="succeeded", method="automatic", payment_method=card_pm(),
               payment_method_types=DYNAMIC),
        intent("pi_b", status="succeeded", method="automatic", payment_method=pm(fca="fca_1")),
        intent("pi_c", status="processing", method="automatic", payment_method=pm(fca=None)),
    ]  # fmt: skip
    assert "other_method" in FUNNEL_COLUMNS
    [row] = funnel(intents, now=NOW).query("verification_method == 'automatic'").to_dict("records")
    stages = ("succeeded", "failed", "canceled", "abandoned", "pending", "other_method")
    assert sum(row[s] for s in stages) == row["started"] == 3
    assert (row["succeeded"], row["other_method"], row["manual_entry"]) == (2, 1, 1)
    assert row["conversion_rate"] == pytest.approx(2 / 3)


def _charge(code: str | None = "insufficient_funds", status: str = "failed") -> dict[str, Any]:
    """An expanded latest charge (``py_…``): its payment method by ID, as the SDK types it."""
    return {"id": "py_1", "object": "charge", "status": status, "failure_code": code,
            "failure_message": "Insufficient funds.", "payment_method": "pm_tried",
            "payment_method_details": {"type": "us_bank_account"}}  # fmt: skip


def test_a_payment_intent_updated_after_its_failure_stays_failed_by_its_charge() -> None:
    """Stripe clears last_payment_error when a PaymentIntent is updated after the attempt: the
    failed debit read as "waiting", then "abandoned". Its expanded latest charge still says it
    failed. SetupIntents make no charge: only their own last_setup_error counts."""
    old = NOW - 60 * DAY
    cleared = intent("pi_u", status="requires_payment_method", method="instant", created=old,
                     latest_charge=_charge())  # fmt: skip
    outcome = classify_intent(cleared, now=NOW)
    assert (outcome.stage, outcome.path) == ("failed", "instant")  # the charge's PM, by ID
    for charge in ("py_1", _charge(None), _charge(status="succeeded")):  # says no failure
        assert classify_intent({**cleared, "latest_charge": charge}, now=NOW).stage == "abandoned"
    setup = intent("seti_u", status="requires_payment_method", created=old, latest_charge=_charge())
    assert classify_intent(setup, now=NOW).stage == "abandoned"
