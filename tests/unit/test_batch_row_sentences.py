"""Batch check's sentences for a bad row say what to type instead (services.rules.debit_csv)."""

from __future__ import annotations

from services.rules.debit_csv import parse_debits_csv


def test_a_row_with_too_few_cells_is_told_how_a_whole_row_reads() -> None:
    """"Row 2 has 1 cells but the header has 4 columns." said what was counted, in broken
    English, and not what to type."""
    _, bad = parse_debits_csv("id,amount,currency,reference\nfca_abcdef123\n")
    assert bad[0].message == (
        "Row 2 has 1 cell but the header has 4 columns. Give it a cell under each column ('id', "
        "'amount', 'currency', 'reference'), leaving optional ones empty (e.g. fca_…,125.00,,)."
    )
    _, bad = parse_debits_csv("amount,customer,reference\n5.00\n")
    assert bad[0].message.endswith("(e.g. 125.00,cus_…,).")


def test_an_unknown_currency_code_says_what_to_write_instead() -> None:
    """It read "'XYZ' is not a known ISO 4217 currency code.": a standard's number, no fix."""
    _, bad = parse_debits_csv("id,amount,currency\nfca_abc123,5.00,xyz\n")
    assert bad[0].message == (
        "'XYZ' is not a known currency code; use the debit's three-letter currency code, such "
        "as USD."
    )


def test_a_row_with_a_cell_too_many_is_told_to_quote_a_value_with_a_comma() -> None:
    _, bad = parse_debits_csv("id,amount,reference\nfca_abcdef123,5,Rent, March\n")
    assert bad[0].message == (
        "Row 2 has 4 cells but the header has 3 columns. A value with a comma in it (a reference "
        'such as "Rent, March") needs double quotes around it; otherwise delete the extra cells.'
    )


def test_a_row_in_another_currency_says_to_correct_it_or_take_it_out() -> None:
    _, bad = parse_debits_csv("id,amount,currency\nfca_abc123,5.00,eur\n")
    assert bad[0].message == (
        "Currency EUR cannot be debited in this batch, which takes USD only (ACH Direct Debit is "
        "in US dollars). Correct the currency if it is a typo, or take the row out."
    )
