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
from services.rules.debit_csv import parse_debits_csv
from services.usecases import (
    browse_accounts,
    check_batch,
    check_debit,
    lookup_account,
    refresh_balance,
    review_ownership,
    sync_accounts,
    sync_transactions,
    view_transactions,
)
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


def once(then: Callable[[], None]) -> Callable[[], None]:
    """``then`` on its first call only: one event applied, whatever the reads after it."""
    done: list[bool] = []

    def first() -> None:
        if not done:
            done.append(True)
            then()

    return first


def meanwhile(svc: Any, call: str, then: Callable[[], None]) -> Any:
    """``svc`` whose gateway runs ``then`` after each ``call`` answered (:class:`Meanwhile`)."""
    return replace(svc, gateway=Meanwhile(svc.gateway, call, then))


def status_of(engine: Any, account_id: str) -> str:
    return str(stored(engine, AccountRecord, account_id).status)


def linked(gateway: Any, simulator: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    customer, accounts = make_customer(gateway, simulator, accounts=1)
    assert accounts[0]["status"] == "active"
    return customer, accounts[0]


@pytest.fixture
def mirrored(store_svc: Any, gateway: Any, simulator: Any) -> dict[str, Any]:
    """A linked account, mirrored as active before the test's read begins."""
    _, account = linked(gateway, simulator)
    account_mirror.upsert_account(store_svc.engine, account)
    return account


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
    store_svc: Any, mirrored: dict[str, Any], ops: Any
) -> None:
    engine, account = store_svc.engine, mirrored
    svc = meanwhile(store_svc, "retrieve_account", disconnect_event(engine, account))
    browse_accounts.account_detail(svc, ops, account["id"])
    assert status_of(engine, account["id"]) == "disconnected"
    browse_accounts.account_detail(store_svc, ops, account["id"])  # read after it: Stripe's word
    assert status_of(engine, account["id"]) == "active"


def test_a_refresh_poll_does_not_undo_a_disconnect_applied_while_it_read(
    store_svc: Any, mirrored: dict[str, Any], ops: Any
) -> None:
    """The Accounts page polls a running refresh every few seconds: each poll is a read."""
    engine, account = store_svc.engine, mirrored
    svc = meanwhile(store_svc, "retrieve_account", disconnect_event(engine, account))
    refresh_balance.refresh_status(svc, ops, account["id"], "balance")
    assert status_of(engine, account["id"]) == "disconnected"


def test_the_incremental_syncs_re_read_does_not_undo_a_disconnect_applied_while_it_read(
    store_svc: Any, mirrored: dict[str, Any]
) -> None:
    """An event rendered in another API version is read again; the ``disconnected`` event (in
    ours) is applied while that read waits: the re-read copy leaves the row disconnected."""
    engine, account = store_svc.engine, mirrored
    other_version = event("financial_connections.account.refreshed_balance", account, 1_700_000_100)
    other_version["api_version"] = "2025-03-31.basil"
    changes = account_mirror.changes_in([other_version])
    svc = meanwhile(store_svc, "retrieve_account", disconnect_event(engine, account))
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


def _batch(svc: Any, actor: Any, *ids: str, refresh: bool = False) -> Any:
    planned, _ = parse_debits_csv("id,amount\n" + "\n".join(f"{i},1.00" for i in ids))
    return check_batch.run_batch(
        svc, actor, planned, refresh_stale=refresh, max_requests_per_second=1_000
    )


# The other reads that write the account they read: (the gateway call that reads, the read).
DIRECT_READS: dict[str, tuple[str, Callable[[Any, Any, str], object]]] = {
    "check_debit": (
        "retrieve_account",
        lambda svc, who, fca: check_debit.check_debit(svc, who, fca, 100, "usd"),
    ),
    "check_batch": ("retrieve_account", _batch),
    "lookup_account": ("retrieve_account", lookup_account.lookup),
    "review_ownership": ("retrieve_account", review_ownership.check_account),
    "view_transactions": ("retrieve_account", view_transactions.transaction_status),
    "sync_transactions": ("retrieve_account", sync_transactions.sync_or_wait),
    "subscribe_transactions": (
        "subscribe_transactions",
        lambda svc, who, fca: sync_transactions.subscribe(
            svc, who, fca, idempotency_key=f"test-{secrets.token_hex(6)}"
        ),
    ),
}


@pytest.mark.parametrize("path", sorted(DIRECT_READS))
def test_a_direct_read_does_not_undo_a_disconnect_applied_while_it_read(
    store_svc: Any, mirrored: dict[str, Any], admin: Any, path: str
) -> None:
    """The ``disconnected`` event is applied after Stripe answered the read, before its write:
    the row stays disconnected. Read again afterwards, Stripe's word (still active in the
    sandbox) wins: the event was applied before that read began."""
    call, read = DIRECT_READS[path]
    engine, fca = store_svc.engine, mirrored["id"]
    read(meanwhile(store_svc, call, disconnect_event(engine, mirrored)), admin, fca)
    assert status_of(engine, fca) == "disconnected"
    read(store_svc, admin, fca)
    assert status_of(engine, fca) == "active"


@pytest.fixture
def never_fetched(store_svc: Any, gateway: Any, simulator: Any) -> dict[str, Any]:
    """A linked account with no balance yet (a check refreshes it), mirrored as active."""
    _, accounts = make_customer(gateway, simulator, accounts=1, prefetch=[])
    account_mirror.upsert_account(store_svc.engine, accounts[0])
    return accounts[0]


REFRESHING_CHECKS: dict[str, Callable[[Any, Any, str], object]] = {
    "check_debit": lambda svc, who, fca: check_debit.check_debit(
        svc, who, fca, 100, "usd", refresh_stale=True, wait_seconds=5
    ),
    "check_batch": lambda svc, who, fca: _batch(svc, who, fca, refresh=True),
}


@pytest.mark.parametrize("path", sorted(REFRESHING_CHECKS))
def test_a_checks_refresh_does_not_undo_a_disconnect_applied_while_it_ran(
    store_svc: Any, never_fetched: dict[str, Any], admin: Any, path: str
) -> None:
    """The event is applied once Stripe answered the refresh: neither that answer nor the
    reads of the refresh after it put "active" back."""
    engine, fca = store_svc.engine, never_fetched["id"]
    svc = meanwhile(store_svc, "refresh_account", once(disconnect_event(engine, never_fetched)))
    REFRESHING_CHECKS[path](svc, admin, fca)
    assert status_of(engine, fca) == "disconnected"


@pytest.mark.parametrize("path", sorted(REFRESHING_CHECKS))
def test_a_checks_refresh_still_wins_over_an_event_applied_before_it_began(
    store_svc: Any, never_fetched: dict[str, Any], admin: Any, path: str
) -> None:
    """The event is applied while the check's first read waits (so that write leaves the row),
    before the refresh began: the refresh's copy, read after it, is written."""
    engine, fca = store_svc.engine, never_fetched["id"]
    svc = meanwhile(store_svc, "retrieve_account", once(disconnect_event(engine, never_fetched)))
    REFRESHING_CHECKS[path](svc, admin, fca)
    assert status_of(engine, fca) == "active"
    assert stored(engine, AccountRecord, fca).raw.get("balance")  # the refreshed copy


def test_a_batch_reads_each_id_after_its_own_mark(
    store_svc: Any, mirrored: dict[str, Any], gateway: Any, simulator: Any, admin: Any
) -> None:
    """An event applied while an earlier ID of the batch was read was applied before this
    account's read began: the batch's copy of it is written (not left for the batch's start)."""
    _, earlier = linked(gateway, simulator)
    engine, fca = store_svc.engine, mirrored["id"]
    svc = meanwhile(store_svc, "retrieve_account", once(disconnect_event(engine, mirrored)))
    _batch(svc, admin, earlier["id"], fca)
    assert status_of(engine, fca) == "active"


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
