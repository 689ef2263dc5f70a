"""Batch check's tables fit the page at 1,400 px, and a picked row reads in full below them.

In Chromium the rows' table was 1,322 px wide in a 938 px column: the reasons, the reference
and the ID were behind a sideways scroll (tests/browser/test_table_widths.py measures it).
"""

from __future__ import annotations

import re
from typing import Any

from streamlit.testing.v1 import AppTest

from tests.app.conftest import (
    PAGE_WIDTH,
    ROW_PICKER,
    column_config,
    drawn_cells,
    no_exceptions,
    open_page,
    shown_widths,
    texts,
)
from tests.app.test_balance_check_page import new_account
from tests.app.test_batch_check_page import PAGE, csv_with_good_and_bad_rows, run

FIRST = ["Row", "Verdict", "ID", "Amount", "Balance"]  # what finance acts on, then why


def checked(text: str) -> AppTest:
    at = open_page(PAGE, "finance")
    at.text_area(key="batch_text").set_value(text)
    run(at)
    no_exceptions(at)
    return at


def one_currency_csv() -> tuple[str, str, str]:
    customer, rich = new_account(available=500_000)
    _, poor = new_account(available=1_000)
    text = "\n".join(
        [
            "id,amount,currency,reference",
            f"{rich},100.00,usd,Invoice 1001 for March services",
            f"{poor},75.00,usd,short row",
            f"{customer},20.00,usd,by customer",
        ]
    )
    return text, rich, customer


def rows_table(at: AppTest) -> Any:
    return next(d for d in at.dataframe if str(d.key or "").startswith("batch_rows:"))


def drawn_text(at: AppTest) -> str:
    """The page's words as Markdown draws them (its escapes, "\\$5,000\\.00", read "$5,000.00")."""
    return re.sub(r"\\(.)", r"\1", texts(at))


def pick(at: AppTest, row: int) -> AppTest:
    """A click on a row's picker (AppTest has no clicks on a table: its selection state)."""
    at.session_state[rows_table(at).key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


def test_the_rows_table_fits_the_page_with_verdict_id_money_and_reasons_first() -> None:
    text, _, _ = one_currency_csv()
    at = checked(text)
    table = rows_table(at)
    widths = shown_widths(table)
    assert all(isinstance(w, int) for w in widths.values()), widths
    assert sum(widths.values()) + ROW_PICKER <= PAGE_WIDTH, widths
    order = list(table.proto.column_order)
    assert order[: len(FIRST)] == FIRST and order[len(FIRST)] == "Reasons", order
    assert widths["Reasons"] >= 250, widths  # the widest: the start of each reason reads
    assert widths["Verdict"] >= 90  # "Insufficient" and "Unavailable" in full
    help_of = {n: c.get("help") or "" for n, c in column_config(table).items()}
    assert "select the row" in help_of["ID"] and "select the row" in help_of["Reasons"]


def test_several_currencies_add_their_column_and_still_fit_and_so_does_the_problems_table() -> None:
    text, _, _ = csv_with_good_and_bad_rows()  # a EUR row among USD ones, and three errors
    at = checked(text)
    widths = shown_widths(rows_table(at))
    assert "Currency" in widths and all(isinstance(w, int) for w in widths.values()), widths
    assert sum(widths.values()) + ROW_PICKER <= PAGE_WIDTH, widths
    problems = at.dataframe[0]
    config = column_config(problems)
    shown = [config[c]["width"] for c in ("row", "error", "target")]
    assert all(isinstance(w, int) for w in shown) and sum(shown) <= PAGE_WIDTH, config
    # The whole ID, drawn so (the table's search matches what a cell draws), in a column it fits
    targets = list(drawn_cells(problems)["target"])
    assert targets == list(problems.value["target"]) and targets[0] == "fca_000000000000unknown"
    assert config["target"]["width"] >= 6.75 * 28 + 16, config  # a 28-character fca_ ID, whole
    # The several currencies' Styler draws the rows' IDs whole too
    rows = rows_table(at)
    assert rows.proto.arrow_data.styler.display_values  # this is the Styler's case
    assert list(drawn_cells(rows)["ID"]) == list(rows.value["ID"]), drawn_cells(rows)["ID"]


def test_the_id_cell_holds_and_draws_the_whole_id_so_the_tables_search_finds_a_pasted_one() -> None:
    """The cell drew "fca_…7g8h9i0j" (its kind and last 8 characters): the table's search box,
    which matches the text a cell draws, found nothing for an ID pasted from Stripe's Dashboard
    or an email, and a copied cell was that text. The cell is the whole ID now, cut at the
    column's edge, the kind and the start of the ID in view."""
    text, rich, customer = one_currency_csv()
    at = checked(text)
    table = rows_table(at)
    ids = list(table.value["ID"])
    assert (ids[0], ids[2]) == (rich, customer)
    drawn = list(drawn_cells(table)["ID"])
    assert (drawn[0], drawn[2]) == (rich, customer), drawn
    width = shown_widths(table)["ID"]
    assert width >= 6.75 * len("fca_") + 6.75 * 15 + 16, width  # the kind, 15 characters after it


def test_a_picked_row_reads_in_full_below_the_table() -> None:
    text, rich, customer = one_currency_csv()
    at = checked(text)
    assert "Select a row to read all of it" in texts(at)
    pick(at, 0)
    no_exceptions(at)
    detail = drawn_text(at)
    assert f"`{rich}`" in detail  # the whole ID, which the column cuts
    assert "Reference: Invoice 1001 for March services" in detail
    assert re.search(r"Balance: \$5,000\.00, as of \d{4}-\d\d-\d\d \d\d:\d\d UTC", detail), detail
    reasons = str(rows_table(at).value["Reasons"].iloc[0])
    assert len(reasons) > 40 and reasons in detail  # all of it, not cut
    assert "Select a row to read all of it" not in detail

    pick(at, 2)  # the customer's row: the account it was checked against
    detail = drawn_text(at)
    assert f"`{customer}`" in detail and "Checked against the bank account `fca_" in detail


def test_the_picked_row_is_picked_again_after_another_page_and_in_a_new_session() -> None:
    """Finance picked a row and read its detail, went to Balance check and came back (or
    reloaded, or opened the address in a new tab): the result was back, the pick and its
    detail gone. The row is kept in the session and in the address (?job=…&row=…)."""
    from tests.app.conftest import DASHBOARD, signed_in

    text, _, customer = one_currency_csv()
    at = checked(text)
    pick(at, 2)
    assert f"`{customer}`" in drawn_text(at)
    address = dict(at.query_params)
    assert address.get("row") == "4" and address.get("job"), address  # the file's row 4

    at.switch_page("pages/balance_check.py")  # the sidebar: its address has no query
    for name in list(at.query_params):
        at.query_params.pop(name)
    at.run()
    no_exceptions(at)
    at.switch_page(PAGE)
    at.run()
    no_exceptions(at)
    assert f"`{customer}`" in drawn_text(at), texts(at)
    assert list(rows_table(at).value["ID"]).index(customer) == 2
    assert dict(at.query_params) == address  # the address names it again

    fresh = signed_in(AppTest.from_file(DASHBOARD, default_timeout=60), "finance")
    fresh.run()
    fresh.switch_page(PAGE)
    fresh.query_params.update(address)
    fresh.run()
    no_exceptions(fresh)
    assert "Showing your last batch check" in texts(fresh)
    assert f"`{customer}`" in drawn_text(fresh), texts(fresh)

    pick(fresh, 0)  # another row: the address follows
    assert fresh.query_params["row"] == "2"
