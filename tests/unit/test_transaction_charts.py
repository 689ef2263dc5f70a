"""Transaction chart builders: the right data, in major units, with readable tooltips."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from components.transaction_charts import (
    cash_flow_chart,
    counterparties_chart,
    running_balance_chart,
)
from services.rules.cashflow import daily_cash_flow, running_balance, top_counterparties


def _txn(n: int, amount: int, day: date, text: str) -> dict[str, object]:
    ts = int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp())
    return {
        "id": f"fctxn_{n}",
        "amount": amount,
        "currency": "usd",
        "description": text,
        "status": "posted",
        "status_transitions": {"posted_at": ts, "void_at": None},
        "transacted_at": ts,
    }


TXNS = [
    _txn(1, 250_000, date(2026, 5, 1), "ACME PAYROLL"),
    _txn(2, -12_345, date(2026, 5, 1), "GROCERY MART"),
    _txn(3, -5_000, date(2026, 5, 3), "GROCERY MART"),
    _txn(4, -99_999, date(2026, 5, 4), "RENT CO"),
]


def _values(chart: object) -> list[dict[str, Any]]:
    spec = chart.to_dict()  # type: ignore[attr-defined]
    datasets = spec["datasets"]
    return [row for rows in datasets.values() for row in rows]


def test_cash_flow_puts_money_out_below_the_axis_in_dollars() -> None:
    frame = daily_cash_flow(TXNS, freq="D")

    rows = _values(cash_flow_chart(frame, currency="usd", period="day"))

    may1 = [r for r in rows if str(r["period"]).startswith("2026-05-01")]
    assert {r["direction"]: r["amount"] for r in may1} == {"Money in": 2500.0, "Money out": -123.45}
    assert {r["shown"] for r in may1} == {"$2,500.00", "$123.45"}
    assert len(rows) == 2 * len(frame)  # every day, quiet ones included


def test_cash_flow_axis_says_week_for_weekly_frames() -> None:
    frame = daily_cash_flow(TXNS, freq="W")
    spec = cash_flow_chart(frame, currency="usd", period="week").to_dict()
    assert spec["encoding"]["x"]["title"] == "Week starting"
    assert sum(r["amount"] for r in _values(cash_flow_chart(frame, currency="usd"))) == (
        2500.0 - 123.45 - 50.0 - 999.99
    )


def test_running_balance_has_the_balance_line_and_a_zero_rule() -> None:
    frame = running_balance(
        TXNS, current_balance=10_000, as_of=datetime(2026, 5, 4, 23, tzinfo=UTC), days=4
    )

    chart = running_balance_chart(frame, currency="usd")

    spec = chart.to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "rule"]
    balances = [r["balance"] for r in _values(chart) if "balance" in r]
    assert balances == [float(b) / 100 for b in frame["balance"]]
    assert balances[-1] == 100.0


def test_counterparties_sort_biggest_first_and_count_in_the_tooltip() -> None:
    frame = top_counterparties(TXNS, direction="out")

    chart = counterparties_chart(frame, currency="usd")

    spec = chart.to_dict()
    assert spec["encoding"]["y"]["sort"] == "-x"
    rows = {r["counterparty"]: r for r in _values(chart)}
    assert rows["GROCERY MART"]["total"] == 173.45 and rows["GROCERY MART"]["count"] == 2
    rent = next(r for name, r in rows.items() if name.startswith("RENT"))
    assert rent["shown"] == "$999.99"
    assert list(rows)[0].startswith("RENT")  # the data keeps the biggest first too


def test_builders_accept_empty_frames() -> None:
    empty_flow = daily_cash_flow([], freq="D")
    empty_top = top_counterparties([], direction="in")
    assert _values(cash_flow_chart(empty_flow, currency="usd")) == []
    assert _values(counterparties_chart(empty_top, currency="usd")) == []
    frame = pd.DataFrame({"date": pd.to_datetime([]), "balance": pd.Series([], dtype="int64")})
    assert [
        r for r in _values(running_balance_chart(frame, currency="usd")) if "balance" in r
    ] == []


def test_zero_decimal_currencies_are_not_divided() -> None:
    frame = top_counterparties([{**TXNS[3], "currency": "jpy"}], direction="out")
    (row,) = _values(counterparties_chart(frame, currency="jpy"))
    assert row["total"] == 99_999 and row["shown"] == "¥99,999"


def test_money_axes_write_a_negative_amount_with_the_hyphen_minus_as_the_text_does() -> None:
    """Vega's own ticks wrote money out and an overdraft "−500" (U+2212); the tables, tooltips
    and CSVs write "-$500.00" (format_money), so the axes write the sign themselves."""
    label = "(datum.value < 0 ? '-' : '') + format(abs(datum.value), ',.2~f')"
    flow = cash_flow_chart(daily_cash_flow(TXNS, freq="D"), currency="usd").to_dict()
    assert flow["encoding"]["y"]["axis"]["labelExpr"] == label
    balance = running_balance(
        TXNS, current_balance=-10_000, as_of=datetime(2026, 5, 4, 23, tzinfo=UTC), days=4
    )
    line = running_balance_chart(balance, currency="usd").to_dict()["layer"][0]
    assert line["encoding"]["y"]["axis"]["labelExpr"] == label
    top = counterparties_chart(top_counterparties(TXNS, direction="out"), currency="jpy").to_dict()
    assert top["encoding"]["x"]["axis"]["labelExpr"].endswith("',.0~f')")
    assert "\u2212" not in str([flow, line, top])
