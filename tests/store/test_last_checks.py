"""Each debit's last pre-debit check kept on the debit at write time
(services/adapters/last_checks.py), on SQLite and PostgreSQL: whatever order debits and checks
are written in (checks after debits, debits after checks, a source's checks replaced, equal
ties on ``checked_at``, a debit moving to another account), the stored column equals a fresh
backfill, and "Did our check work?" reads the same figures from it as from the per-debit
lookup. An older store without the column gets it, filled, when it is opened.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, inspect, select, text, update
from sqlalchemy.engine import Engine

from services.adapters import check_history, last_checks
from services.adapters.models import DebitCheckRecord, DebitOutcomeRecord
from services.adapters.store import open_store, session_scope
from services.rules.check_effect import LOOKBACK_SECONDS as LOOKBACK
from services.rules.debit import DebitPolicy
from services.usecases import check_figures
from services.usecases.debit_outcomes import put_payment_intents, record_payment_intent

DEBITS: Any = DebitOutcomeRecord.__table__  # type: ignore[attr-defined]
T0 = 1_790_000_000
STEP = LOOKBACK // 4  # a coarse grid of times: ties and exact lookback edges happen often


def intent(pi_id: str, account: str, created: int, status: str = "succeeded") -> dict[str, Any]:
    code = "insufficient_funds" if status == "requires_payment_method" else None
    pm = {
        "id": f"pm_{account}",
        "object": "payment_method",
        "type": "us_bank_account",
        "us_bank_account": {
            "bank_name": "BANK",
            "last4": "6789",
            "financial_connections_account": account,
        },
    }
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": 10_000,
        "currency": "usd",
        "created": created,
        "customer": "cus_1",
        "status": status,
        "payment_method": pm,
        "payment_method_types": ["us_bank_account"],
        "payment_method_options": {"us_bank_account": {"verification_method": "automatic"}},
        "last_payment_error": {"code": code, "payment_method": pm} if code else None,
        "metadata": {},
    }


def check(
    account: str, at: int, verdict: str = "ok", source: str = "single", balance: int = 30_000
) -> dict[str, Any]:
    return {
        "account_id": account,
        "source": source,
        "target": None,
        "reference": None,
        "amount": 10_000,
        "currency": "usd",
        "verdict": verdict,
        "balance": balance,
        "balance_source": "stored",
        "as_of": at - 3_600,
        "required": 10_000,
        "buffer_amount": 0,
        "buffer_percent": 0.0,
        "max_age_seconds": 2 * 86_400,
        "checked_at": at,
        "checked_by": "finance",
    }


def _read(conn: Any) -> dict[str, int | None]:
    return {
        r.id: r.last_check_id for r in conn.execute(select(DEBITS.c.id, DEBITS.c.last_check_id))
    }


def _assert_copied(conn: Any) -> None:
    """Each computed debit's copies are what its check (the row its id names) says: verdict
    ("" none), checked_at - as_of, balance - amount and amount, worked out here in Python."""
    checks = {r.id: r for r in conn.execute(select(DebitCheckRecord.__table__))}  # type: ignore[attr-defined]
    for r in conn.execute(select(DEBITS).where(DEBITS.c.last_check_id.is_not(None))):
        c = checks.get(r.last_check_id)
        want = (last_checks.NONE_VERDICT, None, None, None) if c is None else (
            c.verdict,
            None if c.as_of is None else c.checked_at - c.as_of,
            None if c.balance is None else c.balance - c.amount,
            c.amount,
        )
        assert (r.check_verdict, r.check_age, r.check_room, r.check_asked) == want, r.id


def stored(engine: Engine) -> dict[str, int | None]:
    with engine.connect() as conn:
        _assert_copied(conn)
        return _read(conn)


def fresh(engine: Engine) -> dict[str, int | None]:
    """Every debit's last check as a backfill from nothing computes it (rolled back after)."""
    with engine.connect() as conn:
        tx = conn.begin()
        conn.execute(update(DEBITS).values(last_check_id=None, check_verdict=None))
        last_checks.fill_missing(conn)
        _assert_copied(conn)
        got = _read(conn)
        tx.rollback()
    return got


def figures(engine: Engine, window: check_figures.Window) -> tuple[Any, int, int]:
    table, count, checked = check_figures.verdicts(engine, window)
    return table.to_dict("records"), count, checked


def check_ids(engine: Engine) -> dict[tuple[str, int, str], list[int]]:
    """(account, checked_at, verdict) -> the ids of those checks, in id order."""
    table: Any = DebitCheckRecord.__table__  # type: ignore[attr-defined]
    found: dict[tuple[str, int, str], list[int]] = {}
    with engine.connect() as conn:
        for r in conn.execute(select(table).order_by(table.c.id)):
            found.setdefault((r.account_id, r.checked_at, r.verdict), []).append(r.id)
    return found


def record(engine: Engine, *intents: dict[str, Any]) -> None:
    with session_scope(engine) as session:
        put_payment_intents(session, list(intents), at=T0 + 100 * 86_400)


def test_checks_written_after_debits_become_their_last_check(engine: Engine) -> None:
    t = T0
    record(
        engine,
        intent("pi_tie", "fca_a", t),
        intent("pi_edge", "fca_b", t),
        intent("pi_beyond", "fca_c", t),
        intent("pi_same", "fca_d", t),
        intent("pi_none", "fca_e", t),
    )
    assert set(stored(engine).values()) == {last_checks.NO_CHECK}
    check_history.record_checks(
        engine,
        [
            check("fca_a", t - 100, "ok"),
            check("fca_a", t - 100, "insufficient"),  # tie: later id
            check("fca_a", t - 200, "ok"),
            check("fca_b", t - LOOKBACK),  # exactly the lookback: counts
            check("fca_c", t - LOOKBACK - 1),  # a second beyond: does not
            check("fca_d", t),  # the debit's very second
            check("fca_e", t + 1),  # after the debit
        ],
    )
    ids = check_ids(engine)
    got = stored(engine)
    assert got == fresh(engine)
    assert got["pi_tie"] == ids[("fca_a", t - 100, "insufficient")][0]
    assert got["pi_edge"] == ids[("fca_b", t - LOOKBACK, "ok")][0]
    assert got["pi_same"] == ids[("fca_d", t, "ok")][0]
    assert got["pi_beyond"] == got["pi_none"] == last_checks.NO_CHECK
    # a later check at the same second wins the tie over the stored one
    check_history.record_checks(engine, [check("fca_a", t - 100, "stale")])
    assert stored(engine)["pi_tie"] == check_ids(engine)[("fca_a", t - 100, "stale")][0]
    assert stored(engine) == fresh(engine)


def test_debits_written_after_checks_find_their_last_check(engine: Engine) -> None:
    t = T0
    check_history.record_checks(
        engine,
        [
            check("fca_a", t - 50),
            check("fca_a", t - 50, "insufficient"),
            check("fca_a", t - 500),
            check("fca_b", t - LOOKBACK - 1),
        ],
    )
    record_payment_intent(engine, intent("pi_a", "fca_a", t), at=t)
    record(engine, intent("pi_b", "fca_b", t), intent("pi_a2", "fca_a", t - 100))
    ids = check_ids(engine)
    got = stored(engine)
    assert got == fresh(engine)
    assert got == {
        "pi_a": ids[("fca_a", t - 50, "insufficient")][0],
        "pi_a2": ids[("fca_a", t - 500, "ok")][0],
        "pi_b": last_checks.NO_CHECK,
    }
    # the debit moves to another account (an expanded intent names it): looked up again
    record_payment_intent(engine, intent("pi_b", "fca_a", t), at=t + 10)
    assert stored(engine)["pi_b"] == ids[("fca_a", t - 50, "insufficient")][0]
    assert stored(engine) == fresh(engine)


def test_a_source_replaced_moves_its_debits_to_the_checks_left(engine: Engine) -> None:
    t = T0
    check_history.record_checks(engine, [check("fca_a", t - 300), check("fca_b", t - 300)])
    check_history.replace_source(
        engine,
        "demo",
        [
            check("fca_a", t - 100, source="demo"),
            check("fca_b", t - 100, source="demo"),
        ],
    )
    record(
        engine, intent("pi_a", "fca_a", t), intent("pi_b", "fca_b", t), intent("pi_c", "fca_c", t)
    )
    ids = check_ids(engine)
    assert stored(engine)["pi_a"] == ids[("fca_a", t - 100, "ok")][0]
    check_history.replace_source(
        engine,
        "demo",
        [
            check("fca_b", t - 200, "insufficient", source="demo"),
            check("fca_c", t - 10, source="demo"),
        ],
    )
    ids = check_ids(engine)
    got = stored(engine)
    assert got == fresh(engine)
    assert got == {
        "pi_a": ids[("fca_a", t - 300, "ok")][0],  # its demo check is gone: the older one
        "pi_b": ids[("fca_b", t - 200, "insufficient")][0],
        "pi_c": ids[("fca_c", t - 10, "ok")][0],
    }


def _random_writes(engine: Engine, seed: int) -> None:
    """Debits and checks of a few accounts on a coarse time grid, written in a random order
    through the writers (single and batched debits, single and batched checks, demo seeds)."""
    rng = random.Random(seed)
    accounts = [f"fca_{n}" for n in range(6)]
    statuses = ("succeeded", "succeeded", "processing", "requires_payment_method")

    def at() -> int:
        return T0 + rng.randint(0, 24) * STEP + rng.choice((0, 0, 1, -1))

    for n in range(40):
        kind = rng.random()
        if kind < 0.35:
            batch = [
                intent(f"pi_{n}_{k}", rng.choice(accounts), at(), rng.choice(statuses))
                for k in range(rng.randint(1, 8))
            ]
            record(engine, *batch)
        elif kind < 0.45 and n:  # an earlier debit again, perhaps on another account
            record_payment_intent(
                engine,
                intent(f"pi_{rng.randrange(n)}_0", rng.choice(accounts), at(), "succeeded"),
                at=T0 + 200 * 86_400 + n,
            )
        elif kind < 0.8:
            rows = [
                check(
                    rng.choice(accounts),
                    at(),
                    rng.choice(("ok", "ok", "insufficient")),
                    balance=rng.choice((5_000, 10_000, 12_000, 40_000)),
                )
                for _ in range(rng.randint(1, 6))
            ]
            check_history.record_checks(engine, rows)
        else:
            rows = [
                check(rng.choice(accounts), at(), rng.choice(("ok", "insufficient")), source="demo")
                for _ in range(rng.randint(0, 6))
            ]
            check_history.replace_source(engine, "demo", rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_writes_keep_the_column_equal_to_a_fresh_backfill(engine: Engine, seed: int) -> None:
    _random_writes(engine, seed)
    got = stored(engine)
    assert None not in got.values()
    assert got == fresh(engine)
    assert sum(v != last_checks.NO_CHECK for v in got.values()) > 5  # not all "no check"
    assert last_checks.NO_CHECK in got.values()


@pytest.mark.parametrize("seed", [4, 5])
@pytest.mark.parametrize("uncopied", [None, "copies", "ids"])
def test_check_figures_from_the_column_equal_the_per_debit_lookup(
    engine: Engine, seed: int, uncopied: str | None
) -> None:
    """Also with some rows not copied yet (a store from before the copies, with wrong values
    left in them: never read) or not computed at all (a bulk insert): those are looked up."""
    _random_writes(engine, seed)
    if uncopied is not None:
        some = DEBITS.c.id.like("pi_1%") | DEBITS.c.id.like("pi_3%")
        values: dict[str, Any] = {"check_verdict": None, "check_age": -1, "check_room": -10**9}
        if uncopied == "ids":
            values["last_check_id"] = None
        with engine.begin() as conn:
            assert conn.execute(update(DEBITS).where(some).values(**values)).rowcount > 3
    window = check_figures.Window(
        since=T0 - 200 * 86_400, start=T0 - 10 * 86_400, end=T0 + 90 * 86_400
    )
    looked_up = check_figures.Window(window.since, window.start, window.end, stored=False)
    _, count, checked = figures(engine, window)
    assert figures(engine, window) == figures(engine, looked_up)
    assert 0 < checked < count
    missed = check_figures.misses(engine, window)
    assert missed == check_figures.misses(engine, looked_up)
    until = T0 + 90 * 86_400
    assert check_figures.kept(engine, window, until=until) == check_figures.kept(
        engine, looked_up, until=until
    )
    for current in (DebitPolicy(), DebitPolicy(buffer_percent=25.0, max_age_seconds=86_400)):
        limits = {"max_percent": 500.0, "min_age_seconds": 900}
        assert check_figures.options(engine, window, current, **limits) == (  # type: ignore[arg-type]
            check_figures.options(engine, looked_up, current, **limits)  # type: ignore[arg-type]
        )
    if uncopied is not None:  # opening the store computes them again
        assert last_checks.backfill(engine) > 3
        assert stored(engine) == fresh(engine)


def test_rows_no_writer_computed_are_looked_up_by_check_figures(engine: Engine) -> None:
    """A debit bulk-inserted without the column still gets its verdict (the NULL fallback)."""
    record(engine, intent("pi_a", "fca_a", T0))
    check_history.record_checks(engine, [check("fca_a", T0 - 10, "insufficient")])
    with engine.begin() as conn:
        conn.execute(update(DEBITS).values(last_check_id=None))
    window = check_figures.Window(since=T0 - 86_400, start=T0 - 86_400, end=T0 + 86_400)
    table = check_figures.verdicts(engine, window)[0].set_index("verdict")
    assert table.loc["insufficient", "debits"] == 1


def test_an_older_store_gets_the_column_filled_when_opened(db_url: str) -> None:
    engine = open_store(db_url)
    t = T0
    with engine.begin() as conn:  # as an older fcops wrote them: no column to keep
        conn.execute(text("DROP INDEX ix_debit_outcomes_last_check_id"))
        conn.execute(text("DROP INDEX ix_debit_window_dated"))
        conn.execute(text("DROP INDEX ix_debit_verdicts"))
        conn.execute(text("ALTER TABLE debit_outcomes DROP COLUMN last_check_id"))
    with engine.begin() as conn:
        conn.execute(insert(DebitCheckRecord), [check("fca_a", t - 60), check("fca_b", t + 60)])
        computed = ("last_check_id", "original_created", "check_verdict", "check_age")
        names = [c.name for c in DEBITS.columns if c.name not in (*computed, "check_room", "check_asked")]
        base = {
            "original_id": "",
            "customer_id": None,
            "payment_method": None,
            "institution": None,
            "last4": None,
            "verification_method": None,
            "flow": None,
            "amount": 1,
            "currency": "usd",
            "status": "settled",
            "failure_code": None,
            "return_code": None,
            "category": None,
            "blocked_reason": None,
            "blocked_code": None,
            "processing_at": None,
            "settled_at": None,
            "returned_at": None,
            "observed_at": t,
            "synced_at": datetime.now(UTC),
        }
        rows = [
            base | {"id": "pi_a", "account_id": "fca_a", "created": t},
            base | {"id": "pi_b", "account_id": "fca_b", "created": t},
        ]
        conn.execute(insert(DEBITS).values([{k: r[k] for k in names} for r in rows]))
    engine.dispose()
    engine = open_store(db_url)
    assert {"ix_debit_outcomes_last_check_id", "ix_debit_window_dated", "ix_debit_verdicts"} <= {
        i["name"] for i in inspect(engine).get_indexes("debit_outcomes")
    }
    got = stored(engine)
    assert got == fresh(engine)
    assert got == {
        "pi_a": check_ids(engine)[("fca_a", t - 60, "ok")][0],
        "pi_b": last_checks.NO_CHECK,
    }
    with engine.connect() as conn:
        assert not last_checks.missing(conn)
    assert last_checks.backfill(engine) == 0  # nothing left to do: nothing written
    engine.dispose()
