"""A debit outcome written by two writers at once keeps the kept figures right (both databases).

An outcome write reads where its debits were counted (chain, verdict day, latest block) before
the write, and counts those places again after it. That read took no lock: writer B read the
debit pending, writer A wrote it returned and blocked and committed (its payment method now
listed as blocked), then B's newer observation (settled, not blocked) replaced A's. B had read
no block before and wrote none, so it counted no block again: Blocked accounts kept listing the
debit. The read now locks the rows first (``row_locks.lock_rows``), so B sees A's block.
"""

from __future__ import annotations

import threading

from sqlalchemy.engine import Engine

from services.adapters.store import session_scope
from services.usecases.debit_outcomes import put_payment_intent, record_event, record_payment_intent
from tests.store.test_debit_outcomes import PROCESSING, T0, intent, row
from tests.store.test_latest_blocks import BLOCKS, kept_as_rebuilt


def test_a_write_queued_behind_another_counts_again_where_that_one_kept_the_debit(
    engine: Engine,
) -> None:
    assert record_event(engine, PROCESSING) == "inserted"
    returned = intent("requires_payment_method", "account_frozen", blocked=BLOCKS[0])
    settled = intent("succeeded")
    errors: list[BaseException] = []

    def writer_b() -> None:  # a newer observation: settled, no block
        try:
            record_payment_intent(engine, settled, at=T0 + 3 * 86_400)
        except BaseException as err:  # reported by the test thread
            errors.append(err)

    with session_scope(engine) as session:  # writer A: returned and blocked, held open
        assert put_payment_intent(session, returned, at=T0 + 2 * 86_400) == "updated"
        b = threading.Thread(target=writer_b, daemon=True)
        b.start()
        b.join(1.0)
        assert b.is_alive(), "B wrote while A's transaction was still open"
    b.join(30)
    assert not b.is_alive() and not errors, errors
    assert (row(engine).status, row(engine).blocked_reason) == ("settled", None)
    assert kept_as_rebuilt(engine) == []  # no debit is blocked any more
