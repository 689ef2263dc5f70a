"""Accounts keeps the customer picked from the search results in the URL (``?customer=``), and
Back/Forward walk the customers picked. The page used to write the chosen customer into the URL
on every run (and the results table re-chose its selected row on every run), so Back put
``?customer=`` straight back: Back could not leave a customer's accounts, and Forward was lost."""

from __future__ import annotations

import secrets

from streamlit.testing.v1 import AppTest

from services.adapters import account_mirror
from tests.app.conftest import jobs_settled, no_exceptions, open_page
from tests.app.conftest import shared_app as app
from tests.app.test_accounts_page import button

PAGE = "pages/accounts.py"


def customers(count: int) -> tuple[str, list[tuple[str, str]]]:
    """A search term and ``count`` customers in the store it matches (id, name), in the order the
    results list them (newest first)."""
    tag = secrets.token_hex(4)
    made = [(f"cus_backpick{tag}{n}", f"Backpick{tag} {n}") for n in range(count)]
    for n, (cid, name) in enumerate(made):
        account_mirror.upsert_customer(app().engine, {"id": cid, "name": name, "created": n})
    return f"backpick{tag}", made[::-1]


def searched(count: int) -> tuple[AppTest, list[tuple[str, str]]]:
    """Accounts with the results of a search matching ``count`` new customers (id, name), in the
    order listed (newest first). The first visit's sync (a background job) ends first: it would
    take out of the store customers Stripe does not have, and its end reruns the page."""
    at = open_page(PAGE, "ops")
    jobs_settled()
    at.run()
    term, made = customers(count)
    at.text_input(key="acc_term").set_value(term)
    button(at, "Search").click().run()
    no_exceptions(at)
    assert list(at.dataframe[0].value["ID"]) == [cid for cid, _ in made]
    return at, made


def pick(at: AppTest, row: int) -> AppTest:
    """A click on a row of the search results (AppTest has no clicks on a table's rows: the
    selection state the click sets)."""
    table = at.dataframe[0]
    assert "ID" in table.value.columns and table.key  # the results, not the accounts
    at.session_state[table.key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


def shown(at: AppTest) -> tuple[object, str | None]:
    """(the URL's ?customer=, the name of the customer whose accounts the list shows)."""
    no_exceptions(at)
    heading = [t.value for t in at.text if t.value.startswith("Accounts of ")]
    assert len(heading) <= 1, heading
    name = heading[0].removeprefix("Accounts of ").rsplit(" (cus_", 1)[0] if heading else None
    return at.query_params.get("customer"), name


def history(at: AppTest, customer_id: str | None) -> AppTest:
    """The browser's Back or Forward: the URL of that history entry, and a rerun."""
    if customer_id:
        at.query_params["customer"] = customer_id
    else:
        at.query_params.pop("customer", None)
    return at.run()


def test_back_and_forward_walk_the_customers_picked_and_never_write_the_url() -> None:
    at, ((a_id, a_name), (b_id, b_name)) = searched(2)
    assert shown(at) == (None, None)
    pick(at, 0)
    assert shown(at) == (a_id, a_name)
    at.run()  # a plain rerun changes nothing
    assert shown(at) == (a_id, a_name)
    pick(at, 1)
    assert shown(at) == (b_id, b_name)
    history(at, a_id)  # Back
    assert shown(at) == (a_id, a_name)
    at.run()
    assert shown(at) == (a_id, a_name)  # the results' selected row (B) is not taken again
    history(at, None)  # Back: all accounts (B or A used to come back here)
    assert shown(at) == (None, None)
    at.run()
    assert shown(at) == (None, None)
    history(at, a_id)  # Forward
    assert shown(at) == (a_id, a_name)
    history(at, b_id)  # Forward
    assert shown(at) == (b_id, b_name)
    # After Back the results table is fresh: a click on a row picks that customer again.
    history(at, a_id)
    pick(at, 1)
    assert shown(at) == (b_id, b_name)


def test_all_accounts_leaves_the_customer_even_with_their_row_selected() -> None:
    """"All accounts" used to be undone on the next run: the results' selected row chose the
    customer again (and wrote ``?customer=`` back)."""
    at, ((a_id, a_name), _) = searched(2)
    pick(at, 0)
    assert shown(at) == (a_id, a_name)
    at.button(key="acc_clear_customer").click().run()
    assert shown(at) == (None, None)
    at.run()
    assert shown(at) == (None, None)
    history(at, a_id)  # Back to the customer
    assert shown(at) == (a_id, a_name)
