"""The Returns trend chart: small weeks hollow and off the line, weeks without debits gaps."""

from __future__ import annotations

import pandas as pd

from components.percent_axis import percent_label
from components.returns_charts import return_trend_chart
from services.rules import returns as rules


def _layers(chart) -> list[tuple[dict[str, object], list[dict[str, object]]]]:  # type: ignore[no-untyped-def]
    spec = chart.to_dict()
    out = []
    for layer in spec["layer"]:
        rows = spec["datasets"][layer["data"]["name"]]
        flt = next((t["filter"] for t in layer.get("transform", []) if "filter" in t), None)
        if flt is not None:
            rows = [r for r in rows if bool(r["enough"]) == (flt == "datum.enough")]
        out.append((layer, rows))
    return out


def test_small_weeks_are_hollow_off_the_line_and_empty_weeks_are_gaps() -> None:
    weekly = pd.DataFrame(
        {
            "week": pd.to_datetime(["2026-11-02", "2026-11-09", "2026-11-16"]),
            "category": ["overall"] * 3,
            "debits": [40, 2, 0],
            "returns": [2, 1, 0],
            "rate": [0.05, 0.5, float("nan")],
        }
    )
    layers = _layers(return_trend_chart(weekly, rules.LIMITS))
    line, judged, small, limits = layers
    assert line[0]["mark"]["type"] == "line"
    line_pct = [r["line_pct"] for r in line[1]]
    assert line_pct[0] == 5.0
    assert line_pct[1] is None and line_pct[2] is None  # the line breaks at small and empty weeks
    assert [r["debits"] for r in judged[1]] == [40]
    assert [(r["debits"], r["note"]) for r in small[1]] == [(2, "n < 20: too few to judge")]
    assert small[0]["mark"]["filled"] is False  # type: ignore[index]
    # the week without debits is no point at all (not a 0 % week)
    assert all(r["debits"] > 0 for r in judged[1] + small[1])  # type: ignore[operator]
    assert {r["category"] for r in limits[1]} == set(rules.LIMITS)
    titles = {t["title"] for t in judged[0]["encoding"]["tooltip"]}  # type: ignore[index]
    assert {"debits (n)", "returned", "note"} <= titles


def test_the_tooltip_writes_the_return_rate_as_the_table_does() -> None:
    """Vega's ".2f" of the percentage said "5.00" under "return rate (%)"; the Returns cards and
    table (rules.rate_text) say "5 %", "0.3 %", and "14.96 %" for a rate just under its limit."""
    weekly = pd.DataFrame(
        {
            "week": pd.to_datetime(["2026-11-02", "2026-11-09", "2026-11-16"]),
            "category": ["overall"] * 3,
            "debits": [40, 300, 1250],
            "returns": [2, 1, 187],
            "rate": [0.05, 1 / 300, 187 / 1250],
        }
    )
    _line, judged, _small, _limits = _layers(return_trend_chart(weekly, rules.LIMITS))
    assert [r["rate_shown"] for r in judged[1]] == ["5 %", "0.3 %", "14.96 %"]
    tips = {t["title"]: t["field"] for t in judged[0]["encoding"]["tooltip"]}  # type: ignore[index]
    assert tips["return rate"] == "rate_shown"


def test_the_rate_axis_is_labelled_as_the_table_writes_rates() -> None:
    """The axis said "0.5" under "Return rate (%)"; the table and tooltip say "0.5 %"."""
    weekly = pd.DataFrame(
        {
            "week": pd.to_datetime(["2026-11-02"]),
            "category": ["overall"],
            "debits": [200],
            "returns": [1],
            "rate": [0.005],
        }
    )
    line, judged, small, _limits = _layers(return_trend_chart(weekly, rules.LIMITS))
    for layer, _rows in (line, judged, small):
        y = layer["encoding"]["y"]  # type: ignore[index]
        assert y["title"] == "Return rate"
        # the rates are plotted in percent (0.5 for 0.5 %), so not multiplied again
        assert y["axis"] == {"labelExpr": percent_label(of_one=False)}
    assert judged[1][0]["rate_pct"] == 0.5
