"""Returns' weekly chart starts with the window, not before it.

A tester read "last 60 days" over a chart whose first week was weeks before the window began:
it always drew 13 Monday weeks (91 days). Now the weeks are the window's: the first is the one
the window opens in, dated by the window's first day and counting only the debits made from it
(a part week, said in the tooltip and under the chart)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from sqlalchemy.engine import Engine

from components.returns_charts import PART_WEEK, return_trend_chart
from services.auth import Actor
from services.context import Services
from services.rules import returns as rules
from services.usecases import returns_report
from services.usecases.debit_outcomes import record_payment_intent

DAY = 86_400
START = int(datetime(2026, 10, 7, 12, tzinfo=UTC).timestamp())  # a Wednesday
NOW = START + 60 * DAY
FINANCE = Actor("finance", "finance")


def debit(engine: Engine, name: str, created: int) -> None:
    pm = {"id": f"pm_{name}", "type": "us_bank_account",
          "us_bank_account": {"bank_name": "Gringotts", "last4": "4242"}}  # fmt: skip
    record_payment_intent(
        engine,
        {"id": f"pi_{name}", "object": "payment_intent", "amount": 4_200, "currency": "usd",
         "created": created, "customer": "cus_rita", "status": "succeeded",
         "payment_method": pm, "metadata": {}},
        at=created + DAY,
    )  # fmt: skip


def test_the_first_week_is_the_windows_part_week_and_none_comes_before(
    sqlite_engine: Engine,
) -> None:
    debit(sqlite_engine, "monday_before", START - 2 * DAY)  # Monday of the window's first week
    debit(sqlite_engine, "thursday_in", START + DAY)
    svc = Services(gateway=None, engine=sqlite_engine, mode="sandbox", now=lambda: NOW)  # type: ignore[arg-type]

    weekly = returns_report.report(svc, FINANCE, window_days=60).weekly

    weeks = sorted(set(pd.to_datetime(weekly["week"])))
    assert weeks[0] == pd.Timestamp("2026-10-07")  # the window's first day, not a Monday before
    assert all(w.weekday() == 0 for w in weeks[1:]) and len(weeks) == 9  # Oct 7, Oct 12 … Nov 30
    first = weekly[(weekly["week"] == weeks[0]) & (weekly["category"] == "overall")]
    assert list(first["debits"]) == [1]  # Monday's debit was made before the window began
    notes = return_trend_chart(weekly, rules.LIMITS).to_dict()["datasets"]
    assert any(PART_WEEK in str(rows) for rows in notes.values())
