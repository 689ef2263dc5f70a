"""Transactions page: pick an account, sync, filter, charts, income and risk; actions for managers' no."""

from __future__ import annotations

import os
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from services.rules.wording import counted as n_of
from tests.app.conftest import column_config, no_exceptions, open_page, refused, texts

PAGE = "pages/transactions.py"
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def _app() -> Any:
    from pages import _runtime as runtime

    return runtime.get_app()


@pytest.fixture(scope="module")
def demo_accounts() -> dict[str, list[Any]]:
    """The app's sandbox accounts with the transactions permission, mirrored in its store."""
    from services.auth import SYSTEM
    from services.usecases import browse_accounts, sync_accounts

    open_page(None, None)  # builds the app with the test settings
    app = _app()
    sync_accounts.sync_accounts(app.services, SYSTEM)
    rows = browse_accounts.list_accounts(
        app.services, SYSTEM, permission="transactions", status="active", page_size=500
    ).rows
    return {
        "subscribed": [r for r in rows if "transactions" in r.subscriptions],
        "unsubscribed": [r for r in rows if "transactions" not in r.subscriptions],
    }


def _open(role: str, account_id: str) -> AppTest:
    at = open_page(PAGE, role)
    at.text_input(key="txn_id_input").input(account_id)
    next(b for b in at.button if b.label == "Open").click().run()
    return at


@pytest.mark.parametrize("role", ["ops", "finance", "admin"])
def test_an_account_shows_its_transactions_charts_income_and_risk(
    role: str, demo_accounts: dict[str, list[Any]]
) -> None:
    account = demo_accounts["subscribed"][0]

    at = _open(role, account.id)

    no_exceptions(at)
    shown = texts(at)
    assert "transactions stored" in shown
    frames = [d.value for d in at.dataframe]
    table = next(f for f in frames if "In/out" in f.columns)
    risk = next(f for f in frames if "Window" in f.columns)
    assert len(table) > 0 and set(table["In/out"]) <= {"In", "Out"}
    assert any("Cadence" in f.columns for f in frames) or "No recurring income" in shown
    assert list(risk["Window"]) == ["30 days", "60 days", "90 days"]
    assert len(at.get("arrow_vega_lite_chart")) + len(at.get("vega_lite_chart")) >= 2


def test_demo_payroll_is_found_with_a_debit_date_after_the_next_payday(
    demo_accounts: dict[str, list[Any]],
) -> None:
    for account in demo_accounts["subscribed"]:
        at = _open("finance", account.id)
        income = next((d.value for d in at.dataframe if "Cadence" in d.value.columns), None)
        regular = income[income["Cadence"] != "Irregular"] if income is not None else None
        if regular is not None and len(regular):
            row = regular.iloc[0]
            assert row["Suggested debit date"] > row["Next expected"]
            return
    pytest.fail("no demo account with transactions shows regular income")


def test_the_direction_filter_keeps_only_money_in(demo_accounts: dict[str, list[Any]]) -> None:
    at = _open("ops", demo_accounts["subscribed"][0].id)
    at.selectbox(key="txn_direction").select("Money in").run()
    no_exceptions(at)
    table = at.dataframe[0].value
    assert set(table["In/out"]) == {"In"}
    assert (table["Amount"] > 0).all()  # numbers (major units), so they sort numerically
    (download,) = at.get("download_button")  # the rows as filtered, as a file
    assert download.proto.label.startswith("Download CSV (") and download.proto.ignore_rerun


def test_the_list_says_how_many_stored_transactions_the_filters_leave_out(
    demo_accounts: dict[str, list[Any]],
) -> None:
    """"Full sync: 28 … · 28 transactions stored" beside "7 transactions, newest first" read as
    21 lost: the caption now says the others are outside the dates or filters."""
    import re

    at = _open("ops", demo_accounts["subscribed"][0].id)
    stored = int(re.search(r"([\d,]+) transactions stored", texts(at)).group(1).replace(",", ""))  # type: ignore[union-attr]
    at.selectbox(key="txn_direction").select("Money in").run()
    no_exceptions(at)
    said = [
        m for c in at.caption
        if (m := re.search(r"([\d,]+) transactions?, newest first \(([\d,]+) other stored "
                           r"transactions? (?:is|are) outside the dates or filters above\)", c.value))
    ]
    assert said, [c.value for c in at.caption]
    matching, others = (int(g.replace(",", "")) for g in said[0].groups())
    assert matching > 0 and matching + others == stored
    at.text_input(key="txn_text").input("no such description anywhere").run()
    no_exceptions(at)
    assert any(
        i.value.startswith(f"None of the {stored:,} stored transactions match these filters")
        for i in at.info
    )


def _param(at: AppTest, name: str) -> object:
    value = at.query_params.get(name)
    return value[0] if isinstance(value, list) else value


def test_sorting_by_amount_orders_every_stored_row_across_pages(
    demo_accounts: dict[str, list[Any]],
) -> None:
    from services.auth import SYSTEM
    from services.rules.transactions import TransactionFilter
    from services.usecases import view_transactions

    svc = _app().services
    account = max(
        demo_accounts["subscribed"],
        key=lambda a: len(
            view_transactions.list_transactions(svc, SYSTEM, a.id, TransactionFilter())
        ),
    )
    at = _open("finance", account.id)
    start, end = at.date_input(key="txn_dates").value  # the page's default: the last 90 days
    shown = TransactionFilter(start=start, end=end)
    every = view_transactions.list_transactions(svc, SYSTEM, account.id, shown)
    amounts = sorted((t.amount / 100 for t in every), reverse=True)
    at.selectbox(key="txn_sort").set_value("amount_desc").run()
    no_exceptions(at)
    assert _param(at, "sort") == "amount_desc"
    table = at.dataframe[0].value
    assert config_type(at, "Amount") == {"type": "number", "format": "dollar"}
    assert list(table["Amount"]) == amounts[: len(table)]  # the largest of all, not of a page
    if len(every) > len(table):
        assert f"1–{len(table)} of {n_of(len(every), 'transaction')}" in texts(at)
        at.button(key="txn_next").click().run()
        second = at.dataframe[0].value
        assert list(second["Amount"]) == amounts[len(table) : len(table) + len(second)]
    else:
        assert f"{n_of(len(every), 'transaction')}, amount, largest first" in texts(at)
    at.selectbox(key="txn_sort").set_value("newest").run()
    assert "sort" not in at.query_params


def test_a_bad_sort_link_falls_back_to_newest_first(demo_accounts: dict[str, list[Any]]) -> None:
    at = _open("ops", demo_accounts["subscribed"][0].id)
    at.query_params["sort"] = "amount; DROP TABLE transactionrecord"
    at.run()
    no_exceptions(at)
    assert "was not understood" in texts(at)
    assert at.selectbox(key="txn_sort").value == "newest"
    dates = list(at.dataframe[0].value["Date"])
    assert dates == sorted(dates, reverse=True)


def config_type(at: AppTest, column: str) -> object:
    return column_config(at.dataframe[0])[column]["type_config"]


def test_subscribing_refreshes_then_syncs_without_a_manual_reload(
    demo_accounts: dict[str, list[Any]],
) -> None:
    from sqlmodel import select

    from services.adapters.models import AuditEntry
    from services.adapters.store import session_scope

    account = demo_accounts["unsubscribed"][0]
    at = _open("ops", account.id)
    at.button(key="txn_sub").click().run()
    for _ in range(20):  # each run stands for one poll of the fragment
        if any("sync" in s.value.lower() for s in at.success):
            break
        at.run()

    no_exceptions(at)
    assert any("Incremental sync" in s.value or "Full sync" in s.value for s in at.success)
    assert "Subscribed to daily refreshes" in texts(at)
    assert at.button(key="txn_unsub")
    with session_scope(_app().engine) as session:
        actions = session.exec(
            select(AuditEntry.action).where(AuditEntry.target == account.id)
        ).all()
    assert "transactions.subscribe" in actions and "transactions.sync" in actions


def test_a_malformed_account_id_is_explained(demo_accounts: dict[str, list[Any]]) -> None:
    at = _open("finance", "not-an-id")
    no_exceptions(at)
    assert any("`not-an-id` is not a Stripe ID Transactions accepts: paste a fca_… ID" in e.value for e in at.error)
    assert not at.dataframe


def test_manager_cannot_reach_the_page_or_its_data(demo_accounts: dict[str, list[Any]]) -> None:
    direct = refused(PAGE, "manager")
    assert not direct.dataframe and not direct.selectbox


def test_before_any_transaction_refresh_the_page_says_so_and_offers_to_start_one() -> None:
    """Stripe refuses to list transactions until a transaction refresh succeeded (B4)."""
    open_page(None, None)
    app = _app()
    gateway = app.services.gateway
    customer = gateway.create_customer({"name": "First Refresh"}, idempotency_key=None)
    session = gateway.create_fc_session(
        {
            "account_holder": {"type": "customer", "customer": customer["id"]},
            "permissions": ["transactions", "payment_method"],
        },
        idempotency_key=None,
    )
    app.simulator.complete_session(session["id"], institution="Test Institution")
    [account] = gateway.list_accounts(session=session["id"])

    at = _open("ops", account["id"])
    next(b for b in at.button if b.label == "Sync from Stripe").click().run()

    no_exceptions(at)
    said = texts(at)
    assert "No transaction refresh has succeeded yet" in said
    assert "Refresh transactions asks the bank once, Subscribe for a refresh every day" in said
    assert "Subscribe or refresh" not in said
    assert not at.error  # a state to act on, not an error
    # One button asks for a refresh (there were two doing the same: "Start a transaction
    # refresh" in the notice and "Refresh transactions" below it); it is the one to press.
    assert [b.label for b in at.button if "efresh" in b.label] == ["Refresh transactions"]
    start = at.button(key="txn_refresh")
    assert not start.disabled and start.proto.type == "primary"
    start.click().run()
    no_exceptions(at)
    refreshed = gateway.retrieve_account(account["id"])["transaction_refresh"]
    assert refreshed is not None and refreshed["status"] in ("pending", "succeeded")


def test_a_subscribed_account_whose_last_refresh_failed_says_so_once_with_one_refresh_button(
    demo_accounts: dict[str, list[Any]],
) -> None:
    """The sandbox's "Down Bank (Error)" accounts: subscribed, the last refresh failed, none
    succeeded. The page said "Subscribed to daily refreshes" and, below, "Subscribe or refresh",
    and offered two buttons that did the same."""
    gateway = _app().services.gateway
    failed = next(
        a for a in demo_accounts["subscribed"]
        if (gateway.retrieve_account(a.id).get("transaction_refresh") or {}).get("status")
        == "failed"
    )
    at = _open("finance", failed.id)
    no_exceptions(at)
    said = texts(at)
    assert "Subscribed to daily refreshes" in said
    assert "The last transaction refresh failed at the bank (" in said
    assert "Stripe refreshes this account daily; Refresh transactions asks the bank now" in said
    assert "Subscribe or refresh" not in said and "Start a transaction refresh" not in said
    assert said.count("Stripe has no transactions to list") <= 1
    labels = [b.label for b in at.button]
    assert labels.count("Refresh transactions") == 1 and "Subscribe" not in labels
    assert "Unsubscribe" in labels


def test_the_account_picker_searches_in_the_store_and_opens_the_pick(
    demo_accounts: dict[str, list[Any]],
) -> None:
    """Issue 13: the picker holds a page of accounts, and typing narrows it in SQL."""
    from services.usecases.view_transactions import PICKER_LIMIT

    account = demo_accounts["subscribed"][0]
    at = open_page(PAGE, "ops")
    picker = at.selectbox(key="txn_pick")
    assert 0 < len(picker.options) <= PICKER_LIMIT

    at.text_input(key="txn_search").input(account.id[-6:].upper()).run()
    no_exceptions(at)
    picker = at.selectbox(key="txn_pick")
    assert any(account.id in option for option in picker.options)
    assert len(picker.options) < len(demo_accounts["subscribed"]) + len(
        demo_accounts["unsubscribed"]
    )
    picker.select(account.id).run()
    no_exceptions(at)
    assert "transactions stored" in texts(at)

    at.text_input(key="txn_search").input("no-such-bank-zzz").run()
    no_exceptions(at)
    assert at.selectbox(key="txn_pick").options == []
    assert "No account matches" in at.selectbox(key="txn_pick").placeholder


def test_the_account_picker_finds_by_customer_name_and_email_and_names_them_first(
    demo_accounts: dict[str, list[Any]],
) -> None:
    """Issue 9: people before IDs; the picker searches the customer's name and email too."""
    account = next(
        r
        for r in demo_accounts["subscribed"] + demo_accounts["unsubscribed"]
        if r.customer_name and r.customer_email
    )
    at = open_page(PAGE, "ops")
    every = at.selectbox(key="txn_pick").options
    assert all(not o.startswith("fca_") for o in every)  # a person (or "No customer") first

    surname = account.customer_name.split()[-1]
    for term in (surname.lower(), account.customer_email.upper()):
        at.text_input(key="txn_search").input(term).run()
        no_exceptions(at)
        options = at.selectbox(key="txn_pick").options
        mine = [o for o in options if o.endswith(account.id)]
        assert mine, (term, options)
        assert mine[0].startswith(f"{account.customer_name} · {account.customer_email} · ")
        assert f"••{account.last4}" in mine[0]
        # every option shown matches what was typed, through its customer
        assert all(term.lower() in o.lower() for o in options)
