"""Honest rates: every rate with its count, pending apart, small buckets flagged, no fake 0 %."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from services.rules import chart_data
from services.rules.chart_data import MIN_COUNT, NO_DATA, Rate, conversion_of


def _week(day: date, method: str = "automatic", *, started: int, succeeded: int, pending: int,
          failed: int | None = None, other_method: int = 0) -> dict[str, object]:  # fmt: skip
    failed = started - succeeded - pending - other_method if failed is None else failed
    return {
        "week": day,
        "verification_method": method,
        "started": started,
        "linked_instantly": 0,
        "manual_entry": 0,
        "verified": 0,
        "succeeded": succeeded,
        "failed": failed,
        "canceled": 0,
        "abandoned": 0,
        "pending": pending,
        "other_method": other_method,
        "conversion_rate": succeeded / started if started else 0.0,
        "fallback_rate": 0.0,
        "median_seconds_to_success": float("nan"),
    }


def test_pending_intents_are_left_out_of_the_rate_and_counted_apart() -> None:
    rate = conversion_of(started=30, succeeded=18, pending=5)
    assert rate.base == 25 and rate.value == pytest.approx(18 / 25)
    assert rate.label() == "72 %"  # wording.percent: no trailing zeros
    assert rate.counts() == "18 usable of 25 ended · 5 pending (not counted yet)"


def test_nothing_ended_is_no_data_yet_never_zero_percent() -> None:
    assert conversion_of(0, 0, 0).label() == NO_DATA
    only_pending = conversion_of(started=4, succeeded=0, pending=4)
    assert only_pending.value is None and only_pending.label() == NO_DATA
    assert "4 pending" in only_pending.counts()
    assert Rate(hits=0, base=25).label() == "0 %"  # a real zero stays a zero


def test_a_rate_from_fewer_than_the_minimum_says_it_is_too_few() -> None:
    assert conversion_of(started=MIN_COUNT - 1, succeeded=1, pending=0).small
    assert f"n < {MIN_COUNT}" in conversion_of(3, 1, 0).counts()
    assert not conversion_of(started=MIN_COUNT, succeeded=1, pending=0).small
    assert not conversion_of(0, 0, 0).small  # no data is not "small", it is no data


def test_with_settled_adds_the_ended_base_and_leaves_no_rate_where_nothing_ended() -> None:
    frame = pd.DataFrame(
        [
            _week(date(2026, 11, 2), started=10, succeeded=6, pending=2),
            _week(date(2026, 11, 2), "instant", started=3, succeeded=0, pending=3),
        ]
    )
    out = chart_data.with_settled(frame)
    assert list(out["ended"]) == [8, 0]
    assert out["ended_conversion_rate"][0] == pytest.approx(6 / 8)
    assert math.isnan(out["ended_conversion_rate"][1])
    assert "ended" not in frame.columns  # the input is not changed


def test_weekly_points_flag_small_weeks_and_keep_them_off_the_rate_line() -> None:
    weekly = pd.DataFrame(
        [
            _week(date(2026, 11, 2), started=30, succeeded=20, pending=2),
            _week(date(2026, 11, 9), started=1, succeeded=1, pending=0),  # one intent: 100 %?
            _week(date(2026, 11, 16), started=5, succeeded=0, pending=5),
            _week(date(2026, 11, 23), started=0, succeeded=0, pending=0),
        ]
    )
    points = chart_data.weekly_points(weekly).set_index("week")
    assert len(points) == 3  # the week without starts is a gap, not a 0 % point
    big, one, waiting = (
        points.loc[pd.Timestamp(d)] for d in ("2026-11-02", "2026-11-09", "2026-11-16")
    )
    assert big["enough"] and big["line_rate"] == pytest.approx(20 / 28) and big["note"] == ""
    assert not one["enough"] and math.isnan(one["line_rate"]) and one["rate"] == 1.0
    assert one["note"] == f"n < {MIN_COUNT}: too few to judge"
    assert math.isnan(waiting["rate"]) and waiting["note"].startswith(NO_DATA)
    assert "5 still pending" in waiting["note"]
    every = chart_data.weekly_points(weekly, keep_empty=True)
    assert len(every) == 4 and every["line_rate"].isna().sum() == 3


def test_weekly_points_of_nothing_is_an_empty_frame() -> None:
    assert chart_data.weekly_points(pd.DataFrame()).empty


def test_weekly_outcomes_show_pending_apart_from_usable_and_ended_without() -> None:
    weekly = pd.DataFrame(
        [
            _week(date(2026, 11, 2), started=10, succeeded=6, pending=2),
            _week(date(2026, 11, 2), "instant", started=4, succeeded=1, pending=1),
            _week(date(2026, 11, 9), started=0, succeeded=0, pending=0),
        ]
    )
    out = chart_data.weekly_outcomes(weekly)
    assert set(out["week"]) == {pd.Timestamp("2026-11-02")}  # nothing started: left out
    counts = dict(zip(out["outcome"], out["count"], strict=True))
    assert counts == {
        "Usable": 7,
        "Ended without a bank account": 4,
        "Paid by another method": 0,
        "Pending": 3,
    }
    assert sum(counts.values()) == 14  # every started intent in exactly one group


def test_paid_by_another_method_is_neither_a_conversion_nor_a_failure() -> None:
    """The manager's case: 4,419 started − pending, 375 of them paid by card or Link, 3,343
    usable. The card payers did not fail bank verification, so the base is 4,044 (82.7 %)."""
    rate = conversion_of(started=4_500, succeeded=3_343, pending=81, other_method=375)
    assert rate.base == 4_044
    assert rate.label() == "82.7 %"
    assert rate.counts() == "3,343 usable of 4,044 ended · 81 pending (not counted yet)"
    # nothing but card payers ended: no rate, not 0 %
    assert conversion_of(started=5, succeeded=0, pending=2, other_method=3).label() == NO_DATA


def test_with_settled_and_the_weekly_views_leave_card_payers_out_of_ended() -> None:
    frame = pd.DataFrame(
        [_week(date(2026, 11, 2), started=30, succeeded=18, pending=2, failed=4, other_method=6)]
    )
    out = chart_data.with_settled(frame)
    assert list(out["ended"]) == [22]  # 30 − 2 pending − 6 paid by card or Link
    assert out["ended_conversion_rate"][0] == pytest.approx(18 / 22)
    rate = conversion_of(30, 18, 2, other_method=6)
    assert (rate.base, rate.value) == (22, pytest.approx(18 / 22))  # the card says the same
    [point] = chart_data.weekly_points(frame).to_dict("records")
    assert (point["ended"], point["rate"]) == (22, pytest.approx(18 / 22))
    bars = chart_data.weekly_outcomes(frame)
    counts = dict(zip(bars["outcome"], bars["count"], strict=True))
    assert counts == {
        "Usable": 18,
        "Ended without a bank account": 4,
        "Paid by another method": 6,
        "Pending": 2,
    }


def test_flag_small_buckets_works_on_any_rate_frame() -> None:
    frame = pd.DataFrame(
        {"debits": [0, 5, 40], "returns": [0, 1, 2], "rate": [float("nan"), 0.2, 0.05]}
    )
    out = chart_data.flag_small_buckets(frame, base="debits")
    assert list(out["enough"]) == [False, False, True]
    assert list(out["note"]) == [NO_DATA, f"n < {MIN_COUNT}: too few to judge", ""]
    assert out["line_rate"].isna().tolist() == [True, True, False]


def test_partial_weeks_say_which_days_the_range_covers() -> None:
    weeks = pd.Series(pd.to_datetime(["2026-10-26", "2026-11-02", "2026-11-30"]))
    partial, notes = chart_data.partial_weeks(weeks, date(2026, 11, 1), date(2026, 11, 30))
    assert list(partial) == [True, False, True]
    assert list(notes) == ["partial week: Nov 1 only", "", "partial week: Nov 30 only"]
    _, notes = chart_data.partial_weeks(weeks[:1], date(2026, 10, 31), None)
    assert list(notes) == ["partial week: Oct 31–Nov 1 only"]
    partial, _ = chart_data.partial_weeks(weeks)  # no range: every week whole
    assert not partial.any()
