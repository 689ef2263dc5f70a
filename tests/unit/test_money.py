from __future__ import annotations

import pytest

from components.money import MISSING, format_compact, format_money, metric_money
from services.rules.money import (
    CURRENCY_EXPONENTS,
    MoneyError,
    exponent,
    format_plain,
    parse_amount,
    validate_currency,
)


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("1,234.56", "usd", 123456),
        ("$1234.5", "usd", 123450),
        ("1234", "usd", 123400),
        (" 12.30 ", "usd", 1230),
        ("0.01", "usd", 1),
        (".5", "usd", 50),
        ("12.", "usd", 1200),
        ("+7", "usd", 700),
        ("12.500", "usd", 1250),
        ("1,000,000", "usd", 100000000),
        ("€5", "eur", 500),
        ("¥500", "jpy", 500),
        ("1,234.567", "kwd", 1234567),
        ("99,999,999.99", "usd", 9999999999),
        ("5", "USD", 500),
    ],
)
def test_parse_amount_turns_typed_major_units_into_minor_units(
    text: str, currency: str, expected: int
) -> None:
    assert parse_amount(text, currency) == expected


@pytest.mark.parametrize(
    ("text", "currency", "fragment"),
    [
        ("", "usd", "required"),
        ("   ", "usd", "required"),
        ("abc", "usd", "not an amount"),
        ("-5", "usd", "negative"),
        ("$-5", "usd", "negative"),
        ("(5.00)", "usd", "negative"),
        ("-0", "usd", "'-0' is zero; enter an amount greater than zero"),  # not "negative"
        ("$-0.00", "usd", "is zero; enter"),
        ("0", "usd", "zero"),
        ("0.00", "usd", "zero"),
        ("1.234", "usd", "at most 2 decimal places"),
        ("12.5", "jpy", "no decimal places"),
        ("1e5", "usd", "not an amount"),
        ("NaN", "usd", "not an amount"),
        ("inf", "usd", "not an amount"),
        ("100,000,000", "usd", "larger than"),
        ("99999999.991", "usd", "larger than"),
        ("1,23", "usd", "not an amount"),
        ("1 234", "usd", "not an amount"),
        ("１２", "usd", "not an amount"),
        ("€5", "usd", "symbol €"),
        ("1.2.3", "usd", "not an amount"),
    ],
)
def test_parse_amount_refuses_doubtful_input_with_a_reason(
    text: str, currency: str, fragment: str
) -> None:
    with pytest.raises(MoneyError) as info:
        parse_amount(text, currency)
    assert fragment in str(info.value)


def test_money_error_is_a_value_error_so_generic_handlers_still_catch_it() -> None:
    with pytest.raises(ValueError):
        parse_amount("abc", "usd")


def test_zero_is_accepted_only_when_the_caller_allows_it() -> None:
    assert parse_amount("0.00", "usd", allow_zero=True) == 0
    with pytest.raises(MoneyError):
        parse_amount("0.00", "usd")


def test_parse_amount_rejects_non_text_input() -> None:
    with pytest.raises(MoneyError, match="text"):
        parse_amount(12.5, "usd")  # type: ignore[arg-type]


def test_parse_amount_rejects_a_bad_currency_before_looking_at_the_amount() -> None:
    with pytest.raises(MoneyError, match="currency"):
        parse_amount("5", "dollars")


@pytest.mark.parametrize(("code", "expected"), [("usd", "usd"), (" EUR ", "eur"), ("Jpy", "jpy")])
def test_validate_currency_normalises_to_lowercase(code: str, expected: str) -> None:
    assert validate_currency(code) == expected


@pytest.mark.parametrize("code", ["", "us", "usdd", "u$d", "xyz", "uds", "123"])
def test_validate_currency_refuses_anything_but_a_known_iso_code(code: str) -> None:
    with pytest.raises(MoneyError):
        validate_currency(code)


def test_exponent_uses_the_table_and_defaults_to_two_decimals() -> None:
    assert exponent("jpy") == 0
    assert exponent("KWD") == 3
    assert exponent("chf") == 2
    assert "chf" not in CURRENCY_EXPONENTS


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (123456, "usd", "$1,234.56"),
        (-1200, "usd", "-$12.00"),
        (500, "jpy", "¥500"),
        (5, "usd", "$0.05"),
    ],
)
def test_format_plain_writes_amounts_as_people_read_them(
    amount: int, currency: str, expected: str
) -> None:
    assert format_plain(amount, currency) == expected


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (123456, "usd", "$1,234.56"),
        (-1200, "usd", "-$12.00"),
        (500, "eur", "€5.00"),
        (500, "jpy", "¥500"),
        (123456, "chf", "1,234.56 CHF"),
        (0, "usd", "$0.00"),
        (7, "gbp", "£0.07"),
        (1234567, "kwd", "1,234.567 KWD"),
        (100, "USD", "$1.00"),
    ],
)
def test_format_money_uses_symbols_for_common_currencies_and_codes_otherwise(
    amount: int, currency: str, expected: str
) -> None:
    assert format_money(amount, currency) == expected


@pytest.mark.parametrize(("amount", "currency"), [(None, "usd"), (100, None), (None, None)])
def test_format_money_shows_a_dash_when_amount_or_currency_is_missing(
    amount: int | None, currency: str | None
) -> None:
    assert format_money(amount, currency) == MISSING


@pytest.mark.parametrize("text", ["1,234.56", "0.07", "99,999,999.99", "12.30"])
def test_parsing_what_format_money_wrote_gives_back_the_same_minor_units(text: str) -> None:
    minor = parse_amount(text, "usd")
    assert parse_amount(format_money(minor, "usd"), "usd") == minor


def test_minus_zero_where_zero_is_allowed_says_to_drop_the_sign() -> None:
    """Debit policy's buffer may be 0; "-0" was refused as "negative", which zero is not."""
    with pytest.raises(MoneyError, match="'-0' is zero written with a minus sign; type 0 without it"):
        parse_amount("-0", "usd", allow_zero=True)
    with pytest.raises(MoneyError, match="negative"):
        parse_amount("-0.01", "usd", allow_zero=True)


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (9_999_999_900, "usd", "$100.0M"),  # rounded half up: the Stripe Dashboard's "$100.0M"
        (99_999_900, "usd", "$1.0M"),  # not "$1,000.0K"
        (123_456_789_012, "eur", "€1.2B"),
        (1_250_000, "chf", "12.5K CHF"),
        (500_000_000, "jpy", "¥500.0M"),  # no minor unit
        (-123_456_789, "usd", "-$1.2M"),  # the hyphen-minus, as format_money
        (7_500, "usd", "$75.00"),  # under 1,000: exact
    ],
)
def test_a_large_amount_is_compact_in_its_currency(amount: int, currency: str, shown: str) -> None:
    assert format_compact(amount, currency) == shown


def test_a_metric_shows_money_whole_or_compact_with_the_exact_figure_for_its_help() -> None:
    assert metric_money({"usd": 9_999_999_900}) == ("$100.0M", "Exactly $99,999,999.00.")
    assert metric_money({"usd": 999_999_999}) == ("$9,999,999.99", "")  # 13 characters fit
    assert metric_money({"usd": 7_500}) == ("$75.00", "")
    assert metric_money({}) == ("$0.00", "")
    two = metric_money({"usd": 500_000_000, "eur": 1_000})
    assert two == ("€10.00 + $5.0M", "Exactly €10.00 + $5,000,000.00.")
