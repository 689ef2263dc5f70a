"""Pure chart builders for the finance pages: data in, ``alt.Chart`` out, nothing rendered.

Kept apart from the pages so the encodings can be unit-tested without Streamlit (house style
habit 7). Money arrives as integer minor units and is turned into major units here, at the
edge, so the axis reads "125.00" rather than "12500".
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd

from components.bars import count_axis, counted_bars
from components.money import format_money
from components.money_axis import money_axis
from services.rules import wording
from services.rules.money import exponent

__all__ = ["VERDICT_COLORS", "VERDICT_LABELS", "balance_history_chart", "verdict_chart"]

# One colour per verdict everywhere (badges, bars): green good, red short, amber old, grey none.
VERDICT_COLORS: dict[str, str] = {
    "ok": "#2e7d32",
    "insufficient": "#c62828",
    "stale": "#ef6c00",
    "unavailable": "#757575",
    "error": "#6a1b9a",
}
VERDICT_LABELS: dict[str, str] = {
    "ok": "OK",
    "insufficient": "Insufficient",
    "stale": "Stale",
    "unavailable": "Unavailable",
    "error": "Error",
}
_SERIES = {"available": "Available", "current": "Current (posted)"}


def balance_history_chart(history: pd.DataFrame, *, currency: str) -> alt.Chart:
    """Balance over time for one currency: a line per figure (available, current).

    Args:
        history: frame from `services.usecases.balance_history.balance_history` (as_of, currency, current,
            available in minor units; missing figures as NA).
        currency: which currency to draw; other rows are left out.

    Returns:
        A layered-free line chart with points; empty data gives an empty chart, not an error.
    """
    code = currency.lower()
    scale = 10 ** exponent(code)
    rows = history[history["currency"] == code] if not history.empty else history
    long = rows.melt(
        id_vars=["as_of"], value_vars=list(_SERIES), var_name="figure", value_name="minor"
    ).dropna(subset=["minor"])
    places = exponent(code)
    data = pd.DataFrame(
        {
            "as_of": long["as_of"],
            "figure": long["figure"].map(_SERIES),
            "amount": long["minor"].astype("float64") / scale,
            # The tooltip shows money exactly as the rest of the page does ("$1,234.56").
            "shown": [format_money(int(m), code) for m in long["minor"]],
        }
    )
    return (
        alt.Chart(data, title=f"Balance over time ({code.upper()})")
        .mark_line(point=True, interpolate="step-after")
        .encode(
            x=alt.X("as_of:T", title="As of (UTC)", axis=alt.Axis(format="%b %d %H:%M")),
            y=alt.Y(
                "amount:Q",
                title=f"Balance ({code.upper()})",
                axis=money_axis(places),
            ),
            color=alt.Color(
                "figure:N",
                title="Figure",
                scale=alt.Scale(domain=list(_SERIES.values()), range=["#1565c0", "#90a4ae"]),
            ),
            tooltip=[
                alt.Tooltip("as_of:T", title="As of (UTC)", format="%Y-%m-%d %H:%M"),
                alt.Tooltip("figure:N", title="Figure"),
                alt.Tooltip("shown:N", title="Balance"),
            ],
        )
    )


def verdict_chart(counts: Mapping[str, int]) -> alt.LayerChart:
    """Horizontal bars: how many rows got each verdict, in the fixed verdict colours."""
    order = [v for v in VERDICT_COLORS if v in counts]
    total = sum(int(counts[v]) for v in order)
    data = pd.DataFrame(
        {
            "verdict": order,
            "label": [VERDICT_LABELS[v] for v in order],
            "rows": [int(counts[v]) for v in order],
            "share": [int(counts[v]) / total if total else 0.0 for v in order],
        }
    )
    # "75 %" as every other share in fcops (wording.percent): Vega's ".0%" said "75%"
    data["share_shown"] = [wording.percent(v, 1) for v in data["share"]]
    labels = [VERDICT_LABELS[v] for v in order]
    base = alt.Chart(data, title="Rows per verdict").encode(
        y=alt.Y("label:N", title=None, sort=labels, axis=alt.Axis(labelOverlap=False)),
        x=count_axis("rows", "Rows", max(data["rows"], default=0)),
        tooltip=[
            alt.Tooltip("label:N", title="Verdict"),
            alt.Tooltip("rows:Q", title="Rows", format=","),
            alt.Tooltip("share_shown:N", title="Share of checked rows"),
        ],
    )
    color = alt.Color(
        "label:N",
        scale=alt.Scale(domain=labels, range=[VERDICT_COLORS[v] for v in order]),
        legend=None,
    )
    return counted_bars(base, "rows", color).properties(height=alt.Step(26))
