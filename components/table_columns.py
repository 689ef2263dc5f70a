"""Column configs for tables: numbers, money, ages and times shown with a display format.

The cells hold numbers (``services.rules.table_values`` converts), so a column header sorts
them numerically; the format only changes how they read.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from services.rules.table_values import money_format

__all__ = ["age_column", "count_column", "date_column", "money_column", "time_column"]

TIME_FORMAT = "YYYY-MM-DD HH:mm"


def money_column(
    label: str, currency: str | None, *, help: str | None = None, width: Any = None
) -> Any:
    """Amounts in major units, formatted for ``currency`` ("$1,234.56")."""
    return st.column_config.NumberColumn(
        label, format=money_format(currency), help=help, width=width
    )


def age_column(label: str, *, help: str | None = None, width: Any = None) -> Any:
    """An age as a number of hours ("19.5 h"), so 7 h sorts before 19 h."""
    return st.column_config.NumberColumn(label, format="%.1f h", help=help, width=width)


def count_column(label: str, *, help: str | None = None, width: Any = None) -> Any:
    return st.column_config.NumberColumn(label, format="localized", help=help, width=width)


def time_column(label: str, *, help: str | None = None, width: Any = None) -> Any:
    """A UTC timestamp (aware datetime cells)."""
    return st.column_config.DatetimeColumn(
        label, format=TIME_FORMAT, timezone="UTC", help=help, width=width
    )


def date_column(label: str, *, help: str | None = None, width: Any = None) -> Any:
    return st.column_config.DateColumn(label, format="YYYY-MM-DD", help=help, width=width)
