"""Table cells hold numbers: money in major units, ages in seconds, times as UTC datetimes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

import pandas as pd
import pytest
from streamlit.column_config import NumberColumn

from components.money import format_money
from services.rules.table_values import (
    age_seconds,
    major_units,
    money_format,
    one_currency,
    seconds,
    utc_date,
    utc_time,
)


def test_major_units_follow_the_currency_exponent() -> None:
    assert major_units(923332, "usd") == 9233.32
    assert major_units(-1234, "USD") == -12.34
    assert major_units(500, "jpy") == 500
    assert major_units(1234, "kwd") == 1.234
    assert major_units(None, "usd") is None
    assert major_units(100, None) is None
    assert major_units(100, " ") is None


def test_money_sorts_numerically_once_converted() -> None:
    # The bug: as text "$919.76" sorted above "$9,233.32".
    frame = pd.DataFrame({"Balance": [major_units(91976, "usd"), major_units(923332, "usd")]})
    assert list(frame.sort_values("Balance", ascending=False)["Balance"]) == [9233.32, 919.76]


def test_one_currency_only_when_the_column_has_exactly_one() -> None:
    assert one_currency(["usd", "USD", None, ""]) == "usd"
    assert one_currency(["usd", "eur"]) is None
    assert one_currency([None, ""]) is None
    assert one_currency(["usd", float("nan")]) == "usd"  # a frame's empty cell is no currency


def test_money_format_uses_presets_or_the_right_decimals() -> None:
    assert money_format("usd") == "dollar"
    assert money_format("eur") == "euro"
    assert money_format("jpy") == "yen"
    assert money_format("chf") == "%,.2f CHF"
    assert money_format("kwd") == "%,.3f KWD"
    assert money_format("clp") == "%,.0f CLP"
    assert money_format(None) == "localized"


def _sprintf_js(fmt: str, value: float) -> str:
    """What Streamlit's sprintf-js draws for a ``%[,][.N]f`` format (its ``,`` flag groups the
    whole part in threes with commas; ``.N`` is toFixed(N)): the cell a person reads."""
    found = re.fullmatch(r"(.*?)%(,?)(?:\.(\d+))?f(.*)", fmt)
    assert found, fmt
    before, group, places, after = found.groups()
    spec = f"{',' if group else ''}.{int(places) if places else 6}f"
    return f"{before}{format(value, spec)}{after}"


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [(123456789, "chf", "1,234,567.89 CHF"), (-123456789, "cad", "-1,234,567.89 CAD"),
     (123456789, "clp", "123,456,789 CLP"), (123456789, "kwd", "123,456.789 KWD"),
     (99, "sek", "0.99 SEK"), (100000, "krw", "100,000 KRW"), (123456, "bhd", "123.456 BHD")],
)  # fmt: skip
def test_a_one_currency_column_reads_like_the_rest_of_fcops(
    amount: int, currency: str, shown: str
) -> None:
    """"1234567.89 CHF" in a table, "1,234,567.89 CHF" everywhere else: every currency the
    presets do not cover is grouped in thousands, with its own number of decimals."""
    fmt = money_format(currency)
    units = major_units(amount, currency)
    assert units is not None
    assert _sprintf_js(fmt, units) == shown == format_money(amount, currency)
    NumberColumn("Amount", format=fmt)  # Streamlit takes it


def test_pounds_are_grouped_too_with_the_code_after_the_figure() -> None:
    """No Streamlit preset draws £, and a "£%,.2f" prefix would draw "£-12.00" for a negative
    amount: the code follows the figure, as for every currency without a preset."""
    assert _sprintf_js(money_format("gbp"), -1234567.89) == "-1,234,567.89 GBP"


def test_ages_are_seconds_so_7_h_sorts_before_19_h() -> None:
    now = 1_000_000
    ages = [age_seconds(now, now - 19 * 3600), age_seconds(now, now - 7 * 3600)]
    assert ages == [68_400.0, 25_200.0] and sorted(a for a in ages if a is not None)[0] == 25_200
    assert seconds(3 * 86_400) == 259_200.0 and seconds(None) is None
    assert age_seconds(now, None) is None and age_seconds(now, 0) is None


def test_utc_time_is_aware_utc() -> None:
    assert utc_time(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert utc_time(None) is None
    assert utc_date(86_400 * 2 - 1) == date(1970, 1, 2) and utc_date(None) is None
    naive = datetime(2026, 1, 2, 3, 4)
    assert utc_time(naive) == datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    elsewhere = datetime(2026, 1, 2, 5, 4, tzinfo=timezone(timedelta(hours=2)))
    assert utc_time(elsewhere) == datetime(2026, 1, 2, 3, 4, tzinfo=UTC)

