"""Text cells for CSV files people open in Excel or Google Sheets: the one place every CSV the
app offers (and every table a person can download) is made safe.

A cell that starts with = + - @ (or a tab or carriage return) is evaluated as a formula by
spreadsheets, so text that came from outside (a reference typed into an uploaded file, a bank's
account name, an audit target) is prefixed with an apostrophe, which spreadsheets hide. Apply it
to text cells only: numbers such as a negative balance (-12.50) must stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import pandas as pd

__all__ = ["FORMULA_STARTS", "csv_text", "frame_csv", "safe_cell", "safe_frame", "safe_text"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: Any) -> str:
    """``value`` as CSV text that no spreadsheet will run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text


def safe_cell(value: Any) -> Any:
    """Numbers (and empty cells) as they are; any other value as :func:`safe_text`."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    try:
        if pd.isna(value):
            return value
    except (TypeError, ValueError):
        pass
    return safe_text(value)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV file (header row first) whose text cells are all escaped; numbers stay numbers."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_text(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text columns are escaped (for tables shown with a download toolbar)."""
    safe = frame.copy()
    for column in safe.columns:
        if not (
            pd.api.types.is_numeric_dtype(safe[column])
            or pd.api.types.is_datetime64_any_dtype(safe[column])
            or pd.api.types.is_bool_dtype(safe[column])
        ):
            safe[column] = [safe_cell(v) for v in safe[column]]
    safe.columns = [safe_text(c) for c in safe.columns]
    return safe


def frame_csv(frame: pd.DataFrame) -> str:
    """``frame`` as CSV (no index), text cells escaped."""
    return safe_frame(frame).to_csv(index=False)
