"""Conversion chart builders: the data they plot and how they encode it."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from components import conversion_charts as charts
from components.percent_axis import percent_label


def _row(method: str = "automatic", **counts: int) -> dict[str, object]:
    base = dict(
        verification_method=method,
        started=10,
        linked_instantly=6,
        manual_entry=3,
        verified=2,
        succeeded=7,
        failed=1,
        canceled=0,
        abandoned=1,
        pending=1,
    )
    base.update(counts)
    return base


def _values(chart) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    spec = chart.to_dict()
    datasets = spec.get("datasets") or {}
    return [row for rows in datasets.values() for row in rows]


def test_funnel_steps_follow_the_funnel_order_with_shares_of_started() -> None:
    steps = charts.funnel_steps(_row())
    assert list(steps["stage"][:5]) == [label for _, label in charts.FUNNEL_STAGES]
    assert list(steps["count"][:5]) == [10, 6, 3, 2, 7]
    assert steps.set_index("stage").loc["Usable payment method", "share"] == 0.7
    assert set(steps["kind"]) == {"funnel", "outcome"}


def test_funnel_steps_of_a_method_nobody_started_are_zero_not_division_errors() -> None:
    steps = charts.funnel_steps(_row("instant", started=0, linked_instantly=0, succeeded=0))
    assert steps["share"].eq(0.0).all()


def test_funnel_chart_plots_every_stage_with_its_count() -> None:
    chart = charts.funnel_chart(_row(), title="Automatic")
    plotted = {(r["stage"], r["count"]) for r in _values(chart)}
    assert ("Started", 10) in plotted and ("Failed", 1) in plotted
    assert chart.to_dict()["title"] == "Automatic"


def test_route_shares_split_each_methods_starts_into_four_routes() -> None:
    frame = pd.DataFrame(
        [
            _row(started=12, other_method=2),
            _row("microdeposits", linked_instantly=0, manual_entry=10),
        ]
    )
    shares = charts.route_shares(frame)
    auto = shares[shares["verification_method"] == "automatic"].set_index("route")
    assert auto["count"].to_dict() == {
        "Linked instantly (FC)": 6,
        "Manual entry": 3,
        "Paid by another method": 2,  # card or Link: apart, not "no bank account yet"
        "No bank account yet": 1,
    }
    micro = shares[shares["verification_method"] == "microdeposits"].set_index("route")
    assert micro.loc["Manual entry", "share"] == 1.0
    assert charts.fallback_share_chart(frame).to_dict()["mark"]["type"] == "bar"


def _layers(chart) -> dict[str, dict[str, object]]:  # type: ignore[no-untyped-def]
    """The weekly chart's layers by role: the line, the judged points, the small-week points."""
    spec = chart.to_dict()
    datasets = spec.get("datasets") or {}
    out: dict[str, dict[str, object]] = {}
    for layer in spec["layer"]:
        rows = datasets[layer["data"]["name"]]
        mark = layer["mark"]
        flt = next((t["filter"] for t in layer.get("transform", []) if "filter" in t), None)
        if flt is not None:  # a filtered layer: keep the rows the filter keeps
            rows = [r for r in rows if bool(r["enough"]) == (flt == "datum.enough")]
        role = "line" if mark["type"] == "line" else ("judged" if mark.get("filled") else "small")
        out[role] = {"rows": rows, "spec": layer}
    return out


def test_conversion_over_time_leaves_out_weeks_without_starts() -> None:
    weekly = pd.DataFrame(
        [
            {**_row(started=30, succeeded=21, pending=0, failed=9), "week": date(2026, 11, 2)},
            {**_row(started=0, succeeded=0, pending=0), "week": date(2026, 11, 9)},
        ]
    )
    layers = _layers(charts.conversion_over_time_chart(weekly))
    judged = layers["judged"]["rows"]
    assert len(judged) == 1 and judged[0]["rate"] == 0.7  # type: ignore[index]
    assert not layers["small"]["rows"]
    y = layers["judged"]["spec"]["encoding"]["y"]  # type: ignore[index]
    assert y["title"] == "conversion (usable ÷ ended)"
    # labelled "70 %" as the tooltip and the table say, not Vega's "70%"
    assert y["axis"]["labelExpr"] == percent_label() and "format" not in y["axis"]
    assert y["scale"]["domain"] == [0, 1]


def test_a_one_intent_week_is_drawn_hollow_off_the_line_with_its_count() -> None:
    weekly = pd.DataFrame(
        [
            {**_row(started=25, succeeded=15, pending=5, failed=5), "week": date(2026, 11, 2)},
            {**_row(started=1, succeeded=1, pending=0, failed=0), "week": date(2026, 11, 9)},
            {**_row(started=2, succeeded=0, pending=2, failed=0), "week": date(2026, 11, 16)},
        ]
    )
    chart = charts.conversion_over_time_chart(weekly)
    layers = _layers(chart)
    [small] = layers["small"]["rows"]  # type: ignore[misc]
    assert small["rate"] == 1.0 and small["ended"] == 1 and "n < 20" in small["note"]
    assert layers["small"]["spec"]["mark"]["filled"] is False  # type: ignore[index]
    line = {r["week"][:10]: r["line_rate"] for r in layers["line"]["rows"]}  # type: ignore[attr-defined]
    assert line["2026-11-02"] == pytest.approx(15 / 20)  # usable ÷ ended, pending left out
    assert line["2026-11-09"] is None and line["2026-11-16"] is None  # the line breaks there
    # the only-pending week has no rate to plot at all: not a 0 % point
    plotted = [r["week"][:10] for r in layers["judged"]["rows"] + layers["small"]["rows"]]  # type: ignore[operator]
    assert "2026-11-16" not in plotted
    titles = {t["title"] for t in layers["judged"]["spec"]["encoding"]["tooltip"]}  # type: ignore[index]
    assert {"ended (n)", "pending (not counted)", "usable", "note"} <= titles
    assert "fewer than 20" in chart.to_dict()["title"]["subtitle"]


def test_the_weekly_outcomes_chart_stacks_pending_apart() -> None:
    weekly = pd.DataFrame([{**_row(), "week": date(2026, 11, 2)}])
    chart = charts.weekly_outcomes_chart(weekly)
    counts = {r["outcome"]: r["count"] for r in _values(chart)}
    assert counts == {
        "Usable": 7,
        "Ended without a bank account": 2,
        "Paid by another method": 0,
        "Pending": 1,
    }
    assert chart.to_dict()["encoding"]["color"]["scale"]["domain"][-1] == "Pending"


def test_the_route_chart_labels_every_method_even_one_that_never_fell_back() -> None:
    frame = pd.DataFrame(
        [
            _row(),
            _row("instant", started=96, linked_instantly=76, manual_entry=0, verified=0),
            _row("microdeposits", linked_instantly=0, manual_entry=10),
        ]
    )
    chart = charts.fallback_share_chart(frame)
    instant = [r for r in _values(chart) if r["verification_method"] == "instant"]
    by_route = {r["route"]: r["count"] for r in instant}
    assert by_route == {
        "Linked instantly (FC)": 76,
        "Manual entry": 0,
        "Paid by another method": 0,
        "No bank account yet": 20,
    }
    spec = chart.to_dict()
    y = spec["encoding"]["y"]
    assert y["sort"] == ["automatic", "instant", "microdeposits"]
    # A fixed total height let Vega squeeze the bands and drop the "instant" label; each band
    # now has its own height and labels are never hidden for overlapping.
    assert y["axis"]["labelOverlap"] is False
    assert spec["height"] == {"step": 30}


def test_the_route_chart_labels_its_share_axis_as_the_tooltip_writes_shares() -> None:
    """Vega's ``format="%"`` labelled the axis "60%" beside a tooltip saying "60 %"."""
    x = charts.fallback_share_chart(pd.DataFrame([_row()])).to_dict()["encoding"]["x"]
    assert x["stack"] == "normalize" and x["title"] == "share of started"
    assert x["axis"] == {"labelExpr": percent_label()}  # shares of 1: "60 %"


def test_chart_tooltips_name_their_figures_and_write_shares_as_the_table_does() -> None:
    """Vega's ".0%" said "70%"; the Conversion table (wording.percent) says "70 %"."""
    frame = pd.DataFrame([_row()])
    chart = charts.fallback_share_chart(frame)
    route = chart.to_dict()["encoding"]["tooltip"]
    assert {t["title"]: (t["field"], t.get("format")) for t in route} == {
        "method": ("verification_method", None), "route": ("route", None),
        "intents": ("count", ","), "share of started": ("share_shown", None),
    }  # fmt: skip
    shown = {r["route"]: r["share_shown"] for r in _values(chart)}
    assert shown["Linked instantly (FC)"] == "60 %" and shown["Manual entry"] == "30 %"
    funnel_chart = charts.funnel_chart(_row(started=30, succeeded=7))
    funnel = funnel_chart.to_dict()
    bars = next(layer for layer in funnel["layer"] if layer["mark"]["type"] == "bar")
    titles = {t["title"]: (t["field"], t.get("format")) for t in bars["encoding"]["tooltip"]}
    assert titles["share of started"] == ("share_shown", None) and titles["intents"][1] == ","
    stages = {r["stage"]: r["share_shown"] for r in _values(funnel_chart)}
    assert stages["Started"] == "100 %" and stages["Usable payment method"] == "23.3 %"
    assert funnel["height"] == {"step": 22}


def test_the_weekly_conversion_tooltip_writes_the_rate_as_the_table_does() -> None:
    weekly = pd.DataFrame(
        [{**_row(started=25, succeeded=15, pending=5, failed=5), "week": date(2026, 11, 2)}]
    )
    layers = _layers(charts.conversion_over_time_chart(weekly))
    [judged] = layers["judged"]["rows"]  # type: ignore[misc]
    assert judged["rate_shown"] == "75 %"  # 15 usable of 20 ended
    tips = {t["title"]: t["field"] for t in layers["judged"]["spec"]["encoding"]["tooltip"]}  # type: ignore[index]
    assert tips["conversion (usable ÷ ended)"] == "rate_shown"


def test_the_weekly_legend_lists_only_the_methods_shown_in_their_usual_colours() -> None:
    weekly = pd.DataFrame(
        [
            {**_row("instant"), "week": date(2026, 11, 2), "conversion_rate": 0.5},
            {**_row("microdeposits"), "week": date(2026, 11, 2), "conversion_rate": 0.4},
        ]
    )
    layers = _layers(charts.conversion_over_time_chart(weekly))
    scale = layers["judged"]["spec"]["encoding"]["color"]["scale"]  # type: ignore[index]
    assert scale["domain"] == ["instant", "microdeposits"]
    assert scale["range"] == ["#54a24b", "#f58518"]


def _ticks(axis: dict) -> list[date]:  # type: ignore[type-arg]
    return [date(v["year"], v["month"], v["date"]) for v in axis["values"]]


def _partial_range_weeks() -> pd.DataFrame:
    """Three full weeks of data; the range Sat Nov 7 – Wed Nov 18 covers only part of two."""
    return pd.DataFrame(
        [
            {**_row(started=40, succeeded=30, pending=0, failed=10), "week": date(2026, 11, 2)},
            {**_row(started=40, succeeded=30, pending=0, failed=10), "week": date(2026, 11, 9)},
            {**_row(started=40, succeeded=30, pending=0, failed=10), "week": date(2026, 11, 16)},
        ]
    )


def test_the_weekly_bars_span_their_weeks_with_ticks_on_the_mondays_and_partial_weeks_lighter() -> None:
    """Seen on Conversion: 'Intents per week' ticked Nov 01, Nov 15, Nov 29 (Sundays: Vega's
    yearweek) while the weeks start on Mondays (Nov 02 in the CSV), and a week the range cut to
    two days read as a dip."""
    chart = charts.weekly_outcomes_chart(
        _partial_range_weeks(), start=date(2026, 11, 7), end=date(2026, 11, 18)
    )
    spec = chart.to_dict()
    x = spec["encoding"]["x"]
    assert x["field"] == "week" and "timeUnit" not in x and spec["encoding"]["x2"]["field"] == "week_end"
    ticks = _ticks(x["axis"])
    assert ticks == [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)]
    assert all(t.weekday() == 0 for t in ticks)  # Mondays
    rows = _values(chart)
    cut = {r["week"][:10]: (r["partial"], r["note"]) for r in rows}
    assert cut["2026-11-02"] == (True, "partial week: Nov 7–8 only")
    assert cut["2026-11-09"] == (False, "")
    assert cut["2026-11-16"] == (True, "partial week: Nov 16–18 only")
    assert spec["encoding"]["opacity"]["condition"]["test"] == "datum.partial"
    assert "partial weeks" in spec["title"]["subtitle"]
    assert not charts.weekly_outcomes_chart(_partial_range_weeks()).to_dict()["title"]["subtitle"]


def test_a_week_the_range_cuts_is_a_hollow_point_off_the_rate_line_with_ticks_on_mondays() -> None:
    chart = charts.conversion_over_time_chart(
        _partial_range_weeks(), start=date(2026, 11, 7), end=date(2026, 11, 18)
    )
    layers = _layers(chart)
    assert [r["week"][:10] for r in layers["judged"]["rows"]] == ["2026-11-09"]  # type: ignore[index]
    hollow = {r["week"][:10]: r["note"] for r in layers["small"]["rows"]}  # type: ignore[index]
    assert hollow == {
        "2026-11-02": "partial week: Nov 7–8 only",
        "2026-11-16": "partial week: Nov 16–18 only",
    }
    axis = layers["judged"]["spec"]["encoding"]["x"]["axis"]  # type: ignore[index]
    assert _ticks(axis) == [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)]
    assert "partial week" in chart.to_dict()["title"]["subtitle"]
