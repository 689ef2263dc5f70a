"""Transaction sync on the sandbox: incremental by refresh cursor, idempotent, audited, filtered."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from services.adapters import transaction_store
from services.adapters.models import AuditEntry, SyncState, TransactionRecord
from services.adapters.store import session_scope
from services.context import Services
from services.errors import Forbidden, RefreshNotAllowed, ValidationError
from services.usecases import sync_transactions, view_transactions


@pytest.fixture
def svc(gateway, sqlite_engine, sandbox_handle) -> Services:  # type: ignore[no-untyped-def]
    """Services whose clock is the sandbox's, so advancing it opens Stripe's refresh throttle."""
    return Services(
        gateway=gateway, engine=sqlite_engine, mode="sandbox", now=sandbox_handle.state.now
    )


def _linked_account(gateway, simulator, *, permissions: list[str]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A fresh account of our own, so the shared sandbox's other tests cannot disturb it."""
    customer = gateway.create_customer(
        {"name": "Sync Test", "email": f"sync-{secrets.token_hex(4)}@example.com"},
        idempotency_key=None,
    )
    session = gateway.create_fc_session(
        {
            "account_holder": {"type": "customer", "customer": customer["id"]},
            "permissions": permissions,
        },
        idempotency_key=None,
    )
    simulator.complete_session(session["id"], institution="Test Institution")
    return gateway.list_accounts(session=session["id"])[0]


def _finish_refreshes(simulator, gateway, account_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    simulator.complete_refreshes()
    account = gateway.retrieve_account(account_id)
    assert (account["transaction_refresh"] or {}).get("status") == "succeeded"
    return account


def _stripe_rows(gateway, account_id: str) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    return {t["id"]: t for t in gateway.iter_transactions(account_id)}


def _stored(engine, account_id: str) -> dict[str, TransactionRecord]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        rows = session.exec(
            select(TransactionRecord).where(TransactionRecord.account_id == account_id)
        ).all()
    return {r.id: r for r in rows}


def test_incremental_sync_fetches_only_rows_changed_by_later_refreshes(
    svc, gateway, simulator, ops
) -> None:  # type: ignore[no-untyped-def]
    # The sandbox's first refresh makes 1-3 rows, each pending or posted at random, and a later
    # refresh posts pending rows: an account whose first rows were all pending could have every
    # row touched again (CI39 saw 3 of 3). A posted first row stays as it is, so the test needs
    # one: take the first account that has one.
    for _ in range(20):
        account = _linked_account(
            gateway, simulator, permissions=["transactions", "payment_method"]
        )
        sync_transactions.subscribe(
            svc, ops, account["id"], idempotency_key=f"sub-{account['id']}"
        )
        first_ref = _finish_refreshes(simulator, gateway, account["id"])["transaction_refresh"]["id"]
        if any(t["status"] == "posted" for t in _stripe_rows(gateway, account["id"]).values()):
            break

    first = sync_transactions.sync_transactions(svc, ops, account["id"])
    assert first.full and first.cursor_after == first_ref
    assert first.inserted == first.fetched == len(_stripe_rows(gateway, account["id"])) > 0

    simulator.advance_clock(120)  # past the sandbox's 60 s refresh cooldown
    sync_transactions.refresh(svc, ops, account["id"], idempotency_key=f"ref-{account['id']}")
    second_ref = _finish_refreshes(simulator, gateway, account["id"])["transaction_refresh"]["id"]
    second = sync_transactions.sync_transactions(svc, ops, account["id"])

    everything = _stripe_rows(gateway, account["id"])
    touched = {tid for tid, t in everything.items() if t["transaction_refresh"] == second_ref}
    assert not second.full
    assert second.cursor_before == first_ref and second.cursor_after == second_ref
    assert second.fetched == len(touched) < len(everything)
    assert second.inserted == len(touched) - second.updated
    stored = _stored(svc.engine, account["id"])
    assert set(stored) == set(everything)
    assert all(stored[tid].status == t["status"] for tid, t in everything.items())
    assert transaction_store.cursor_for(svc.engine, account["id"]).cursor == second_ref  # type: ignore[union-attr]


def test_a_sync_repeated_without_a_new_refresh_changes_nothing(
    svc, gateway, simulator, ops
) -> None:  # type: ignore[no-untyped-def]
    account = _linked_account(gateway, simulator, permissions=["transactions"])
    sync_transactions.subscribe(svc, ops, account["id"], idempotency_key=f"test-{secrets.token_hex(6)}")
    _finish_refreshes(simulator, gateway, account["id"])
    sync_transactions.sync_transactions(svc, ops, account["id"])
    before = {tid: (r.status, r.amount) for tid, r in _stored(svc.engine, account["id"]).items()}

    again = sync_transactions.sync_transactions(svc, ops, account["id"])

    assert (again.fetched, again.inserted, again.updated) == (0, 0, 0)
    after = {tid: (r.status, r.amount) for tid, r in _stored(svc.engine, account["id"]).items()}
    assert after == before


def test_an_unknown_stored_cursor_falls_back_to_a_full_sync(svc, gateway, simulator, ops) -> None:  # type: ignore[no-untyped-def]
    account = _linked_account(gateway, simulator, permissions=["transactions"])
    sync_transactions.subscribe(svc, ops, account["id"], idempotency_key=f"test-{secrets.token_hex(6)}")
    _finish_refreshes(simulator, gateway, account["id"])
    with session_scope(svc.engine) as session:
        session.add(SyncState(name=transaction_store.cursor_key(account["id"]), cursor="fctxnref_doesnotexist"))

    summary = sync_transactions.sync_transactions(svc, ops, account["id"])

    assert summary.full
    assert set(_stored(svc.engine, account["id"])) == set(_stripe_rows(gateway, account["id"]))


def test_subscribe_and_unsubscribe_change_the_account_and_write_one_audit_row_each(
    svc, gateway, simulator, finance
) -> None:  # type: ignore[no-untyped-def]
    account = _linked_account(gateway, simulator, permissions=["transactions"])

    sync_transactions.subscribe(svc, finance, account["id"], idempotency_key=f"s-{account['id']}")
    assert "transactions" in gateway.retrieve_account(account["id"])["subscriptions"]
    sync_transactions.unsubscribe(svc, finance, account["id"], idempotency_key=f"u-{account['id']}")
    assert "transactions" not in gateway.retrieve_account(account["id"])["subscriptions"]

    with session_scope(svc.engine) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.target == account["id"])).all()
    assert sorted(r.action for r in rows) == ["transactions.subscribe", "transactions.unsubscribe"]
    assert all(r.outcome == "ok" and r.idempotency_key for r in rows)


def test_manager_cannot_subscribe_and_the_refusal_is_audited(
    svc, gateway, simulator, manager
) -> None:  # type: ignore[no-untyped-def]
    account = _linked_account(gateway, simulator, permissions=["transactions"])
    with pytest.raises(Forbidden):
        sync_transactions.subscribe(svc, manager, account["id"], idempotency_key=f"test-{secrets.token_hex(6)}")
    assert "transactions" not in gateway.retrieve_account(account["id"])["subscriptions"]
    with session_scope(svc.engine) as session:
        row = session.exec(select(AuditEntry).where(AuditEntry.target == account["id"])).one()
    assert row.outcome == "refused"


def test_refresh_during_the_cooldown_is_refused_with_a_sentence(
    svc, gateway, simulator, ops
) -> None:  # type: ignore[no-untyped-def]
    account = _linked_account(gateway, simulator, permissions=["transactions"])
    sync_transactions.subscribe(svc, ops, account["id"], idempotency_key=f"test-{secrets.token_hex(6)}")
    _finish_refreshes(simulator, gateway, account["id"])
    status = view_transactions.transaction_status(svc, ops, account["id"])
    assert status.subscribed and not status.can_refresh and "allows the next" in status.why_not
    with pytest.raises(RefreshNotAllowed):
        sync_transactions.refresh(svc, ops, account["id"], idempotency_key=f"test-{secrets.token_hex(6)}")


def test_a_malformed_account_id_is_a_validation_error(svc, ops) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        sync_transactions.sync_transactions(svc, ops, "pi_not_an_account")


# --------------------------------------------------------------------------- the store


def _txn(
    n: int, *, amount: int, day: date, status: str = "posted", text: str = "SHOP"
) -> dict[str, Any]:
    ts_ = int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp())
    return {
        "id": f"fctxn_{n:04d}",
        "object": "financial_connections.transaction",
        "account": "fca_store",
        "amount": amount,
        "currency": "usd",
        "description": text,
        "status": status,
        "status_transitions": {"posted_at": ts_ if status == "posted" else None, "void_at": None},
        "transacted_at": ts_,
        "transaction_refresh": "fctxnref_1",
        "updated": ts_,
    }


def test_upserts_insert_then_update_by_id_on_both_databases(engine) -> None:  # type: ignore[no-untyped-def]
    day = date(2026, 3, 2)
    rows = [_txn(1, amount=-500, day=day, status="pending"), _txn(2, amount=900, day=day)]
    assert transaction_store.upsert_transactions(engine, rows) == (2, 0, 0)

    posted = {**rows[0], "status": "posted", "transaction_refresh": "fctxnref_2", "updated": 1}
    assert transaction_store.upsert_transactions(engine, [posted, rows[1]]) == (0, 1, 1)

    stored = {t["id"]: t for t in transaction_store.load_transactions(engine, "fca_store")}
    assert stored["fctxn_0001"]["status"] == "posted"
    assert stored["fctxn_0001"]["transaction_refresh"] == "fctxnref_2"
    assert len(stored) == 2


def test_load_transactions_filters_by_date_direction_status_and_text(engine) -> None:  # type: ignore[no-untyped-def]
    d = date(2026, 3, 1)
    transaction_store.upsert_transactions(
        engine,
        [
            _txn(1, amount=-1200, day=d, text="Grocery Mart"),
            _txn(2, amount=250_000, day=d + timedelta(days=3), text="ACME PAYROLL"),
            _txn(
                3, amount=-300, day=d + timedelta(days=5), status="pending", text="Coffee 50%_off"
            ),
            _txn(4, amount=-700, day=d + timedelta(days=6), status="void", text="Grocery Mart"),
        ],
    )

    def ids(**filters: Any) -> list[str]:
        return [t["id"][-1] for t in transaction_store.load_transactions(engine, "fca_store", **filters)]

    assert ids() == ["3", "2", "1"]  # newest first, void left out
    assert ids(start=d + timedelta(days=1), end=d + timedelta(days=5)) == ["3", "2"]
    assert ids(direction="in") == ["2"]
    assert ids(direction="out") == ["3", "1"]
    assert ids(status="void") == ["4"]
    assert ids(status="pending") == ["3"]
    assert ids(text="grocery") == ["1"]
    assert ids(text="50%_") == ["3"]  # LIKE wildcards are taken literally


def test_insight_reports_income_with_a_debit_date_and_risk_windows(sqlite_engine) -> None:  # type: ignore[no-untyped-def]
    today = date(2026, 6, 30)
    rows = []
    for k in range(12):  # biweekly payroll on Fridays
        pay_day = date(2026, 1, 2) + timedelta(days=14 * k)
        rows.append(_txn(100 + k, amount=210_000, day=pay_day, text="ACME CORP PAYROLL"))
    for k in range(60):
        rows.append(
            _txn(300 + k, amount=-4_000, day=today - timedelta(days=k), text="GROCERY MART")
        )
    transaction_store.upsert_transactions(sqlite_engine, rows)
    now = int(datetime(2026, 6, 30, 18, tzinfo=UTC).timestamp())
    account = {"id": "fca_store", "balance": {"as_of": now, "current": {"usd": 50_000}}}

    result = view_transactions.insight(sqlite_engine, account, now=now)

    assert result.currency == "usd" and result.transaction_count == 72
    (income,) = result.incomes
    assert income.stream.cadence == "biweekly"
    assert income.stream.typical_amount == 210_000
    assert income.suggested_debit_date is not None
    assert income.stream.next_expected is not None
    assert income.suggested_debit_date > income.stream.next_expected
    by_days = {w.days: w for w in result.risk}
    assert by_days[30].debits_count == 30 and by_days[30].debits_sum == 120_000
    assert by_days[90].average_daily_balance is not None
    assert (
        result.balance_series is not None
        and int(result.balance_series["balance"].iloc[-1]) == 50_000
    )
    assert result.top_out["counterparty"].iloc[0] == "GROCERY MART"
    assert int(result.cash_flow_daily["money_out"].sum()) == 60 * 4_000


def test_insight_without_a_balance_leaves_balance_figures_out(sqlite_engine) -> None:  # type: ignore[no-untyped-def]
    transaction_store.upsert_transactions(sqlite_engine, [_txn(1, amount=-100, day=date(2026, 6, 1))])
    result = view_transactions.insight(
        sqlite_engine, {"id": "fca_store", "balance": None}, now=datetime(2026, 6, 2, tzinfo=UTC)
    )
    assert result.balance_series is None
    assert all(w.average_daily_balance is None for w in result.risk)
    assert any("no balance" in n for n in result.notes)


def test_subscribing_without_an_idempotency_key_is_refused_before_stripe(
    svc, gateway, simulator, ops
) -> None:  # type: ignore[no-untyped-def]
    account = _linked_account(gateway, simulator, permissions=["transactions"])
    with pytest.raises(ValidationError, match="idempotency key"):
        sync_transactions.subscribe(svc, ops, account["id"], idempotency_key="")
    assert "transactions" not in gateway.retrieve_account(account["id"])["subscriptions"]


# --------------------------------------------------------------------------- before the first refresh


def test_before_a_transaction_refresh_succeeded_stripe_lists_nothing_and_the_sync_says_why(
    svc, gateway, simulator, ops
) -> None:  # type: ignore[no-untyped-def]
    from services.errors import NoTransactionRefresh

    account = _linked_account(gateway, simulator, permissions=["transactions"])
    assert account["transaction_refresh"] is None
    with pytest.raises(NoTransactionRefresh, match="No transaction refresh has succeeded yet"):
        sync_transactions.sync_transactions(svc, ops, account["id"])
    assert _stored(svc.engine, account["id"]) == {}
    assert transaction_store.cursor_for(svc.engine, account["id"]) is None  # no cursor from a refused listing
    with session_scope(svc.engine) as session:
        [row] = session.exec(
            select(AuditEntry).where(
                AuditEntry.target == account["id"], AuditEntry.action == "transactions.sync"
            )
        ).all()
    assert row.outcome == "error" and "No transaction refresh" in (row.message or "")
    # The way out is named as a person sees it: the Transactions page's Refresh transactions button.
    assert "Press Refresh transactions on the Transactions page" in (row.message or "")
    assert "Start a transaction refresh" not in (row.message or "")
    # The offer the page makes: start one; once it succeeded the same sync works.
    assert view_transactions.transaction_status(svc, ops, account["id"]).can_refresh
    sync_transactions.refresh(svc, ops, account["id"], idempotency_key=f"first-{account['id']}")
    _finish_refreshes(simulator, gateway, account["id"])
    synced = sync_transactions.sync_transactions(svc, ops, account["id"])
    assert synced.inserted > 0 and len(_stored(svc.engine, account["id"])) == synced.inserted


def test_a_first_transaction_refresh_that_failed_still_leaves_nothing_to_list(
    svc, gateway, simulator, ops
) -> None:  # type: ignore[no-untyped-def]
    from services.errors import NoTransactionRefresh

    customer = gateway.create_customer({"name": "Failing Bank"}, idempotency_key=None)
    session = gateway.create_fc_session(
        {
            "account_holder": {"type": "customer", "customer": customer["id"]},
            "permissions": ["transactions"],
            "prefetch": ["transactions"],
        },
        idempotency_key=None,
    )
    simulator.complete_session(session["id"], institution="Refresh Errors Bank")
    [account] = gateway.list_accounts(session=session["id"])
    simulator.complete_refreshes()
    assert gateway.retrieve_account(account["id"])["transaction_refresh"]["status"] == "failed"
    with pytest.raises(NoTransactionRefresh):
        sync_transactions.sync_transactions(svc, ops, account["id"])
