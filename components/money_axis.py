"""The axis of a chart of money, its negative ticks written as the text writes them.

:func:`components.money.format_money` writes a debt "-$245.93" with the ASCII hyphen-minus, as do
the tables and the CSVs; Vega's ``format=",.2f"`` (d3-format) labelled the same axis "−245.93"
with U+2212. The label is Vega's own expression, since the ticks are chosen in the browser: the
sign is written by hand and d3-format only ever sees the magnitude.
"""

from __future__ import annotations

from typing import Any

import altair as alt

__all__ = ["money_axis", "money_label"]


def money_label(places: int, *, trim: bool = False) -> str:
    """The Vega expression of a tick's label: "-" for a negative value, then its magnitude with
    thousands separators and ``places`` decimals ("-1,250.00", "0.00", "¥" amounts with none);
    ``trim``: without trailing zeros ("-1,250", "12.5"), as Vega's own ticks read."""
    spec = f",.{int(places)}{'~' if trim else ''}f"
    return f"(datum.value < 0 ? '-' : '') + format(abs(datum.value), '{spec}')"


def money_axis(places: int, *, trim: bool = False, **properties: Any) -> alt.Axis:
    """``alt.Axis(**properties)`` whose labels read as :func:`money_label` writes them."""
    return alt.Axis(labelExpr=money_label(places, trim=trim), **properties)
