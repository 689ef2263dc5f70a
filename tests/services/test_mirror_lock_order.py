"""Two webhook batches naming the same two accounts in opposite roles never deadlock.

Batch A holds account X as an event's copy and Y as a re-read (an event rendered in another API
version, read again from Stripe); batch B the reverse. The mirror wrote the copies and the
re-reads in two upserts, each locking its own rows in key order: A locked X then Y, B locked Y
then X, and on PostgreSQL one of the two was aborted as a deadlock (SQLSTATE 40P01). Now one
transaction's account rows are locked in one sorted pass, so B waits for A (or A for B).

A barrier after each batch's first account upsert lets both hold their first locks before
either goes on (with the fix the second batch waits inside its only upsert, so the first one's
wait times out). A retried deadlock is logged by ``store.retrying``; the test fails on that
too, so the retry cannot hide a lock-order bug. Both databases: on SQLite the write lock
serialises the two batches anyway.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from typing import Any

import pytest

from services.adapters import account_mirror, data_version
from services.adapters.models import AccountRecord
from services.rules import bank_account
from tests.services.test_accounts_sync_edges import account_obj, event, stored

EVENT_AT = 3_000
HOLD = 1.0  # seconds a batch waits at the barrier for the other to hold its first lock


def batch(engine: Any, copy_of: str, reread_of: str, read_began: int) -> account_mirror.Changes:
    """An event's copy of ``copy_of`` (inactive) and a re-read of ``reread_of`` (active, read
    after ``read_began``), as the webhook's ``sync_accounts.reread`` leaves them."""
    changes = account_mirror.changes_in(
        [event("financial_connections.account.deactivated", account_obj(copy_of, status="inactive"), EVENT_AT)]
    )
    changes.accounts[reread_of] = account_obj(reread_of, status="active")
    changes.read_began = read_began
    return changes


@pytest.mark.parametrize("stored_first", [True, False], ids=["stored", "new"])
def test_two_batches_with_opposite_roles_both_apply_without_a_deadlock(
    engine: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    stored_first: bool,
) -> None:
    tag = secrets.token_hex(4)
    x, y = f"fca_{tag}_x", f"fca_{tag}_y"  # x < y
    if stored_first:
        account_mirror.apply_events(
            engine,
            [event("financial_connections.account.created", account_obj(a, status="active"), 1_000)
             for a in (x, y)],
        )
    began = account_mirror.read_mark(engine)  # before either batch's re-read
    barrier = threading.Barrier(2)
    real_upsert = account_mirror.upsert
    held = threading.local()

    def upsert_then_meet(*args: Any, **kwargs: Any) -> Any:
        counts = real_upsert(*args, **kwargs)
        if args[1] is AccountRecord and not getattr(held, "met", False):
            held.met = True  # once per batch (a retried attempt does not wait again)
            # broken: the other batch waits for this one's locks (expected with one pass)
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(HOLD)
        return counts

    monkeypatch.setattr(account_mirror, "upsert", upsert_then_meet)
    errors: list[BaseException] = []

    def run(changes: account_mirror.Changes) -> None:
        try:
            account_mirror.apply_changes(engine, changes)
        except BaseException as err:  # reported by the test thread
            errors.append(err)

    versions = data_version.read(engine, data_version.ACCOUNTS)
    threads = [
        threading.Thread(target=run, args=(batch(engine, x, y, began),), daemon=True),
        threading.Thread(target=run, args=(batch(engine, y, x, began),), daemon=True),
    ]
    with caplog.at_level(logging.WARNING, logger="services.adapters.transactions"):
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    retried = [r.getMessage() for r in caplog.records if "again" in r.getMessage()]
    assert not retried, retried
    assert data_version.read(engine, data_version.ACCOUNTS) == versions + 2  # both applied
    for fca in (x, y):  # each event's copy wins over the other batch's older re-read
        row = stored(engine, AccountRecord, fca)
        assert (row.status, bank_account.applied_event_created(row.raw)) == ("inactive", EVENT_AT)


def test_in_the_one_pass_the_mark_holds_back_the_re_read_but_not_the_event_copy(engine: Any) -> None:
    """Both accounts were changed by an event after the batch's mark: the newer event's copy of
    X is still written (its stamp decides), the re-read of Y is left out (read before that)."""
    tag = secrets.token_hex(4)
    x, y = f"fca_{tag}_x", f"fca_{tag}_y"
    began = account_mirror.read_mark(engine)
    account_mirror.apply_events(
        engine,
        [event("financial_connections.account.disconnected", account_obj(a, status="disconnected"), 2_000)
         for a in (x, y)],
    )
    account_mirror.apply_changes(engine, batch(engine, x, y, began))
    kept = {a: stored(engine, AccountRecord, a) for a in (x, y)}
    assert (kept[x].status, bank_account.applied_event_created(kept[x].raw)) == ("inactive", EVENT_AT)
    assert (kept[y].status, bank_account.applied_event_created(kept[y].raw)) == ("disconnected", 2_000)
