"""Horizontal bars with each count printed after its bar (rows per verdict, the funnel)."""

from __future__ import annotations

import altair as alt

HEADROOM = 1.15  # room right of the longest bar for its count, so the number is never cut off


def count_axis(field: str, title: str, largest: float) -> alt.X:
    """The count axis: whole numbers from 0 to the largest count plus headroom."""
    return alt.X(
        f"{field}:Q",
        title=title,
        axis=alt.Axis(format="d", tickMinStep=1),
        scale=alt.Scale(domain=[0, max(1, largest) * HEADROOM], nice=False),
    )


def counted_bars(base: alt.Chart, field: str, color: alt.Color) -> alt.LayerChart:
    """``base``'s bars in ``color`` with the count ``field`` written after each one."""
    bars = base.mark_bar().encode(color=color)
    counts = base.mark_text(align="left", dx=3).encode(text=alt.Text(f"{field}:Q", format=","))
    return bars + counts
