"""Sorted, counted pages in SQL on SQLite and PostgreSQL: transactions, the audit log and the
transactions picker's count. Page 2 continues page 1 in the chosen order; an unknown order is
the default one, never SQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from services import audit
from services.adapters import account_mirror, transaction_store
from services.auth import Actor

ADMIN = Actor(username="admin", role="admin")


def _txn(n: int, amount: int, day: date) -> dict[str, Any]:
    ts_ = int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()) + n
    return {
        "id": f"fctxn_sort{n:04d}",
        "object": "financial_connections.transaction",
        "account": "fca_sorted",
        "amount": amount,
        "currency": "usd",
        "description": f"ROW {n:02d}",
        "status": "posted",
        "status_transitions": {"posted_at": ts_, "void_at": None},
        "transacted_at": ts_,
        "transaction_refresh": "fctxnref_1",
        "updated": ts_,
    }


def test_transactions_sort_by_amount_over_every_page_and_count(engine) -> None:  # type: ignore[no-untyped-def]
    # Amounts whose text order differs from their numeric order (919.76 vs 9,233.32).
    amounts = [91_976, 923_332, -5_000, 100, 7, 19_000, -120_000, 2_500_00]
    rows = [_txn(n, a, date(2026, 3, 1 + n)) for n, a in enumerate(amounts)]
    transaction_store.upsert_transactions(engine, rows)

    assert transaction_store.count_transactions(engine, "fca_sorted") == len(amounts)
    assert transaction_store.count_transactions(engine, "fca_sorted", direction="out") == 2
    pages = [
        transaction_store.load_transactions(
            engine, "fca_sorted", sort="amount_desc", limit=3, offset=offset
        )
        for offset in (0, 3, 6)
    ]
    assert [t["amount"] for page in pages for t in page] == sorted(amounts, reverse=True)
    smallest = transaction_store.load_transactions(engine, "fca_sorted", sort="amount_asc")
    assert [t["amount"] for t in smallest] == sorted(amounts)
    oldest = transaction_store.load_transactions(engine, "fca_sorted", sort="oldest", limit=2)
    assert [t["id"] for t in oldest] == ["fctxn_sort0000", "fctxn_sort0001"]
    bad = transaction_store.load_transactions(engine, "fca_sorted", sort="amount; DROP TABLE x")
    assert [t["id"] for t in bad] == [r["id"] for r in reversed(rows)]  # newest first


def test_the_audit_log_sorts_every_match_and_falls_back_to_newest(engine) -> None:  # type: ignore[no-untyped-def]
    for name in ("carol", "alice", "bob"):
        audit.record(engine, actor=Actor(username=name, role="ops"), action="x.test",
                     target=f"t_{name}", outcome="ok")  # fmt: skip
    by_actor = [
        e.actor
        for offset in (0, 2)
        for e in audit.query(engine, actor=ADMIN, sort="actor", limit=2, offset=offset).rows
    ]
    assert by_actor == ["alice", "bob", "carol"]
    newest = audit.query(engine, actor=ADMIN, sort="not a sort", limit=5).rows
    assert [e.actor for e in newest] == ["bob", "alice", "carol"]
    oldest = audit.query(engine, actor=ADMIN, sort="oldest", limit=5)
    assert [e.actor for e in oldest.rows] == ["carol", "alice", "bob"] and oldest.total == 3


def test_the_picker_count_counts_every_match_not_the_50_it_holds(engine) -> None:  # type: ignore[no-untyped-def]
    for n in range(53):
        account_mirror.upsert_account(
            engine,
            {
                "id": f"fca_picker{n:03d}",
                "object": "financial_connections.account",
                "institution_name": "Pickerbank",
                "last4": f"{n:04d}",
                "permissions": ["transactions"],
                "status": "active",
                "created": n,
            },
        )
    held = transaction_store.known_accounts(
        engine, permission="transactions", search="pickerbank", limit=50
    )
    assert len(held) == 50
    assert (
        transaction_store.count_known_accounts(
            engine, permission="transactions", search="pickerbank"
        )
        == 53
    )
    assert (
        transaction_store.count_known_accounts(engine, permission="transactions", search="0052")
        == 1
    )
    assert transaction_store.count_known_accounts(engine, permission="ownership") == 0
