"""An ID with an accepted prefix but cut short (or mangled) is called incomplete, not foreign:
"`cus_` is not an ID this accepts. Use one starting with cus_." told people to do what they did."""

from __future__ import annotations

import pytest

from services.errors import ValidationError
from services.rules import ids


@pytest.mark.parametrize(
    ("typed", "label"),
    [("cus_", "customer"), ("cus_ab", "customer"), ("cus_abc!def", "customer"),
     ("pi_3x", "PaymentIntent"), ("fca_", "Financial Connections account")],
)
def test_an_accepted_prefix_cut_short_is_an_incomplete_id(typed: str, label: str) -> None:
    with pytest.raises(ValidationError) as err:
        ids.parse_id(typed)
    assert str(err.value) == (
        f"`{typed}` is not a complete {label} ID: it is cut short or has characters IDs never "
        "have; copy the whole ID."
    )


def test_a_prefix_this_field_does_not_take_still_names_the_accepted_ones() -> None:
    with pytest.raises(ValidationError, match="is not a Stripe ID accepted here: paste a cus_… ID "
                       "or a Dashboard link."):
        ids.parse_id("pi_", allowed=("customer",))
    with pytest.raises(ValidationError, match="is not a Stripe ID accepted here"):
        ids.parse_id("hello world")


def test_a_rejected_id_quotes_what_was_typed_and_names_what_refuses_it() -> None:
    """"'; drop" read "`drop` is not an ID this accepts.": cleaned, and "this" with no noun."""
    with pytest.raises(ValidationError) as err:
        ids.parse_id("'; drop", allowed=("payment_intent", "customer"), what="Payment lookup")
    assert str(err.value) == (
        "`'; drop` is not a Stripe ID Payment lookup accepts: paste a pi_… or cus_… ID or a "
        "Dashboard link."
    )
    with pytest.raises(ValidationError,
                       match=r"^`x'y \[a\]\(http://e\)` is not a Stripe ID accepted here"):
        ids.parse_id("x`y [a](http://e)")  # a code span: nothing of it draws
    with pytest.raises(ValidationError, match=r"cus_…, fca_…, pm_…, pi_…, py_…, ch_…, seti_…"):
        ids.parse_id("nope")  # each prefix once


def test_a_whole_id_is_accepted() -> None:
    assert ids.parse_id("cus_aZQDwyvN5rYmua8X", allowed=("customer",)) == (
        "cus_aZQDwyvN5rYmua8X", "customer")


def test_an_id_longer_than_any_stripe_id_is_refused_with_its_length() -> None:
    """A 5,000-character cus_AAAA… was cut to 100 on the way and sent to Stripe ("Stripe has no
    customer cus_AAAA…"). Stripe documents no maximum and its SDK types IDs as plain str, so
    fcops' bound is generous (255); one longer is no Stripe ID, whole or cut."""
    longest = "cus_" + "A" * (ids.MAX_ID_LENGTH - 4)
    assert ids.parse_id(longest) == (longest, "customer") and ids.is_id(longest, "cus_")
    assert ids.overlong(longest) is None
    too_long = "cus_" + "A" * 4996
    for text in (too_long, longest + "A"):
        assert not ids.is_id(text, "cus_")
        with pytest.raises(ValidationError) as err:
            ids.parse_id(text, allowed=("customer",))
        assert str(err.value) == ids.overlong(text)
    assert ids.overlong(too_long) == (
        f"`{too_long[:40]}…` is not a Stripe ID: it is 5,000 characters long, and Stripe's IDs "
        "are far shorter (fcops takes at most 255). Copy the ID alone, whole."
    )


@pytest.mark.parametrize(
    ("typed", "limit", "shown"),
    [
        ("flow \ufffd\ufffd", 40, "`flow \\ufffd\\ufffd`"),  # bytes that did not decode
        ("a\x00b\x1b[31mc", 40, "`a\\x00b\\x1b[31mc`"),  # NUL, a terminal colour code
        ("pay\u202eevil", 40, "`pay\\u202eevil`"),  # a right-to-left override
        ("zero\u200bwidth", 40, "`zero\\u200bwidth`"),
        ("a\n b\tc", 40, "`a b c`"),  # one line
        ("x" * 100, 10, "`xxxxxxxxxx…`"),  # cut, and said to be
        ("x" * 10, 10, "`xxxxxxxxxx`"),
        ("\ufffd" * 30, 20, "`\\ufffd\\ufffd\\ufffd…`"),  # escapes count towards the limit
        ("a`b", 40, "`a'b`"),
        ("  ", 40, "''"),
    ],
)
def test_text_from_a_link_is_quoted_printable_escaped_and_cut(typed: str, limit: int, shown: str) -> None:
    assert ids.as_typed(typed, limit) == shown
