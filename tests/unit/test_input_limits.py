"""services.rules.input_limits: one place for text, pattern, number and Stripe-length rules."""

from __future__ import annotations

import math
import re

import pytest

from services.errors import ValidationError
from services.rules import input_limits as lim


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("a\x00b", "NUL byte"),
        ("\x00", "NUL byte"),
        ("tab\there", "U+0009"),
        ("bell\x07", "U+0007"),
        ("esc\x1b[31m", "U+001B"),
        ("del\x7f", "U+007F"),
        ("line\nbreak", "U+000A"),
        ("rtl\u202etxt", "U+202E"),
        ("zero\u200bwidth", "U+200B"),
        ("c1\x85", "U+0085"),
    ],
)
def test_nul_and_control_characters_are_refused_by_name(raw: str, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        lim.clean_text(raw, field="The name", max_length=100)


def test_newlines_are_allowed_only_where_asked_and_text_is_stripped() -> None:
    assert (
        lim.clean_text("  two\nlines\t ", field="A note", max_length=50, newlines=True)
        == "two\nlines"
    )
    assert lim.clean_text(None, field="x", max_length=5) == ""
    with pytest.raises(ValidationError, match="^Enter the name.$"):
        lim.clean_text("   ", field="The name", max_length=5, required=True)
    # A Stripe field's sentence names it as people do (it said "Enter Customer email.")
    with pytest.raises(ValidationError, match="^Enter the customer's email.$"):
        lim.stripe_text("  ", field="customer.email", required=True)
    with pytest.raises(ValidationError, match="^The customer's name is 300 characters long"):
        lim.stripe_text("n" * 300, field="customer.name")
    with pytest.raises(ValidationError, match="must be text"):
        lim.clean_text(12, field="The name", max_length=5)


def test_lengths_are_counted_after_stripping_and_named_in_the_message() -> None:
    assert lim.clean_text(" " + "a" * 10 + " ", field="x", max_length=10) == "a" * 10
    with pytest.raises(ValidationError, match="11 characters long; at most 10"):
        lim.clean_text("a" * 11, field="x", max_length=10)
    with pytest.raises(ValidationError, match="10,000 characters long; at most 200"):
        lim.search_term("x" * 10_000)


@pytest.mark.parametrize(
    ("term", "pattern"),
    [
        ("50%", "%50\\%%"),
        ("a_b", "%a\\_b%"),
        ("back\\slash", "%back\\\\slash%"),
        ("plain", "%plain%"),
        ("%_%", "%\\%\\_\\%%"),
    ],
)
def test_like_patterns_escape_wildcards(term: str, pattern: str) -> None:
    assert lim.like_contains(term) == pattern
    assert lim.like_prefix(term) == pattern[1:]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 0), (720, 720), ("24", 24), (" 1,000 ", 1000), (48.0, 48), ("+5", 5)],
)
def test_bounded_int_accepts_whole_numbers_in_range(value: object, expected: int) -> None:
    assert lim.bounded_int(value, field="Max age", minimum=0, maximum=1000) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (10**20, "between 0 h and 720 h"),
        (-1, "between 0 h and 720 h"),
        (721, "got 721 h"),
        (True, "whole number"),
        (None, "whole number"),
        (1.5, "whole number"),
        (math.nan, "whole number"),
        (math.inf, "whole number"),
        ("1e3", "not '1e3'"),
        ("ten", "not 'ten'"),
        ("", "Enter"),
        ("1\x002", "NUL"),
        ([1], "whole number"),
    ],
)
def test_bounded_int_refuses_everything_else(value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        lim.bounded_int(value, field="Max age", minimum=0, maximum=720, unit="h")


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, "nan", "inf", 101, -0.5, True, "x"]
)
def test_bounded_number_refuses_non_finite_and_out_of_range(value: object) -> None:
    with pytest.raises(ValidationError):
        lim.bounded_number(value, field="Share", minimum=0, maximum=100, unit="%")
    assert lim.bounded_number("12.5", field="Share", minimum=0, maximum=100) == 12.5


def test_stripe_lengths_are_enforced_before_the_call() -> None:
    assert lim.stripe_text("x" * 256, field="customer.name") == "x" * 256
    with pytest.raises(ValidationError, match="10,000 characters long; at most 256"):
        lim.stripe_text("x" * 10_000, field="customer.name")
    with pytest.raises(ValidationError, match="at most 512"):
        lim.stripe_text("a" * 5_000 + "@example.com", field="customer.email")
    with pytest.raises(ValidationError, match="not a complete email"):
        lim.stripe_text("no-at-sign", field="customer.email")
    with pytest.raises(ValidationError, match="at most 22"):
        lim.stripe_text("ACME PAYMENTS INTERNATIONAL", field="statement_descriptor")
    with pytest.raises(ValidationError, match="may not contain"):
        lim.stripe_text("ACME <b>", field="statement_descriptor")
    with pytest.raises(ValidationError, match="at most 255"):
        lim.stripe_text("k" * 256, field="idempotency_key")


def test_stripe_metadata_limits() -> None:
    assert lim.stripe_metadata({"order": 12, " note ": None}) == {"order": "12", "note": ""}
    with pytest.raises(ValidationError, match="51 keys"):
        lim.stripe_metadata({f"k{i}": "v" for i in range(51)})
    with pytest.raises(ValidationError, match="at most 40"):
        lim.stripe_metadata({"k" * 41: "v"})
    with pytest.raises(ValidationError, match=r"\[ or \]"):
        lim.stripe_metadata({"a[b]": "v"})
    with pytest.raises(ValidationError, match="at most 500"):
        lim.stripe_metadata({"k": "v" * 501})
    with pytest.raises(ValidationError, match="NUL"):
        lim.stripe_metadata({"k": "v\x00"})


def test_stripe_lengths_come_from_the_table_the_sandbox_enforces() -> None:
    from services.rules import stripe_api

    for name, param in (("customer.name", "name"), ("customer.email", "email")):
        assert lim.STRIPE_LIMITS[name] == stripe_api.length_limit("/v1/customers", param)
    assert lim.STRIPE_LIMITS["metadata.value"] == stripe_api.METADATA_VALUE_LENGTH
