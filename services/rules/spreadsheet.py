"""Text cells for CSV files people open in Excel or Google Sheets.

A cell that starts with = + - @ (or a tab or carriage return) is evaluated as a formula by
spreadsheets, so text that came from outside (a reference typed into an uploaded file, a bank's
account name, an audit target) is prefixed with an apostrophe, which spreadsheets hide. Apply it
to text columns only: numbers such as a negative balance ("-12.50") must stay numbers.
"""

from __future__ import annotations

from typing import Any

__all__ = ["safe_text"]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: Any) -> str:
    """``value`` as CSV text that no spreadsheet will run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in _FORMULA_STARTS else text
