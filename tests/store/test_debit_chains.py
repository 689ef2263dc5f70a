"""The chain table (services/adapters/debit_chains.py) on SQLite and PostgreSQL: the return
rates read from it equal the previous query over every debit (copied here as the reference)
and the Python rates (services/rules/returns.py) on random stores with long chains; every
outcome writer keeps it equal to a fresh rebuild; a store from before the table is filled
when opened.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import and_, case, func, insert, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.page_fill import DAY, NOW
from services.adapters import debit_chains, outcome_figures
from services.adapters.models import DebitChainRecord, DebitOutcomeRecord
from services.adapters.store import open_store, session_scope
from services.rules import returns as rules
from services.rules.nacha import CATEGORIES
from services.rules.returns import RETRY_OF
from services.usecases.debit_outcomes import (
    load_outcomes,
    put_payment_intent,
    put_payment_intents,
    record_event,
    record_payment_intent,
)

TABLE: Any = DebitOutcomeRecord.__table__  # type: ignore[attr-defined]
CHAINS: Any = DebitChainRecord.__table__  # type: ignore[attr-defined]

# --------------------------------------------------------------------------- the reference
# outcome_figures before the chain table, verbatim but for names: every debit since ``since``
# grouped by original on each read.


def _old_chains(since: int, by: str | None = None) -> Any:
    t = TABLE
    original = t.c.id == t.c.original_id
    returned = and_(
        t.c.status == "returned", t.c.return_code.is_not(None), t.c.category.is_not(None)
    )

    def any_of(condition: Any) -> Any:
        return func.max(case((condition, 1), else_=0))

    columns = [
        func.coalesce(func.max(case((original, t.c.created))), func.min(t.c.created)).label(
            "created"
        ),
        any_of(and_(returned, t.c.category == "unauthorized")).label("unauthorized"),
        any_of(and_(returned, t.c.category == "administrative")).label("administrative"),
        any_of(returned).label("overall"),
    ]
    if by is not None:
        value = func.coalesce(func.nullif(t.c[by], ""), "unknown")
        columns.append(
            func.coalesce(func.max(case((original, value))), func.min(value)).label("value")
        )
    return select(*columns).where(t.c.created >= since).group_by(t.c.original_id).subquery()


def _old_counts(chains: Any, *keys: Any) -> Any:
    return select(
        *keys,
        func.count().label("debits"),
        *(func.coalesce(func.sum(chains.c[c]), 0).label(c) for c in CATEGORIES),
    )


def _old_frame(row: Any) -> pd.DataFrame:
    counts = None if row is None else {k: int(getattr(row, k)) for k in ("debits", *CATEGORIES)}
    return outcome_figures._frame(counts)


def old_rates(engine: Engine, *, since: int, start: int, end: int) -> pd.DataFrame:
    chains = _old_chains(since)
    stmt = _old_counts(chains).where(chains.c.created >= start, chains.c.created <= end)
    with engine.connect() as conn:
        return _old_frame(conn.execute(stmt).one())


def old_weekly(engine: Engine, *, since: int, now: int, weeks: int = 13) -> pd.DataFrame:
    today = datetime.fromtimestamp(now, tz=UTC).date()
    first = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    chains = _old_chains(since)
    week = ((chains.c.created - 4 * DAY) // (7 * DAY)).label("week")
    stmt = _old_counts(chains, week).where(chains.c.created <= now).group_by(week)
    with engine.connect() as conn:
        found = {int(r.week): r for r in conn.execute(stmt)}
    frames = []
    for i in range(weeks):
        monday = first + timedelta(weeks=i)
        frame = _old_frame(found.get((monday - date(1970, 1, 5)).days // 7))
        frame.insert(0, "week", pd.Timestamp(monday))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def old_breakdown(engine: Engine, by: str, *, since: int, start: int, end: int) -> pd.DataFrame:
    chains = _old_chains(since, by)
    stmt = (
        _old_counts(chains, chains.c.value)
        .where(chains.c.created >= start, chains.c.created <= end)
        .group_by(chains.c.value)
    )
    rows = []
    with engine.connect() as conn:
        for found in conn.execute(stmt):
            row: dict[str, Any] = {by: str(found.value), "debits": int(found.debits)}
            for category in CATEGORIES:
                returns = int(getattr(found, category))
                row[f"{category}_returns"] = returns
                row[f"{category}_rate"] = returns / int(found.debits)
            rows.append(row)
    rows.sort(key=lambda r: r[by])
    columns = [by, "debits"] + [f"{c}_{k}" for c in CATEGORIES for k in ("returns", "rate")]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------- random stores

RETURNS = [
    ("insufficient_funds", "R01/R09", "other"),
    ("insufficient_funds", "R01", "other"),
    ("debit_not_authorized", "R10", "unauthorized"),
    ("debit_not_authorized", "R29", "unauthorized"),
    ("bank_account_closed", "R02", "administrative"),
    ("no_account", "R03", "administrative"),
]
VALUES = ["First Bank", "Second Bank", "", None]


def _attempt(rng: random.Random, pi_id: str, original: str, created: int) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": pi_id,
        "original_id": original,
        "customer_id": f"cus_{rng.randint(1, 50)}",
        "payment_method": None,
        "account_id": None,
        "institution": rng.choice(VALUES),
        "last4": "0001",
        "verification_method": rng.choice(["instant", "microdeposits", "", None]),
        "flow": rng.choice(["rent", "deposit", "", None]),
        "amount": rng.randint(100, 90_000),
        "currency": "usd",
        "created": created,
        "status": rng.choice(["pending", "settled", "settled", "returned"]),
        "failure_code": None,
        "return_code": None,
        "category": None,
        "observed_at": NOW,
    }
    if row["status"] == "returned":
        failure, code, category = rng.choice(RETURNS)
        if rng.random() < 0.1:  # returned without a code: no return, as Python reads it
            code = None
        row |= {"failure_code": failure, "return_code": code, "category": category}
    return row


def random_debits(seed: int, chains: int = 400, *, varied: bool = True) -> list[dict[str, Any]]:
    """Originals over 400 days; two thirds retried up to 3 times, mostly within days, some 1 to 8
    months later (long chains, many straddling every ``since``); a tenth of the chains have
    lost their original (made before the store knew of it). Without ``varied`` a retry keeps
    its original's breakdown values (as a retry on the same payment method does)."""
    rng = random.Random(seed)
    rows = []
    for n in range(chains):
        original = f"pi_{seed}_{n:04d}"
        created = NOW - rng.randint(0, 400 * DAY)
        attempts = [_attempt(rng, original, original, created)]
        for k in range(rng.choice([0, 0, 1, 1, 2, 3])):
            late = rng.random() < 0.3
            gap = rng.randint(31 * DAY, 250 * DAY) if late else rng.randint(0, 29 * DAY)
            retry = _attempt(rng, f"{original}_r{k}", original, min(NOW, created + gap))
            if not varied:
                retry |= {by: attempts[0][by] for by in rules.BREAKDOWNS}
            attempts.append(retry)
        if len(attempts) > 1 and rng.random() < 0.1:
            attempts = attempts[1:]
        rows += attempts
    return rows


@pytest.fixture(params=[(1, True), (2, False)], ids=["varied", "kept"])
def random_store(engine: Engine, request: pytest.FixtureRequest) -> tuple[Engine, bool]:
    """A store of random debits, and whether retries have other breakdown values."""
    seed, varied = request.param
    with engine.begin() as conn:
        conn.execute(insert(DebitOutcomeRecord), random_debits(seed, varied=varied))
    debit_chains.rebuild(engine)
    with engine.connect() as conn:
        long = conn.execute(select(func.count()).where(CHAINS.c.long.is_(True))).scalar()
    assert long and long > 10  # long chains to count exactly
    return engine, varied


def _same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )


# window (days) and how long before the window ``since`` is: Returns' 120, Home's 120 (180
# against 60), and a span under 30 days (the fallback to the query over every debit)
SPANS = [(1, 120), (7, 120), (60, 120), (180, 120), (60, 10)]


@pytest.mark.parametrize(("window", "before"), SPANS)
def test_rates_from_the_chain_table_equal_the_old_query_and_python(
    random_store: tuple[Engine, bool], window: int, before: int
) -> None:
    engine, _ = random_store
    since, start = NOW - (window + before) * DAY, NOW - window * DAY
    got = outcome_figures.rates(engine, since=since, start=start, end=NOW)
    _same(got, old_rates(engine, since=since, start=start, end=NOW))
    stored = load_outcomes(engine, since=since)
    _same(got, rules.rates_of(stored, now=NOW, window_days=window))
    assert window < 7 or int(got["returns"].iloc[2]) > 0  # returns to compare


@pytest.mark.parametrize("before", [121, 180, 300, 95])
def test_weekly_rates_from_the_chain_table_equal_the_old_query_and_python(
    random_store: tuple[Engine, bool], before: int
) -> None:
    engine, _ = random_store
    since = NOW - before * DAY
    got = outcome_figures.weekly(engine, since=since, now=NOW)
    _same(got, old_weekly(engine, since=since, now=NOW))
    stored = load_outcomes(engine, since=since)
    _same(got, rules.weekly_rates(stored, now=NOW, weeks=13))
    assert int(got["returns"].sum()) > 0


@pytest.mark.parametrize("by", list(rules.BREAKDOWNS))
@pytest.mark.parametrize(("window", "before"), [(60, 120), (180, 120), (60, 10)])
def test_breakdowns_from_the_chain_table_equal_the_old_query_and_python(
    random_store: tuple[Engine, bool], by: str, window: int, before: int
) -> None:
    engine, varied = random_store
    since, start = NOW - (window + before) * DAY, NOW - window * DAY
    got = outcome_figures.breakdown(engine, by, since=since, start=start, end=NOW)
    _same(got, old_breakdown(engine, by, since=since, start=start, end=NOW))
    assert "unknown" in set(got[by]) and len(got) >= 3
    if not varied:
        # Python puts each attempt of a chain without its original (or cut at ``since``) in
        # the group of its own value, so with retries of other values one chain can count in
        # two groups; SQL counts it once, in its least value's (unchanged by the chain table)
        stored = load_outcomes(engine, since=since)
        _same(got, rules.breakdown(stored, by, now=NOW, window_days=window))


# --------------------------------------------------------------------------- maintenance

T = NOW - 60 * DAY


def intent(
    pi_id: str,
    status: str,
    *,
    created: int = T,
    code: str | None = None,
    retry_of: str | None = None,
    bank: str | None = "First Bank",
    flow: str = "rent",
) -> dict[str, Any]:
    pm = {
        "id": "pm_1",
        "object": "payment_method",
        "type": "us_bank_account",
        "us_bank_account": {"bank_name": bank, "last4": "6789", "financial_connections_account": "fca_1"},
    }
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": 5_000,
        "currency": "usd",
        "created": created,
        "customer": "cus_1",
        "status": status,
        "payment_method": pm,
        "payment_method_types": ["us_bank_account"],
        "payment_method_options": {"us_bank_account": {"verification_method": "instant"}},
        "last_payment_error": {"code": code, "payment_method": pm} if code else None,
        "metadata": {"fcops_flow": flow, **({RETRY_OF: retry_of} if retry_of else {})},
    }


def event(kind: str, at: int, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"evt_{obj['id']}_{kind}_{at}",
        "object": "event",
        "type": f"payment_intent.{kind}",
        "created": at,
        "data": {"object": obj},
    }


def chain_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(CHAINS).order_by(CHAINS.c.original_id)).mappings()
        return [dict(r) | {"long": bool(r["long"])} for r in rows]


def kept_as_rebuilt(engine: Engine) -> dict[str, dict[str, Any]]:
    """The chain rows the writers kept, after checking they equal a rebuild from the debits."""
    kept = chain_rows(engine)
    debit_chains.rebuild(engine)
    assert kept == chain_rows(engine)
    return {r["original_id"]: r for r in kept}


def test_every_outcome_writer_keeps_the_chains_as_a_rebuild_would(engine: Engine) -> None:
    # a re-initiation arriving before its original: dated by itself for now
    retry = intent("pi_o_r", "processing", created=T + 5 * DAY, retry_of="pi_o", bank="")
    assert record_payment_intent(engine, retry, at=T + 5 * DAY) == "inserted"
    chain = kept_as_rebuilt(engine)["pi_o"]
    assert (chain["created"], chain["institution"], chain["overall"]) == (T + 5 * DAY, "unknown", 0)

    # the original arrives (a webhook), settles, then comes back unauthorized
    assert record_event(engine, event("processing", T + 60, intent("pi_o", "processing"))) == "inserted"
    chain = kept_as_rebuilt(engine)["pi_o"]
    assert (chain["created"], chain["first_created"], chain["institution"]) == (T, T, "First Bank")
    record_event(engine, event("succeeded", T + 3 * DAY, intent("pi_o", "succeeded")))
    assert kept_as_rebuilt(engine)["pi_o"]["overall"] == 0
    returned = intent("pi_o", "requires_payment_method", code="debit_not_authorized")
    assert record_payment_intent(engine, returned, at=T + 6 * DAY) == "updated"
    chain = kept_as_rebuilt(engine)["pi_o"]
    assert (chain["unauthorized"], chain["administrative"], chain["overall"]) == (1, 0, 1)

    # a sync's page: new originals, and a re-initiation 40 days after the original (long)
    page = [
        intent("pi_a", "succeeded", created=T + DAY, bank=None, flow=""),
        intent("pi_b", "requires_payment_method", created=T + 2 * DAY, code="no_account"),
        intent("pi_o_r2", "processing", created=T + 40 * DAY, retry_of="pi_o"),
    ]
    with session_scope(engine) as session:
        put_payment_intents(session, page, at=T + 41 * DAY)
    chains = kept_as_rebuilt(engine)
    assert set(chains) == {"pi_o", "pi_a", "pi_b"}
    assert (chains["pi_o"]["long"], chains["pi_o"]["last_created"]) == (True, T + 40 * DAY)
    assert (chains["pi_a"]["institution"], chains["pi_a"]["flow"]) == ("unknown", "unknown")
    assert (chains["pi_b"]["administrative"], chains["pi_b"]["long"]) == (1, False)

    # replaying the page changes nothing, and the rates count the three chains
    with session_scope(engine) as session:
        put_payment_intents(session, page, at=T + 41 * DAY)
    assert kept_as_rebuilt(engine) == chains
    got = outcome_figures.rates(engine, since=NOW - 180 * DAY, start=NOW - 90 * DAY, end=NOW)
    assert list(got["debits"]) == [3, 3, 3] and list(got["returns"]) == [1, 1, 2]


def write_while_another_waits(
    engine: Engine, first: tuple[dict[str, Any], int], second: tuple[dict[str, Any], int]
) -> None:
    """Write PaymentIntent ``first`` (at its time) in a transaction left open while ``second``
    is written by another thread: check the second waits, commit the first, let it finish."""
    session = Session(engine)
    try:
        put_payment_intent(session, first[0], at=first[1])  # written, not yet committed
        other = threading.Thread(
            target=record_payment_intent, args=(engine, second[0]), kwargs={"at": second[1]}
        )
        other.start()
        other.join(0.5)
        assert other.is_alive()  # waiting for the first writer
        session.commit()
    finally:
        session.close()
    other.join(30)
    assert not other.is_alive()


def test_two_writers_of_one_chain_at_once_leave_its_row_whole(engine: Engine) -> None:
    """A retry's return written in one transaction while its original arrives in another:
    the later writer's chain row counts both (it waits for the first to commit)."""
    retry = intent(
        "pi_w_r", "requires_payment_method", created=T + DAY, code="debit_not_authorized",
        retry_of="pi_w",
    )
    write_while_another_waits(engine, (retry, T + 2 * DAY), (intent("pi_w", "succeeded"), T + 2 * DAY))
    chain = kept_as_rebuilt(engine)["pi_w"]
    assert (chain["created"], chain["unauthorized"], chain["overall"]) == (T, 1, 1)


# --------------------------------------------------------------------------- backfill


def test_opening_a_store_from_before_the_chain_table_fills_it(db_url: str) -> None:
    engine = open_store(db_url)
    debits = random_debits(3, chains=120)
    with engine.begin() as conn:
        conn.execute(insert(DebitOutcomeRecord), debits)  # past the writers
        conn.execute(text("DROP TABLE debit_chains"))  # as a store made before the table
    engine.dispose()

    engine = open_store(db_url)
    try:
        opened = chain_rows(engine)
        assert len(opened) == len({d["original_id"] for d in debits})
        assert kept_as_rebuilt(engine) == {r["original_id"]: r for r in opened}
        assert debit_chains.backfill_if_empty(engine) is False  # filled: nothing more to do
    finally:
        engine.dispose()
