"""The debit policy's bounds: one sentence per value outside them, saying what is allowed and
what was typed (the Debit policy page shows them; the save service refuses with them)."""

from __future__ import annotations

import math

import pytest

from services.rules.policy_bounds import problems


def said(**values: float) -> list[str]:
    typed = {"buffer_amount": 0, "buffer_percent": 1.0, "max_age_hours": 24.0, **values}
    return problems(**typed)  # type: ignore[arg-type]


def test_values_inside_the_bounds_and_on_their_edges_have_no_problem() -> None:
    assert said() == []
    assert said(buffer_amount=1_000_000_00, buffer_percent=100.0, max_age_hours=720.0) == []
    assert said(buffer_amount=0, buffer_percent=0.0, max_age_hours=0.25) == []


def test_a_percentage_above_its_maximum_says_the_range_and_what_was_typed() -> None:
    assert said(buffer_percent=150.0) == [
        "The percentage buffer must be between 0 and 100 %; you typed 150."
    ]
    assert said(buffer_percent=-0.5) == [
        "The percentage buffer must be between 0 and 100 %; you typed -0.5."
    ]


@pytest.mark.parametrize("hours", [0.0, 0.2, -3.0, 721.0, math.nan])
def test_a_balance_age_outside_15_minutes_to_30_days_is_a_problem(hours: float) -> None:
    (sentence,) = said(max_age_hours=hours)
    assert sentence.startswith(
        "The maximum balance age must be between 0.25 and 720 hours (15 minutes to 30 days); "
        "you typed "
    )


def test_zero_hours_reads_as_typed() -> None:
    assert said(max_age_hours=0.0)[0].endswith("you typed 0.")


def test_every_value_out_of_bounds_is_named_not_only_the_first() -> None:
    found = problems(
        buffer_amount=1_000_000_01, buffer_percent=150.0, max_age_hours=0.0, currency="usd"
    )
    assert len(found) == 3
    assert found[2] == (
        "The fixed buffer must be between $0.00 and $1,000,000.00; you typed $1,000,000.01."
    )


@pytest.mark.parametrize(
    ("percent", "typed"), [(1e308, "1e308"), (-1e308, "-1e308"), (1.5e20, "1.5e20")]
)
def test_a_huge_number_is_quoted_as_people_write_it_not_as_python_reformats_it(
    percent: float, typed: str
) -> None:
    """1e308 typed in a box read "you typed 1e+308", a spelling nobody typed."""
    assert said(buffer_percent=percent) == [
        f"The percentage buffer must be between 0 and 100 %; you typed {typed}."
    ]


def test_a_tiny_age_is_quoted_without_pythons_padded_exponent() -> None:
    assert said(max_age_hours=1e-9)[0].endswith("you typed 1e-9.")
