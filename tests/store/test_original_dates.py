"""Each attempt's original's date kept on the attempt at write time
(services/adapters/original_dates.py), on SQLite and PostgreSQL: whatever order originals and
re-initiations are written in (a retry before its original, an original re-dated, bulk pages
and single events), the stored column equals a fresh backfill, and the window of debits
(``window_debits``) selects exactly what the join to the original selected. An older store
without the column gets it, filled, when it is opened.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import and_, func, select, text, update
from sqlalchemy.engine import Engine

from services.adapters import original_dates
from services.adapters.models import DebitOutcomeRecord
from services.adapters.store import open_store, session_scope
from services.rules.returns import RETRY_OF
from services.usecases.debit_outcomes import (
    load_behind,
    put_payment_intents,
    record_payment_intent,
    window_debits,
)
from tests.store.test_last_checks import T0, intent

DEBITS: Any = DebitOutcomeRecord.__table__  # type: ignore[attr-defined]
DAY = 86_400


def attempt(pi_id: str, created: int, original: str | None, status: str) -> dict[str, Any]:
    pi = intent(pi_id, "fca_1", created, status)
    if original is not None:
        pi["metadata"] = {RETRY_OF: original}
    return pi


def _read(conn: Any) -> dict[str, int | None]:
    rows = conn.execute(select(DEBITS.c.id, DEBITS.c.original_created))
    return {r.id: r.original_created for r in rows}


def stored(engine: Engine) -> dict[str, int | None]:
    with engine.connect() as conn:
        return _read(conn)


def fresh(engine: Engine) -> dict[str, int | None]:
    """Every attempt's original's date as a backfill from nothing computes it (rolled back)."""
    with engine.connect() as conn:
        tx = conn.begin()
        conn.execute(update(DEBITS).values(original_created=None))
        original_dates.fill_missing(conn)
        got = _read(conn)
        tx.rollback()
    return got


def joined_window(engine: Engine, since: int, start: int, end: int) -> list[str]:
    """The window as selected before the column: each attempt joined to its original."""
    first = DEBITS.alias("first")
    date = func.coalesce(first.c.created, DEBITS.c.created)
    stmt = (
        select(DEBITS.c.id)
        .select_from(
            DEBITS.outerjoin(
                first, and_(first.c.id == DEBITS.c.original_id, first.c.created >= since)
            )
        )
        .where(DEBITS.c.created >= since, date >= start, date <= end)
    )
    with engine.connect() as conn:
        return sorted(r.id for r in conn.execute(stmt))


def stored_window(engine: Engine, since: int, start: int, end: int) -> list[str]:
    table, where = window_debits(DEBITS, since=since, start=start, end=end)
    with engine.connect() as conn:
        return sorted(r.id for r in conn.execute(select(DEBITS.c.id).select_from(table).where(*where)))


def _random_writes(engine: Engine, seed: int) -> None:
    rng = random.Random(seed)
    statuses = ("succeeded", "processing", "requires_payment_method")
    originals = [f"pi_o{n}" for n in range(12)]

    def at() -> int:
        return T0 + rng.randint(-40, 40) * 5 * DAY + rng.choice((0, 1, -1))

    for n in range(40):
        kind = rng.random()
        pis = []
        for k in range(rng.randint(1, 6)):
            if rng.random() < 0.5:  # an original, perhaps written again with another date
                pis.append(attempt(rng.choice(originals), at(), None, rng.choice(statuses)))
            else:  # a re-initiation, perhaps before its original is stored, or of none stored
                original = rng.choice([*originals, "pi_gone"])
                pis.append(attempt(f"pi_r{n}_{k}", at(), original, rng.choice(statuses)))
        pis = list({p["id"]: p for p in pis}.values())
        if kind < 0.5:
            with session_scope(engine) as session:
                put_payment_intents(session, pis, at=T0 + 300 * DAY + n)
        else:
            for pi in pis:
                record_payment_intent(engine, pi, at=T0 + 300 * DAY + n)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_writes_keep_the_column_equal_to_a_fresh_backfill(engine: Engine, seed: int) -> None:
    _random_writes(engine, seed)
    got = stored(engine)
    assert None not in got.values()
    assert got == fresh(engine)
    assert original_dates.NO_ORIGINAL in got.values()  # a retry of "pi_gone"
    assert sum(v != original_dates.NO_ORIGINAL for v in got.values()) > 5
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(DEBITS))}
    for row in rows.values():  # exactly the original's date, or -1 when it is not stored
        original = rows.get(row.original_id)
        assert got[row.id] == (original.created if original else original_dates.NO_ORIGINAL)


@pytest.mark.parametrize("seed", [4, 5, 6])
@pytest.mark.parametrize("uncomputed", [False, True], ids=["stored", "uncomputed"])
def test_the_window_from_the_column_equals_the_join_to_the_original(
    engine: Engine, seed: int, uncomputed: bool
) -> None:
    _random_writes(engine, seed)
    if uncomputed:  # rows no writer computed (a bulk insert): looked up by the readers
        with engine.begin() as conn:
            conn.execute(update(DEBITS).where(DEBITS.c.id.like("pi_r%")).values(original_created=None))
    seen = 0
    for since, start, end in (
        (T0 - 400 * DAY, T0 - 60 * DAY, T0 + 300 * DAY),
        (T0 - 100 * DAY, T0 - 20 * DAY, T0 + 20 * DAY),
        (T0 - 30 * DAY, T0, T0 + 60 * DAY),  # originals older than ``since``: own dates
        (T0 + 5 * DAY, T0 + 5 * DAY, T0 + 5 * DAY),
    ):
        expected = joined_window(engine, since, start, end)
        assert stored_window(engine, since, start, end) == expected
        behind, count = load_behind(engine, since=since, start=start, end=end)
        assert sorted(o.id for o in behind) == expected and count == len(expected)
        seen += len(expected)
    assert seen > 20


def test_an_older_store_gets_the_column_filled_when_opened(db_url: str) -> None:
    engine = open_store(db_url)
    _random_writes(engine, 7)
    want = stored(engine)
    with engine.begin() as conn:  # as an older fcops left them: no column
        conn.execute(text("DROP INDEX ix_debit_outcomes_original_created"))
        conn.execute(text("DROP INDEX ix_debit_window_dated"))
        conn.execute(text("DROP INDEX ix_debit_verdicts"))
        conn.execute(text("DROP INDEX ix_debit_returns"))
        conn.execute(text("DROP INDEX ix_debit_days"))
        conn.execute(text("ALTER TABLE debit_outcomes DROP COLUMN original_created"))
    engine.dispose()
    engine = open_store(db_url)
    assert stored(engine) == want
    with engine.connect() as conn:
        assert not original_dates.missing(conn)
    assert original_dates.backfill(engine) == 0
    engine.dispose()
