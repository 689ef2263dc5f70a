"""Ownership review and Transactions keep the open account in the URL (``?account=``), as
Accounts does: a reload, a new tab or a colleague given the URL opens it again. Before, both
pages read the parameter once and removed it, so a reload showed an empty picker."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import jobs_settled, no_exceptions, open_page
from tests.app.test_transactions_page import _param, demo_accounts  # noqa: F401  (fixture)

PAGES = {
    "pages/ownership.py": ("own_id_input", "Check"),
    "pages/transactions.py": ("txn_id_input", "Open"),
}


def opened_at(page: str, account_id: str) -> AppTest:
    """A new session (what a reload, a new tab or a shared URL is) at ``?account=…``."""
    at = open_page(page, "ops")
    at.query_params["account"] = account_id
    at.run()
    no_exceptions(at)
    return at


@pytest.mark.parametrize("page", sorted(PAGES))
def test_the_open_account_stays_in_the_url_and_a_new_session_opens_it(
    page: str, demo_accounts: dict[str, list[Any]]  # noqa: F811  (the fixture)
) -> None:
    first, second = (r.id for r in demo_accounts["subscribed"][:2])
    at = opened_at(page, first)
    box, button = PAGES[page]
    assert _param(at, "account") == first  # still there after the link was followed
    assert at.text_input(key=box).value == first
    # The person opens another account: the URL follows, and a reload opens that one.
    at.text_input(key=box).set_value(second)
    next(b for b in at.button if b.label == button).click().run()
    no_exceptions(at)
    assert _param(at, "account") == second
    again = opened_at(page, str(_param(at, "account")))
    assert at.text_input(key=box).value == second and again.text_input(key=box).value == second
    drawn = [h.value for h in again.subheader]  # its view is drawn, not just the box filled
    assert drawn and drawn == [h.value for h in at.subheader]


EMPTY = {  # what each page shows with no account chosen
    "pages/ownership.py": "Enter an account ID",
    "pages/transactions.py": "Pick an account, or enter its ID",
}


def shown_account(at: AppTest, page: str) -> str:
    """The account the page shows: its subheader's bank line, or "" when it shows none."""
    no_exceptions(at)
    if any(EMPTY[page] in i.value for i in at.info):
        assert not at.subheader
        return ""
    assert at.subheader
    return str(at.text_input(key=PAGES[page][0]).value)


def back_to(at: AppTest, account_id: str | None) -> AppTest:
    """The browser's Back or Forward: the URL of that history entry, and a rerun."""
    if account_id:
        at.query_params["account"] = account_id
    else:
        at.query_params.pop("account", None)
    return at.run()


@pytest.mark.parametrize("page", sorted(PAGES))
def test_back_and_forward_show_the_url_s_account_and_never_write_it_back(
    page: str, demo_accounts: dict[str, list[Any]]  # noqa: F811  (the fixture)
) -> None:
    """Check X, then Y; Back shows X, Back again the empty form with no ?account= (the page put
    X back into the URL, so Back stayed on X and Forward never reached Y), Forward X, Forward Y."""
    first, second = (r.id for r in demo_accounts["subscribed"][:2])
    at = open_page(page, "ops")
    box, button = PAGES[page]
    assert shown_account(at, page) == ""
    for account_id in (first, second):
        at.text_input(key=box).set_value(account_id)
        next(b for b in at.button if b.label == button).click().run()
        assert _param(at, "account") == account_id and shown_account(at, page) == account_id
    back_to(at, first)
    assert _param(at, "account") == first and shown_account(at, page) == first
    back_to(at, None)
    assert _param(at, "account") is None and shown_account(at, page) == ""
    at.run()  # a plain rerun writes nothing either
    assert _param(at, "account") is None and shown_account(at, page) == ""
    back_to(at, first)  # Forward
    assert _param(at, "account") == first and shown_account(at, page) == first
    back_to(at, second)
    assert _param(at, "account") == second and shown_account(at, page) == second


def test_transactions_takes_the_id_typed_after_one_over_100_characters(
    demo_accounts: dict[str, list[Any]],  # noqa: F811  (the fixture)
) -> None:
    """The URL's value was cut to 100 characters before comparing, so it never equalled the
    long one written and every run put the long text back in the box over the new ID."""
    account_id = demo_accounts["subscribed"][0].id
    at = open_page("pages/transactions.py", "ops")
    at.text_input(key="txn_id_input").set_value("x" * 5000)
    next(b for b in at.button if b.label == "Open").click().run()
    no_exceptions(at)
    assert at.error and not at.subheader  # a sentence, no account
    at.text_input(key="txn_id_input").set_value(account_id)
    next(b for b in at.button if b.label == "Open").click().run()
    assert at.text_input(key="txn_id_input").value == account_id
    assert not at.error and shown_account(at, "pages/transactions.py") == account_id
    assert _param(at, "account") == account_id


def test_payment_lookup_back_and_forward_follow_the_url_s_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Look up A, then B; Back shows A, Back again the empty box and no result (A's result used
    to stay under an empty URL), Forward A, Forward B; no step writes the URL."""
    from tests.app.test_balance_check_page import history_step
    from tests.app.test_payment_lookup_page import setup_intent

    first, second = (setup_intent(manual=False)["id"] for _ in range(2))
    at = open_page("pages/payment_lookup.py", "ops")

    def shows() -> tuple[object, str, bool]:
        no_exceptions(at)
        found = any("Linked through Financial Connections" in s.value for s in at.success)
        return _param(at, "id"), str(at.text_input(key="lookup_id").value), found

    for si in (first, second):
        at.text_input(key="lookup_id").set_value(si)
        next(b for b in at.button if b.label == "Look up").click().run()
        assert shows() == (si, si, True)
    history_step(monkeypatch)  # the runs below are Back and Forward, as Chromium marks them
    for wanted in (first, None, None, first, second):  # Back, Back, a rerun, Forward, Forward
        if wanted:
            at.query_params["id"] = wanted
        else:
            at.query_params.pop("id", None)
        at.run()
        assert shows() == (wanted, wanted or "", bool(wanted))


def test_ownership_back_from_an_account_opened_in_the_review_list_shows_the_list_again() -> None:
    """Open a row of the review list, then Back: the list again (the account used to stay, its
    ?account= written back, and the next Back left the page); Forward opens the row's account."""
    from pages import _runtime as runtime
    from services.auth import SYSTEM
    from services.usecases import review_ownership as orv

    open_page(None, None)  # builds the app with the test settings
    jobs_settled()
    orv.check_all(runtime.get_app().services, SYSTEM)
    at = open_page("pages/ownership.py", "ops")
    at.segmented_control(key="own_view").set_value("Review list").run()
    row = str(at.dataframe[0].value["Account"][0])
    # A click on the row (AppTest has no clicks on a table's rows: its selection state)
    at.session_state["own_table_0"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    no_exceptions(at)
    assert _param(at, "account") == row and at.session_state["own_view"] == "Check an account"
    assert at.text_input(key="own_id_input").value == row and at.subheader
    back_to(at, None)
    no_exceptions(at)
    assert _param(at, "account") is None and at.session_state["own_view"] == "Review list"
    assert row in list(at.dataframe[0].value["Account"]) and not at.subheader
    back_to(at, row)  # Forward
    no_exceptions(at)
    assert at.session_state["own_view"] == "Check an account"
    assert at.text_input(key="own_id_input").value == row and at.subheader
