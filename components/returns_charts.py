"""The Returns trend chart: return rate per week and category, every point with its count.

Pure builder (data in, ``alt.LayerChart`` out). Weeks with fewer than ``MIN_COUNT`` debits are
hollow points off the line ("n < 20" in the tooltip): one returned debit of two is not a 50 %
week. Weeks without debits are gaps, never 0 %.
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd

from components.percent_axis import percent_axis
from services.rules.chart_data import MIN_COUNT, flag_small_buckets
from services.rules.returns import rate_text

__all__ = ["return_trend_chart"]


PART_WEEK = "part week: from the window's first day to Sunday"


def return_trend_chart(
    weekly: pd.DataFrame, limits: Mapping[str, float], *, min_count: int = MIN_COUNT
) -> alt.LayerChart:
    """``weekly``: ``week``, ``category``, ``debits``, ``returns``, ``rate`` (NaN: no debits);
    ``limits``: Nacha's limit per category (a share), drawn as dashed rules."""
    data = flag_small_buckets(weekly, base="debits", min_count=min_count)
    data["enough"] = data["enough"].astype(bool)
    part = pd.to_datetime(data["week"]).dt.day_of_week != 0  # the window's first days: a part week
    data.loc[part, "note"] = [
        "; ".join(filter(None, [n, PART_WEEK])) for n in data.loc[part, "note"]
    ]
    data["rate_pct"] = data["rate"] * 100
    data["line_pct"] = data["line_rate"] * 100
    # "0.5 %", "33 %" as the Returns cards and table write it (rate_text): Vega's said "0.53", "1%"
    data["rate_shown"] = [
        rate_text(v, limits.get(str(c))) for v, c in zip(data["rate"], data["category"], strict=True)
    ]
    plotted = data.dropna(subset=["rate"])
    categories = list(dict.fromkeys([*limits, *data["category"].astype(str)]))
    color = alt.Color("category:N", title="Category", scale=alt.Scale(domain=categories))

    def chart(frame: pd.DataFrame) -> alt.Chart:
        return alt.Chart(frame).encode(
            x=alt.X("week:T", title="Week debits were made"),
            color=color,
            tooltip=[
                alt.Tooltip("week:T", title="week"),
                alt.Tooltip("category:N", title="category"),
                alt.Tooltip("rate_shown:N", title="return rate"),
                alt.Tooltip("returns:Q", format=",", title="returned"),
                alt.Tooltip("debits:Q", format=",", title="debits (n)"),
                alt.Tooltip("note:N", title="note"),
            ],
        )

    def y(field: str) -> alt.Y:
        # the rates are plotted in percent (0.5 is 0.5 %): labelled "0.5 %", as the table says
        return alt.Y(
            field, type="quantitative", title="Return rate", axis=percent_axis(of_one=False)
        )

    line = chart(data).mark_line(invalid="break-paths-filter-domains").encode(y=y("line_pct"))
    judged = (
        chart(plotted)
        .transform_filter("datum.enough")
        .mark_point(filled=True)
        .encode(y=y("rate_pct"))
    )
    small = (
        chart(plotted)
        .transform_filter("!datum.enough")
        .mark_point(filled=False, opacity=0.7)
        .encode(y=y("rate_pct"))
    )
    rules = (
        alt.Chart(
            pd.DataFrame(
                {"category": list(limits), "limit_pct": [v * 100 for v in limits.values()]}
            )
        )
        .mark_rule(strokeDash=[4, 4])
        .encode(y=alt.Y("limit_pct:Q"), color=color)
    )
    title = alt.TitleParams(
        "Return rate per week",
        subtitle=f"Hollow points: fewer than {min_count} debits that week (too few to judge).",
        limit=0,
        subtitleColor="#6b6b6b",
    )
    return alt.LayerChart(layer=[line, judged, small, rules], title=title)
