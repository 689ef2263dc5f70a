"""Pure altair builders for the conversion page: funnel data in, ``alt.Chart`` out.

They take the frames of :func:`services.usecases.conversion_report.conversion` (one row per verification
method, or per week and method) and never call services, so they are unit-tested apart from
Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import altair as alt
import pandas as pd

from components.bars import count_axis, counted_bars
from components.percent_axis import percent_axis
from services.rules import wording
from services.rules.chart_data import MIN_COUNT, OUTCOME_GROUPS, weekly_outcomes, weekly_points

__all__ = [
    "FUNNEL_STAGES",
    "conversion_over_time_chart",
    "fallback_share_chart",
    "funnel_chart",
    "funnel_steps",
    "route_shares",
    "weekly_outcomes_chart",
]

# (column in the funnel frame, label a person reads), in funnel order.
FUNNEL_STAGES: tuple[tuple[str, str], ...] = (
    ("started", "Started"),
    ("linked_instantly", "Linked instantly (FC)"),
    ("manual_entry", "Manual entry + microdeposits"),
    ("verified", "Microdeposits verified"),
    ("succeeded", "Usable payment method"),
)
_END_STAGES: tuple[tuple[str, str], ...] = (
    ("pending", "Still pending"),
    ("canceled", "Canceled"),
    ("abandoned", "Abandoned"),
    ("failed", "Failed"),
    ("other_method", "Paid by another method"),  # card or Link: not an ACH conversion
)
ROUTES: tuple[str, ...] = (
    "Linked instantly (FC)",
    "Manual entry",
    "Paid by another method",
    "No bank account yet",
)
METHOD_ORDER: tuple[str, ...] = ("automatic", "instant", "microdeposits")
# One band per method or stage, tall enough for its label. A fixed total height lets Vega
# shrink the bands until labels collide, and then it silently drops every other label (the
# "instant" bar once lost its name that way), so height is set per band instead.
_BAND = alt.Step(30)
_FUNNEL_BAND = alt.Step(22)
_METHOD_COLOR: dict[str, str] = {
    "automatic": "#4c78a8",
    "instant": "#54a24b",
    "microdeposits": "#f58518",
}
_OTHER_COLOR = "#b279a2"
# usable, ended without, paid by another method (card or Link), pending
_OUTCOME_COLORS = ["#54a24b", "#e45756", "#b279a2", "#9ecae9"]  # purple: as the route chart


def _method_scale(methods: list[str]) -> alt.Scale:
    """Each method keeps its colour whatever the filter, and the legend lists only these."""
    ordered = [m for m in METHOD_ORDER if m in methods] + sorted(set(methods) - set(METHOD_ORDER))
    return alt.Scale(domain=ordered, range=[_METHOD_COLOR.get(m, _OTHER_COLOR) for m in ordered])


def _mondays(weeks: pd.Series) -> list[alt.DateTime]:
    """Every week start from the first week to the last: the weekly charts' ticks, so they fall
    on the Mondays the weeks start on (Vega's own ticks fell on Sundays or every few days)."""
    if weeks.empty:
        return []
    starts = pd.date_range(pd.to_datetime(weeks).min(), pd.to_datetime(weeks).max(), freq="7D")
    return [alt.DateTime(year=d.year, month=d.month, date=d.day) for d in starts]


def _percent(shares: pd.Series) -> list[str]:
    """Shares as the Conversion table writes them ("81.3 %", :func:`wording.percent`), for a
    tooltip: Vega's own ``.0%`` says "81%"."""
    return [wording.percent(v, 1) for v in shares]


def _week_axis(weeks: pd.Series, title: str) -> alt.Axis:
    return alt.Axis(values=_mondays(weeks), format="%b %d", title=title, labelOverlap="greedy")


def funnel_steps(row: Mapping[str, Any]) -> pd.DataFrame:
    """The funnel of one method as rows (stage, count, share of started), in order."""
    started = int(row.get("started") or 0)
    steps = [*FUNNEL_STAGES, *_END_STAGES]
    records = [
        {
            "order": i,
            "stage": label,
            "count": int(row.get(column) or 0),
            "share": (int(row.get(column) or 0) / started) if started else 0.0,
            "kind": "funnel" if i < len(FUNNEL_STAGES) else "outcome",
        }
        for i, (column, label) in enumerate(steps)
    ]
    return pd.DataFrame(records, columns=["order", "stage", "count", "share", "kind"])


def funnel_chart(row: Mapping[str, Any], *, title: str | None = None) -> alt.LayerChart:
    """Horizontal bars from started to usable, then where the rest ended up."""
    data = funnel_steps(row)
    data["share_shown"] = _percent(data["share"])
    method = str(row.get("verification_method") or "")
    base = alt.Chart(data).encode(
        y=alt.Y(
            "stage:N",
            sort=[label for _, label in (*FUNNEL_STAGES, *_END_STAGES)],
            title=None,
            axis=alt.Axis(labelLimit=220, labelOverlap=False),
        ),
        x=count_axis("count", "intents", int(data["count"].max() or 0)),
        tooltip=[
            alt.Tooltip("stage:N", title="stage"),
            alt.Tooltip("count:Q", title="intents", format=","),
            alt.Tooltip("share_shown:N", title="share of started"),
        ],
    )
    color = alt.Color(
        "kind:N",
        scale=alt.Scale(domain=["funnel", "outcome"], range=["#4c78a8", "#bab0ac"]),
        legend=None,
    )
    return counted_bars(base, "count", color).properties(height=_FUNNEL_BAND, title=title or method)


def conversion_over_time_chart(
    weekly: pd.DataFrame,
    *,
    min_count: int = MIN_COUNT,
    start: date | None = None,
    end: date | None = None,
) -> alt.LayerChart:
    """Conversion (usable ÷ ended) per week and method, every point with its count.

    Weeks with at least ``min_count`` ended intents are filled points on the line; smaller
    weeks are hollow points off the line ("n < 20" in the tooltip), so one intent never plots
    as a 0 % or 100 % week; so is a week the range ``start``–``end`` cuts ("partial week: Nov
    7–8 only"), so it never reads as a dip. Weeks where nothing ended (only pending) or nothing
    started are gaps. Pending intents are left out of the rate and shown in the tooltip. The
    ticks are the week starts (Mondays).
    """
    every_week = weekly_points(
        weekly, min_count=min_count, keep_empty=True, start=start, end=end
    )
    every_week["enough"] = every_week["enough"].astype(bool)
    every_week["rate_shown"] = _percent(every_week["rate"])
    plotted = every_week.loc[every_week["ended"] > 0]
    scale = _method_scale([str(m) for m in plotted["verification_method"].unique()])

    def chart(data: pd.DataFrame) -> alt.Chart:
        return alt.Chart(data).encode(
            x=alt.X("week:T", axis=_week_axis(every_week["week"], "week starting (Monday)")),
            color=alt.Color("verification_method:N", title="method", scale=scale),
            tooltip=[
                alt.Tooltip("week:T", title="week starting", format="%a %b %d, %Y"),
                alt.Tooltip("verification_method:N", title="method"),
                alt.Tooltip("rate_shown:N", title="conversion (usable ÷ ended)"),
                alt.Tooltip("succeeded:Q", title="usable", format=","),
                alt.Tooltip("ended:Q", title="ended (n)", format=","),
                alt.Tooltip("pending:Q", title="pending (not counted)", format=","),
                alt.Tooltip("note:N", title="note"),
            ],
        )

    def y(field: str) -> alt.Y:
        return alt.Y(
            field,
            type="quantitative",
            title="conversion (usable ÷ ended)",
            axis=percent_axis(),
            scale=alt.Scale(domain=[0, 1]),
        )

    # The line joins only weeks with enough ended intents and breaks at any other week.
    shown_methods = every_week["verification_method"].isin(plotted["verification_method"])
    line = (
        chart(every_week.loc[shown_methods])
        .mark_line(invalid="break-paths-filter-domains")
        .encode(y=y("line_rate"))
    )
    base = chart(plotted)
    judged = (
        base.transform_filter("datum.enough").mark_point(filled=True, size=60).encode(y=y("rate"))
    )
    small = (
        base.transform_filter("!datum.enough")
        .mark_point(filled=False, size=60, strokeDash=[2, 2], opacity=0.7)
        .encode(y=y("rate"))
    )
    subtitle = f"Hollow points: fewer than {min_count} ended that week (too few to judge)"
    if bool(plotted["partial"].any()):
        subtitle = f"Hollow points: fewer than {min_count} ended (too few to judge) or a partial week"
    title = alt.TitleParams(
        "Conversion by week",
        subtitle=f"{subtitle}.",
        limit=0,
        subtitleColor="#6b6b6b",
    )
    return alt.LayerChart(layer=[line, judged, small], title=title).properties(height=280)


def weekly_outcomes_chart(
    weekly: pd.DataFrame, *, start: date | None = None, end: date | None = None
) -> alt.Chart:
    """Intents per week by how they ended: usable, ended without a bank account, paid by
    another method, pending. A bar spans its week, Monday to Monday (ticks on the Mondays); a
    week the range ``start``–``end`` cuts is a lighter bar ("partial week" in the subtitle and
    the tooltip), so it never reads as a dip."""
    data = weekly_outcomes(weekly, start=start, end=end).sort_values(["week", "order"])
    # Stacked by hand: a bar with x and x2 (its week) is drawn horizontal by Vega-Lite, which
    # then stacks nothing, so each segment's bottom and top are given.
    data["top"] = data.groupby("week")["count"].cumsum()
    data["bottom"] = data["top"] - data["count"]
    partial = bool(data["partial"].any())
    title = alt.TitleParams(
        "Intents per week, pending apart",
        subtitle="Lighter bars: partial weeks (the dates cover only part of them)."
        if partial
        else "",
        limit=0,
        subtitleColor="#6b6b6b",
    )
    return (
        alt.Chart(data, title=title)
        .mark_bar(stroke="white", strokeWidth=1)
        .encode(
            # A bar as wide as its week, from its Monday to the next (Vega's yearweek() starts
            # weeks on Sundays; a bare temporal axis draws hairlines).
            x=alt.X("week:T", axis=_week_axis(data["week"], "week starting (Monday)")),
            x2="week_end:T",
            opacity=alt.condition("datum.partial", alt.value(0.4), alt.value(1.0)),
            y=alt.Y("top:Q", title="intents", axis=alt.Axis(format="d", tickMinStep=1)),
            y2="bottom:Q",
            # Streamlit's renderer draws no bars when this legend is moved to the bottom.
            color=alt.Color(
                "outcome:N",
                title="outcome",
                scale=alt.Scale(domain=list(OUTCOME_GROUPS), range=_OUTCOME_COLORS),
                legend=alt.Legend(labelLimit=260),
            ),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("week:T", title="week starting", format="%a %b %d, %Y"),
                alt.Tooltip("outcome:N", title="outcome"),
                alt.Tooltip("count:Q", title="intents", format=","),
                alt.Tooltip("note:N", title="note"),
            ],
        )
        .properties(height=240)
    )


def route_shares(frame: pd.DataFrame) -> pd.DataFrame:
    """Per method: how many linked through FC, typed numbers by hand, paid by card or Link
    instead (dynamic payment methods), or have no account yet."""
    records: list[dict[str, Any]] = []
    for _, row in frame.iterrows():
        started = int(row["started"])
        linked, manual = int(row["linked_instantly"]), int(row["manual_entry"])
        value = row.get("other_method")
        other = 0 if value is None or pd.isna(value) else int(value)
        counts = (linked, manual, other, max(0, started - linked - manual - other))
        for route, count in zip(ROUTES, counts, strict=True):
            records.append(
                {
                    "verification_method": str(row["verification_method"]),
                    "route": route,
                    "count": count,
                    "share": count / started if started else 0.0,
                }
            )
    return pd.DataFrame(records, columns=["verification_method", "route", "count", "share"])


def fallback_share_chart(frame: pd.DataFrame) -> alt.Chart:
    """Stacked 100 % bars: the share of each method's starts that fell back to manual entry.

    Every method in ``frame`` gets a labelled bar, also one whose starts all linked instantly
    (its "Manual entry" segment is simply zero wide).
    """
    data = route_shares(frame)
    data["share_shown"] = _percent(data["share"])
    methods = list(dict.fromkeys(data["verification_method"]))
    order = [m for m in METHOD_ORDER if m in methods] + [
        m for m in methods if m not in METHOD_ORDER
    ]
    return (
        # A narrow column would otherwise cut the title short with an ellipsis.
        alt.Chart(data, title=alt.TitleParams("How customers gave their bank account", limit=0))
        .mark_bar()
        .encode(
            y=alt.Y(
                "verification_method:N",
                title="method",
                sort=order,
                axis=alt.Axis(labelOverlap=False, labelLimit=160),
            ),
            x=alt.X("share:Q", stack="normalize", title="share of started", axis=percent_axis()),
            color=alt.Color(
                "route:N",
                title="route",
                scale=alt.Scale(
                    domain=list(ROUTES), range=["#54a24b", "#f58518", "#b279a2", "#bab0ac"]
                ),
                legend=alt.Legend(orient="bottom", columns=1),
            ),
            order=alt.Order("route_order:Q"),
            tooltip=[
                alt.Tooltip("verification_method:N", title="method"),
                alt.Tooltip("route:N", title="route"),
                alt.Tooltip("count:Q", title="intents", format=","),
                alt.Tooltip("share_shown:N", title="share of started"),
            ],
        )
        .transform_calculate(
            route_order=f"indexof({list(ROUTES)!r}, datum.route)",
        )
        .properties(height=_BAND)
    )
