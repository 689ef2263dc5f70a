"""Pure chart builders for the finance pages: data in, ``alt.Chart`` out, nothing rendered.

Kept apart from the pages so the encodings can be unit-tested without Streamlit (house style
habit 7). Money arrives as integer minor units and is turned into major units here, at the
edge, so the axis reads "125.00" rather than "12500".
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd

from services.money import exponent

__all__ = ["VERDICT_COLORS", "balance_history_chart", "verdict_chart"]

# One colour per verdict everywhere (badges, bars): green good, red short, amber old, grey none.
VERDICT_COLORS: dict[str, str] = {
    "ok": "#2e7d32",
    "insufficient": "#c62828",
    "stale": "#ef6c00",
    "unavailable": "#757575",
    "error": "#6a1b9a",
}
_SERIES = {"available": "Available", "current": "Current (posted)"}


def balance_history_chart(history: pd.DataFrame, *, currency: str) -> alt.Chart:
    """Balance over time for one currency: a line per figure (available, current).

    Args:
        history: frame from `services.debits.balance_history` (as_of, currency, current,
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
    data = pd.DataFrame(
        {
            "as_of": long["as_of"],
            "figure": long["figure"].map(_SERIES),
            "amount": long["minor"].astype("float64") / scale,
        }
    )
    return (
        alt.Chart(data, title=f"Balance over time ({code.upper()})")
        .mark_line(point=True, interpolate="step-after")
        .encode(
            x=alt.X("as_of:T", title="As of (UTC)"),
            y=alt.Y("amount:Q", title=f"Balance ({code.upper()})"),
            color=alt.Color(
                "figure:N",
                title="Figure",
                scale=alt.Scale(domain=list(_SERIES.values()), range=["#1565c0", "#90a4ae"]),
            ),
            tooltip=[
                alt.Tooltip("as_of:T", title="As of", format="%Y-%m-%d %H:%M"),
                alt.Tooltip("figure:N", title="Figure"),
                alt.Tooltip("amount:Q", title=code.upper(), format=",.2f"),
            ],
        )
    )


def verdict_chart(counts: Mapping[str, int]) -> alt.Chart:
    """Horizontal bars: how many rows got each verdict, in the fixed verdict colours."""
    order = [v for v in VERDICT_COLORS if v in counts]
    data = pd.DataFrame({"verdict": order, "rows": [int(counts[v]) for v in order]})
    return (
        alt.Chart(data, title="Rows per verdict")
        .mark_bar()
        .encode(
            y=alt.Y("verdict:N", title=None, sort=order),
            x=alt.X("rows:Q", title="Rows"),
            color=alt.Color(
                "verdict:N",
                scale=alt.Scale(domain=order, range=[VERDICT_COLORS[v] for v in order]),
                legend=None,
            ),
            tooltip=["verdict:N", "rows:Q"],
        )
    )
