"""Tables of the Transactions page: the stored rows, recurring income and risk windows.

Typed views in (``services.rules``), formatted ``st.dataframe`` out; money stays integer minor
units until it is formatted here, at the edge.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from components.table_columns import count_column, date_column, money_column
from services.rules.cashflow import RiskWindow
from services.rules.income import IncomeRow
from services.rules.table_values import major_units, one_currency
from services.rules.transactions import TransactionView

__all__ = ["CADENCE_WORDS", "income_table", "risk_table", "transactions_table"]

CADENCE_WORDS = {
    "weekly": "Weekly",
    "biweekly": "Every 2 weeks",
    "semimonthly": "Twice a month",
    "monthly": "Monthly",
    "irregular": "Irregular",
}


def transactions_frame(rows: Sequence[TransactionView]) -> pd.DataFrame:
    """One row per transaction, in the order given; amounts are signed numbers in major units."""
    return pd.DataFrame(
        {
            "Date": [t.transacted_at for t in rows],
            "Description": [t.description for t in rows],
            "Amount": [major_units(t.amount, t.currency) for t in rows],
            "In/out": ["In" if t.direction == "in" else "Out" for t in rows],
            "Status": [t.status for t in rows],
            "ID": [t.id for t in rows],
        },
        columns=["Date", "Description", "Amount", "In/out", "Status", "ID"],
    )


def transactions_table(rows: Sequence[TransactionView]) -> None:
    """The stored transactions, in the order given (the service sorts and pages in SQL)."""
    st.dataframe(
        transactions_frame(rows),
        hide_index=True,
        placeholder="—",
        width="stretch",
        column_config={
            "Date": st.column_config.DatetimeColumn("Date (UTC)", format="YYYY-MM-DD HH:mm"),
            "Amount": money_column("Amount", one_currency(t.currency for t in rows)),
        },
    )


def income_table(rows: Sequence[IncomeRow]) -> None:
    """Recurring income, most trustworthy first, with the debit date each stream suggests."""
    if not rows:
        st.info(
            "No recurring income found: no payer deposited at least three times.",
            icon=":material/payments:",
        )
        return
    st.caption(
        "Deposits that recur from the same payer. The suggested debit date is the first "
        "business day after the next expected pay, so the debit meets a funded account."
    )
    frame = pd.DataFrame(
        {
            "Payer": [r.stream.description for r in rows],
            "Cadence": [CADENCE_WORDS.get(r.stream.cadence, r.stream.cadence) for r in rows],
            "Typical amount": [
                major_units(r.stream.typical_amount, r.stream.currency) for r in rows
            ],
            "Deposits": [r.stream.count for r in rows],
            "Last": [r.stream.last_date for r in rows],
            "Next expected": [r.stream.next_expected for r in rows],
            "Suggested debit date": [r.suggested_debit_date for r in rows],
            "Confidence": [round(r.stream.confidence * 100) for r in rows],
            "Why": [r.stream.reason for r in rows],
        }
    )
    st.dataframe(
        frame,
        hide_index=True,
        placeholder="—",
        width="stretch",
        column_config={
            "Typical amount": money_column(
                "Typical amount", one_currency(r.stream.currency for r in rows)
            ),
            "Deposits": count_column("Deposits"),
            "Last": date_column("Last"),
            "Next expected": date_column(
                "Next expected", help="Empty when the payer deposits irregularly"
            ),
            "Suggested debit date": date_column("Suggested debit date"),
            "Confidence": st.column_config.ProgressColumn(
                "Confidence", min_value=0, max_value=100, format="%d %%"
            ),
        },
    )


def risk_table(windows: Sequence[RiskWindow], currency: str) -> None:
    """Balances, credits and debits over each trailing window."""

    def money(value: int | None) -> float | None:
        return major_units(value, currency)

    frame = pd.DataFrame(
        {
            "Window": [f"{w.days} days" for w in windows],
            "Average daily balance": [money(w.average_daily_balance) for w in windows],
            "Minimum daily balance": [money(w.minimum_daily_balance) for w in windows],
            "Credits": [w.credits_count for w in windows],
            "Credits total": [money(w.credits_sum) for w in windows],
            "Debits": [w.debits_count for w in windows],
            "Debits total": [money(w.debits_sum) for w in windows],
            "Days below zero": [w.negative_balance_days for w in windows],
        }
    )
    money_names = [n for n in frame.columns if "balance" in n or "total" in n]
    st.dataframe(
        frame,
        hide_index=True,
        placeholder="—",
        width="stretch",
        column_config={
            **{name: money_column(name, currency) for name in money_names},
            **{name: count_column(name) for name in ("Credits", "Debits", "Days below zero")},
        },
    )
    if any(w.average_daily_balance is None for w in windows):
        st.caption("Balances are empty: no balance is known for this account to rebuild from.")
    st.caption(
        "Balances are rebuilt backwards from the bank's current (posted) balance, using posted "
        "transactions; credit and debit counts include pending ones."
    )
