from __future__ import annotations

import pytest

from services.rules.debit_csv import BatchFileError, PlannedDebit, RowError, parse_debits_csv


def by_row(errors: list[RowError]) -> dict[int, str]:
    return {error.row: error.message for error in errors}


def test_a_clean_file_with_an_id_column_parses_every_row_with_kinds_from_prefixes() -> None:
    data = "id,amount,currency,reference\nfca_1,125.00,usd,Invoice 7\npm_2,5,,\ncus_3,0.01,USD,\n"
    debits, errors = parse_debits_csv(data)
    assert errors == []
    assert debits == [
        PlannedDebit(2, "fca_1", "account", 12500, "usd", "Invoice 7"),
        PlannedDebit(3, "pm_2", "payment_method", 500, "usd", None),
        PlannedDebit(4, "cus_3", "customer", 1, "usd", None),
    ]


def test_headers_are_matched_case_insensitively_and_by_alias() -> None:
    data = "Account ID,AMOUNT,Description\nfca_abc,10.50,rent\n"
    debits, errors = parse_debits_csv(data)
    assert errors == []
    assert [(d.target, d.target_kind, d.amount, d.reference) for d in debits] == [
        ("fca_abc", "account", 1050, "rent")
    ]


def test_separate_id_columns_can_be_mixed_one_per_row() -> None:
    data = "account,pm,customer_id,amount\nfca_1,,,1\n,pm_2,,2\n,,cus_3,3\n"
    debits, errors = parse_debits_csv(data)
    assert errors == []
    assert [(d.target_kind, d.amount) for d in debits] == [
        ("account", 100),
        ("payment_method", 200),
        ("customer", 300),
    ]


def test_the_currency_column_is_optional_and_the_default_applies() -> None:
    debits, _ = parse_debits_csv("id,amount\npm_1,7\n", default_currency="eur")
    assert (debits[0].currency, debits[0].amount) == ("eur", 700)


def test_bad_rows_become_errors_while_the_other_rows_still_parse() -> None:
    data = (
        "id,amount,currency\n"
        "fca_ok,1.00,usd\n"  # row 2
        ",1.00,usd\n"  # 3: missing id
        "ba_123,1.00,usd\n"  # 4: unknown prefix
        "pm_1,abc,usd\n"  # 5: bad amount
        "pm_1,1.00,eur\n"  # 6: currency not allowed
        "pm_1,1.00,usd,extra\n"  # 7: too many cells
        "pm_1,1.00\n"  # 8: too few cells
        "pm_1,-3,usd\n"  # 9: negative
        "pm_1,1.234,usd\n"  # 10: too many decimals
        "pm_1,1.00,dollars\n"  # 11: not a currency code
        "pm_ok,2.00,usd\n"  # 12
    )
    debits, errors = parse_debits_csv(data)
    assert [(d.row, d.target) for d in debits] == [(2, "fca_ok"), (12, "pm_ok")]
    messages = by_row(errors)
    assert sorted(messages) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert "No id" in messages[3]
    assert "fca_… (bank account), pm_… (payment method) or cus_… (customer)" in messages[4]
    assert "not an amount" in messages[5]
    assert "EUR cannot be debited in this batch" in messages[6]
    assert "4 cells" in messages[7] and "3 columns" in messages[7]
    assert "2 cells" in messages[8]
    assert "negative" in messages[9]
    assert "decimal" in messages[10]
    assert "currency code" in messages[11]


def test_a_row_error_keeps_the_cells_as_read() -> None:
    _, errors = parse_debits_csv("id,amount,note\nxyz_1,2,hello\npm_1,1,a,b\n")
    assert errors[0].raw == {"id": "xyz_1", "amount": "2", "note": "hello"}
    assert errors[1].raw == {"id": "pm_1", "amount": "1", "note": "a", "column 4": "b"}


def test_an_id_in_the_wrong_kind_of_column_is_a_row_error() -> None:
    _, errors = parse_debits_csv("account,amount\npm_123,5\n")
    assert "account column" in errors[0].message
    assert "fca_" in errors[0].message


def test_two_ids_in_one_row_is_a_row_error() -> None:
    debits, errors = parse_debits_csv("account,customer,amount\nfca_1,cus_1,5\n")
    assert debits == []
    assert "only one id" in errors[0].message


def test_an_id_with_spaces_or_punctuation_inside_is_refused() -> None:
    _, errors = parse_debits_csv('id,amount\n"pm_12 34",5\npm_,5\n')
    assert [e.row for e in errors] == [2, 3]


def test_other_currencies_can_be_allowed_explicitly() -> None:
    data = "id,amount,currency\npm_1,5,eur\npm_2,5,gbp\n"
    debits, errors = parse_debits_csv(data, allowed_currencies=["usd", "eur"])
    assert [(d.target, d.currency) for d in debits] == [("pm_1", "eur")]
    assert [e.row for e in errors] == [3]


def test_row_numbers_match_a_spreadsheet_including_blank_lines_and_quoted_line_breaks() -> None:
    data = 'id,amount,reference\n\npm_1,1,"two\nlines"\n,,\npm_2,x,\n'
    debits, errors = parse_debits_csv(data)
    assert [(d.row, d.reference) for d in debits] == [(3, "two\nlines")]
    assert [e.row for e in errors] == [5]


def test_a_utf8_bom_and_windows_line_endings_are_handled() -> None:
    data = "\ufeffid,amount\r\npm_1,3.50\r\n".encode()
    debits, errors = parse_debits_csv(data)
    assert errors == []
    assert [(d.target, d.amount) for d in debits] == [("pm_1", 350)]


def test_a_bom_in_a_str_is_handled_too() -> None:
    debits, _ = parse_debits_csv("\ufeffid,amount\npm_1,1\n")
    assert debits[0].amount == 100


def test_semicolon_separated_files_from_european_spreadsheets_parse() -> None:
    debits, errors = parse_debits_csv('id;amount\npm_1;"1,234.56"\npm_2;7\n')
    assert errors == []
    assert [d.amount for d in debits] == [123456, 700]


def test_amounts_with_symbols_and_thousands_separators_parse_when_quoted() -> None:
    debits, errors = parse_debits_csv('id,amount\npm_1,"$1,000.00"\n')
    assert errors == []
    assert debits[0].amount == 100000


def test_surrounding_whitespace_in_cells_and_headers_is_ignored() -> None:
    debits, errors = parse_debits_csv(" id , amount \n pm_1 , 2.5 \n")
    assert errors == []
    assert (debits[0].target, debits[0].amount) == ("pm_1", 250)


def test_unknown_columns_are_ignored() -> None:
    debits, errors = parse_debits_csv("name,id,amount\nAcme,cus_1,9\n")
    assert errors == []
    assert debits[0].target == "cus_1"


def test_an_overlong_reference_is_a_row_error() -> None:
    _, errors = parse_debits_csv(f"id,amount,reference\npm_1,1,{'x' * 501}\n")
    assert "longer than 500" in errors[0].message


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty"),
        ("  \n\n ", "empty"),
        ("id,amount\n", "no debit rows"),
        ("id,amount\n\n,,\n", "no debit rows"),
        ("fca_1,125.00\nfca_2,3\n", "header"),
        ("id,reference\npm_1,x\n", "No 'amount' column"),
        ("amount,currency\n5,usd\n", "whom to debit"),
        ("account,account_id,amount\nfca_1,,5\n", "both mean account"),
        ("id,account,amount\n,fca_1,5\n", "not both"),
        (b"id,amount\npm_1,\x815\n", "UTF-8"),  # 0x81: neither UTF-8 nor Windows-1252
        (b"PK\x03\x04rest-of-zip", "Excel"),
        ("id,amount\x00\npm_1,1\n", "binary"),
        ('id,amount\npm_1,"5\n', "not valid CSV"),
    ],
)
def test_file_level_problems_raise_a_clear_error(data: bytes | str, fragment: str) -> None:
    with pytest.raises(BatchFileError) as info:
        parse_debits_csv(data)
    assert fragment in str(info.value)


def test_batch_file_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_debits_csv("")


def test_a_file_over_the_row_limit_is_refused_but_one_at_the_limit_is_not() -> None:
    rows = "".join(f"pm_{i},1\n" for i in range(5))
    debits, _ = parse_debits_csv("id,amount\n" + rows, max_rows=5)
    assert len(debits) == 5
    with pytest.raises(BatchFileError, match="more than 4 rows"):
        parse_debits_csv("id,amount\n" + rows, max_rows=4)


def test_blank_lines_do_not_count_towards_the_row_limit() -> None:
    debits, _ = parse_debits_csv("id,amount\npm_1,1\n\n\n\npm_2,1\n", max_rows=2)
    assert len(debits) == 2


def test_a_large_file_parses_quickly_and_completely() -> None:
    rows = "".join(f"pm_{i},{i % 900 + 1}.25,usd,ref {i}\n" for i in range(50_000))
    debits, errors = parse_debits_csv("id,amount,currency,reference\n" + rows)
    assert errors == []
    assert len(debits) == 50_000
    assert debits[-1].row == 50_001
    assert debits[-1].amount == (49_999 % 900 + 1) * 100 + 25


def test_a_decimal_comma_amount_is_explained_not_just_counted() -> None:
    debits, errors = parse_debits_csv("account,amount\nfca_abc123,12,34\nfca_abc123,5.00\n")
    assert [d.amount for d in debits] == [500]
    assert len(errors) == 1
    assert "12,34" in errors[0].message and "12.34" in errors[0].message


def test_a_batch_is_cut_in_chunks_that_never_split_one_ids_rows() -> None:
    """A job checks its chunks one by one; an account's rows must meet in one chunk to be
    judged together (row 1,001 on an account was judged without rows 1 to 1,000)."""
    from services.rules.debit_csv import batch_chunks, parse_debits_csv

    lines = ["id,amount"] + [f"fca_{'abcdef'[i % 3] * 8},{i + 1}.00" for i in range(10)]
    planned, _ = parse_debits_csv("\n".join(lines))
    chunks = batch_chunks(planned, 4)
    assert sorted(d.row for c in chunks for d in c) == [d.row for d in planned]  # every row once
    for chunk in chunks:
        assert [d.row for d in chunk] == sorted(d.row for d in chunk)  # file order
    owners = {d.target: i for i, c in enumerate(chunks) for d in c}
    assert all(owners[d.target] == i for i, c in enumerate(chunks) for d in c)
    assert [len(c) for c in chunks] == [4, 3, 3]
    assert batch_chunks(planned[:1], 4) == [planned[:1]] and batch_chunks([], 4) == []


def test_an_excel_sep_line_names_the_delimiter_and_is_not_a_row() -> None:
    """Excel's "sep=;" first line: it read as a header naming the column 'sep='."""
    from services.rules.debit_csv import parse_debits_csv

    planned, bad = parse_debits_csv("sep=;\r\nid;amount;reference\r\nfca_abcdefgh;12.50;Rent, March\r\n")
    assert not bad and [(d.row, d.amount, d.reference) for d in planned] == [(2, 1250, "Rent, March")]


@pytest.mark.parametrize(
    ("line", "typed", "cells"),
    [
        ("fca_abcdef123,1,000.50", "1,000.50", "3 cells (the header has 2)"),
        ("fca_abcdef123,12,345,678.00", "12,345,678.00", "4 cells (the header has 2)"),
    ],
)
def test_an_unquoted_amount_with_a_thousands_separator_names_the_row_and_what_to_write(
    line: str, typed: str, cells: str
) -> None:
    planned, bad = parse_debits_csv(f"id,amount\nfca_abcdef123,5.00\n{line}\n")
    assert [d.row for d in planned] == [2]  # the good row is kept, the split one is not guessed
    assert [e.row for e in bad] == [3]
    said = bad[0].message
    assert said.startswith(f"Row 3: if the amount is {typed}, its thousands separator split")
    assert cells in said
    assert f'quotes ("{typed}")' in said and f"({typed.replace(',', '')})" in said


def test_a_split_amount_before_other_columns_is_found_at_the_amount_column() -> None:
    _, bad = parse_debits_csv("amount,id,currency\n1,000.50,fca_abcdef123,usd\n")
    assert '"1,000.50"' in bad[0].message and "1000.50" in bad[0].message


def test_a_split_amount_that_fills_empty_trailing_columns_is_not_read_as_the_first_group() -> None:
    """`fca_…,1,000` under id,amount,reference has as many cells as the header: it read as
    $1.00 with the reference "000", a thousand times less than meant."""
    planned, bad = parse_debits_csv("id,amount,reference\nfca_abcdef123,1,000\n")
    assert planned == []
    assert bad[0].message.startswith("Row 2: if the amount is 1,000, its thousands separator put")
    assert "000 under 'reference'" in bad[0].message
    assert '"1,000"' in bad[0].message and "(1000)" in bad[0].message


def test_a_row_split_by_a_comma_elsewhere_gets_no_amount_advice() -> None:
    planned, bad = parse_debits_csv("id,amount,reference\nfca_abcdef123,5,Rent, March\n")
    assert planned == [] and "amount" not in bad[0].message  # the sentence: test_batch_row_sentences
    planned, bad = parse_debits_csv("id,amount,reference\nfca_abcdef123,5.00,123\n")
    assert not bad and planned[0].reference == "123"  # a decimal amount is whole: no guess


def test_a_windows_1252_file_from_excel_is_read_with_its_accents_and_curly_quotes() -> None:
    text = "id,amount,reference\r\nfca_abcdef123,10.00,Café \u201cRent\u201d\r\n"
    planned, bad = parse_debits_csv(text.encode("cp1252"))
    assert not bad and planned[0].reference == "Café \u201cRent\u201d"
    assert planned[0].amount == 1000


def test_utf8_with_a_bom_is_still_read_as_utf8() -> None:
    text = "id,amount,reference\nfca_abcdef123,10.00,Café\n"
    planned, _ = parse_debits_csv(b"\xef\xbb\xbf" + text.encode())
    assert planned[0].reference == "Café"  # not "CafÃ©", as cp1252 would read it


def test_the_results_csv_has_plain_ids_not_the_pages_code_marks() -> None:
    """The page draws IDs in sentences as code (`fca_…`); the CSV finance opens in a spreadsheet
    reads them plainly, and still escapes formulas."""
    import csv
    import io

    from services.rules.batch_result import BatchResult, BatchRow

    rows = [
        BatchRow(row=2, target="fca_unknown1", target_kind="financial_connections.account",
                 amount=100, currency="usd", reference="=HYPERLINK(1)", verdict="error",
                 error="Stripe has no Financial Connections account `fca_unknown1`. Check …"),
        BatchRow(row=3, target="fca_known1", target_kind="financial_connections.account",
                 amount=100, currency="usd", reference=None, verdict="ok",
                 reasons=("Row 2 debits `fca_known1` too.",)),
    ]
    read = list(csv.DictReader(io.StringIO(BatchResult(rows=rows).to_csv())))
    assert read[0]["error"] == "Stripe has no Financial Connections account fca_unknown1. Check …"
    assert read[1]["reasons"] == "Row 2 debits fca_known1 too."
    assert read[0]["reference"] == "'=HYPERLINK(1)"


def test_a_bad_row_keeps_the_money_and_reference_it_names_when_they_read_as_such() -> None:
    """Before, a row with no ID or an ID of the wrong shape lost its amount: the summary's
    unchecked money and the results file left it out, so finance could not match the row."""
    data = (
        "id,amount,currency,reference\n"
        ",10.00,usd,no id\n"  # row 2
        "ba_123,20.00,,wrong prefix\n"  # 3: the default currency applies
        "fca_bad-shape,30.00,usd,bad shape\n"  # 4
        "pm_1,5.00,eur,other currency\n"  # 5: not accepted here, but still €5.00
        "pm_1,abc,usd,bad amount\n"  # 6
        "pm_1,1.00,dollars,bad currency\n"  # 7
    )
    _, errors = parse_debits_csv(data)
    read = {e.row: (e.amount, e.currency, e.amount_text, e.currency_text, e.reference) for e in errors}
    assert read == {
        2: (1_000, "usd", "10.00", "usd", "no id"),
        3: (2_000, "usd", "20.00", "", "wrong prefix"),
        4: (3_000, "usd", "30.00", "usd", "bad shape"),
        5: (500, "eur", "5.00", "eur", "other currency"),
        6: (None, None, "abc", "usd", "bad amount"),
        7: (None, None, "1.00", "dollars", "bad currency"),
    }


def test_a_row_whose_cells_do_not_line_up_names_no_money() -> None:
    """Which cell is the amount is a guess there, so none is taken."""
    _, errors = parse_debits_csv("id,amount,currency\npm_1,1.00,usd,extra\npm_1,1.00\n")
    assert [(e.amount, e.currency, e.amount_text) for e in errors] == [(None, None, "")] * 2


def test_the_summary_counts_every_unchecked_row_with_an_amount_and_the_csv_carries_it() -> None:
    """'A further … is in rows that could not be checked' counted only rows whose Stripe
    lookup failed; rows refused while reading the file (no ID, bad ID) were left out, and the
    results file left their amount and currency blank."""
    import csv
    import io

    from services.rules.batch_result import BatchResult, BatchRow
    from services.usecases.check_batch import _error_row

    _, errors = parse_debits_csv(
        "id,amount,currency,reference\n,10.00,usd,A\nba_1,2.50,usd,B\npm_1,1.000,50,usd,C\n"
        'pm_1,"=1+1",usd,D\n'
    )
    stripe_failed = BatchRow(
        row=6, target="fca_gone", target_kind="account", amount=400, currency="usd",
        reference=None, verdict="error", error="Stripe has no such account.",
    )  # fmt: skip
    result = BatchResult(rows=[*(_error_row(e) for e in errors), stripe_failed])
    summary = result.summary()
    assert summary.unchecked == {"usd": 1_000 + 250 + 400}
    assert (summary.unchecked_rows, summary.errors) == (3, 5)
    read = {int(r["row"]): r for r in csv.DictReader(io.StringIO(result.to_csv()))}
    # Currencies as every file finance downloads writes them (USD), checked or refused
    assert (read[2]["amount"], read[2]["currency"], read[2]["reference"]) == ("10.00", "USD", "A")
    assert (read[3]["amount"], read[3]["currency"], read[3]["reference"]) == ("2.50", "USD", "B")
    assert (read[4]["amount"], read[4]["currency"]) == ("", "")  # cells split: nothing guessed
    assert (read[5]["amount"], read[5]["currency"]) == ("'=1+1", "USD")  # as typed, no formula
    assert (read[6]["amount"], read[6]["currency"]) == ("4.00", "USD")


@pytest.mark.parametrize(
    ("typed", "write"),
    [
        ('"1.000,50"', "1000.50"),
        ('"1000,50"', "1000.50"),
        ('"1 000,50"', "1000.50"),
        ('"1.234.567,89"', "1234567.89"),
        ('"0,5"', "0.5"),
        ('"$1.000,50"', "$1000.50"),
    ],
)
def test_a_quoted_amount_with_a_decimal_comma_gets_its_own_sentence(typed: str, write: str) -> None:
    """It got the generic "'1.000,50' is not an amount", which does not say what is wrong."""
    data = f"id,amount,reference\nfca_abc123,5.00,a\nfca_abc123,{typed},b\n"
    debits, errors = parse_debits_csv(data)
    assert [d.amount for d in debits] == [500]  # nothing guessed: the row is not taken
    [error] = errors
    shown = typed.strip('"')
    assert error.message == (
        f"Row 3: the amount '{shown}' uses a comma as the decimal mark, but fcops reads a dot "
        f"as the decimal mark (a comma only separates thousands). Write it as {write}."
    )
    assert (error.amount, error.amount_text) == (None, shown)


def test_a_semicolon_file_with_european_amounts_gets_the_same_sentence() -> None:
    """Excel in much of Europe saves CSV with semicolons, so the amount needs no quotes."""
    _, errors = parse_debits_csv("id;amount\nfca_abc123;1.000,50\n")
    assert errors[0].message.startswith("Row 2: the amount '1.000,50' uses a comma as the")
    assert errors[0].message.endswith("Write it as 1000.50.")


@pytest.mark.parametrize("typed", ["1,000", "12,345", "1,000.50"])
def test_amounts_that_read_with_a_decimal_dot_are_not_taken_for_european_ones(typed: str) -> None:
    debits, errors = parse_debits_csv(f'id,amount\nfca_abc123,"{typed}"\n')
    assert errors == [] and len(debits) == 1


def test_another_currencys_symbol_is_said_before_the_decimal_comma() -> None:
    _, errors = parse_debits_csv('id,amount\nfca_abc123,"€1.000,50"\n')
    assert errors[0].message == "'€1.000,50' uses the symbol €, but the currency is USD."


def test_an_unquoted_decimal_comma_names_the_amount_it_split() -> None:
    _, errors = parse_debits_csv("id,amount,reference\nfca_abc123,1000,50,rent\n")
    assert errors[0].message == (
        "Row 2 has 4 cells but the header has 3 columns. If the amount is 1000,50, its decimal "
        "comma split it into two cells: fcops reads a dot as the decimal mark, so write 1000.50."
    )


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("1.000", "could be read two ways"),
        ("25.000", "could be read two ways"),
        ("$1.000", "could be read two ways"),
        ("1.000.000", "uses dots between thousands"),
    ],
)
def test_an_amount_whose_dots_may_group_thousands_is_refused_not_read_as_cents(
    typed: str, says: str
) -> None:
    """In a semicolon file from a European spreadsheet, 1.000 is a thousand: it was read as
    $1.00, and a $1,000 debit was checked as a $1 one."""
    planned, bad = parse_debits_csv(f"id;amount;currency\nfca_12345678abcdefgh;{typed};usd\n")
    assert planned == []
    assert len(bad) == 1 and says in bad[0].message and "Row 2" in bad[0].message
    whole = typed.lstrip("$").replace(".", "")
    assert f"{whole}.00" in bad[0].message
    # The money the refused row names is not counted as $1.00 either: it names no amount.
    assert (bad[0].amount, bad[0].amount_text) == (None, typed)


@pytest.mark.parametrize(
    ("typed", "cents"), [("1.00", 100), ("1.5", 150), ("1000.000", 100_000), ("1.0000", 100)]
)
def test_amounts_with_a_plain_decimal_dot_still_read(typed: str, cents: int) -> None:
    planned, bad = parse_debits_csv(f"id,amount,currency\nfca_12345678abcdefgh,{typed},usd\n")
    assert bad == [] and [d.amount for d in planned] == [cents]


def test_three_decimals_that_are_not_zero_say_too_many_decimals_not_two_readings() -> None:
    _, bad = parse_debits_csv("id,amount,currency\nfca_12345678abcdefgh,10.001,usd\n")
    assert len(bad) == 1 and "too many decimals" in bad[0].message, bad


def test_a_payment_intent_setup_intent_or_payment_row_says_why_a_batch_takes_other_ids() -> None:
    """Balance check takes pi_/seti_/py_ IDs one at a time; the batch refused them with "'pi_…'
    is not an id this tool can debit", as if they were nonsense. It now says what the ID is,
    what a batch row takes and where to check a payment's account."""
    data = "id,amount\npi_3Abc,1.00\nseti_9Xyz,2.00\npy_7Q,3.00\nhello,4.00\n"
    _, errors = parse_debits_csv(data)
    messages = by_row(errors)
    assert "'pi_3Abc' is a PaymentIntent: a batch row takes whom to debit" in messages[2]
    assert "is a SetupIntent" in messages[3] and "is a payment" in messages[4]
    for row in (2, 3, 4):
        assert "fca_… (bank account), pm_… (payment method) or cus_… (customer)" in messages[row]
        assert "Balance check page" in messages[row]
    assert "'hello' is not an id this tool can debit; a batch row takes an fca_…" in messages[5]


def test_a_charge_row_is_a_payment_as_a_py_row_is() -> None:
    """Balance check takes a ch_… as it takes a py_… (both a payment); a batch row named "ch_…"
    was "not an id this tool can debit", as if it were nonsense."""
    _, errors = parse_debits_csv("id,amount\nch_3Abc,1.00\n")
    [message] = by_row(errors).values()
    assert "'ch_3Abc' is a payment: a batch row takes whom to debit" in message
    assert "Balance check page" in message


def test_the_summary_says_what_is_wrong_with_each_amount_it_could_not_count() -> None:
    """"4 other rows have no readable amount" counted a "-3" among them, which reads fine."""
    from services.rules.batch_result import BatchResult, amount_problem
    from services.usecases.check_batch import _error_row

    good, bad = parse_debits_csv(
        "id,amount,currency\n,5.00,usd\nfca_a1234,ten,usd\nfca_a1234,,usd\nfca_a1234,abc,usd\n"
        "fca_a1234,-3,usd\nfca_a1234,0,usd\nfca_a1234,5.00,zzzz\n"
    )
    assert not good
    summary = BatchResult(rows=[_error_row(e) for e in bad]).summary()
    assert summary.unchecked_rows == 1
    assert summary.unread_said() == (
        "3 other rows have no readable amount; 1 has a negative amount; 1 has a zero amount; "
        "1 has an amount in a currency that cannot be read."
    )
    assert [amount_problem(t, "usd") for t in ("(3.00)", "\u22123", "1-2", "-0")] == [
        "negative", "negative", "unreadable", "zero"]
    one = BatchResult(rows=[_error_row(e) for e in parse_debits_csv("id,amount\nx,-3\n")[1]])
    assert one.summary().unread_said() == "1 other row has a negative amount."
    assert BatchResult(rows=[]).summary().unread_said() == ""
