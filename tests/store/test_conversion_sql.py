"""The conversion funnel aggregated in SQL equals the Python funnel over the same intents.

Issue 13: the report now reads columns classified at write time and groups in SQL; the numbers
must be exactly those of ``services.rules.funnel.funnel`` over the stored raw intents.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from bench.page_fill import NOW, _intent
from services.adapters.models import IntentRecord
from services.adapters.store import session_scope
from services.rules import funnel
from services.rules.intents import verification_method
from services.usecases import conversion_report
from services.usecases.sync_intents import store_intent

DAY = 86_400


def _edge_cases() -> list[tuple[dict[str, Any], int | None]]:
    base = {"payment_method_types": ["us_bank_account"], "metadata": {"fcops_flow": "setup_intent"}}
    bank = {"payment_method_options": {"us_bank_account": {"verification_method": "instant"}}}
    return [
        # waiting 3 days (pending) and 9 days (abandoned) on the customer
        (
            {
                **base,
                **bank,
                "id": "seti_wait3",
                "object": "setup_intent",
                "status": "requires_payment_method",
                "created": NOW - 3 * DAY,
            },
            None,
        ),
        (
            {
                **base,
                **bank,
                "id": "seti_wait9",
                "object": "setup_intent",
                "status": "requires_confirmation",
                "created": NOW - 9 * DAY,
            },
            None,
        ),
        # failed: back at requires_payment_method with an error naming the payment method
        (
            {
                **base,
                **bank,
                "id": "seti_fail",
                "object": "setup_intent",
                "status": "requires_payment_method",
                "created": NOW - 20 * DAY,
                "last_setup_error": {
                    "code": "x",
                    "payment_method": {
                        "id": "pm_f",
                        "type": "us_bank_account",
                        "us_bank_account": {},
                    },
                },
            },
            None,
        ),
        # paid by card: other_method
        (
            {
                **base,
                "payment_method_types": ["card", "us_bank_account"],
                "id": "pi_card",
                "object": "payment_intent",
                "status": "succeeded",
                "created": NOW - 4 * DAY,
                "payment_method": {"id": "pm_c", "type": "card", "created": NOW - 4 * DAY + 5},
            },
            None,
        ),
        # success event before creation (implausible span dropped), and an unexpanded id
        (
            {
                **base,
                **bank,
                "id": "seti_early",
                "object": "setup_intent",
                "status": "succeeded",
                "created": NOW - 5 * DAY,
                "payment_method": "pm_x",
            },
            NOW - 6 * DAY,
        ),
        # a verification method outside the three
        (
            {
                **base,
                "payment_method_options": {"us_bank_account": {"verification_method": "skip"}},
                "id": "seti_skip",
                "object": "setup_intent",
                "status": "succeeded",
                "created": NOW - 2 * DAY,
                "payment_method": "pm_s",
            },
            NOW - 2 * DAY + 60,
        ),
        # processing PaymentIntent, microdeposits, success time from its event
        (
            {
                **base,
                "payment_method_options": {
                    "us_bank_account": {"verification_method": "microdeposits"}
                },
                "id": "pi_proc",
                "object": "payment_intent",
                "status": "processing",
                "created": NOW - 30 * DAY,
                "payment_method": {
                    "id": "pm_p",
                    "type": "us_bank_account",
                    "created": NOW - 30 * DAY + 9,
                    "us_bank_account": {},
                },
            },
            NOW - 27 * DAY,
        ),
    ]


def _stored(engine: Engine, n: int = 300) -> list[tuple[dict[str, Any], int | None]]:
    rng = random.Random(13)
    intents: list[tuple[dict[str, Any], int | None]] = _edge_cases()
    for i in range(n):
        raw = _intent(i, f"cus_{i % 40}", f"fca_{i}", rng)
        succeeded = raw["created"] + rng.randint(60, 4 * DAY) if rng.random() < 0.5 else None
        intents.append((raw, succeeded))
    for raw, succeeded in intents:
        store_intent(engine, raw, succeeded_at=succeeded)
    return intents


def _python(intents: list[tuple[dict[str, Any], int | None]], **kw: Any) -> pd.DataFrame:
    times = {r["id"]: t for r, t in intents if t is not None}
    return funnel.funnel([r for r, _ in intents], now=NOW, success_times=times, **kw)


@pytest.mark.parametrize("by", [None, "week"])
def test_sql_funnel_equals_the_python_funnel(engine: Engine, by: str | None) -> None:
    intents = _stored(engine)
    got = conversion_report.conversion(engine, now=NOW, by=by)
    pd.testing.assert_frame_equal(got, _python(intents, by=by))
    assert int(got["started"].sum()) == len(intents)


def test_filters_match_the_python_funnel_on_the_same_subset(engine: Engine) -> None:
    intents = _stored(engine)
    start, end = date.fromtimestamp(NOW - 40 * DAY), date.fromtimestamp(NOW - 10 * DAY)
    got = conversion_report.conversion(
        engine,
        now=NOW,
        flows=["setup_intent"],
        methods=["instant", "automatic"],
        start=start,
        end=end,
        by="week",
    )
    lo = conversion_report._day_start(start)
    hi = conversion_report._day_start(end) + DAY
    subset = [
        (r, t)
        for r, t in intents
        if r["metadata"]["fcops_flow"] == "setup_intent"
        and verification_method(r) in ("instant", "automatic")
        and lo <= r["created"] < hi
    ]
    want = _python(subset, by="week")
    want = want[want["verification_method"].isin(["instant", "automatic"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)


def test_rows_stored_before_the_columns_existed_are_classified_once(engine: Engine) -> None:
    intents = _stored(engine, n=50)
    with session_scope(engine) as session:  # as an older store holds them
        session.execute(
            update(IntentRecord).values(path=None, outcome=None, verified=None, pm_created=None)
        )
    pd.testing.assert_frame_equal(conversion_report.conversion(engine, now=NOW), _python(intents))
    assert conversion_report.classify_missing(engine) == 0
