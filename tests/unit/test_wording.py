"""The one wording of dates, ages and durations (services.rules.wording) and its thresholds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from components import feedback
from services.rules import refresh_rule, wording
from services.rules.debit import DebitPolicy, assess_debit

MIN, HOUR, DAY = 60, 3_600, 86_400


@pytest.mark.parametrize(
    ("seconds", "short", "long"),
    [
        (0, "0 s", "0 seconds"),
        (1, "1 s", "1 second"),
        (89, "89 s", "89 seconds"),
        (90, "2 min", "2 minutes"),  # 90 s and up: minutes, rounded
        (5 * MIN, "5 min", "5 minutes"),
        (89 * MIN + 59, "90 min", "90 minutes"),
        (90 * MIN, "2 h", "2 hours"),  # 90 min and up: hours
        (2 * HOUR - 1, "2 h", "2 hours"),  # rounded, not cut: 1 h 59 min 59 s is "2 h"
        (24 * HOUR, "24 h", "24 hours"),
        (36 * HOUR - 1, "36 h", "36 hours"),
        (36 * HOUR, "2 d", "2 days"),  # 36 h and up: days
        (3 * DAY, "3 d", "3 days"),
        (32 * DAY + 13 * HOUR, "33 d", "33 days"),
    ],
)
def test_one_set_of_thresholds(seconds: int, short: str, long: str) -> None:
    assert wording.duration(seconds) == short
    assert wording.duration(seconds, long=True) == long


def test_ages_ago_and_until() -> None:
    assert wording.age(None) == "—"
    assert wording.age(-5) == "in the future"
    assert wording.age(5 * MIN) == "5 min"
    assert wording.ago(5 * MIN) == "5 min ago"
    assert wording.ago(None) == "—"
    assert wording.until(0) == "now"
    assert wording.until(-1) == "now"
    assert wording.until(2 * HOUR) == "in 2 h"
    assert wording.until(None) == "—"


def test_dates() -> None:
    ts = int(datetime(2026, 12, 4, 3, 20, 59, tzinfo=UTC).timestamp())
    assert wording.timestamp(ts) == "2026-12-04 03:20 UTC"
    assert wording.timestamp(None) == "—"
    assert wording.day(ts) == "2026-12-04"
    assert wording.iso(ts) == "2026-12-04T03:20:59Z"
    assert wording.iso(None) == ""
    assert wording.moment(datetime(2026, 12, 4, 3, 20)) == "2026-12-04 03:20 UTC"
    assert wording.moment(None, missing="never") == "never"


def test_pages_services_and_the_refresh_rule_word_the_same_duration_alike() -> None:
    """The components' names are the wording's functions; the rule and the debit check use it."""
    assert feedback.format_age is wording.age
    assert feedback.format_until is wording.until
    assert feedback.format_timestamp is wording.timestamp
    now = 1_700_000_000
    account = {
        "id": "fca_w",
        "status": "active",
        "category": "cash",
        "permissions": ["balances"],
        "balance": {
            "as_of": now - (2 * HOUR - 1),
            "type": "cash",
            "current": {"usd": 100},
            "cash": {"available": {"usd": 100}},
        },
        "balance_refresh": {
            "status": "succeeded",
            "last_attempted_at": now - 2 * HOUR,
            "next_refresh_available_at": now + 2 * HOUR - 1,
        },
    }
    throttled = refresh_rule.judge(account, "balance", now=now)
    assert f"(in {wording.until(2 * HOUR - 1)[3:]})" in throttled.reason  # "(in 2 h)"
    stale = assess_debit(account, 50, "usd", now=now, policy=DebitPolicy(max_age_seconds=HOUR))
    assert "The balance is 2 hours old" in stale.reasons[0]
    assert "older than the limit of 60 minutes" in stale.reasons[0]


def test_an_estimated_day_has_no_clock_time() -> None:
    ts = int(datetime(2026, 12, 4, 23, 59, tzinfo=UTC).timestamp())
    assert wording.weekday(ts) == "Fri 04 Dec 2026"
    assert wording.weekday(None) == "—"


def test_a_count_reads_singular_or_plural_never_with_parenthesised_s() -> None:
    """"History (0 saved version(s))", "1 account(s)": "(s)" reads as if the count were unknown."""
    assert wording.counted(1, "saved version") == "1 saved version"
    assert wording.counted(0, "row") == "0 rows"
    assert wording.counted(12_000, "row") == "12,000 rows"
    assert wording.counted(2, "balance refresh", "balance refreshes") == "2 balance refreshes"


def test_a_list_reads_as_a_sentence_says_it() -> None:
    """A batch row said "Row(s) 2, 4 debit the same account"."""
    assert wording.listed([2]) == "2"
    assert wording.listed([2, 5]) == "2 and 5"
    assert wording.listed((2, 5, 7)) == "2, 5 and 7"


def test_version_zero_is_named_as_what_applies_not_as_a_saved_version() -> None:
    """The conflict panel said "What admin5 changed (version 0 → 1)"; nobody saved a version 0."""
    assert wording.version_name(0, "fcops' built-in defaults") == "fcops' built-in defaults"
    assert wording.version_name(3, "fcops' built-in defaults") == "version 3"


def test_a_flow_tile_fits_its_figure_and_names_the_defaults_in_its_help() -> None:
    assert wording.flow_tile(3) == ("version 3", None)
    figure, tip = wording.flow_tile(0)  # the tile cut "fcops' built-in defaults" to "fcops' built-…"
    assert figure == "Defaults"
    assert tip == "No admin has saved this flow, so fcops' built-in defaults apply."


def test_a_batch_summary_says_its_counts_in_words() -> None:
    """The job's and the audit's line said "1 error(s); 1 balance(s) refreshed"."""
    from services.rules.batch_result import BatchSummary

    one = BatchSummary(rows=1_200, checked=1_199, errors=1, counts={}, amounts={}, at_risk={},
                       refreshed=1, requests=3)
    assert one.said() == "Checked 1,199 of 1,200 rows; 1 error; 1 balance refreshed."


@pytest.mark.parametrize(
    ("fraction", "digits", "said"),
    [
        (0.05, 2, "5 %"),  # Returns said "5.00%"
        (0.005, 1, "0.5 %"),  # a Nacha limit
        (1 / 3, 2, "33.33 %"),
        (0.81, 0, "81 %"),  # Conversion's cards
        (0.0, 2, "0 %"),  # a real zero stays a zero
        (0.015, 4, "1.5 %"),  # a buffer of 1.5 (percent), passed divided by 100
        (-0.00001, 1, "0 %"),  # never "-0 %"
        (None, 2, wording.MISSING),
        (float("nan"), 2, wording.MISSING),
    ],
)
def test_every_share_is_said_one_way(fraction: float | None, digits: int, said: str) -> None:
    """One style for every percent the pages show ("5.00%", "0.5 %" and "81 %" before): the
    number with at most ``digits`` decimals and no trailing zeros, a space, then "%"."""
    assert wording.percent(fraction, digits) == said


def test_a_batch_summary_says_why_asked_for_refreshes_gave_no_balance() -> None:
    """Stale 5 beside "0 balances refreshed" said nothing of the 5 refreshes the bank failed."""
    from services.rules.batch_result import BatchResult

    bank = "Down Bank (Error)"
    result = BatchResult(rows=[], unrefreshed={
        **{f"fca_{n}": ("failed", bank) for n in range(5)},
        "fca_x": ("failed", "Refresh Errors Bank"), "fca_y": ("pending", "StripeBank"),
    })
    summary = result.summary()
    assert summary.unrefreshed_words() == (
        "6 refreshes failed at the bank (Down Bank (Error), Refresh Errors Bank); 1 refresh had "
        "not finished when the batch stopped waiting (StripeBank); their rows are judged on the "
        "older balance."
    )
    assert summary.said().startswith("Checked 0 of 0 rows; 0 errors; 0 balances refreshed. 6 refreshes")
    assert BatchResult(rows=[]).summary().unrefreshed_words() == ""


def test_merged_batch_chunks_keep_every_refresh_that_gave_no_balance() -> None:
    from services.rules.batch_result import BatchResult
    from services.usecases.jobs_batch import merge_results

    parts = [BatchResult(rows=[], unrefreshed={"fca_a": ("failed", "B")}),
             BatchResult(rows=[], unrefreshed={"fca_b": ("failed", "B")})]
    assert merge_results(parts).summary().unrefreshed == {"failed": (2, ("B",))}
