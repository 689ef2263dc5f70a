"""People before IDs: the wording of queue rows and picker options (services.rules.people)."""

from __future__ import annotations

import dataclasses

from services.rules import people
from services.rules.intents import microdeposit_item, open_request
from services.rules.people import Person


def test_a_label_names_the_person_bank_amount_and_age_before_the_id() -> None:
    text = people.label(
        person=Person("Ada Lovelace", "ada@x.org"),
        customer_id="cus_1",
        bank="StripeBank",
        last4="6833",
        amount=12_000,
        currency="usd",
        age_seconds=3 * 3_600,
        ident="seti_9",
    )
    assert text == "Ada Lovelace · ada@x.org · StripeBank ••6833 · $120.00 · 3 h ago · seti_9"


def test_missing_parts_are_left_out_and_an_unknown_customer_keeps_its_id() -> None:
    assert people.label(person=Person(None, "a@x.org"), customer_id="cus_1", ident="pi_1") == (
        "a@x.org · pi_1"
    )
    assert people.label(person=None, customer_id="cus_7", ident="seti_2") == (
        "cus_7 (name not synced yet) · seti_2"
    )
    assert people.label(person=None, customer_id=None, ident="seti_3") == "No customer · seti_3"
    assert people.label(person=None, customer_id="cus_7", ident="cus_7") == (
        "cus_7 (name not synced yet)"
    )
    assert people.label(person=Person("Ada", None), customer_id="cus_7", ident="cus_7") == (
        "Ada · cus_7"
    )
    assert people.person_words(None, "cus_7") == "cus_7 (name not synced yet)"


def test_an_anonymous_label_names_no_person_but_keeps_the_customer_id() -> None:
    text = people.label(
        person=Person("Ada", "ada@x.org"),
        customer_id="cus_1",
        bank="StripeBank",
        last4="6833",
        extra="R01",
        ident="pi_1",
        anonymous=True,
    )
    assert text == "StripeBank ••6833 · R01 · cus_1 · pi_1"


def test_bank_words() -> None:
    assert people.bank_words("StripeBank", "6833") == "StripeBank ••6833"
    assert people.bank_words(None, "6833") == "Bank ••6833"
    assert people.bank_words("StripeBank", None) == "StripeBank"
    assert people.bank_words(None, None) == ""


def test_an_account_option_names_bank_last4_and_nickname_before_the_id() -> None:
    assert people.account_option("StripeBank", "6833", "Checking", "fca_1") == (
        "StripeBank ••6833 · Checking · fca_1"
    )
    assert people.account_option(None, None, None, "fca_2") == "fca_2"


def test_a_search_is_an_id_or_a_person() -> None:
    assert people.is_id_search(" seti_1ab")
    assert people.is_id_search("CUS_1")
    assert not people.is_id_search("ada lovelace")
    assert people.person_term("  Ada@X.org ") == "ada@x.org"
    assert people.person_term("pi_123") == ""
    assert people.person_term(None) == ""


def test_first_of() -> None:
    assert people.first_of(50, 1_204, "request") == "first 50 of 1,204 requests"
    assert people.first_of(3, 3, "request") == "3 requests"
    assert people.first_of(1, 1, "request") == "1 request"  # it said "1 open request(s)"


def _intent(**extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "pi_1",
        "object": "payment_intent",
        "customer": "cus_1",
        "status": "requires_action",
        "created": 1_000,
        "amount": 4_250,
        "currency": "usd",
        "next_action": {
            "type": "verify_with_microdeposits",
            "verify_with_microdeposits": {"arrival_date": 2_000, "microdeposit_type": "amounts"},
        },
        "payment_method": {
            "id": "pm_1",
            "us_bank_account": {"bank_name": "StripeBank", "last4": "6833"},
        },
    }
    base.update(extra)
    return base


def test_queue_items_carry_bank_and_amount_from_the_stored_intent() -> None:
    item = microdeposit_item(_intent(), now=1_000 + 7_200)
    assert (item.bank_name, item.last4, item.amount, item.currency) == (
        "StripeBank",
        "6833",
        4_250,
        "usd",
    )
    named = dataclasses.replace(item, person=Person("Ada", "ada@x.org"))
    assert named.label == "Ada · ada@x.org · StripeBank ••6833 · $42.50 · 2 h ago · pi_1"


def test_an_unexpanded_payment_method_gives_no_bank_and_a_setup_intent_no_amount() -> None:
    row = open_request(
        _intent(id="seti_1", object="setup_intent", payment_method="pm_1", amount=None),
        now=1_060,
    )
    assert (row.bank_name, row.last4) == (None, None)
    assert row.label == "cus_1 (name not synced yet) · 60 s ago · seti_1"
    assert people.intent_amount({"amount": True, "currency": "usd"}) == (None, None)


def test_a_table_cell_says_the_start_of_an_unsynced_customers_id() -> None:
    """Beside a Customer ID column the cell fits a narrow column: "cus_0uun… · not synced"."""
    assert people.person_cell(None, "cus_0uunEsDHEWsujifaPVgZA6gp") == "cus_0uun… · not synced"
    assert people.person_cell(None, "cus_7") == "cus_7 · not synced"
    assert people.person_cell(Person("Ada", None), "cus_0uunEsDHEWsujifaPVgZA6gp") == "Ada"
    assert people.person_cell(None, None) == people.NO_CUSTOMER
