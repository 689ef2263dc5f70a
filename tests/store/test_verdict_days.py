"""The verdict day counts (services/adapters/verdict_days.py) on SQLite and PostgreSQL: "Did our
check work?"'s verdict table from them equals the table counted from every debit of the window
(the old query on the stored columns, and the per-debit lookup) for windows starting and ending
anywhere, with originals not stored, attempts months from their original either way, and every
verdict; every writer leaves the table as a rebuild from the debits would; opening a store from
before the table fills it."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.engine import Engine

from bench.page_fill import DAY, NOW, fill
from services.adapters import check_history, debit_chains, last_checks, original_dates, verdict_days
from services.adapters.models import (
    DebitCheckRecord,
    DebitHeadroomDayRecord,
    DebitOutcomeRecord,
    DebitVerdictDayRecord,
)
from services.adapters.store import fill_kept, open_store, session_scope
from services.rules import check_effect as rules
from services.rules.debit import DebitPolicy
from services.usecases import check_buckets, check_figures
from services.usecases.debit_outcomes import (
    load_behind,
    put_payment_intents,
    record_event,
    record_payment_intent,
)
from tests.store.test_check_figures_sql import _check
from tests.store.test_debit_chains import T, event, intent, random_debits

DAYS: Any = DebitVerdictDayRecord.__table__  # type: ignore[attr-defined]
HEADROOM: Any = DebitHeadroomDayRecord.__table__  # type: ignore[attr-defined]
VERDICTS = ["ok", "ok", "ok", "insufficient", "stale", "unavailable"]


def day_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(DAYS).order_by(*DAYS.c)).mappings()]


def headroom_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(HEADROOM).order_by(*HEADROOM.c)).mappings()]


def kept_as_rebuilt(engine: Engine) -> list[dict[str, Any]]:
    """The day rows the writers kept, after checking they (and the headroom day rows) equal a
    rebuild from the debits."""
    kept, headroom = day_rows(engine), headroom_rows(engine)
    verdict_days.rebuild(engine)
    assert kept == day_rows(engine)
    assert headroom == headroom_rows(engine)
    return kept


def random_store(engine: Engine, seed: int) -> None:
    """Random debits (bench of test_debit_chains: long chains, lost originals, retries up to 8
    months late; and here retries dated up to 60 days before their original), on 40 accounts
    checked at random times with every verdict, inserted past the writers and then computed as
    opening the store would."""
    rng = random.Random(seed)
    debits = random_debits(seed, chains=300)
    for d in debits:
        d["account_id"] = f"fca_{rng.randint(1, 40)}"
        if d["id"] != d["original_id"] and rng.random() < 0.1:  # a retry dated before its original
            d["created"] -= rng.randint(0, 60 * DAY)
    for d in random_debits(seed + 100, chains=400):  # and a dense last ten days (edge days)
        if d["id"] == d["original_id"]:
            dense = d | {"created": NOW - rng.randint(0, 10 * DAY)}
            debits.append(dense | {"account_id": f"fca_{rng.randint(1, 40)}"})
    checks = []
    for _ in range(900):
        at = NOW - rng.randint(0, 420 * DAY)
        checks.append(
            _check(
                f"fca_{rng.randint(1, 40)}",
                at,
                rng.choice(VERDICTS),
                balance=rng.randint(0, 60_000),
                as_of=at - rng.randint(0, 3 * DAY),
            )
        )
    with engine.begin() as conn:
        conn.execute(insert(DebitOutcomeRecord), debits)
        conn.execute(insert(DebitCheckRecord), checks)
    last_checks.backfill(engine)
    original_dates.backfill(engine)
    debit_chains.rebuild(engine)
    verdict_days.rebuild(engine)


def _windows(seed: int) -> list[tuple[int, int, int]]:
    """(since, start, end): spans of 1 to 300 days starting and ending anywhere, on and a second
    either side of midnights, ``since`` 180 days (every caller's) or exactly 30 days before."""
    rng = random.Random(seed)
    out = []
    for _ in range(8):  # in the dense last ten days: every edge day holds debits
        start = NOW - rng.randint(3 * DAY, 10 * DAY)
        end = start + rng.randint(2 * DAY, NOW - start)
        out.append((start - 180 * DAY, start, end))
    for _ in range(14):
        start = NOW - rng.randint(2 * DAY, 400 * DAY)
        if rng.random() < 0.4:
            start = start // DAY * DAY + rng.choice([-1, 0, 1])
        end = min(NOW + DAY, start + rng.randint(2 * DAY + 2, 300 * DAY))
        if rng.random() < 0.4:
            end = end // DAY * DAY + rng.choice([-1, 0, 1])
        out.append((start - rng.choice([180, 30]) * DAY, start, end))
    return out


def _verdicts(engine: Engine, window: check_figures.Window) -> tuple[Any, int, int]:
    table, debits, checked = check_figures.verdicts(engine, window)
    return table.to_dict("records"), debits, checked


@pytest.mark.parametrize("seed", [1, 2])
def test_the_verdict_table_from_day_counts_equals_every_debit_counted(
    engine: Engine, seed: int
) -> None:
    random_store(engine, seed)
    far = 0
    for since, start, end in _windows(seed):
        window = check_figures.Window(since=since, start=start, end=end)
        assert check_figures._day_groups(window) is not None  # the day counts are read
        got = _verdicts(engine, window)
        looked_up = check_figures.Window(since, start, end, stored=False)
        assert got == _verdicts(engine, looked_up), (since, start, end)
        with engine.connect() as conn:  # the old query on the stored columns
            rows = [g._mapping for g in conn.execute(check_figures._table_groups(window, True))]
        table, debits, checked = check_figures._verdict_table(rows)
        assert got == (table.to_dict("records"), debits, checked)
        with engine.connect() as conn:
            far += len(conn.execute(select(DebitOutcomeRecord.id).where(  # type: ignore[call-overload]
                verdict_days.far(DebitOutcomeRecord.__table__))).all())  # type: ignore[attr-defined]
    assert far > 10  # debits counted from their rows, not the days
    # a window without a whole day, or with ``since`` too close: read from the rows
    assert check_figures._day_groups(check_figures.Window(NOW - 200 * DAY, NOW - DAY // 2, NOW)) is None
    assert check_figures._day_groups(check_figures.Window(NOW - 40 * DAY, NOW - 20 * DAY, NOW)) is None


POLICIES = (
    DebitPolicy(),
    DebitPolicy(max_age_seconds=2 * DAY),
    DebitPolicy(buffer_percent=10.0, max_age_seconds=36 * 3_600),
    DebitPolicy(buffer_percent=100.0, max_age_seconds=30 * DAY),
)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_policy_options_from_headroom_days_equal_the_rules(
    engine: Engine, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What each option would have held back, added up from the headroom day counts, equals
    the rules over the debits joined with their checks, the row query on the stored columns,
    and the per-debit lookup, for windows starting and ending anywhere and policies with no
    fixed buffer (whole percentages, maximum ages up to 30 days). Some checks asked about an
    amount of 0 (a bucket of their own; one with a balance below 0 sends the read to the rows)."""
    random_store(engine, seed)
    # settled debits whose last check had exactly what the policies' percentages need (on the
    # edge of a bucket) almost a day old, and ones whose check asked about an amount of 0 (refused
    # at check time, so only a store written otherwise holds one): a bucket of their own; with
    # seed 2 one balance is below 0, which the buckets cannot decide (the read goes to the rows)
    cases = [(10_000, 10_000 + 100 * p, 86_000) for p in (0, 10, 100)]  # (asked, balance, age)
    cases += [(0, b, 900) for b in ([0, 5, 7] if seed == 1 else [0, 5, -5])]
    odd = [
        row | {"account_id": f"fca_odd_{i}", "status": "settled", "created": NOW - (3 + i) * DAY}
        for i, row in enumerate(r for r in random_debits(seed + 7, 40) if r["id"] == r["original_id"])
    ][: len(cases)]
    with engine.begin() as conn:
        conn.execute(insert(DebitOutcomeRecord), odd)
        conn.execute(insert(DebitCheckRecord), [
            _check(d["account_id"], d["created"] - 10, amount=a, balance=b, as_of=d["created"] - 10 - age)
            for d, (a, b, age) in zip(odd, cases, strict=True)
        ])
    last_checks.backfill(engine)
    original_dates.backfill(engine)
    debit_chains.rebuild(engine)
    verdict_days.rebuild(engine)
    used: list[bool] = []
    real = check_buckets.held

    def spy(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        used.append(found is not None)
        return found

    limits: dict[str, Any] = {"max_percent": 100.0, "min_age_seconds": 900}
    compared = 0
    for since, start, end in _windows(seed):
        window = check_figures.Window(since=since, start=start, end=end)
        debits = load_behind(engine, since=since, start=start, end=end)[0]
        debits.sort(key=lambda d: (d.created, d.id))
        checks = check_history.load_checks(engine, since=start - rules.LOOKBACK_SECONDS)
        joined = rules.join_checks(debits, checks)
        for current in POLICIES:
            expected = rules.policy_options(joined, current, **limits)
            monkeypatch.setattr(check_buckets, "held", spy)
            assert check_figures.options(engine, window, current, **limits) == expected
            monkeypatch.setattr(check_buckets, "held", lambda *a, **k: None)  # the rows
            assert check_figures.options(engine, window, current, **limits) == expected
            looked_up = check_figures.Window(since, start, end, stored=False)
            assert check_figures.options(engine, looked_up, current, **limits) == expected
            compared += sum(o.blocked for o in expected)
    assert sum(used) > 20 and compared > 200  # the day counts decided, and held debits back
    assert (False in used) == (seed == 2)  # a balance below an amount of 0: read from rows


def test_every_writer_keeps_the_day_counts_as_a_rebuild_would(engine: Engine) -> None:
    # a check, then a re-initiation arriving before its original: dated by itself for now
    check_history.record_checks(engine, [_check("fca_1", T - 3_600, "ok")])
    retry = intent("pi_o_r", "processing", created=T + 5 * DAY, retry_of="pi_o")
    assert record_payment_intent(engine, retry, at=T + 5 * DAY) == "inserted"
    assert {r["day"] for r in kept_as_rebuilt(engine)} == {(T + 5 * DAY) // DAY}

    # the original arrives (a webhook): the retry moves to the original's day
    assert record_event(engine, event("processing", T + 60, intent("pi_o", "processing"))) == "inserted"
    assert {r["day"] for r in kept_as_rebuilt(engine)} == {T // DAY}
    record_event(engine, event("succeeded", T + 3 * DAY, intent("pi_o", "succeeded")))
    returned = intent("pi_o", "requires_payment_method", code="insufficient_funds")
    assert record_payment_intent(engine, returned, at=T + 6 * DAY) == "updated"
    rows = kept_as_rebuilt(engine)
    assert ("ok", "returned") in {(r["check_verdict"], r["status"]) for r in rows}

    # a sync's page: new originals, and a re-initiation 40 days after the original (far)
    page = [
        intent("pi_a", "succeeded", created=T + DAY),
        intent("pi_o_r2", "processing", created=T + 40 * DAY, retry_of="pi_o"),
    ]
    with session_scope(engine) as session:
        put_payment_intents(session, page, at=T + 41 * DAY)
    assert sum(r["n"] for r in kept_as_rebuilt(engine)) == 3  # the far retry is not in the days

    # a later check changes the verdict of the debits after it; a seed replaces a source's
    check_history.record_checks(engine, [_check("fca_1", T + DAY - 60, "insufficient")])
    rows = kept_as_rebuilt(engine)
    assert {(r["day"], r["check_verdict"]) for r in rows} >= {((T + DAY) // DAY, "insufficient")}
    check_history.replace_source(engine, "single", [_check("fca_1", T - 60, "stale")])
    assert {r["check_verdict"] for r in kept_as_rebuilt(engine)} == {"stale"}


def test_random_outcome_writes_keep_the_headroom_days_as_a_rebuild_would(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An outcome write recounts the headroom days only of the debits counted there before or
    after it (settled after an ok verdict); random writes through every writer (single,
    event, page; originals and retries; settling, returning, pending again) leave both day
    tables as a rebuild would, and some writes skip days the headroom table does not hold."""
    rng = random.Random(7)
    check_history.record_checks(engine, [
        _check("fca_1", T + h * 3_600, "ok", balance=rng.randint(0, 30_000),
               as_of=T + h * 3_600 - rng.randint(0, 2 * DAY))
        for h in range(0, 20 * 24, 7)
    ])
    calls: list[tuple[set[int], set[int] | None]] = []
    real = verdict_days.recount

    def spy(conn: Any, days: Any, headroom: Any = None) -> None:
        calls.append((set(days), None if headroom is None else set(headroom)))
        real(conn, days, headroom)

    monkeypatch.setattr(verdict_days, "recount", spy)
    statuses = ["processing", "succeeded", "succeeded", "requires_payment_method"]
    seen = []
    for i in range(90):
        pi_id = f"pi_h{rng.randint(0, 30)}"
        status = rng.choice(statuses)
        code = "insufficient_funds" if status == "requires_payment_method" else None
        retry_of = f"pi_h{rng.randint(0, 30)}" if rng.random() < 0.2 else None
        one = intent(pi_id, status, created=T + rng.randint(0, 20 * 24) * 3_600, code=code,
                     retry_of=retry_of if retry_of != pi_id else None)
        at = T + 21 * DAY + i
        way = rng.random()
        if way < 0.4:
            record_payment_intent(engine, one, at=at)
        elif way < 0.7:
            record_event(engine, event(status, at, one))
        else:
            with session_scope(engine) as session:
                put_payment_intents(session, [one], at=at)
        if i % 10 == 9:
            kept_as_rebuilt(engine)
            seen.append(len(headroom_rows(engine)))
    kept_as_rebuilt(engine)
    assert max(seen) > 0  # debits settled after an ok verdict were counted
    skipped = [(d, h) for d, h in calls if h is not None and h < d]
    counted = [(d, h) for d, h in calls if h]
    assert skipped and counted  # some writes left the headroom days alone, some recounted


def test_opening_a_store_from_before_the_day_table_fills_it(db_url: str) -> None:
    engine = open_store(db_url)
    try:
        random_store(engine, 3)
        kept = day_rows(engine)
        assert kept
        headroom = headroom_rows(engine)
        assert headroom
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE debit_verdict_days"))  # as a store made before it
            conn.execute(text("DROP TABLE debit_headroom_days"))
            conn.execute(text("DROP INDEX ix_debit_days"))  # and the index it had instead
            conn.execute(text(
                "CREATE INDEX ix_debit_dated ON debit_outcomes (original_created, created, "
                "check_verdict, status, return_code, category)"
            ))
    finally:
        engine.dispose()
    engine = open_store(db_url)
    try:
        assert day_rows(engine) == kept and headroom_rows(engine) == headroom
        indexes = {i["name"] for i in inspect(engine).get_indexes("debit_outcomes")}
        assert "ix_debit_days" in indexes and "ix_debit_dated" not in indexes
        assert verdict_days.backfill_if_empty(engine) is False  # filled: nothing more to do
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE debit_headroom_days"))  # a store of the last version
    finally:
        engine.dispose()
    engine = open_store(db_url)
    try:
        assert day_rows(engine) == kept and headroom_rows(engine) == headroom
    finally:
        engine.dispose()


KEPT_TABLES = (
    "debit_chains",
    "debit_chain_days",
    "debit_verdict_days",
    "debit_headroom_days",
    "intent_days",
)


def _kept(engine: Engine) -> dict[str, list[Any]]:
    """Everything the writers keep at write time, as stored."""
    out = {}
    with engine.connect() as conn:
        for table in KEPT_TABLES:
            rows = conn.execute(text(f"SELECT * FROM {table}")).mappings().all()
            out[table] = sorted(tuple(v for k, v in r.items() if k != "id") for r in rows)
        columns = "id, last_check_id, check_verdict, check_age, original_created"
        out["debits"] = sorted(
            map(tuple, conn.execute(text(f"SELECT {columns} FROM debit_outcomes")).all())
        )
    return out


def test_opening_a_store_fills_every_kept_figure_from_one_place_once(db_url: str) -> None:
    """A store whose kept figures are all missing (made before them, or bulk-inserted) gets
    each filled by one open, equal to what the writers keep; the next open fills nothing."""
    engine = open_store(db_url)
    try:
        random_store(engine, 4)
        fill(engine, 0, 30, 0)  # customers, accounts and intents (their day counts rebuilt)
        want = _kept(engine)
        assert all(want.values())
        with engine.begin() as conn:
            conn.execute(text(
                "UPDATE debit_outcomes SET last_check_id = NULL, check_verdict = NULL, "
                "original_created = NULL"
            ))
            for table in KEPT_TABLES:
                conn.execute(text(f"DELETE FROM {table}"))
    finally:
        engine.dispose()
    engine = open_store(db_url)
    try:
        assert _kept(engine) == want
        assert fill_kept(engine) == []  # nothing missing: cheap probes only
    finally:
        engine.dispose()
