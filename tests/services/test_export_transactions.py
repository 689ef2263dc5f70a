"""Transactions' Download CSV: the table's rows (its filters and order) as a file a spreadsheet
reads, audited, for the roles that see transactions only."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlmodel import select

from services.adapters import transaction_store
from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.context import Services
from services.errors import Forbidden, ValidationError
from services.rules.transactions import TransactionFilter
from services.usecases import export_transactions
from tests.services.test_transaction_sync import _txn

D = date(2026, 3, 1)


@pytest.fixture
def svc(gateway, sqlite_engine) -> Services:  # type: ignore[no-untyped-def]
    transaction_store.upsert_transactions(sqlite_engine, [
        _txn(1, amount=-123_456, day=D, text="=HYPERLINK(\"x\")"),
        _txn(2, amount=250_000, day=D + timedelta(days=3), text="ACME PAYROLL"),
        _txn(3, amount=-300, day=D + timedelta(days=5), status="pending", text="Coffee"),
        _txn(4, amount=-700, day=D + timedelta(days=6), status="void", text="Grocery Mart"),
    ])
    return Services(gateway=gateway, engine=sqlite_engine, mode="sandbox")


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_file_holds_the_tables_rows_with_numbers_a_spreadsheet_reads(svc, ops) -> None:  # type: ignore[no-untyped-def]
    got = rows(export_transactions.export_csv(svc, ops, "fca_store", TransactionFilter()))
    assert [r["id"] for r in got] == ["fctxn_0003", "fctxn_0002", "fctxn_0001"]  # void left out
    first = got[-1]
    assert (first["amount"], first["currency"], first["direction"]) == ("-1234.56", "USD", "money out")
    assert first["description"].startswith("'=")  # never run as a formula
    assert first["date_utc"] == "2026-03-01 12:00:00"


def test_the_tables_filters_and_order_apply_and_the_export_is_audited(svc, ops) -> None:  # type: ignore[no-untyped-def]
    chosen = TransactionFilter(direction="out")
    got = rows(export_transactions.export_csv(svc, ops, "fca_store", chosen, sort="oldest"))
    assert [r["id"] for r in got] == ["fctxn_0001", "fctxn_0003"]
    with session_scope(svc.engine) as session:
        row = session.exec(select(AuditEntry).where(AuditEntry.action == "transactions.export")).one()
    assert (row.actor, row.outcome, row.target, row.params["rows"]) == (ops.username, "ok", "fca_store", 2)


def test_a_role_without_transactions_and_bad_filters_get_sentences(svc, manager, ops) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Forbidden):
        export_transactions.export_csv(svc, manager, "fca_store", TransactionFilter())
    with pytest.raises(ValidationError, match="direction"):
        export_transactions.export_csv(svc, ops, "fca_store", TransactionFilter(direction="up"))
    with pytest.raises(ValidationError, match="not a Stripe ID"):
        export_transactions.export_csv(svc, ops, "pi_123456", TransactionFilter())
