"""An intent written by two writers at once keeps its day counts right (both databases).

Each intent write counts again the (method, day) groups its rows left or joined, from the facts
it read before the write (``intent_days.facts_of``). That read took no lock: writer B read the
intent, writer A changed it and committed with its counts, then B's write (locked now) put its
own copy over A's. B compared its copy with what it had read before A, found no change, and
counted nothing: the day counts kept A's outcome while the row held B's. The read now locks the
rows first (``row_locks.lock_rows``), so B waits for A and compares with what A wrote.
"""

from __future__ import annotations

import threading

from sqlalchemy.engine import Engine

from services.adapters import intent_days
from services.adapters.store import session_scope
from services.usecases import sync_intents
from services.usecases.sync_intents import record_values, store_intent
from tests.store.test_conversion_sql import _day_rows, _waiting

CREATED = 1_780_000_000


def test_a_write_queued_behind_another_counts_the_days_from_what_that_one_wrote(
    engine: Engine,
) -> None:
    waiting = _waiting("seti_day_race", CREATED)
    canceled = {**waiting, "status": "canceled"}
    assert store_intent(engine, waiting) == "inserted"
    errors: list[BaseException] = []

    def writer_b() -> None:  # the waiting copy again (a replayed page, say)
        try:
            store_intent(engine, waiting)
        except BaseException as err:  # reported by the test thread
            errors.append(err)

    with session_scope(engine) as session:  # writer A: cancels it, holds its transaction
        assert sync_intents._put(session, record_values(canceled)) == "updated"
        b = threading.Thread(target=writer_b, daemon=True)
        b.start()
        b.join(1.0)
        assert b.is_alive(), "B wrote while A's transaction was still open"
    b.join(30)
    assert not b.is_alive() and not errors, errors
    kept = _day_rows(engine)
    intent_days.rebuild(engine)  # counting the stored intents again finds what the writes kept
    assert _day_rows(engine) == kept, (kept, _day_rows(engine))
