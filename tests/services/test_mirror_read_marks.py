"""A copy read from Stripe never overwrites a row an event changed after the read began.

Stripe's refresh clocks cannot show a status or permission change (``read_earlier``): a walk
that listed an account as active, written after the ``disconnected`` event was applied, put
"active" back until the next event or sync. The read takes the store's mark first
(``account_mirror.read_mark``) and its write leaves rows an event marked later as they are.
These run on SQLite and PostgreSQL (the ``engine`` fixture).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from services.adapters import account_mirror, data_version
from services.adapters.models import AccountRecord
from services.adapters.store import _write, session_scope
from services.rules import bank_account
from services.rules.bank_account import flatten_account
from services.usecases import browse_accounts, refresh_balance, sync_accounts
from tests.services.test_accounts import make_customer
from tests.services.test_accounts_sync_edges import account_obj, event, stored

DISCONNECTED = "financial_connections.account.disconnected"


class Meanwhile:
    """The gateway, but ``call`` runs ``then`` after Stripe answered and before the answer is
    handed back: what happens while a read waits to be written."""

    def __init__(self, gateway: Any, call: str, then: Callable[[], None]) -> None:
        self._gateway, self._call, self._then = gateway, call, then

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._gateway, name)
        if name != self._call:
            return real

        def call(*args: Any, **kwargs: Any) -> Any:
            answer = real(*args, **kwargs)
            self._then()
            return answer

        return call


def disconnect_event(engine: Any, account: dict[str, Any]) -> Callable[[], None]:
    """Apply the ``disconnected`` event of ``account`` as a webhook would."""

    def apply() -> None:
        gone = {**account, "status": "disconnected", "status_details": {}}
        account_mirror.apply_events(engine, [event(DISCONNECTED, gone, int(time.time()))])

    return apply


def status_of(engine: Any, account_id: str) -> str:
    return str(stored(engine, AccountRecord, account_id).status)


def linked(gateway: Any, simulator: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    customer, accounts = make_customer(gateway, simulator, accounts=1)
    assert accounts[0]["status"] == "active"
    return customer, accounts[0]


@pytest.mark.parametrize("walk", ["chunk", "customer"])
def test_a_walk_does_not_put_back_active_over_a_disconnect_applied_while_it_ran(
    store_svc: Any, gateway: Any, simulator: Any, walk: str
) -> None:
    """The walk lists the account as active, the ``disconnected`` event is applied, then the
    walk writes its chunk: the row stays disconnected (the job's chunk and the inline walk)."""
    customer, account = linked(gateway, simulator)
    account_mirror.upsert_account(store_svc.engine, account)  # mirrored before, as active
    svc = replace(
        store_svc,
        gateway=Meanwhile(gateway, "list_accounts", disconnect_event(store_svc.engine, account)),
    )
    if walk == "chunk":
        assert sync_accounts.mirror_chunk(svc, [customer], threads=1) == 1
    else:
        account_mirror.mirror_customer_accounts(svc, customer)
    assert status_of(store_svc.engine, account["id"]) == "disconnected"
    row = stored(store_svc.engine, AccountRecord, account["id"])
    assert bank_account.applied_event_created(row.raw) is not None  # the event's copy


def test_a_walk_copy_still_wins_when_no_event_changed_the_row_since_it_read(
    store_svc: Any, gateway: Any, simulator: Any
) -> None:
    """An event applied before the walk's read (its change is in what the walk lists), and an
    event on another account while it ran, leave the walk's copy to win."""
    customer, account = linked(gateway, simulator)
    _, other = linked(gateway, simulator)
    engine = store_svc.engine
    disconnect_event(engine, account)()  # applied before the walk began: Stripe says active now
    svc = replace(
        store_svc, gateway=Meanwhile(gateway, "list_accounts", disconnect_event(engine, other))
    )
    sync_accounts.mirror_chunk(svc, [customer], threads=1)
    assert status_of(engine, account["id"]) == "active"
    assert status_of(engine, other["id"]) == "disconnected"
    # the event's stamp is kept, so an older event replayed later still cannot win
    assert bank_account.applied_event_created(stored(engine, AccountRecord, account["id"]).raw)
    # a new account (no row yet) is written however many events were applied meanwhile
    fresh_customer, fresh = linked(gateway, simulator)
    svc = replace(
        store_svc, gateway=Meanwhile(gateway, "list_accounts", disconnect_event(engine, other))
    )
    sync_accounts.mirror_chunk(svc, [fresh_customer], threads=1)
    assert status_of(engine, fresh["id"]) == "active"


def test_the_accounts_page_read_does_not_undo_a_disconnect_applied_while_it_read(
    store_svc: Any, gateway: Any, simulator: Any, ops: Any
) -> None:
    _, account = linked(gateway, simulator)
    engine = store_svc.engine
    account_mirror.upsert_account(engine, account)
    svc = replace(
        store_svc, gateway=Meanwhile(gateway, "retrieve_account", disconnect_event(engine, account))
    )
    browse_accounts.account_detail(svc, ops, account["id"])
    assert status_of(engine, account["id"]) == "disconnected"
    browse_accounts.account_detail(store_svc, ops, account["id"])  # read after it: Stripe's word
    assert status_of(engine, account["id"]) == "active"


def test_a_refresh_poll_does_not_undo_a_disconnect_applied_while_it_read(
    store_svc: Any, gateway: Any, simulator: Any, ops: Any
) -> None:
    """The Accounts page polls a running refresh every few seconds: each poll is a read."""
    _, account = linked(gateway, simulator)
    engine = store_svc.engine
    account_mirror.upsert_account(engine, account)
    meanwhile = Meanwhile(gateway, "retrieve_account", disconnect_event(engine, account))
    refresh_balance.refresh_status(
        replace(store_svc, gateway=meanwhile), ops, account["id"], "balance"
    )
    assert status_of(engine, account["id"]) == "disconnected"


def test_the_incremental_syncs_re_read_does_not_undo_a_disconnect_applied_while_it_read(
    store_svc: Any, gateway: Any, simulator: Any
) -> None:
    """An event rendered in another API version is read again; the ``disconnected`` event (in
    ours) is applied while that read waits: the re-read copy leaves the row disconnected."""
    _, account = linked(gateway, simulator)
    engine = store_svc.engine
    account_mirror.upsert_account(engine, account)
    other_version = event("financial_connections.account.refreshed_balance", account, 1_700_000_100)
    other_version["api_version"] = "2025-03-31.basil"
    changes = account_mirror.changes_in([other_version])
    svc = replace(
        store_svc, gateway=Meanwhile(gateway, "retrieve_account", disconnect_event(engine, account))
    )
    sync_accounts.reread(svc, changes)
    account_mirror.apply_changes(engine, changes)
    assert status_of(engine, account["id"]) == "disconnected"
    # read again with nothing applied meanwhile: it wins, and marks the row as an event's
    changes = account_mirror.changes_in([other_version])
    sync_accounts.reread(store_svc, changes)
    account_mirror.apply_changes(engine, changes)
    row = stored(engine, AccountRecord, account["id"])
    assert row.status == "active"
    assert row.event_mark == data_version.read(engine, data_version.ACCOUNTS)


def test_the_store_checks_the_mark_inside_the_write_itself(engine: Any) -> None:
    """Another process's event may commit after this transaction read the row (PostgreSQL's
    READ COMMITTED): the write's own ``WHERE`` leaves the row as that event left it."""
    fca = f"fca_{secrets.token_hex(6)}"
    began = account_mirror.read_mark(engine)
    account_mirror.apply_events(
        engine, [event(DISCONNECTED, account_obj(fca, status="disconnected"), 2_000)]
    )
    row = stored(engine, AccountRecord, fca)
    assert row.event_mark is not None and row.event_mark > began
    with session_scope(engine) as session:  # the write alone, past the check on the rows read
        listed = flatten_account(account_obj(fca, status="active"))
        _write(session, AccountRecord, [listed], key="id", guard=("event_mark", began))
    assert status_of(engine, fca) == "disconnected"
    with session_scope(engine) as session:  # a read that began after the event is written
        _write(session, AccountRecord, [listed], key="id", guard=("event_mark", row.event_mark))
    assert status_of(engine, fca) == "active"


def test_an_events_write_marks_only_the_rows_it_changed(engine: Any) -> None:
    """An older event replayed (left as it is by its stamp) does not mark its row again, even in
    a batch that changed another row: only the rows the transaction wrote (and so holds locked)
    are marked, so no write waits on a row another holds while holding the counter."""
    fca, other = (f"fca_{secrets.token_hex(6)}" for _ in range(2))
    account_mirror.apply_events(
        engine, [event(DISCONNECTED, account_obj(fca, status="disconnected"), 2_000)]
    )
    mark = stored(engine, AccountRecord, fca).event_mark
    reactivated = "financial_connections.account.reactivated"
    account_mirror.apply_events(
        engine,
        [
            event(reactivated, account_obj(fca, status="active"), 1_000),  # older: left alone
            event(reactivated, account_obj(other, status="active"), 3_000),
        ],
    )
    row = stored(engine, AccountRecord, fca)
    assert row.status == "disconnected" and row.event_mark == mark
    assert stored(engine, AccountRecord, other).event_mark > mark
