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
from sqlalchemy import text, update
from sqlalchemy.engine import Engine

from bench.page_fill import NOW, _intent
from services.adapters import intent_days
from services.adapters.models import IntentRecord
from services.adapters.store import open_store, session_scope
from services.rules import funnel
from services.rules.intent_fields import verification_method
from services.usecases import conversion_report, sync_intents
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


# --------------------------------------------------------------------------- day counts
#
# Conversion adds up per-day counts kept by every intent write (services.adapters.intent_days);
# the figures must stay those of the Python funnel over the intents as they are stored now.


def _waiting(ident: str, created: int, method: str = "instant") -> dict[str, Any]:
    return {
        "id": ident,
        "object": "setup_intent",
        "status": "requires_payment_method",
        "created": created,
        "payment_method_types": ["us_bank_account"],
        "payment_method_options": {"us_bank_account": {"verification_method": method}},
        "metadata": {"fcops_flow": "setup_intent"},
    }


def _day_rows(engine: Engine) -> list[tuple[Any, ...]]:
    columns = ["day", "verification_method", "flow", *intent_days.COUNTS]
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {', '.join(columns)} FROM intent_days")).all()
    return sorted((tuple(r) for r in rows), key=repr)


@pytest.mark.parametrize("by", [None, "week"])
def test_waiting_intents_on_the_day_of_the_abandoning_cut_split_at_the_second(
    engine: Engine, by: str | None
) -> None:
    cut = NOW - conversion_report.ABANDON_AFTER_SECONDS  # created before it: abandoned
    day_start = cut - cut % DAY
    moments = [day_start, cut - 1, cut, cut + 1, day_start + DAY - 1, day_start - 1]
    moments += [day_start + DAY, cut - 3 * DAY, cut + 2 * DAY]
    intents = _stored(engine, n=80)
    for n, created in enumerate(moments):
        for method in ("instant", "automatic"):
            raw = _waiting(f"seti_cut{n}{method[0]}", created, method)
            store_intent(engine, raw)
            intents.append((raw, None))
    got = conversion_report.conversion(engine, now=NOW, by=by)
    pd.testing.assert_frame_equal(got, _python(intents, by=by))
    # a minute later the cut moves on: the same store, other abandoned and pending counts
    later = conversion_report.conversion(engine, now=NOW + 60, by=by)
    times = {r["id"]: t for r, t in intents if t is not None}
    want = funnel.funnel([r for r, _ in intents], now=NOW + 60, success_times=times, by=by)
    pd.testing.assert_frame_equal(later, want)


def test_day_counts_follow_an_intent_that_changes_status_method_and_flow(engine: Engine) -> None:
    intents = dict((raw["id"], (raw, t)) for raw, t in _stored(engine, n=120))
    rng = random.Random(7)
    for ident in rng.sample(sorted(intents), 40):
        raw, succeeded = intents[ident]
        changed = {
            **raw,
            "status": rng.choice(["succeeded", "canceled", "requires_payment_method"]),
            "payment_method_options": {
                "us_bank_account": {
                    "verification_method": rng.choice(["instant", "automatic", "microdeposits"])
                }
            },
            "metadata": {"fcops_flow": rng.choice(["setup_intent", "payment_intent"])},
        }
        store_intent(engine, changed, succeeded_at=succeeded)
        intents[ident] = (changed, succeeded)
    kept_before = _day_rows(engine)
    for by in (None, "week"):
        got = conversion_report.conversion(engine, now=NOW, by=by)
        pd.testing.assert_frame_equal(got, _python(list(intents.values()), by=by))
    intent_days.rebuild(engine)  # counting every intent again finds what the writes kept
    assert _day_rows(engine) == kept_before


def test_a_synced_page_of_intents_keeps_the_day_counts(engine: Engine) -> None:
    rng = random.Random(3)
    first = [_intent(i, f"cus_{i}", f"fca_{i}", rng) for i in range(60)]
    sync_intents.store_page(engine, first, {}, NOW)
    second = [{**raw, "status": "canceled"} for raw in first[:30]]
    second += [_intent(100 + i, f"cus_{i}", f"fca_{i}", rng) for i in range(20)]
    sync_intents.store_page(engine, second, {}, NOW)
    latest = {raw["id"]: (raw, None) for raw in first + second}
    got = conversion_report.conversion(engine, now=NOW, by="week")
    pd.testing.assert_frame_equal(got, _python(list(latest.values()), by="week"))
    kept = _day_rows(engine)
    intent_days.rebuild(engine)
    assert _day_rows(engine) == kept


def test_the_store_summary_adds_up_the_stored_intents(engine: Engine) -> None:
    intents = _stored(engine, n=90)
    summary = conversion_report.summarise(engine)
    assert summary.intents == len(intents)
    assert summary.first_created == min(r["created"] for r, _ in intents)
    assert summary.last_created == max(r["created"] for r, _ in intents)
    assert summary.flows == sorted({r["metadata"]["fcops_flow"] for r, _ in intents})
    assert summary.methods == sorted({verification_method(r) for r, _ in intents})


def test_a_store_from_before_the_day_counts_is_counted_when_opened(db_url: str) -> None:
    engine = open_store(db_url)
    intents = _stored(engine, n=70)
    with engine.begin() as conn:  # as a store written before the table existed
        conn.execute(text("DROP TABLE intent_days"))
    engine.dispose()
    reopened = open_store(db_url)
    try:
        assert conversion_report.summarise(reopened).intents == len(intents)
        got = conversion_report.conversion(reopened, now=NOW, by="week")
        pd.testing.assert_frame_equal(got, _python(intents, by="week"))
    finally:
        reopened.dispose()


def test_the_report_reads_both_frames_in_one_pass_with_the_same_figures(engine: Engine) -> None:
    intents = _stored(engine, n=150)
    start, end = date.fromtimestamp(NOW - 60 * DAY), date.fromtimestamp(NOW)
    both = conversion_report.conversions(engine, now=NOW, bys=(None, "week"), start=start, end=end)
    lo, hi = conversion_report._day_start(start), conversion_report._day_start(end) + DAY
    subset = [(r, t) for r, t in intents if lo <= r["created"] < hi]
    for by, got in zip((None, "week"), both, strict=True):
        pd.testing.assert_frame_equal(got, _python(subset, by=by))
        assert got["median_seconds_to_success"].notna().any()


def test_writers_at_the_same_moment_on_the_same_day_leave_exact_day_counts(engine: Engine) -> None:
    import threading

    day = NOW - 20 * DAY
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for k in range(15):
                store_intent(engine, _waiting(f"seti_race{n}_{k}", day + n * 60 + k))
        except BaseException as err:  # reported below, in the test thread
            failures.append(err)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    kept = _day_rows(engine)
    assert sum(row[3] for row in kept) == 60  # started, all on one (method, day)
    intent_days.rebuild(engine)
    assert _day_rows(engine) == kept
