"""Incremental account sync: a re-run reads the events since its cursor, not every customer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import select

from bootstrap import SANDBOX_KEY
from services.adapters.gateway import StripeGateway
from services.adapters.models import AccountRecord, BalanceSnapshot, CustomerRecord, SyncState
from services.adapters.store import session_scope
from services.context import Services
from services.usecases import sync_accounts
from tests.services.test_accounts import audit_rows, make_customer


class CountingGateway(StripeGateway):
    """Our own gateway, counting the Stripe requests it starts (the first page of each list)."""

    requests = 0

    def _call(self, fn: Callable[[], Any]) -> Any:
        self.requests += 1
        return super()._call(fn)


def counting_svc(sandbox_handle: Any, engine: Any) -> tuple[Services, CountingGateway]:
    gw = CountingGateway(SANDBOX_KEY, base_url=sandbox_handle.base_url, max_network_retries=0)
    return Services(gateway=gw, engine=engine, mode="sandbox"), gw


def stored_account(engine: Any, account_id: str) -> AccountRecord | None:
    with session_scope(engine) as session:
        return session.get(AccountRecord, account_id)


def test_a_rerun_picks_up_a_newly_linked_account_with_far_fewer_requests(
    sandbox_handle: Any, sqlite_engine: Any, gateway: Any, simulator: Any, ops: Any
) -> None:
    svc, counted = counting_svc(sandbox_handle, sqlite_engine)
    first = sync_accounts.sync_accounts(svc, ops)
    full_requests = counted.requests
    customer, linked = make_customer(gateway, simulator, accounts=1)
    counted.requests = 0
    seen: list[tuple[int, int | None, str]] = []
    again = sync_accounts.sync_accounts(svc, ops, progress=lambda *a: seen.append(a))
    with session_scope(sqlite_engine) as session:
        holder = session.get(CustomerRecord, customer["id"])
    assert first.full and not again.full and again.events >= 1
    assert stored_account(sqlite_engine, linked[0]["id"]) is not None
    assert holder is not None and holder.email == customer["email"]
    assert full_requests > first.customers  # one list per customer, plus the customer list
    assert counted.requests <= 3 and counted.requests * 5 < full_requests
    assert seen and "changes" in seen[-1][2]
    rows = audit_rows(sqlite_engine, "accounts.sync")
    assert [r.outcome for r in rows] == ["ok", "ok"]
    assert rows[1].params["full"] is False and rows[1].params["events"] == again.events


def test_a_finished_balance_refresh_is_mirrored_by_the_next_incremental_sync(
    sandbox_handle: Any, sqlite_engine: Any, gateway: Any, simulator: Any, ops: Any
) -> None:
    svc, _ = counting_svc(sandbox_handle, sqlite_engine)
    _, linked = make_customer(gateway, simulator, accounts=1, prefetch=[])
    account_id = linked[0]["id"]
    sync_accounts.sync_accounts(svc, ops)
    before = stored_account(sqlite_engine, account_id)
    gateway.refresh_account(account_id, ["balance"], idempotency_key=None)
    simulator.complete_refreshes()
    fresh = gateway.retrieve_account(account_id)
    result = sync_accounts.sync_accounts(svc, ops)
    after = stored_account(sqlite_engine, account_id)
    with session_scope(sqlite_engine) as session:
        snaps = session.exec(
            select(BalanceSnapshot).where(BalanceSnapshot.account_id == account_id)
        ).all()
    assert before is not None and before.balance_as_of is None
    assert not result.full
    assert after is not None and after.balance_refresh_status == "succeeded"
    assert after.balance_as_of == fresh["balance"]["as_of"]
    assert after.balance_current == fresh["balance"]["current"]["usd"]
    assert [s.current for s in snaps] == [fresh["balance"]["current"]["usd"]]


def test_full_sync_walks_every_customer_even_with_a_cursor(
    sandbox_handle: Any, sqlite_engine: Any, gateway: Any, simulator: Any, ops: Any
) -> None:
    svc, counted = counting_svc(sandbox_handle, sqlite_engine)
    sync_accounts.sync_accounts(svc, ops)
    _, linked = make_customer(gateway, simulator, accounts=2)
    counted.requests = 0
    result = sync_accounts.sync_accounts(svc, ops, full=True)
    with session_scope(sqlite_engine) as session:
        n_customers = len(session.exec(select(CustomerRecord)).all())
    assert result.full and result.customers == n_customers
    assert counted.requests > result.customers
    assert all(stored_account(sqlite_engine, a["id"]) is not None for a in linked)


def test_a_cursor_older_than_stripe_keeps_events_means_a_full_walk(
    sandbox_handle: Any, sqlite_engine: Any, ops: Any
) -> None:
    svc, _ = counting_svc(sandbox_handle, sqlite_engine)
    stale = svc.now() - sync_accounts.EVENT_RETENTION_SECONDS - 60
    with session_scope(sqlite_engine) as session:
        session.add(SyncState(name=sync_accounts.SYNC_NAME, cursor=str(stale)))
    result = sync_accounts.sync_accounts(svc, ops)
    with session_scope(sqlite_engine) as session:
        state = session.get(SyncState, sync_accounts.SYNC_NAME)
    assert result.full and result.customers > 0
    assert state is not None and state.cursor is not None and int(state.cursor) > stale
