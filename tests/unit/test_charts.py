"""The finance chart builders: right encodings, right data, no rendering needed."""

from __future__ import annotations

import pandas as pd

from components.charts import VERDICT_COLORS, balance_history_chart, verdict_chart


def history(rows: list[tuple[int, str, int | None, int | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "as_of": pd.to_datetime([r[0] for r in rows], unit="s", utc=True),
            "currency": pd.Series([r[1] for r in rows], dtype="string"),
            "current": pd.array([r[2] for r in rows], dtype="Int64"),
            "available": pd.array([r[3] for r in rows], dtype="Int64"),
        }
    )


def test_balance_chart_draws_major_units_per_figure_over_time() -> None:
    frame = history([(1_700_000_000, "usd", 12_550, 12_000), (1_700_086_400, "usd", 9_900, None)])
    spec = balance_history_chart(frame, currency="USD").to_dict()
    assert spec["mark"]["type"] == "line"
    enc = spec["encoding"]
    assert (enc["x"]["field"], enc["x"]["type"]) == ("as_of", "temporal")
    assert (enc["y"]["field"], enc["y"]["type"]) == ("amount", "quantitative")
    assert enc["y"]["title"] == "Balance (USD)"
    assert enc["color"]["field"] == "figure"
    data = balance_history_chart(frame, currency="usd").data
    points = sorted(zip(data["figure"], data["amount"], strict=True))
    assert points == [("Available", 120.0), ("Current (posted)", 99.0), ("Current (posted)", 125.5)]


def test_balance_chart_leaves_out_other_currencies_and_respects_their_decimals() -> None:
    frame = history([(1_700_000_000, "usd", 100, 100), (1_700_000_000, "jpy", 500, None)])
    data = balance_history_chart(frame, currency="jpy").data
    assert list(data["amount"]) == [500.0]
    assert list(data["figure"]) == ["Current (posted)"]


def test_balance_chart_of_an_empty_history_is_empty_not_an_error() -> None:
    empty = history([])
    chart = balance_history_chart(empty, currency="usd")
    assert chart.data.empty
    assert chart.to_dict()["mark"]["type"] == "line"


def test_verdict_chart_counts_rows_in_the_verdict_colours() -> None:
    chart = verdict_chart({"ok": 5, "insufficient": 2, "stale": 0, "unavailable": 1})
    data = chart.data
    assert dict(zip(data["verdict"], data["rows"], strict=True)) == {
        "ok": 5, "insufficient": 2, "stale": 0, "unavailable": 1,
    }  # fmt: skip
    spec = chart.to_dict()
    assert spec["mark"]["type"] == "bar"
    scale = spec["encoding"]["color"]["scale"]
    assert scale["range"] == [VERDICT_COLORS[v] for v in scale["domain"]]
    assert scale["domain"][0] == "ok"
