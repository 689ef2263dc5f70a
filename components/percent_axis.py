"""The axis of a chart of shares, labelled as the tables and tooltips write shares.

:func:`services.rules.wording.percent` writes "80 %", "0.5 %" (a space before the sign, at most
two decimals, no trailing zeros); Vega's ``format="%"`` labelled the same axis "80%". The label
is Vega's own expression of that wording, since the ticks are chosen in the browser.
"""

from __future__ import annotations

from typing import Any

import altair as alt

__all__ = ["percent_axis", "percent_label"]


def percent_label(*, of_one: bool = True) -> str:
    """The Vega expression of a tick's label: its value in percent, rounded to at most two
    decimals without trailing zeros (d3-format's ``~``), a space, then '%'. ``of_one``: the
    values are shares of 1 (0.8 is "80 %"); else they are already in percent (0.5 is "0.5 %")."""
    value = "datum.value * 100" if of_one else "datum.value"
    return f"format({value}, '.2~f') + ' %'"


def percent_axis(*, of_one: bool = True, **properties: Any) -> alt.Axis:
    """``alt.Axis(**properties)`` whose labels read as :func:`percent_label` writes them."""
    return alt.Axis(labelExpr=percent_label(of_one=of_one), **properties)
