"""The return rates counted in SQL (services/adapters/outcome_figures.py) equal the previous
Python computation over every stored debit (services/rules/returns.py), on SQLite and
PostgreSQL (issue 13): rates, weekly rates, the three breakdowns, Home's glance and the debits
behind a figure.

The store is filled by the page benchmark's debit fill (returns of every category, retries),
plus the odd chains: a retry whose original was made before the counted period, a retry that
came back in another category than its original, and empty breakdown values.
"""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from bench.page_fill import DAY, NOW, fill_debits
from services.adapters import debit_chains, outcome_figures
from services.adapters.models import DebitOutcomeRecord
from services.rules import returns as rules
from services.usecases.debit_outcomes import load_behind, load_outcomes
from services.usecases.overview import returns_glance

SINCE = NOW - 180 * DAY


def _odd_chains(engine: Engine) -> None:
    base = {
        "customer_id": "cus_odd",
        "payment_method": "pm_odd",
        "account_id": None,
        "institution": "",
        "last4": "0001",
        "verification_method": None,
        "flow": "",
        "amount": 5_000,
        "currency": "usd",
        "status": "settled",
        "observed_at": NOW,
    }
    returned = {"status": "returned", "failure_code": "insufficient_funds", "return_code": "R01"}
    rows = [
        # its original was made before SINCE: the chain is dated by the retry
        base | {"id": "pi_late_r", "original_id": "pi_gone", "created": NOW - 20 * DAY},
        # an original that came back R01, its retry unauthorized: one debit, both categories
        base | returned | {"id": "pi_mix", "original_id": "pi_mix", "created": NOW - 30 * DAY,
                           "category": "other", "institution": "Odd Bank"},
        base | returned | {"id": "pi_mix_r", "original_id": "pi_mix", "created": NOW - 5 * DAY,
                           "category": "unauthorized", "return_code": "R10",
                           "institution": "Other Bank"},
        # returned without a code: no return (as the Python reads it)
        base | {"id": "pi_nocode", "original_id": "pi_nocode", "created": NOW - 9 * DAY,
                "status": "returned", "category": "other"},
    ]
    with engine.begin() as conn:
        conn.execute(insert(DebitOutcomeRecord), rows)


@pytest.fixture
def filled(engine: Engine) -> Engine:
    fill_debits(engine, 0, 400, now=NOW, background=False)
    _odd_chains(engine)
    debit_chains.rebuild(engine)  # the odd chains were inserted past the writers
    return engine


def _same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )


@pytest.mark.parametrize("window", [7, 60, 180])
def test_rates_in_sql_equal_the_python_rates(filled: Engine, window: int) -> None:
    stored = load_outcomes(filled, since=SINCE)
    expected = rules.rates_of(stored, now=NOW, window_days=window)
    got = outcome_figures.rates(filled, since=SINCE, start=NOW - window * DAY, end=NOW)
    assert int(expected["returns"].iloc[2]) > (10 if window > 7 else 0)  # returns to compare
    _same(got, expected)


def test_weekly_rates_in_sql_equal_the_python_weeks(filled: Engine) -> None:
    stored = load_outcomes(filled, since=SINCE)
    _same(
        outcome_figures.weekly(filled, since=SINCE, now=NOW),
        rules.weekly_rates(stored, now=NOW, weeks=13),
    )


@pytest.mark.parametrize("by", list(rules.BREAKDOWNS))
def test_breakdowns_in_sql_equal_the_python_groups(filled: Engine, by: str) -> None:
    stored = load_outcomes(filled, since=SINCE)
    expected = rules.breakdown(stored, by, now=NOW, window_days=60)
    got = outcome_figures.breakdown(filled, by, since=SINCE, start=NOW - 60 * DAY, end=NOW)
    assert len(expected) >= 3
    _same(got, expected)


def test_an_empty_store_has_no_rate_and_empty_weeks(engine: Engine) -> None:
    got = outcome_figures.rates(engine, since=SINCE, start=NOW - 60 * DAY, end=NOW)
    _same(got, rules.rates_of([], now=NOW))
    _same(outcome_figures.weekly(engine, since=SINCE, now=NOW), rules.weekly_rates([], now=NOW))
    assert outcome_figures.breakdown(engine, "flow", since=SINCE, start=0, end=NOW).empty


def test_home_glance_in_sql_equals_the_previous_python_glance(filled: Engine) -> None:
    stored = load_outcomes(filled, since=SINCE)  # what returns_glance loaded before issue 13
    rates = rules.rates_of(stored, now=NOW)
    recent = [d for d in stored if d.status == "returned" and d.created >= NOW - 7 * DAY]
    retryable = [d for d in recent if d.ret is not None and d.ret.retryable and d.retry_of is None]
    latest = max(retryable, key=lambda d: d.created).id if retryable else None

    got = returns_glance(filled, now=NOW)

    assert recent and latest is not None  # something to compare
    assert (got.recent_returns, got.latest_retryable) == (len(recent), latest)
    assert got.warnings == rules.warnings(rates)
    expected = [
        rec | {"rate": None if rec["rate"] != rec["rate"] else rec["rate"]}
        for rec in rates.to_dict("records")
    ]
    assert got.rates == expected


@pytest.mark.parametrize(
    ("category", "by", "value"),
    [
        (None, None, None),
        ("overall", None, None),
        ("unauthorized", None, None),
        ("administrative", "institution", "First Harbor Bank"),
        ("overall", "flow", "unknown"),
        (None, "verification_method", "instant"),
    ],
)
def test_debits_behind_a_figure_in_sql_equal_the_python_selection(
    filled: Engine, category: str | None, by: str | None, value: str | None
) -> None:
    """What the Returns page listed before: every stored debit of the window, then the ones
    behind the figure (returns_report.debits_frame's filter), newest first."""
    stored = load_outcomes(filled, since=NOW - 180 * DAY)
    window = sorted(
        rules.in_window(stored, now=NOW, window_days=60), key=lambda d: d.created, reverse=True
    )
    expected = [
        d
        for d in window
        if rules.matches(d, category) and (not by or str(getattr(d, by) or "unknown") == value)
    ]
    group = (by, value or "") if by else None
    span = {"since": NOW - 180 * DAY, "start": NOW - 60 * DAY, "end": NOW}
    found, total = load_behind(filled, **span, category=category, group=group)
    assert expected and total == len(expected)
    assert [d.id for d in found] == [d.id for d in expected]
    first, total = load_behind(filled, **span, category=category, group=group, limit=5)
    assert [d.id for d in first] == [d.id for d in expected[:5]] and total == len(expected)
