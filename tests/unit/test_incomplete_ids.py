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
    with pytest.raises(ValidationError, match="is not an ID this accepts. Use one starting "
                       "with cus_."):
        ids.parse_id("pi_", allowed=("customer",))
    with pytest.raises(ValidationError, match="is not an ID this accepts"):
        ids.parse_id("hello world")


def test_a_whole_id_is_accepted() -> None:
    assert ids.parse_id("cus_aZQDwyvN5rYmua8X", allowed=("customer",)) == (
        "cus_aZQDwyvN5rYmua8X", "customer")
