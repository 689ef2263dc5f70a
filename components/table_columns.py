"""Column configs for tables: numbers, money, ages and times shown with a display format.

The cells hold numbers (``services.rules.table_values`` converts), so a column header sorts
them numerically; the format only changes how they read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from services.rules import wording
from services.rules.money import exponent
from services.rules.table_values import major_units, money_format, one_currency, utc_time

__all__ = [
    "count_column",
    "date_column",
    "display_frame",
    "duration_column",
    "ids_last",
    "money_column",
    "money_columns",
    "time_column",
    "worded_durations",
]

TIME_FORMAT = "YYYY-MM-DD HH:mm"


def money_column(
    label: str, currency: str | None, *, help: str | None = None, width: Any = None
) -> Any:
    """Amounts in major units, formatted for ``currency`` ("$1,234.56")."""
    return st.column_config.NumberColumn(
        label, format=money_format(currency), help=help, width=width
    )


def money_columns(
    frame: pd.DataFrame, columns: Sequence[str], currencies: Sequence[object]
) -> tuple[Any, dict[str, Any]]:
    """``frame`` and the configs of its money ``columns`` (major units; ``currencies`` per row).
    One currency: :func:`money_column`'s format. Several: each cell with its own currency's
    minor units ("1,250.00" beside "1,174.74"; the "localized" format dropped the cents of
    whole amounts), the cells still numbers so a header click sorts them."""
    code = one_currency(currencies)
    if code:
        return frame, {c: money_column(c, code) for c in columns}
    styler = frame.style.format(na_rep=wording.MISSING, subset=list(columns))
    for each in {str(c).strip().lower() for c in currencies if isinstance(c, str) and c.strip()}:
        rows = [i for i, c in zip(frame.index, currencies, strict=True)
                if isinstance(c, str) and c.strip().lower() == each]
        styler = styler.format(
            f"{{:,.{exponent(each)}f}}", subset=pd.IndexSlice[rows, list(columns)],
            na_rep=wording.MISSING,
        )
    return styler, {c: st.column_config.NumberColumn(c) for c in columns}


def duration_column(label: str, *, help: str | None = None, width: Any = None) -> Any:
    """A duration or an age in seconds, drawn in the words the rest of the app uses ("2 min",
    "3 h", "2 d": :func:`services.rules.wording.age`, as Balance check and every metric say it)
    by :func:`worded_durations`; tables used to say "3.3 h" where the page beside said "3 h".
    The cells keep the seconds, so a header click sorts by length (words would sort "2 d"
    before "2 min")."""
    return st.column_config.NumberColumn(label, help=help, width=width)


def worded_durations(frame: pd.DataFrame, columns: Sequence[str]) -> Any:
    """``frame`` to draw with :func:`duration_column`: its ``columns`` (seconds) shown as
    :func:`services.rules.wording.age` says them, as the cards beside a table do; a blank is
    "—". Other columns keep their own column configs' formats."""
    def words(seconds: object) -> str:
        return wording.age(seconds if isinstance(seconds, int | float) else None)

    return frame.style.format(words, subset=list(columns), na_rep=wording.MISSING)


def count_column(label: str, *, help: str | None = None, width: Any = None) -> Any:
    return st.column_config.NumberColumn(label, format="localized", help=help, width=width)


def time_column(label: str, *, help: str | None = None, width: Any = None) -> Any:
    """A UTC timestamp (aware datetime cells)."""
    return st.column_config.DatetimeColumn(
        label, format=TIME_FORMAT, timezone="UTC", help=help, width=width
    )


def date_column(label: str, *, help: str | None = None, width: Any = None) -> Any:
    return st.column_config.DateColumn(label, format="YYYY-MM-DD", help=help, width=width)


def display_frame(
    frame: pd.DataFrame,
    *,
    money: Sequence[str] = (),
    currency: str = "currency",
    times: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A service's frame (money in integer minor units beside a ``currency`` column, times in
    Unix seconds) as numbers a table shows and sorts: major units and UTC datetimes, with the
    column configs that format them. The currency column is hidden when it holds one currency
    (the money format names it) and shown beside the figures when it holds several.
    """
    labels = labels or {}
    out = frame.copy()
    codes = list(out[currency]) if currency in out else [None] * len(out)
    for name in money:
        out[name] = pd.Series(
            [
                major_units(int(a), c) if pd.notna(a) and isinstance(c, str) else None
                for a, c in zip(out[name], codes, strict=True)
            ],
            index=out.index,
            dtype="float64",
        )
    for name in times:
        out[name] = pd.Series(
            [utc_time(int(t)) if pd.notna(t) and t else None for t in out[name]],
            index=out.index,
            dtype="datetime64[ns, UTC]",
        )
    single = one_currency(codes)
    config: dict[str, Any] = {n: money_column(labels.get(n, n), single) for n in money}
    config |= {n: time_column(labels.get(n, n)) for n in times}
    if single is not None and currency in out:  # the format already says which currency
        config[currency] = None
    return out, config


def ids_last(frame: pd.DataFrame, *ids: str) -> list[str]:
    """A ``column_order`` that keeps the frame's columns in order but moves the ID columns
    ``ids`` after them (people and figures first; IDs stay, copyable, at the end)."""
    return [c for c in frame.columns if c not in ids] + [c for c in ids if c in frame.columns]
