"""Two writers of one account at once: an older event never overwrites a newer one (both databases).

Writer A applies a newer event's copy and holds its transaction open; writer B applies an older
event for the same account meanwhile (the real webhook path, ``apply_events``). B must wait for
A and then leave A's row as it is. On PostgreSQL (READ COMMITTED) B read the row before A
committed and its write, queued on A's row lock, overwrote the newer copy; the merge's read now
locks the stored rows (``SELECT … FOR UPDATE``), and a row B saw absent but A inserted meanwhile
is read again and merged rather than overwritten. On SQLite the merge's read takes the write lock.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

from services.adapters import account_mirror
from services.adapters.models import AccountRecord
from services.adapters.store import session_scope, upsert
from services.rules import bank_account
from services.rules.bank_account import EVENT_STAMP, flatten_account, newer_copy_wins
from tests.services.test_accounts_sync_edges import account_obj, event, stored

NEWER, OLDER = 3_000, 2_000
BLOCKED_FOR = 1.0  # seconds B is given to get past A's open transaction (it must not)


def race_older_event_against_open_newer_write(engine: Any, fca: str) -> None:
    """A writes the NEWER copy (status inactive) and holds; B applies the OLDER one meanwhile."""
    newer = flatten_account(account_obj(fca, status="inactive"))
    newer["raw"] = {**newer["raw"], EVENT_STAMP: NEWER}
    older = event("financial_connections.account.disconnected", account_obj(fca, status="disconnected"), OLDER)
    errors: list[BaseException] = []

    def writer_b() -> None:
        try:
            account_mirror.apply_events(engine, [older])
        except BaseException as err:  # reported by the test thread
            errors.append(err)

    with session_scope(engine) as session:
        counts = upsert(session, AccountRecord, [newer], merge=newer_copy_wins)
        assert counts.inserted + counts.updated == 1
        b = threading.Thread(target=writer_b, daemon=True)
        b.start()
        b.join(BLOCKED_FOR)
        assert b.is_alive(), "B finished while A's transaction was still open"
    b.join(60)
    assert not b.is_alive() and not errors, errors


def assert_newer_kept(engine: Any, fca: str) -> None:
    row = stored(engine, AccountRecord, fca)
    assert row is not None
    assert (row.status, bank_account.applied_event_created(row.raw)) == ("inactive", NEWER)


def test_an_older_event_waits_for_a_newer_write_and_does_not_overwrite_it(engine: Any) -> None:
    fca = f"fca_{secrets.token_hex(6)}"
    account_mirror.apply_events(
        engine, [event("financial_connections.account.created", account_obj(fca, status="active"), 1_000)]
    )
    race_older_event_against_open_newer_write(engine, fca)
    assert_newer_kept(engine, fca)


def test_an_older_event_for_an_account_a_newer_write_is_inserting_does_not_overwrite_it(
    engine: Any,
) -> None:
    fca = f"fca_{secrets.token_hex(6)}"  # stored by neither yet: both writers would insert it
    race_older_event_against_open_newer_write(engine, fca)
    assert_newer_kept(engine, fca)


def test_a_newer_event_after_an_open_older_write_still_wins(engine: Any) -> None:
    """The lock decides nothing itself: the merge still lets a newer copy replace an older one."""
    fca = f"fca_{secrets.token_hex(6)}"
    older = flatten_account(account_obj(fca, status="disconnected"))
    older["raw"] = {**older["raw"], EVENT_STAMP: OLDER}
    newer = event("financial_connections.account.deactivated", account_obj(fca, status="inactive"), NEWER)
    errors: list[BaseException] = []

    def writer_b() -> None:
        try:
            account_mirror.apply_events(engine, [newer])
        except BaseException as err:
            errors.append(err)

    with session_scope(engine) as session:
        upsert(session, AccountRecord, [older], merge=newer_copy_wins)
        b = threading.Thread(target=writer_b, daemon=True)
        b.start()
        b.join(BLOCKED_FOR)
        assert b.is_alive()
    b.join(60)
    assert not b.is_alive() and not errors, errors
    assert_newer_kept(engine, fca)
