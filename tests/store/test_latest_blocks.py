"""Each payment method's latest blocked outcome, kept at write time (services/adapters/
latest_blocks.py), on SQLite and PostgreSQL: every outcome writer leaves the table as a rebuild
from the outcomes would; Blocked accounts lists, counts and pages exactly what ranking every
blocked outcome on each read (the query before the table, kept here) gave; a store from before
the table gets it filled when opened."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from services.adapters import latest_blocks
from services.adapters.models import DebitOutcomeRecord, LatestBlockRecord
from services.adapters.store import open_store
from services.auth import Actor
from services.errors import FcopsError
from services.usecases.blocked_accounts import find_blocked
from services.usecases.debit_outcomes import record_event, record_payment_intent
from tests.store.test_debit_outcomes import T0, event, intent

LATEST: Any = LatestBlockRecord.__table__  # type: ignore[attr-defined]
D: Any = DebitOutcomeRecord.__table__  # type: ignore[attr-defined]
OPS = Actor(username="ops", role="ops")
BLOCKS = [
    {"network_code": "R16", "reason": "bank_account_frozen"},
    {"network_code": "R02", "reason": "bank_account_closed"},
    {"network_code": "R10", "reason": "debit_not_authorized"},
]


class NoStripe:
    """A gateway that knows no customer (the list shows the ID)."""

    def retrieve_customer(self, customer_id: str) -> dict[str, Any]:
        raise FcopsError(f"No such customer: {customer_id}")


def old_latest(engine: Engine) -> list[str]:
    """The debits Blocked accounts listed before the table, in its order: every blocked outcome
    ranked per payment method on each read (verbatim but for names)."""
    c = D.c
    rank = (
        func.row_number()
        .over(
            partition_by=func.coalesce(c.payment_method, c.id),
            order_by=(c.returned_at.desc().nulls_last(), c.created.desc(), c.id),
        )
        .label("rank")
    )
    ranked = select(c.id.label("id"), rank).where(c.blocked_reason.is_not(None)).subquery()
    latest = select(ranked.c.id).where(ranked.c.rank == 1)
    stmt = (
        select(c.id)
        .where(c.id.in_(latest))
        .order_by(c.returned_at.desc().nulls_last(), c.created.desc(), c.id)
    )
    with engine.connect() as conn:
        return list(conn.execute(stmt).scalars())


def kept_as_rebuilt(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        kept = sorted(map(tuple, conn.execute(select(LATEST)).all()))
    latest_blocks.rebuild(engine)
    with engine.connect() as conn:
        assert kept == sorted(map(tuple, conn.execute(select(LATEST)).all()))
    return kept


def _write_randomly(engine: Engine, seed: int, n: int = 120) -> None:
    """Outcomes on 15 payment methods (some events unexpanded: no payment method on the row),
    blocked or not, returned at random times, some written twice (a later event)."""
    rng = random.Random(seed)
    for i in range(n):
        pi_id = f"pi_{rng.randint(0, n // 2)}"
        blocked = rng.choice([*BLOCKS, None, None])
        one = intent(
            "requires_payment_method" if rng.random() < 0.7 else "succeeded",
            rng.choice(["account_frozen", "account_closed", "debit_not_authorized"]),
            pi_id=pi_id,
            blocked=blocked,
            expand=rng.random() < 0.85,
        )
        one["created"] = T0 + rng.randint(0, 50) * 3_600
        if isinstance(one["payment_method"], dict):
            one["payment_method"]["id"] = f"pm_{rng.randint(0, 14)}"
        at = T0 + rng.randint(0, 100) * 3_600
        if rng.random() < 0.5:
            record_payment_intent(engine, one, at=at)
        else:
            record_event(engine, event("payment_failed", at, one, i))


def test_every_writer_keeps_the_latest_blocks_and_the_list_is_the_old_one(engine: Engine) -> None:
    svc = SimpleNamespace(engine=engine, gateway=NoStripe())
    for seed in (1, 2, 3):
        _write_randomly(engine, seed)
        kept = kept_as_rebuilt(engine)
        want = old_latest(engine)
        assert len(kept) == len(want) > 5
        listed = find_blocked(svc, OPS, page_size=100)  # type: ignore[arg-type]
        assert [r.debit for r in listed.rows] == want and listed.total == len(want)
        paged = []
        for page in range(1, 100):
            found = find_blocked(svc, OPS, page=page, page_size=4)  # type: ignore[arg-type]
            assert found.total == len(want)
            if not found.rows or found.page != page:
                break
            paged += [r.debit for r in found.rows]
        assert paged == want
        searched = find_blocked(svc, OPS, search="pm_1", page_size=100)  # type: ignore[arg-type]
        assert searched.total == len(searched.rows)
        assert [r.debit for r in searched.rows] == [
            r.debit for r in listed.rows if (r.payment_method or "").startswith("pm_1")
        ]
        frozen = find_blocked(svc, OPS, search="frozen", page_size=100)  # type: ignore[arg-type]
        assert [r.debit for r in frozen.rows] == [
            r.debit for r in listed.rows if r.reason == "bank_account_frozen"
        ]
        assert 0 < frozen.total < listed.total


def test_opening_a_store_from_before_the_table_fills_it(db_url: str) -> None:
    engine = open_store(db_url)
    try:
        _write_randomly(engine, 4)
        kept = kept_as_rebuilt(engine)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE latest_blocks"))  # as a store made before it
    finally:
        engine.dispose()
    engine = open_store(db_url)
    try:
        assert kept_as_rebuilt(engine) == kept
        assert latest_blocks.backfill_if_empty(engine) is False
    finally:
        engine.dispose()
