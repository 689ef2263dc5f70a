"""Chart builders for transaction insight: data frames in, ``alt.Chart`` out, nothing rendered.

Frames come from ``services.rules.cashflow`` with money in integer minor units; here, at the edge,
amounts become major units for the axes and formatted strings for tooltips, so a chart never
shows 123456 for $1,234.56.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from components.money import format_money
from components.money_axis import money_axis
from services.rules.money import exponent

__all__ = ["cash_flow_chart", "counterparties_chart", "running_balance_chart"]

IN_COLOUR = "#2e7d32"
OUT_COLOUR = "#c62828"
LINE_COLOUR = "#1565c0"


def _major(amounts: pd.Series, currency: str) -> pd.Series:
    return amounts.astype("int64") / (10 ** exponent(currency))


def _formatted(amounts: pd.Series, currency: str) -> list[str]:
    return [format_money(int(a), currency) for a in amounts]


def cash_flow_chart(frame: pd.DataFrame, *, currency: str, period: str = "day") -> alt.Chart:
    """Money in above the axis, money out below it, one bar pair per period.

    Args:
        frame: ``daily_cash_flow`` output (``period``, ``money_in``, ``money_out``, ``net``).
        currency: the frame's currency, for units and tooltips.
        period: "day" or "week", used in the axis title and tooltip.
    """
    rows = []
    for label, column, sign in (("Money in", "money_in", 1), ("Money out", "money_out", -1)):
        part = pd.DataFrame(
            {
                "period": frame["period"],
                "direction": label,
                "amount": sign * _major(frame[column], currency),
                "shown": _formatted(frame[column], currency),
            }
        )
        rows.append(part)
    data = pd.concat(rows, ignore_index=True)
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("period:T", title="Week starting" if period == "week" else "Day"),
            y=alt.Y(  # money out below the axis: "-500", as the tooltips say "-$500.00"
                "amount:Q", title=f"Amount ({currency.upper()})", axis=money_axis(exponent(currency), trim=True)
            ),
            color=alt.Color(
                "direction:N",
                scale=alt.Scale(domain=["Money in", "Money out"], range=[IN_COLOUR, OUT_COLOUR]),
                legend=alt.Legend(title=None, orient="top"),
            ),
            tooltip=[
                alt.Tooltip("period:T", title=period.capitalize()),
                alt.Tooltip("direction:N", title="Direction"),
                alt.Tooltip("shown:N", title="Amount"),
            ],
        )
        .properties(height=260)
    )


def running_balance_chart(frame: pd.DataFrame, *, currency: str) -> alt.LayerChart:
    """End-of-day balance as a line, with a red rule at zero so overdrafts stand out."""
    data = pd.DataFrame(
        {
            "date": frame["date"],
            "balance": _major(frame["balance"], currency),
            "shown": _formatted(frame["balance"], currency),
        }
    )
    line = (
        alt.Chart(data)
        .mark_line(color=LINE_COLOUR, point=False, interpolate="step-after")
        .encode(
            x=alt.X("date:T", title="Day"),
            y=alt.Y(
                "balance:Q",
                title=f"Balance ({currency.upper()})",
                axis=money_axis(exponent(currency), trim=True),
            ),
            tooltip=[
                alt.Tooltip("date:T", title="Day"),
                alt.Tooltip("shown:N", title="End-of-day balance"),
            ],
        )
    )
    zero = (
        alt.Chart(pd.DataFrame({"zero": [0]}))
        .mark_rule(color=OUT_COLOUR, strokeDash=[4, 4])
        .encode(y="zero:Q")
    )
    return alt.LayerChart(layer=[line, zero]).properties(height=260)


def counterparties_chart(frame: pd.DataFrame, *, currency: str) -> alt.Chart:
    """The largest counterparties as horizontal bars, biggest on top.

    Args:
        frame: ``top_counterparties`` output (``counterparty``, ``count``, ``total``, ``direction``).
    """
    data = pd.DataFrame(
        {
            "counterparty": frame["counterparty"].astype(str),
            "total": _major(frame["total"], currency),
            "count": frame["count"].astype("int64"),
            "direction": frame["direction"].map({"in": "Money in", "out": "Money out"}),
            "shown": _formatted(frame["total"], currency),
        }
    )
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("total:Q", title=f"Total ({currency.upper()})", axis=money_axis(exponent(currency), trim=True)),
            y=alt.Y("counterparty:N", sort="-x", title=None, axis=alt.Axis(labelLimit=260)),
            color=alt.Color(
                "direction:N",
                scale=alt.Scale(domain=["Money in", "Money out"], range=[IN_COLOUR, OUT_COLOUR]),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("counterparty:N", title="Counterparty"),
                alt.Tooltip("shown:N", title="Total"),
                alt.Tooltip("count:Q", title="Transactions"),
            ],
        )
        .properties(height=max(120, 28 * len(data)))
    )
