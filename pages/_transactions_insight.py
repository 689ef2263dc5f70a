"""Transactions: the tabs of an account with stored transactions: the table (filters, sort,
pages, CSV download), charts, recurring income and risk."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import streamlit as st

from components import transaction_tables as tables
from components.pager import current_page, pager
from components.transaction_charts import (
    cash_flow_chart,
    counterparties_chart,
    running_balance_chart,
)
from components.url_sort import url_sort
from pages import _person as person
from pages import _runtime as runtime
from services.auth import Actor
from services.context import Services
from services.rules.transactions import TransactionFilter
from services.rules.wording import counted
from services.usecases import export_transactions, view_transactions
from services.usecases.view_transactions import TransactionInsight, TransactionStatus

ALL = "All"
DIRECTIONS = {"All": None, "Money in": "in", "Money out": "out"}
STATUSES = {"Posted and pending": None, "Posted": "posted", "Pending": "pending", "Void": "void"}
PAGE_SIZE = 100
PAGE_KEY = "txn_page"  # (account, filters and order, page) of the list


# --------------------------------------------------------------------------- table


def filters_row(svc: Services) -> TransactionFilter:
    today = datetime.fromtimestamp(svc.now(), UTC).date()
    c1, c2, c3, c4 = st.columns([2, 1, 1.4, 1.6], vertical_alignment="bottom")
    picked = c1.date_input(
        "Dates",
        value=(today - timedelta(days=89), today),
        max_value=today,
        key="txn_dates",
    )
    direction = c2.selectbox("Direction", list(DIRECTIONS), key="txn_direction")
    status = c3.selectbox("Status", list(STATUSES), key="txn_status")
    text = c4.text_input("Description contains", key="txn_text", placeholder="e.g. payroll")
    start, end = _range(picked)
    return TransactionFilter(
        start=start,
        end=end,
        direction=DIRECTIONS[direction],
        status=STATUSES[status],
        text=text or None,
    )


def _range(picked: Any) -> tuple[date | None, date | None]:
    if isinstance(picked, tuple | list):
        values = [d for d in picked if isinstance(d, date)]
        if len(values) == 2:
            return values[0], values[1]
        if len(values) == 1:
            return values[0], values[0]
        return None, None
    return (picked, picked) if isinstance(picked, date) else (None, None)


def transactions_table(svc: Services, actor: Actor, account_id: str, stored: int = 0) -> None:
    """The stored transactions matching the filters; ``stored``: how many are stored in all
    (the caption says how many the filters leave out: "Full sync: 28" beside "7 transaction(s)"
    read as 21 lost)."""
    chosen = filters_row(svc)
    left, _ = st.columns([2, 5])
    sort = url_sort(
        left,
        sorts=view_transactions.TRANSACTION_SORTS,
        default="newest",
        key="txn_sort",
        noun="list",
    )
    page = current_page(PAGE_KEY, repr((account_id, chosen, sort)))  # new filters: page 1
    result = runtime.call(
        view_transactions.transactions_page,
        svc,
        actor,
        account_id,
        chosen,
        page=page,
        page_size=PAGE_SIZE,
        sort=sort,
    )
    if result is None:
        return
    if not result.total:
        st.info(
            f"None of the {stored:,} stored transactions match these filters: widen the dates "
            "or clear a filter." if stored else "No stored transactions match these filters.",
            icon=":material/filter_alt_off:",
        )
        return
    order = view_transactions.TRANSACTION_SORTS[result.sort].lower()
    left_out = (
        f" ({counted(stored - result.total, 'other stored transaction')} "
        f"{'is' if stored - result.total == 1 else 'are'} outside the dates or "
        "filters above)"
        if stored > result.total
        else ""
    )
    st.caption(
        (
            f"{result.first:,}–{result.last:,} of {counted(result.total, 'transaction')}, {order}"
            if result.pages > 1
            else f"{counted(result.total, 'transaction')}, {order}"
        )
        + left_out
    )
    tables.transactions_table(result.rows)
    pager(PAGE_KEY, "txn", result.page, result.pages)
    st.download_button(
        f"Download CSV ({result.total:,} rows)",
        # built (and audited as transactions.export) on the click, not on every rerun
        person.on_click(export_transactions.export_csv, svc, actor, account_id, chosen, sort=sort),
        file_name=f"transactions-{account_id}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key="txn_download",
    )


# --------------------------------------------------------------------------- insight


def charts(result: TransactionInsight, currency: str) -> None:
    st.caption("Last 90 days of stored transactions (pending ones included).")
    left, right = st.columns(2)
    with left:
        period = st.segmented_control(
            "Cash flow per", ["Day", "Week"], default="Day", key="txn_period"
        )
        frame = result.cash_flow_weekly if period == "Week" else result.cash_flow_daily
        if frame.empty:
            st.caption("No money moved in this period.")
        else:
            chart = cash_flow_chart(frame, currency=currency, period=str(period or "Day").lower())
            st.altair_chart(chart, width="stretch")
    with right:
        st.markdown("**End-of-day balance**")
        if result.balance_series is None:
            st.caption("No balance is known for this account, so it cannot be rebuilt.")
        else:
            st.altair_chart(
                running_balance_chart(result.balance_series, currency=currency), width="stretch"
            )
    way = st.segmented_control(
        "Largest counterparties", ["Money out", "Money in"], default="Money out", key="txn_way"
    )
    top = result.top_in if way == "Money in" else result.top_out
    if top.empty:
        st.caption("No counterparties in this direction.")
    else:
        st.altair_chart(counterparties_chart(top, currency=currency), width="stretch")


def insight_tabs(svc: Services, actor: Actor, status: TransactionStatus) -> None:
    result = runtime.call(view_transactions.account_insight, svc, actor, status)
    if result is None:
        return
    currency = result.currency or "usd"
    for note in result.notes:
        st.caption(note)
    table, chart_tab, income, risk = st.tabs(
        ["Transactions", "Charts", "Recurring income", "Risk (30/60/90 days)"]
    )
    with table:
        transactions_table(svc, actor, status.account_id, status.stored_rows)
    with chart_tab:
        charts(result, currency)
    with income:
        tables.income_table(result.incomes)
    with risk:
        tables.risk_table(result.risk, currency)
