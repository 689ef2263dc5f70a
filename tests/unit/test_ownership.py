"""Ownership matching: bank account owners (Financial Connections) vs the Stripe customer.

Scores are checked against the module's own thresholds (match / partial / mismatch bands)
and against each other (an exact name beats a nickname), never against magic numbers.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from services.rules.owners import (
    NAME_MATCH,
    NAME_MISMATCH,
    FieldMatch,
    OwnershipMatch,
    compare_addresses,
    compare_emails,
    compare_names,
    compare_phones,
    match_owners,
    parse_raw_address,
)

# --------------------------------------------------------------------------- helpers


def customer(**fields: Any) -> dict[str, Any]:
    """A Stripe customer dict with every field present (null where unset), like the API."""
    base: dict[str, Any] = {
        "id": "cus_test",
        "object": "customer",
        "name": None,
        "email": None,
        "phone": None,
        "address": None,
        "description": None,
        "metadata": {},
    }
    base.update(fields)
    return base


def owner(name: str | None, **fields: Any) -> dict[str, Any]:
    """A financial_connections.account_owner dict: only ``name`` is always present."""
    base: dict[str, Any] = {
        "id": "fcaown_test",
        "object": "financial_connections.account_owner",
        "ownership": "fcaowns_test",
        "name": name,
        "email": None,
        "phone": None,
        "raw_address": None,
        "refreshed_at": 1_700_000_000,
    }
    base.update(fields)
    return base


class IndexOnly:
    """Like a StripeObject: ``obj["k"]`` works, ``.get()`` does not exist."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        return IndexOnly(value) if isinstance(value, dict) else value


SF_ADDRESS = {
    "line1": "510 Townsend St",
    "line2": None,
    "city": "San Francisco",
    "state": "CA",
    "postal_code": "94103",
    "country": "US",
}

# --------------------------------------------------------------------------- names: same person


@pytest.mark.parametrize(
    ("customer_name", "owner_name", "explained_by"),
    [
        ("John Smith", "John Smith", "identical"),
        ("John Smith", "JOHN SMITH", "case"),
        ("John Smith", "  john   smith ", "case"),
        ("José Núñez", "JOSE NUNEZ", "accents"),
        ("Sean O'Brien", "SEAN OBRIEN", "case"),
        ("John Smith", "SMITH, JOHN", "Surname, Given"),
        ("John Smith", "SMITH JOHN", "surname first"),
        ("John Smith", "John Q. Smith", "middle initial Q ignored"),
        ("John Smith", "John Quincy Smith", "middle name Quincy ignored"),
        ("John Quincy Smith", "JOHN Q SMITH", "Q = Quincy"),
        ("Bob Smith", "SMITH, ROBERT J", "nickname Bob = Robert"),
        ("Bill Jones", "WILLIAM JONES", "nickname Bill = William"),
        ("Liz Taylor", "Elizabeth Taylor", "nickname Liz = Elizabeth"),
        ("Beth Taylor", "Liz Taylor", "both Elizabeth"),
        ("Peggy Olson", "MARGARET OLSON", "nickname Peggy = Margaret"),
        ("Dick Grayson", "Richard Grayson", "nickname Dick = Richard"),
        ("Jim Halpert", "James Halpert", "nickname Jim = James"),
        ("Kate Bishop", "Catherine Bishop", "Kate and Catherine"),
        ("Kate Bishop", "Katherine Bishop", "Kate = Katherine"),
        ("Tony Stark", "ANTHONY STARK", "nickname Tony = Anthony"),
        ("Chuck Bartowski", "Charles Bartowski", "nickname Chuck = Charles"),
        ("Sasha Ivanov", "ALEXANDER IVANOV", "nickname Sasha = Alexander"),
        ("Wm. H. Gates", "William Henry Gates III", "Wm = William"),
        ("John Smith Jr.", "JOHN SMITH", "suffix Jr ignored"),
        ("John Smith", "JOHN SMITH III", "suffix III ignored"),
        ("Dr. John Smith", "JOHN SMITH", "title Dr ignored"),
        ("Mrs. Jane Smith", "Jane Smith", "title Mrs ignored"),
        ("Maria Garcia", "MARIA GARCIA LOPEZ", "second surname Lopez ignored"),
        ("María García-López", "MARIA GARCIA LOPEZ", "written differently"),
        ("Maria Garcia", "GARCIA LOPEZ, MARIA", "second surname Lopez ignored"),
        ("Ana Maria Gomez Ruiz", "GOMEZ RUIZ ANA MARIA", "surname first"),
        ("Juan de la Cruz", "JUAN DELACRUZ", "written differently"),
        ("Mary Ann Smith", "MARYANN SMITH", "written differently"),
        ("Jonh Smith", "John Smith", "spelling Jonh ~ John"),
        ("John Smtih", "JOHN SMITH", "spelling Smtih ~ Smith"),
        ("Micheal Brown", "Michael Brown", "spelling"),
        ("J. Robert Smith", "ROBERT SMITH", "goes by middle name Robert"),
        ("Smith, John, Jr.", "JOHN SMITH JR", "Surname, Given"),
        ("Ronald McDonald", "RONALD MC DONALD", "written differently"),
        ("Ludwig van Beethoven", "LUDWIG BEETHOVEN", "written differently"),
        ("Jean-Pierre Dupont", "JEANPIERRE DUPONT", "written differently"),
        ("Xiaoming Wang", "WANG XIAOMING", "surname first"),
        ("Jack Kennedy", "JOHN F KENNEDY", "nickname Jack = John"),
    ],
)
def test_names_written_differently_are_the_same_person(
    customer_name: str, owner_name: str, explained_by: str
) -> None:
    score, detail = compare_names(customer_name, owner_name)

    assert score >= NAME_MATCH, detail
    assert detail.startswith("same person"), detail
    assert explained_by.lower() in detail.lower()


# --------------------------------------------------------------------------- names: plausible


@pytest.mark.parametrize(
    ("customer_name", "owner_name", "explained_by"),
    [
        ("J. Smith", "JOHN SMITH", "initial (J = John)"),
        ("John Smith", "J SMITH", "initial (J = John)"),
        ("J Smith", "Jane Smith", "initial"),
        ("John Q Smith", "JOHN R SMITH", "middle names differ (Q vs R)"),
        ("Robert Smith Jr", "ROBERT SMITH SR", "suffixes differ (Jr vs Sr)"),
        ("Smith", "JOHN SMITH", "only one name"),
        ("Bob", "Robert Smith", "only one name"),
        ("Jonh Smtih", "John Smith", "spelling"),
    ],
)
def test_weaker_name_evidence_is_plausible_but_not_a_match(
    customer_name: str, owner_name: str, explained_by: str
) -> None:
    score, detail = compare_names(customer_name, owner_name)

    assert NAME_MISMATCH <= score < NAME_MATCH, detail
    assert detail.startswith("possibly the same"), detail
    assert explained_by.lower() in detail.lower()


# --------------------------------------------------------------------------- names: different


@pytest.mark.parametrize(
    ("customer_name", "owner_name"),
    [
        ("Robert Smith", "Roberta Smith"),
        ("John Smith", "Jane Smith"),
        ("Mario Rossi", "MARIA ROSSI"),
        ("Francis Underwood", "Frances Underwood"),
        ("Daniel Craig", "Daniela Craig"),
        ("Christopher Evans", "CHRISTINA EVANS"),
        ("Jane Smith", "June Smith"),
        ("Mark Lee", "Mary Lee"),
        ("John Smith", "John Doe"),
        ("Jane Smith", "Jane Doe"),
        ("John Smith", "Mary Jones"),
        ("John Smith", "Quincy Adams"),
        ("Maria Garcia Lopez", "MARIA PEREZ SANCHEZ"),
        ("Acme Widgets Inc", "John Smith"),
        ("John Smith", "ACME WIDGETS LLC"),
        ("John Smith", "JANE SMITH POD JOHN SMITH"),
    ],
)
def test_different_people_do_not_match(customer_name: str, owner_name: str) -> None:
    score, detail = compare_names(customer_name, owner_name)

    assert score < NAME_MISMATCH, detail


def test_first_name_conflict_is_named_in_the_explanation() -> None:
    _, detail = compare_names("Robert Smith", "Roberta Smith")

    assert detail == "different person: first names differ (Robert vs Roberta)"


def test_exact_beats_nickname_beats_initial() -> None:
    exact, _ = compare_names("Robert Smith", "ROBERT SMITH")
    nickname, _ = compare_names("Bob Smith", "ROBERT SMITH")
    initial, _ = compare_names("R. Smith", "ROBERT SMITH")

    assert exact > nickname > initial


def test_a_middle_initial_costs_less_than_a_first_initial() -> None:
    middle, _ = compare_names("John Q Smith", "JOHN SMITH")
    first, _ = compare_names("J Smith", "JOHN SMITH")

    assert middle > first


def test_the_same_suffix_on_both_sides_costs_nothing() -> None:
    with_suffix, detail = compare_names("Smith, John, Jr.", "JOHN SMITH JR")
    without, _ = compare_names("Smith, John", "JOHN SMITH")

    assert with_suffix == without
    assert "suffix" not in detail


def test_a_typo_scores_below_the_correct_spelling() -> None:
    typo, _ = compare_names("Jonh Smith", "John Smith")
    exact, _ = compare_names("John Smith", "John Smith")

    assert typo < exact


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Bob Smith", "SMITH, ROBERT J"),
        ("John Smith", "Jane Smith"),
        ("J. Smith", "John Smith"),
        ("Maria Garcia", "MARIA GARCIA LOPEZ"),
        ("Acme Widgets, Inc.", "ACME WIDGETS LLC"),
        ("Jane Smith", "John & Jane Smith"),
        ("Jonh Smith", "John Smith"),
    ],
)
def test_name_scores_do_not_depend_on_which_side_is_which(a: str, b: str) -> None:
    assert compare_names(a, b)[0] == compare_names(b, a)[0]


@pytest.mark.parametrize("blank", ["", "   ", None, ".,-", 42])
def test_a_missing_name_scores_zero_and_says_so(blank: Any) -> None:
    score, detail = compare_names(blank, "John Smith")

    assert score == 0
    assert "no name" in detail or "nothing" in detail


# --------------------------------------------------------------------------- names: businesses


@pytest.mark.parametrize(
    ("customer_name", "owner_name", "explained_by"),
    [
        ("Acme Widgets, Inc.", "ACME WIDGETS INC", "same business"),
        ("Acme Widgets Inc", "ACME WIDGETS INCORPORATED", "same business"),
        ("Acme Widgets", "ACME WIDGETS INC", "Inc ignored"),
        ("The Acme Company", "ACME CO", "'The' ignored"),
        ("Smith & Sons Plumbing", "SMITH AND SONS PLUMBING LLC", "LLC ignored"),
        ("Acme Widgets L.L.C.", "Acme Widgets LLC", "same business"),
        ("Acme Widget Corp", "ACME WIDGETS CORPORATION", "same business"),
        ("Acme Intl Holdings", "ACME INTERNATIONAL HOLDINGS INC", "same business"),
        ("Smith Plumbing", "JOHN SMITH DBA SMITH PLUMBING", "SMITH PLUMBING"),
        ("Smith & Wesson", "SMITH AND WESSON", "same business"),
        ("Smith Plumbing LLC", "John Smith d/b/a Smith Plumbing LLC", "Smith Plumbing LLC"),
    ],
)
def test_business_names_match_across_legal_forms_and_punctuation(
    customer_name: str, owner_name: str, explained_by: str
) -> None:
    score, detail = compare_names(customer_name, owner_name)

    assert score >= NAME_MATCH, detail
    assert explained_by.lower() in detail.lower()


def test_same_business_name_with_a_different_legal_form_is_flagged() -> None:
    same_form, _ = compare_names("Acme Widgets Inc", "ACME WIDGETS INC")
    other_form, detail = compare_names("Acme Widgets LLC", "ACME WIDGETS INC")

    assert other_form < same_form
    assert "legal forms differ (LLC vs Inc)" in detail


@pytest.mark.parametrize(
    ("customer_name", "owner_name"),
    [
        ("Acme Widgets", "ACME WIDGETS SUPPLY CO"),
        ("John Smith", "JOHN SMITH PLUMBING LLC"),
        ("John Smith", "THE JOHN SMITH REVOCABLE TRUST"),
    ],
)
def test_a_business_sharing_part_of_the_name_is_only_plausible(
    customer_name: str, owner_name: str
) -> None:
    score, detail = compare_names(customer_name, owner_name)

    assert NAME_MISMATCH <= score < NAME_MATCH, detail


def test_a_business_owner_against_an_unrelated_person_is_explained() -> None:
    score, detail = compare_names("Jenny Rosen", "ACME WIDGETS INC")

    assert score < NAME_MISMATCH
    assert "one name is a business, the other a person" in detail


def test_a_person_who_is_the_dba_owner_matches_by_their_own_name() -> None:
    score, detail = compare_names("John Smith", "JOHN SMITH DBA SMITH PLUMBING")

    assert score >= NAME_MATCH, detail


# --------------------------------------------------------------------------- names: joint owners


@pytest.mark.parametrize(
    "owner_name",
    [
        "JOHN SMITH AND JANE SMITH",
        "John & Jane Smith",
        "JOHN + JANE SMITH",
        "SMITH, JOHN & JANE",
        "SMITH JOHN AND JANE",
        "JOHN SMITH, JANE SMITH",
        "JOHN SMITH OR JANE SMITH",
        "JOHN SMITH & JANE SMITH JTWROS",
        "JANE SMITH ITF JOHN SMITH",
    ],
)
def test_a_customer_named_inside_a_joint_owner_string_matches(owner_name: str) -> None:
    score, detail = compare_names("Jane Smith", owner_name)

    assert score >= NAME_MATCH, detail


def test_joint_owner_string_explains_which_person_matched() -> None:
    _, detail = compare_names("Jane Smith", "JOHN SMITH AND JANE SMITH")

    assert "'Jane Smith' is person 2 of 2" in detail


@pytest.mark.parametrize(
    "owner_name",
    ["John & Jane Smith", "JOHN AND JANE SMITH", "JOHN SMITH AND JANE DOE"],
)
def test_a_stranger_is_not_matched_by_a_joint_owner_string(owner_name: str) -> None:
    score, _ = compare_names("Mary Jones", owner_name)

    assert score < NAME_MISMATCH


def test_a_borrowed_surname_does_not_match_a_different_surname() -> None:
    score, _ = compare_names("Jane Doe", "John & Jane Smith")

    assert score < NAME_MISMATCH


def test_a_payable_on_death_beneficiary_is_not_an_owner() -> None:
    beneficiary, _ = compare_names("John Smith", "JANE SMITH POD JOHN SMITH")
    holder, _ = compare_names("Jane Smith", "JANE SMITH POD JOHN SMITH")

    assert beneficiary < NAME_MISMATCH <= NAME_MATCH <= holder


# --------------------------------------------------------------------------- email


@pytest.mark.parametrize(
    ("a", "b", "band"),
    [
        ("jenny@example.com", "jenny@example.com", "exact"),
        ("Jenny@Example.com", "jenny@EXAMPLE.COM", "exact"),
        ("jenny.rosen@gmail.com", "jennyrosen@gmail.com", "high"),
        ("jennyrosen@gmail.com", "jennyrosen+bank@googlemail.com", "high"),
        ("nobody@stripe.com", "nobody+janesmith@stripe.com", "high"),
        ("jenny.rosen@work.com", "jenny.rosen@home.org", "high"),
        ("jenny@acme.com", "bob@acme.com", "low"),
        ("jenny@gmail.com", "bob@gmail.com", "low"),
        ("info@acme.com", "info@other.com", "low"),
        ("jenny.rosen@work.com", "jennyrosen@home.org", "low"),
    ],
)
def test_email_scores_by_how_surely_it_is_the_same_mailbox(a: str, b: str, band: str) -> None:
    score, detail = compare_emails(a, b)

    assert score is not None
    if band == "exact":
        assert score == 100
    elif band == "high":
        assert NAME_MATCH - 10 <= score < 100, detail
    else:
        assert score < NAME_MISMATCH, detail


def test_dots_in_a_non_gmail_address_are_not_ignored() -> None:
    gmail, _ = compare_emails("jenny.rosen@gmail.com", "jennyrosen@gmail.com")
    other, _ = compare_emails("jenny.rosen@example.com", "jennyrosen@example.com")

    assert other is not None and gmail is not None
    assert other < gmail


@pytest.mark.parametrize(
    ("a", "b"), [("", "a@b.com"), ("a@b.com", None), ("not-an-email", "a@b.com")]
)
def test_email_without_data_on_one_side_has_no_score(a: Any, b: Any) -> None:
    assert compare_emails(a, b)[0] is None


# --------------------------------------------------------------------------- phone


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("+1 555-555-5555", "(555) 555-5555"),
        ("15555555555", "555.555.5555"),
        ("555-555-5555 ext. 12", "+1 (555) 555 5555"),
        ("+15555555555", "555 555 5555 x9"),
    ],
)
def test_phone_numbers_equal_after_normalising_match_fully(a: str, b: str) -> None:
    assert compare_phones(a, b) == (100, "same phone number")


def test_phone_with_same_last_seven_digits_is_partial() -> None:
    score, detail = compare_phones("+1 415 555 0100", "650-555-0100")
    full, _ = compare_phones("+1 415 555 0100", "415-555-0100")

    assert score is not None and full is not None
    assert NAME_MISMATCH <= score < full
    assert "last 7" in detail


def test_different_phone_numbers_score_low() -> None:
    score, _ = compare_phones("415-555-0100", "415-555-0199")

    assert score is not None and score < NAME_MISMATCH


@pytest.mark.parametrize(("a", "b"), [(None, "555-555-5555"), ("123", "555-555-5555"), ("", "")])
def test_phone_without_a_usable_number_has_no_score(a: Any, b: Any) -> None:
    assert compare_phones(a, b)[0] is None


# --------------------------------------------------------------------------- address


@pytest.mark.parametrize(
    ("raw", "number", "postal", "state", "unit"),
    [
        ("510 Townsend San Francisco, CA 94103", "510", "94103", "ca", None),
        ("123 MAIN ST APT 4B, SPRINGFIELD, IL 62704-1234", "123", "62704", "il", "4b"),
        ("1 N Michigan Ave Ste 200, Chicago, Illinois 60602", "1", "60602", "il", "200"),
        ("123 Main Street, Everytown USA", "123", None, None, None),
        ("12345 Elm Rd #7 Denver CO 80202", "12345", "80202", "co", "7"),
        ("PO BOX 1234, AUSTIN TX 78701", "1234", "78701", "tx", None),
    ],
)
def test_raw_addresses_are_parsed_loosely(
    raw: str, number: str, postal: str | None, state: str | None, unit: str | None
) -> None:
    parsed = parse_raw_address(raw)

    assert (parsed.number, parsed.postal, parsed.state, parsed.unit) == (
        number,
        postal,
        state,
        unit,
    )


@pytest.mark.parametrize(
    "raw",
    [
        "510 Townsend San Francisco, CA 94103",
        "510 TOWNSEND STREET, SAN FRANCISCO CA 94103-2211",
        "510 Townsend St., San Francisco, California 94103",
        "510 townsend st san francisco ca 94103 usa",
    ],
)
def test_the_same_address_written_differently_matches(raw: str) -> None:
    score, detail = compare_addresses(SF_ADDRESS, raw)

    assert score == 100, detail


def test_street_abbreviations_and_units_are_understood() -> None:
    address = {
        "line1": "123 Main St",
        "line2": "Apt 4B",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62704",
    }

    score, _ = compare_addresses(address, "123 MAIN STREET APARTMENT 4B, SPRINGFIELD, IL 62704")

    assert score == 100


@pytest.mark.parametrize(
    ("raw", "what_differs"),
    [
        ("512 Townsend St, San Francisco, CA 94103", "street number"),
        ("1 Market St, Los Angeles, CA 90001", "ZIP"),
        ("510 Brannan St, San Francisco, CA 94107", "street"),
    ],
)
def test_a_different_address_scores_low_and_names_the_difference(
    raw: str, what_differs: str
) -> None:
    score, detail = compare_addresses(SF_ADDRESS, raw)

    assert score is not None and score < NAME_MISMATCH, detail
    assert f"different {what_differs}" in detail or what_differs in detail.split("different")[-1]


def test_a_different_street_type_lowers_but_keeps_an_address_match() -> None:
    same, _ = compare_addresses(SF_ADDRESS, "510 Townsend St, San Francisco, CA 94103")
    avenue, _ = compare_addresses(SF_ADDRESS, "510 Townsend Ave, San Francisco, CA 94103")

    assert same is not None and avenue is not None
    assert NAME_MATCH <= avenue < same


@pytest.mark.parametrize(
    ("address", "raw"),
    [(None, "510 Townsend St"), ({}, "510 Townsend St"), (SF_ADDRESS, None), (SF_ADDRESS, "")],
)
def test_address_without_data_on_one_side_has_no_score(address: Any, raw: Any) -> None:
    assert compare_addresses(address, raw)[0] is None


# --------------------------------------------------------------------------- match_owners


def test_a_nickname_owner_with_matching_contact_details_is_a_match() -> None:
    result = match_owners(
        customer(
            name="Bob Smith", email="bob@example.com", phone="+1 415 555 0100", address=SF_ADDRESS
        ),
        [
            owner(
                "SMITH, ROBERT J",
                email="BOB@example.com",
                phone="415-555-0100",
                raw_address="510 Townsend San Francisco, CA 94103",
            )
        ],
    )

    assert result.verdict == "match"
    assert result.best_owner == "SMITH, ROBERT J"
    assert result.reason.startswith(
        "Owner 'SMITH, ROBERT J' is the customer 'Bob Smith' (nickname, order)"
    )
    assert {f.field for f in result.fields.values()} == {"name", "email", "phone", "address"}
    assert all(f.score == 100 for k, f in result.fields.items() if k != "name")


def test_an_owner_with_only_a_name_is_judged_on_the_name_alone() -> None:
    result = match_owners(
        customer(
            name="Jenny Rosen", email="jenny@example.com", phone="555-555-5555", address=SF_ADDRESS
        ),
        [owner("JENNY ROSEN")],
    )

    assert result.verdict == "match"
    assert result.score == result.fields["name"].score
    assert [result.fields[k].score for k in ("email", "phone", "address")] == [None, None, None]
    assert result.fields["email"].detail == "bank returned no email"


def test_the_overall_score_is_weighted_over_fields_both_sides_have() -> None:
    result = match_owners(
        customer(name="Jenny Rosen", email="jenny@example.com"),
        [owner("JENNY ROSEN", email="someone.else@example.org")],
    )

    name, email = result.fields["name"].score, result.fields["email"].score
    assert name is not None and email is not None
    assert email < result.score < name
    # one differing contact detail does not outweigh a clear name match (people have several emails)
    assert result.verdict == "match"
    assert "email differs" in result.reason


def test_a_clear_name_with_two_differing_contact_details_is_only_partial() -> None:
    result = match_owners(
        customer(name="Jenny Rosen", email="jenny@example.com", phone="+1 415 555 0100"),
        [owner("JENNY ROSEN", email="someone.else@example.org", phone="+1 212 555 0199")],
    )
    assert result.verdict == "partial"


def test_a_different_name_is_a_mismatch_even_when_contact_details_match() -> None:
    result = match_owners(
        customer(
            name="John Smith", email="family@example.com", phone="555-555-5555", address=SF_ADDRESS
        ),
        [
            owner(
                "JANE SMITH",
                email="family@example.com",
                phone="555-555-5555",
                raw_address="510 Townsend St, San Francisco, CA 94103",
            )
        ],
    )

    assert result.verdict == "mismatch"
    assert "No owner matches the customer 'John Smith'" in result.reason
    assert "first names differ" in result.reason


def test_joint_account_matches_when_the_customer_is_the_second_owner() -> None:
    result = match_owners(customer(name="Jane Smith"), [owner("JOHN SMITH"), owner("JANE M SMITH")])

    assert result.verdict == "match"
    assert result.joint is True
    assert result.best_owner == "JANE M SMITH"
    assert [o.owner_name for o in result.owners] == ["JANE M SMITH", "JOHN SMITH"]
    assert "one of 2 owners" in result.reason


def test_joint_owners_in_one_string_make_a_joint_account() -> None:
    result = match_owners(customer(name="Jane Smith"), [owner("JOHN AND JANE SMITH")])

    assert result.verdict == "match"
    assert result.joint is True


def test_a_single_owner_is_not_joint() -> None:
    result = match_owners(customer(name="Jane Smith"), [owner("JANE SMITH")])

    assert result.joint is False


def test_owners_are_listed_best_first() -> None:
    result = match_owners(
        customer(name="Bob Smith"),
        [owner("ACME WIDGETS INC"), owner("R SMITH"), owner("ROBERT SMITH")],
    )

    scores = [o.score for o in result.owners]
    assert scores == sorted(scores, reverse=True)
    assert result.owners[0].owner_name == "ROBERT SMITH"
    assert result.score == result.owners[0].score


def test_a_business_customer_matches_a_business_owner() -> None:
    result = match_owners(customer(name="Acme Widgets, Inc."), [owner("ACME WIDGETS INC")])

    assert result.verdict == "match"
    assert result.fields["name"].detail.startswith("same business")


def test_a_business_customer_against_an_unrelated_person_is_a_mismatch() -> None:
    result = match_owners(customer(name="Acme Widgets, Inc."), [owner("JOHN SMITH")])

    assert result.verdict == "mismatch"


def test_a_contact_person_customer_matches_the_company_in_metadata() -> None:
    result = match_owners(
        customer(name="Jenny Rosen", metadata={"company_name": "Acme Widgets Inc"}),
        [owner("ACME WIDGETS INC")],
    )

    assert result.verdict == "match"
    assert result.fields["name"].customer_value == "Acme Widgets Inc"
    assert "metadata.company_name" in result.fields["name"].detail


def test_a_company_in_the_description_is_tried_for_a_business_owner() -> None:
    with_description = match_owners(
        customer(name="Jenny Rosen", description="Acme Widgets Inc"), [owner("ACME WIDGETS INC")]
    )
    without = match_owners(customer(name="Jenny Rosen"), [owner("ACME WIDGETS INC")])

    assert with_description.verdict == "match"
    assert without.verdict == "mismatch"


def test_partial_name_evidence_gives_a_partial_verdict_with_advice() -> None:
    result = match_owners(customer(name="John Smith"), [owner("J SMITH")])

    assert result.verdict == "partial"
    assert "may be the customer" in result.reason
    assert "Check with the customer" in result.reason


@pytest.mark.parametrize("owners", [[], None, (), {"object": "list", "data": []}])
def test_no_owners_is_no_data(owners: Any) -> None:
    result = match_owners(customer(name="Jenny Rosen"), owners)

    assert result.verdict == "no_data"
    assert result.best_owner is None
    assert result.owners == []
    assert "no owners" in result.reason


def test_nothing_comparable_is_no_data() -> None:
    result = match_owners(customer(email="jenny@example.com"), [owner("JENNY ROSEN")])

    assert result.verdict == "no_data"
    assert result.fields["name"].score is None
    assert "Nothing to compare" in result.reason


def test_a_customer_without_a_name_is_judged_on_other_fields_but_never_matched() -> None:
    result = match_owners(
        customer(email="jenny@example.com"), [owner("JENNY ROSEN", email="jenny@example.com")]
    )

    assert result.verdict == "partial"
    assert "Add the customer's name" in result.reason


def test_a_name_in_a_non_latin_script_is_not_called_a_mismatch() -> None:
    different = match_owners(customer(name="Иван Петров"), [owner("Пётр Иванов")])
    same = match_owners(customer(name="Иван Петров"), [owner("Иван Петров")])

    assert different.fields["name"].score is None
    assert different.verdict == "no_data"
    assert "Latin" in different.fields["name"].detail
    assert same.verdict == "match"


def test_stripe_like_objects_without_get_are_accepted() -> None:
    cust = IndexOnly(customer(name="Bob Smith", address=SF_ADDRESS))
    envelope = IndexOnly(
        {
            "object": "list",
            "data": [
                IndexOnly(
                    owner("ROBERT SMITH", raw_address="510 Townsend St San Francisco CA 94103")
                )
            ],
        }
    )

    result = match_owners(cust, envelope)  # type: ignore[arg-type]

    assert result.verdict == "match"
    assert result.fields["address"].score == 100


def test_fixture_owner_from_stripe_docs_is_compared_field_by_field() -> None:
    fixture_owner = {
        "email": "nobody+janesmith@stripe.com",
        "id": "fcaown_1Pgc76B7WZ01zgkWIQ4dVcgH",
        "name": "Jane Smith",
        "object": "financial_connections.account_owner",
        "ownership": "fcaowns_1Pgc76B7WZ01zgkWuEXUc7bG",
        "phone": "+1 555-555-5555",
        "raw_address": "123 Main Street, Everytown USA",
        "refreshed_at": 1234567890,
    }
    cust = customer(
        name="Jane Smith",
        email="nobody@stripe.com",
        phone="(555) 555-5555",
        address={"line1": "123 Main St", "city": "Everytown", "country": "US"},
    )

    result = match_owners(cust, [fixture_owner])

    assert result.verdict == "match"
    assert result.fields["phone"].score == 100
    assert result.fields["address"].score == 100
    email = result.fields["email"].score
    assert email is not None and NAME_MATCH <= email < 100


@pytest.mark.parametrize(
    ("cust", "owners"),
    [
        (None, None),
        ({}, [{}]),
        ({"name": None}, [{"name": None}]),
        ({"name": ""}, [{"name": ""}]),
        ("not a customer", ["not an owner"]),
        ({"name": 42, "address": "510 Townsend"}, [{"name": ["x"], "raw_address": 7}]),
        (
            {"name": "Jenny", "metadata": None, "address": {"line1": None}},
            [None, {"name": "Jenny"}],
        ),
        ({"name": "A & B"}, [{"name": "& / , ."}]),
        ({"name": "Mr. Jr."}, [{"name": "DBA"}]),
        ({"name": "x" * 5000}, [{"name": "y " * 3000}]),
    ],
)
def test_odd_input_never_raises(cust: Any, owners: Any) -> None:
    result = match_owners(cust, owners)

    assert isinstance(result, OwnershipMatch)
    assert result.verdict in {"match", "partial", "mismatch", "no_data"}
    assert 0 <= result.score <= 100
    assert all(isinstance(f, FieldMatch) for f in result.fields.values())


def test_random_names_never_raise_and_stay_in_range() -> None:
    rng = random.Random(20240611)
    alphabet = "abcdefghijklmnopqrstuvwxyz ÁÉÑøß.,&-/'()0123456789"
    words = [
        "John",
        "SMITH",
        "and",
        "&",
        "Inc",
        "LLC",
        "Jr",
        "Dr",
        ",",
        "DBA",
        "POD",
        "de",
        "la",
        "J.",
    ]
    for _ in range(300):
        a = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        b = " ".join(rng.choice(words) for _ in range(rng.randint(0, 8)))
        score, detail = compare_names(a, b)
        assert 0 <= score <= 100
        assert detail


# --------------------------------------------------------------------------- names: beyond English


@pytest.mark.parametrize(
    ("customer_name", "owner_name"),
    [
        ("Alex Garcia", "ALEJANDRO GARCIA"),
        ("Lupe Hernández", "GUADALUPE HERNANDEZ"),
        ("Pepe Ramírez", "JOSE RAMIREZ"),
        ("Paco Torres", "Francisco Torres"),
        ("Nacho Vargas", "IGNACIO VARGAS"),
        ("Chuy Reyes", "JESUS REYES"),
        ("Memo Ortiz", "GUILLERMO ORTIZ"),
        ("Beppe Rossi", "GIUSEPPE ROSSI"),
        ("Gianni Russo", "GIOVANNI RUSSO"),
        ("Sasha Ivanov", "ALEKSANDR IVANOV"),
        ("Misha Petrov", "MIKHAIL PETROV"),
        ("Dima Volkov", "DMITRI VOLKOV"),
        ("Kolya Smirnov", "NIKOLAI SMIRNOV"),
        ("Vova Kuznetsov", "VLADIMIR KUZNETSOV"),
        ("Katya Novak", "EKATERINA NOVAK"),
        ("Mo Haddad", "MOHAMMED HADDAD"),
        ("Seun Adeyemi", "OLUWASEUN ADEYEMI"),
        ("Wei Zhang", "WEI CHEUNG"),
        ("Mei Chen", "MAY CHEN"),
    ],
)
def test_nicknames_from_other_languages_are_the_same_person(
    customer_name: str, owner_name: str
) -> None:
    score, detail = compare_names(customer_name, owner_name)

    assert score >= NAME_MATCH, detail
    assert "nickname" in detail


@pytest.mark.parametrize(
    ("customer_name", "owner_name"),
    [
        ("Alejandro Garcia", "ALEJANDRA GARCIA"),  # Alex can be either, they are not each other
        ("Francisco Torres", "FRANCISCA TORRES"),
        ("Giuseppe Rossi", "GIUSEPPINA ROSSI"),
        ("Lorenzo Bianchi", "VINCENZO BIANCHI"),  # both go by Enzo
        ("Aleksandr Ivanov", "ALEKSANDRA IVANOVA"),
        ("Pepe Ramirez", "PACO RAMIREZ"),
        ("Jose Ramirez", "JOSEPH RAMIREZ"),  # Joe for either, but two names
        ("Wei Wang", "WEI HUANG"),  # both may be written Wong; the surnames are not each other
    ],
)
def test_formal_names_that_share_a_nickname_stay_different_people(
    customer_name: str, owner_name: str
) -> None:
    score, detail = compare_names(customer_name, owner_name)

    assert score < NAME_MISMATCH, detail


@pytest.mark.parametrize(
    ("customer_name", "owner_name"),
    [
        ("Tuan Lê", "Tuan E Lê"),
        ("Tuan Lê", "TUAN E. LE"),
        ("Tuan E Le", "TUAN LE"),
        ("Anh Da", "ANH T DA"),
        ("Marco Di", "MARCO A DI"),
    ],
)
def test_a_middle_initial_before_a_short_surname_that_is_also_a_particle_matches(
    customer_name: str, owner_name: str
) -> None:
    score, detail = compare_names(customer_name, owner_name)

    assert score >= NAME_MATCH, detail
    assert "middle initial" in detail


def test_a_particle_before_the_surname_is_still_ignored_but_a_surname_particle_is_kept() -> None:
    particle, particle_detail = compare_names("Ana Da Silva", "ANA SILVA")
    different, _ = compare_names("Tuan Le", "TUAN E")

    assert particle >= NAME_MATCH, particle_detail
    assert different < NAME_MISMATCH


@pytest.mark.parametrize(
    ("customer_name", "owner_name"),
    [
        ("Noor El-Amin", "KARIM EL-AMIN"),
        ("Noor El-Amin", "Karim El-Amin"),
        ("Noor El-Amin", "EL-AMIN, KARIM"),
        ("Noor El Amin", "KARIM EL AMIN"),
        ("José García López", "JUAN GARCIA LOPEZ"),
        ("José García López", "GARCIA LOPEZ JUAN"),
        ("Maria de la Cruz", "JOSE DE LA CRUZ"),
        ("Ji-hoon Kim", "JI-WOO KIM"),
        ("Ji-hoon Kim", "KIM MIN-JI"),
        ("Ji-woo Choi", "Min-ji Choi"),
        ("Min-jun Lee", "LEE SEO-JUN"),
        ("Lars van der Berg", "ASTRID VAN DER BERG"),
    ],
)
def test_same_surname_with_another_first_name_is_a_different_person(
    customer_name: str, owner_name: str
) -> None:
    score, detail = compare_names(customer_name, owner_name)

    assert score < NAME_MISMATCH, detail
    assert "first names differ" in detail or "names differ" in detail


@pytest.mark.parametrize(
    ("customer_name", "owner_name"),
    [
        ("Noor El-Amin", "NOOR EL AMIN"),
        ("Noor El-Amin", "NOOR ELAMIN"),
        ("Noor El-Amin", "EL-AMIN, NOOR"),
        ("Ji-hoon Kim", "KIM JI HOON"),
        ("Ji-hoon Kim", "JIHOON KIM"),
        ("Ji-hoon Kim", "KIM, JI-HOON"),
        ("María García-López", "MARIA GARCIA"),
        ("Maria Garcia", "MARIA GARCIA-LOPEZ"),
    ],
)
def test_hyphenated_names_match_however_the_bank_writes_them(
    customer_name: str, owner_name: str
) -> None:
    score, detail = compare_names(customer_name, owner_name)

    assert score >= NAME_MATCH, detail


def test_half_of_a_hyphenated_first_name_is_only_plausible() -> None:
    score, detail = compare_names("Jean-Pierre Dupont", "JEAN DUPONT")

    assert NAME_MISMATCH <= score < NAME_MATCH, detail
    assert "part of the hyphenated name" in detail


def test_a_relative_with_the_same_surname_and_contact_details_is_a_mismatch() -> None:
    family = {
        "email": "elamin.family@gmail.com",
        "phone": "+1 555-555-0134",
        "address": SF_ADDRESS,
    }
    result = match_owners(
        customer(name="Noor El-Amin", **family),
        [
            owner(
                "KARIM EL-AMIN",
                email=family["email"],
                phone=family["phone"],
                raw_address="510 Townsend St, San Francisco, CA 94103",
            )
        ],
    )

    assert result.verdict == "mismatch"
    assert "first names differ (Noor vs Karim)" in result.fields["name"].detail
    assert "likely a relative" in result.reason


@pytest.mark.parametrize(
    "owners",
    [
        [owner("KARIM EL-AMIN"), owner("NOOR EL-AMIN")],
        [owner("KARIM & NOOR EL-AMIN")],
        [owner("KARIM EL-AMIN OR NOOR EL-AMIN")],
    ],
)
def test_a_joint_account_with_the_customer_among_relatives_is_a_match(owners: Any) -> None:
    result = match_owners(customer(name="Noor El-Amin"), owners)

    assert result.verdict == "match", result.reason
    assert result.joint is True
    assert "likely a relative" not in result.reason


def test_a_joint_account_of_relatives_without_the_customer_is_a_mismatch() -> None:
    result = match_owners(
        customer(name="Noor El-Amin"), [owner("KARIM EL-AMIN"), owner("LAYLA EL-AMIN")]
    )

    assert result.verdict == "mismatch"
    assert result.joint is True


def test_one_differing_detail_beside_matching_ones_is_a_match_but_two_are_partial() -> None:
    cust = customer(
        name="Jenny Rosen", email="jenny@example.com", phone="+1 415 555 0100", address=SF_ADDRESS
    )
    same_address = "510 Townsend St, San Francisco, CA 94103"
    one_differs = owner(
        "JENNY ROSEN", email="jr@other.org", phone="415-555-0100", raw_address=same_address
    )
    two_differ = owner(
        "JENNY ROSEN", email="jr@other.org", phone="212-555-0199", raw_address=same_address
    )

    assert match_owners(cust, [one_differs]).verdict == "match"
    assert match_owners(cust, [two_differ]).verdict == "partial"
