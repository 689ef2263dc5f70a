"""Someone's text inside a sentence drawn as Markdown is shown as typed, never drawn: an ID
pasted (or carried by a link) as ``[sign in](https://…)`` must not be a link in fcops' error."""

from __future__ import annotations

import pytest

from components.literal import plain
from services.errors import ValidationError
from services.rules import ids

CRAFTED = "**Urgent** [sign in again](https://evil.example/login)"


def test_an_id_that_is_not_one_is_echoed_in_a_code_span() -> None:
    with pytest.raises(ValidationError) as err:
        ids.parse_id(CRAFTED)
    message = str(err.value)
    assert message.startswith("`**Urgent** [sign in again](https://evil.example/login)`")
    assert message.count("`") == 2
    with pytest.raises(ValidationError) as err:
        ids.parse_id("pi_`x`](https://evil.example)")
    assert str(err.value).count("`") == 2  # its own backticks cannot close the span


def test_a_link_parameter_is_a_customer_id_only_when_well_formed() -> None:
    assert ids.is_id("cus_aZQDwyvN5rYmua8XxHqPRLhV", "cus_")
    assert not ids.is_id("cus_x) [sign in](https://evil.example) (", "cus_")
    assert not ids.is_id("pi_aZQDwyvN5rYmua8X", "cus_")
    assert not ids.is_id("cus_", "cus_")


def test_a_name_is_plain_words_inside_markdown() -> None:
    shown = plain("Ann [sign in](https://evil.example) *Lee* :red[x]")
    assert "[" not in shown.replace("\\[", "") and "](" not in shown
    assert shown.replace("\\", "") == "Ann [sign in](https://evil.example) *Lee* :red[x]"
    assert plain("José O'Brien") == "José O'Brien"


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        ("https://dashboard.stripe.com/test/payments/pi_8KReSuBoN7dMCEJiPFWxZs76", "pi_8KReSuBoN7dMCEJiPFWxZs76"),
        ("dashboard.stripe.com/customers/cus_aZQDwyvN5rYmua8XxHqPRLhV?tab=x", "cus_aZQDwyvN5rYmua8XxHqPRLhV"),
        (" pi_8KReSuBoN7dMCEJiPFWxZs76_secret_abcdef ", "pi_8KReSuBoN7dMCEJiPFWxZs76"),
        ("seti_1AbcDef_secret_xyz", "seti_1AbcDef"),
        ("fca_123abc", "fca_123abc"),
        ("https://evil.example/login", "https://evil.example/login"),  # no ID in it: as pasted
    ],
)
def test_ids_are_taken_out_of_dashboard_urls_and_client_secrets(pasted: str, expected: str) -> None:
    assert ids.clean_id(pasted) == expected
