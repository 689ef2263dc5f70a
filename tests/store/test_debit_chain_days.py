"""The per-day sums of the short chains (``debit_chain_days``, services/adapters/debit_chains.py)
on SQLite and PostgreSQL: every outcome writer keeps them equal to the chain rows summed in
Python and to a rebuild (chains moving between days and values, long <-> short, two writers of
one day at once, a store from before the table); the return rates added up from whole days and
the chains of the edge days equal the query over every debit for spans starting and ending
exactly at, just before and just after day and week boundaries.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from bench.page_fill import DAY, NOW
from services.adapters import debit_chains, outcome_figures
from services.adapters.models import DebitChainDayRecord
from services.adapters.store import open_store
from services.rules import returns as rules
from services.rules.nacha import CATEGORIES
from services.usecases.debit_outcomes import record_payment_intent
from tests.store.test_debit_chains import (
    _same,
    chain_rows,
    intent,
    kept_as_rebuilt,
    old_breakdown,
    old_rates,
    old_weekly,
    write_while_another_waits,
)

DAYS: Any = DebitChainDayRecord.__table__  # type: ignore[attr-defined]
KEY = ("day", "verification_method", "institution", "flow")
# a Monday's midnight (UTC) about three weeks ago: 1970-01-05 was a Monday
MONDAY = (NOW // DAY - 21 - (NOW // DAY - 4) % 7) * DAY


def day_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(DAYS).order_by(*(DAYS.c[k] for k in KEY))).mappings()
        return [{k: (int(v) if k not in KEY[1:] else v) for k, v in r.items()} for r in rows]


def summed_in_python(engine: Engine) -> list[dict[str, Any]]:
    """The short chain rows summed per day and values, as the table should hold them."""
    sums: dict[tuple[Any, ...], dict[str, Any]] = {}
    for chain in chain_rows(engine):
        if chain["long"]:
            continue
        key = (chain["created"] // DAY, *(chain[by] for by in debit_chains.BY))
        row = sums.setdefault(
            key, dict(zip(KEY, key, strict=True)) | dict.fromkeys(("debits", *CATEGORIES), 0)
        )
        row["debits"] += 1
        for category in CATEGORIES:
            row[category] += int(chain[category])
    return [sums[k] for k in sorted(sums)]


def days_kept(engine: Engine) -> list[dict[str, Any]]:
    """The day rows the writers kept, after checking they equal the chain rows summed in
    Python and a rebuild (which also checks the chain rows)."""
    kept = day_rows(engine)
    assert kept == summed_in_python(engine)
    kept_as_rebuilt(engine)
    assert day_rows(engine) == kept
    return kept


def debits_on(engine: Engine, day: int) -> int:
    return sum(r["debits"] for r in day_rows(engine) if r["day"] == day)


def test_day_and_edge_split() -> None:
    split = outcome_figures._split
    assert split(0, DAY - 1) == ((0, 0), [])
    assert split(DAY, 3 * DAY) == ((1, 2), [(3 * DAY, 3 * DAY)])
    assert split(DAY - 1, 3 * DAY - 1) == ((1, 2), [(DAY - 1, DAY - 1)])
    assert split(1, DAY) == (None, [(1, DAY)])  # no whole day
    assert split(5, 5) == (None, [(5, 5)])
    assert split(DAY + 7, 4 * DAY + 9) == ((2, 3), [(DAY + 7, 2 * DAY - 1), (4 * DAY, 4 * DAY + 9)])


# --------------------------------------------------------------------------- edges

CODES = [None, "debit_not_authorized", "no_account", None, "insufficient_funds"]
BANKS = ["First Bank", "Second Bank", None]


@pytest.fixture
def edge_store(engine: Engine) -> Engine:
    """Chains written one by one (so the day sums are the writers') at a second before, at,
    and a second after each midnight from 15 days before ``MONDAY`` to 9 days after it, and
    at noon; some retried a day later, some 40 days later (long), one retry's original never
    seen."""
    n = 0
    for day in range(-15, 10):
        for offset in (-1, 0, 1, DAY // 2):
            n += 1
            at = MONDAY + day * DAY + offset
            code = CODES[n % len(CODES)]
            status = "requires_payment_method" if code else "succeeded"
            bank, flow = BANKS[n % 3], ["rent", "deposit"][n % 2]
            pi = intent(f"pi_e{n:03d}", status, created=at, code=code, bank=bank, flow=flow)
            record_payment_intent(engine, pi, at=at)
            if n % 5 == 0:  # retried a day later, returned
                retry = intent(
                    f"pi_e{n:03d}_r",
                    "requires_payment_method",
                    created=at + DAY,
                    code="debit_not_authorized",
                    retry_of=f"pi_e{n:03d}",
                    bank="Third Bank",
                )
                record_payment_intent(engine, retry, at=at + DAY)
            if n % 11 == 0:  # re-initiated 40 days later: long
                retry = intent(
                    f"pi_e{n:03d}_l",
                    "requires_payment_method",
                    created=at + 40 * DAY,
                    code="no_account",
                    retry_of=f"pi_e{n:03d}",
                )
                record_payment_intent(engine, retry, at=at + 40 * DAY)
            if n % 13 == 0:  # a re-initiation whose original the store never saw
                orphan = intent(f"pi_o{n:03d}_r", "succeeded", created=at, retry_of=f"pi_o{n:03d}")
                record_payment_intent(engine, orphan, at=at)
    days_kept(engine)
    assert any(r["long"] for r in chain_rows(engine))
    return engine


STARTS = [MONDAY - 10 * DAY + s for s in (-1, 0, 1, 4_000)]
ENDS = [MONDAY + s for s in (-1, 0, 1, DAY - 1, 5_000)]
# spans with no whole day in them, or a single second on a midnight
NARROW = [
    (MONDAY, MONDAY),
    (MONDAY - 1, MONDAY),
    (MONDAY + 1, MONDAY + DAY - 2),
    (MONDAY, MONDAY + DAY - 1),
]


def test_rates_and_breakdowns_at_day_edges_equal_the_old_query(edge_store: Engine) -> None:
    for start, end in [(s, e) for s in STARTS for e in ENDS] + NARROW:
        since = start - 120 * DAY
        got = outcome_figures.rates(edge_store, since=since, start=start, end=end)
        _same(got, old_rates(edge_store, since=since, start=start, end=end))
        assert end - start < DAY or int(got["returns"].iloc[2]) > 0  # returns to compare
        for by in rules.BREAKDOWNS:
            got = outcome_figures.breakdown(edge_store, by, since=since, start=start, end=end)
            _same(got, old_breakdown(edge_store, by, since=since, start=start, end=end))


# now: Sunday's last second, Monday's first, its second, a Wednesday afternoon, the week's last
NOWS = [MONDAY + s for s in (-1, 0, 1, 2 * DAY + 50_000, 7 * DAY - 1)]


def test_weekly_rates_at_day_and_week_edges_equal_the_old_query(edge_store: Engine) -> None:
    for now in NOWS:
        since = now - 180 * DAY
        got = outcome_figures.weekly(edge_store, since=since, now=now)
        _same(got, old_weekly(edge_store, since=since, now=now))
        assert int(got["debits"].sum()) > 0


# --------------------------------------------------------------------------- maintenance

DAY0 = MONDAY // DAY  # day numbers


def test_a_chain_moves_between_days_and_values_as_its_attempts_arrive(engine: Engine) -> None:
    # a re-initiation arriving first: the chain is dated on its day, with its bank
    retry = intent("pi_m_r", "succeeded", created=MONDAY + 2 * DAY + 5, retry_of="pi_m", bank="B")
    record_payment_intent(engine, retry, at=MONDAY + 2 * DAY + 5)
    kept = days_kept(engine)
    assert [(r["day"], r["institution"]) for r in kept] == [(DAY0 + 2, "B")]

    # its original, made a second before the Monday: the chain moves to the Sunday and bank A
    original = intent("pi_m", "succeeded", created=MONDAY - 1, bank="A")
    record_payment_intent(engine, original, at=MONDAY + 3 * DAY)
    kept = days_kept(engine)
    assert [(r["day"], r["institution"], r["debits"]) for r in kept] == [(DAY0 - 1, "A", 1)]

    # another chain on the Sunday, then the first comes back: one row, two debits, one return
    record_payment_intent(
        engine, intent("pi_n", "succeeded", created=MONDAY - DAY, bank="A"), at=MONDAY
    )
    returned = intent(
        "pi_m_r",
        "requires_payment_method",
        created=MONDAY + 2 * DAY + 5,
        code="no_account",
        retry_of="pi_m",
        bank="B",
    )
    record_payment_intent(engine, returned, at=MONDAY + 4 * DAY)
    kept = days_kept(engine)
    assert [(r["day"], r["debits"], r["administrative"], r["overall"]) for r in kept] == [
        (DAY0 - 1, 2, 1, 1)
    ]
    since, start, end = MONDAY - 150 * DAY, MONDAY - 30 * DAY, MONDAY + 5 * DAY
    got = outcome_figures.rates(engine, since=since, start=start, end=end)
    _same(got, old_rates(engine, since=since, start=start, end=end))
    assert list(got["debits"]) == [2, 2, 2] and list(got["returns"]) == [0, 1, 1]


def test_a_chain_leaves_the_day_sums_when_long_and_comes_back_when_short(engine: Engine) -> None:
    record_payment_intent(engine, intent("pi_l", "succeeded", created=MONDAY, bank="A"), at=MONDAY)
    record_payment_intent(
        engine, intent("pi_k", "succeeded", created=MONDAY + 60, bank="A"), at=MONDAY
    )
    assert debits_on(engine, DAY0) == 2

    # a re-initiation 40 days later makes pi_l long: counted from its attempts, not its day
    late = intent(
        "pi_l_r",
        "requires_payment_method",
        created=MONDAY + 40 * DAY,
        code="debit_not_authorized",
        retry_of="pi_l",
    )
    record_payment_intent(engine, late, at=MONDAY + 40 * DAY)
    longs = {r["original_id"]: r["long"] for r in chain_rows(engine)}
    assert longs == {"pi_k": False, "pi_l": True}
    kept = days_kept(engine)
    assert [(r["day"], r["debits"]) for r in kept] == [(DAY0, 1)]
    since, start, end = MONDAY - 150 * DAY, MONDAY - 3 * DAY + 7, MONDAY + 45 * DAY
    got = outcome_figures.rates(engine, since=since, start=start, end=end)
    _same(got, old_rates(engine, since=since, start=start, end=end))
    assert list(got["debits"]) == [2, 2, 2] and list(got["returns"]) == [1, 0, 1]

    # the re-initiation turns out to be a payment of its own: pi_l is short again, and the
    # former re-initiation a chain of its own on its day
    alone = intent(
        "pi_l_r", "requires_payment_method", created=MONDAY + 40 * DAY, code="debit_not_authorized"
    )
    record_payment_intent(engine, alone, at=MONDAY + 41 * DAY)
    assert not any(r["long"] for r in chain_rows(engine))
    kept = days_kept(engine)
    assert [(r["day"], r["debits"], r["unauthorized"]) for r in kept] == [
        (DAY0, 2, 0),
        (DAY0 + 40, 1, 1),
    ]
    got = outcome_figures.rates(engine, since=since, start=start, end=end)
    _same(got, old_rates(engine, since=since, start=start, end=end))
    assert list(got["debits"]) == [3, 3, 3] and list(got["returns"]) == [1, 0, 1]


def test_two_writers_of_one_day_at_once_both_count(engine: Engine) -> None:
    """Two chains of one day written in two transactions at once: the later writer's recount
    of the day counts the first's chain (it waits for the first to commit)."""
    write_while_another_waits(
        engine,
        (intent("pi_p", "succeeded", created=MONDAY + 10), MONDAY),
        (intent("pi_q", "succeeded", created=MONDAY + 20), MONDAY),
    )
    days_kept(engine)
    assert debits_on(engine, DAY0) == 2


def test_opening_a_store_with_chains_but_no_day_sums_fills_them(db_url: str) -> None:
    engine = open_store(db_url)
    for n in range(6):
        at = MONDAY + n * DAY // 2
        record_payment_intent(engine, intent(f"pi_s{n}", "succeeded", created=at), at=at)
    kept = day_rows(engine)
    assert sum(r["debits"] for r in kept) == 6
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM debit_chain_days"))  # as a store made before the table
    engine.dispose()

    engine = open_store(db_url)
    try:
        assert day_rows(engine) == kept
        assert debit_chains.backfill_if_empty(engine) is False  # filled: nothing more to do
    finally:
        engine.dispose()
