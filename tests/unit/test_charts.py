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


def _data(chart: object) -> pd.DataFrame:
    data = getattr(chart, "data")  # noqa: B009 - a layer chart's data is typed as anything
    assert isinstance(data, pd.DataFrame)
    return data


def _layer(spec: dict, mark: str) -> dict:  # type: ignore[type-arg]
    return next(layer for layer in spec["layer"] if layer["mark"]["type"] == mark)


def test_verdict_chart_counts_rows_in_the_verdict_colours() -> None:
    chart = verdict_chart({"ok": 5, "insufficient": 2, "stale": 0, "unavailable": 1})
    data = _data(chart)
    assert dict(zip(data["verdict"], data["rows"], strict=True)) == {
        "ok": 5, "insufficient": 2, "stale": 0, "unavailable": 1,
    }  # fmt: skip
    bars = _layer(chart.to_dict(), "bar")
    scale = bars["encoding"]["color"]["scale"]
    assert scale["domain"] == ["OK", "Insufficient", "Stale", "Unavailable"]
    assert scale["range"] == [
        VERDICT_COLORS[v] for v in ("ok", "insufficient", "stale", "unavailable")
    ]


def test_verdict_chart_reads_like_the_page_labels_counts_and_shares() -> None:
    chart = verdict_chart({"ok": 3, "insufficient": 1})
    spec = chart.to_dict()
    assert list(_data(chart)["label"]) == ["OK", "Insufficient"]
    assert list(_data(chart)["share"]) == [0.75, 0.25]
    assert _layer(spec, "text")["encoding"]["text"]["field"] == "rows"
    bars = _layer(spec, "bar")
    tooltips = {t["title"]: (t["field"], t.get("format")) for t in bars["encoding"]["tooltip"]}
    assert tooltips == {
        "Verdict": ("label", None),
        "Rows": ("rows", ","),
        "Share of checked rows": ("share_shown", None),
    }
    assert bars["encoding"]["y"]["axis"]["labelOverlap"] is False


def test_balance_chart_tooltip_shows_money_as_the_page_does_and_axis_keeps_the_decimals() -> None:
    frame = history([(1_700_000_000, "usd", 123_456, 100_050), (1_700_000_000, "jpy", 500, None)])
    usd = balance_history_chart(frame, currency="usd")
    assert sorted(usd.data["shown"]) == ["$1,000.50", "$1,234.56"]
    spec = usd.to_dict()
    assert spec["encoding"]["y"]["axis"]["labelExpr"].endswith("',.2f')")
    assert {t["title"] for t in spec["encoding"]["tooltip"]} == {"As of (UTC)", "Figure", "Balance"}
    jpy = balance_history_chart(frame, currency="jpy")
    assert list(jpy.data["shown"]) == ["¥500"]
    assert jpy.to_dict()["encoding"]["y"]["axis"]["labelExpr"].endswith("',.0f')")


def test_verdict_chart_tooltip_writes_shares_as_the_other_charts_and_tables_do() -> None:
    """Vega's ".0%" said "75%" and "33%"; everywhere else fcops says "75 %" (wording.percent)."""
    assert list(_data(verdict_chart({"ok": 3, "insufficient": 1}))["share_shown"]) == ["75 %", "25 %"]
    thirds = verdict_chart({"ok": 1, "stale": 1, "unavailable": 1})
    assert list(_data(thirds)["share_shown"]) == ["33.3 %"] * 3


def test_balance_chart_writes_a_negative_balance_with_the_hyphen_minus_the_text_uses() -> None:
    # The page writes an overdraft "-$245.93" (format_money); the axis's d3 format ",.2f" wrote
    # its ticks "−50.00" with U+2212. The label expression writes the sign itself.
    frame = history([(1_700_000_000, "usd", -24_593, -24_593), (1_700_086_400, "usd", 5_000, None)])
    spec = balance_history_chart(frame, currency="usd").to_dict()
    axis = spec["encoding"]["y"]["axis"]
    assert "format" not in axis  # d3-format would sign a negative tick with U+2212
    assert axis["labelExpr"] == "(datum.value < 0 ? '-' : '') + format(abs(datum.value), ',.2f')"
    assert "\u2212" not in str(spec)
    data = _data(balance_history_chart(frame, currency="usd"))
    shown = dict(zip(data["amount"], data["shown"], strict=True))
    assert shown[-245.93] == "-$245.93"  # the tooltip is the page's own text
    jpy = balance_history_chart(history([(1_700_000_000, "jpy", -500, None)]), currency="jpy")
    label = jpy.to_dict()["encoding"]["y"]["axis"]["labelExpr"]
    assert label.endswith("format(abs(datum.value), ',.0f')")
