"""Pure altair builders for the conversion page: funnel data in, ``alt.Chart`` out.

They take the frames of :func:`services.usecases.conversion_report.conversion` (one row per verification
method, or per week and method) and never call services, so they are unit-tested apart from
Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt
import pandas as pd

__all__ = [
    "FUNNEL_STAGES",
    "conversion_over_time_chart",
    "fallback_share_chart",
    "funnel_chart",
    "funnel_steps",
    "route_shares",
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


def _method_scale(methods: list[str]) -> alt.Scale:
    """Each method keeps its colour whatever the filter, and the legend lists only these."""
    ordered = [m for m in METHOD_ORDER if m in methods] + sorted(set(methods) - set(METHOD_ORDER))
    return alt.Scale(domain=ordered, range=[_METHOD_COLOR.get(m, _OTHER_COLOR) for m in ordered])


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
    method = str(row.get("verification_method") or "")
    base = alt.Chart(data).encode(
        y=alt.Y(
            "stage:N",
            sort=[label for _, label in (*FUNNEL_STAGES, *_END_STAGES)],
            title=None,
            axis=alt.Axis(labelLimit=220, labelOverlap=False),
        ),
        x=alt.X(
            "count:Q",
            title="intents",
            axis=alt.Axis(format="d", tickMinStep=1),
            # Headroom for the count printed after the longest bar, so it is never cut off.
            scale=alt.Scale(domain=[0, max(1, int(data["count"].max() or 0)) * 1.15], nice=False),
        ),
        tooltip=[
            alt.Tooltip("stage:N", title="stage"),
            alt.Tooltip("count:Q", title="intents", format=","),
            alt.Tooltip("share:Q", format=".0%", title="share of started"),
        ],
    )
    bars = base.mark_bar().encode(
        color=alt.Color(
            "kind:N",
            scale=alt.Scale(domain=["funnel", "outcome"], range=["#4c78a8", "#bab0ac"]),
            legend=None,
        )
    )
    labels = base.mark_text(align="left", dx=3).encode(text=alt.Text("count:Q"))
    return (bars + labels).properties(height=_FUNNEL_BAND, title=title or method)


def conversion_over_time_chart(weekly: pd.DataFrame) -> alt.Chart:
    """Conversion rate (usable / started) per week and method; weeks with no starts are gaps."""
    data = weekly.loc[
        weekly["started"] > 0,
        ["week", "verification_method", "started", "succeeded", "conversion_rate"],
    ].copy()
    data["week"] = pd.to_datetime(data["week"])
    return (
        alt.Chart(data, title="Conversion by week")
        .mark_line(point=True)
        .encode(
            x=alt.X("week:T", title="week starting", axis=alt.Axis(format="%b %d")),
            y=alt.Y(
                "conversion_rate:Q",
                title="conversion",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color(
                "verification_method:N",
                title="method",
                scale=_method_scale([str(m) for m in data["verification_method"].unique()]),
            ),
            tooltip=[
                alt.Tooltip("week:T", title="week"),
                alt.Tooltip("verification_method:N", title="method"),
                alt.Tooltip("started:Q", title="started", format=","),
                alt.Tooltip("succeeded:Q", title="usable", format=","),
                alt.Tooltip("conversion_rate:Q", format=".0%", title="conversion"),
            ],
        )
        .properties(height=280)
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
            x=alt.X(
                "share:Q", stack="normalize", title="share of started", axis=alt.Axis(format="%")
            ),
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
                alt.Tooltip("share:Q", format=".0%", title="share of started"),
            ],
        )
        .transform_calculate(
            route_order=f"indexof({list(ROUTES)!r}, datum.route)",
        )
        .properties(height=_BAND)
    )
