"""The transaction sync job's parts (``sync_transactions.sync_part``): an account's sync read a
page or two at a time, so the job can put each part on the rate-limited Stripe queue. Parts
until done store what the one-go sync stores, save the same cursor, write one audit row per
account, and ask again for a page Stripe failed to answer."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from sqlmodel import select

from services.adapters import transaction_store
from services.adapters.models import AuditEntry, SyncState
from services.adapters.store import session_scope
from services.context import Services
from services.errors import Forbidden
from services.usecases import sync_transactions
from tests.services.test_transaction_sync import (
    _finish_refreshes,
    _linked_account,
    _stored,
    _stripe_rows,
    svc,
)

__all__ = ["svc"]  # the fixture, used by name


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of one transaction: a new sandbox account has a few, and each is then a part."""
    monkeypatch.setattr(sync_transactions, "PAGE_SIZE", 1)


def subscribed_account(svc: Services, gateway: Any, simulator: Any, ops: Any) -> dict[str, Any]:
    """A new subscribed account with two transactions or more (the sandbox makes a few, at
    random): with pages of one, two parts at least."""
    for _ in range(10):
        account = _linked_account(gateway, simulator, permissions=["transactions"])
        sync_transactions.subscribe(
            svc, ops, account["id"], idempotency_key=f"test-{secrets.token_hex(6)}"
        )
        account = _finish_refreshes(simulator, gateway, account["id"])
        if len(_stripe_rows(gateway, account["id"])) >= 2:
            return account
    raise AssertionError("no account with two transactions in ten")


def in_parts(svc: Services, actor: Any, account_id: str) -> tuple[dict[str, Any], int]:
    """Parts until the account is done, as the job runs them (each from the state the last one
    returned); the last part's result and how many parts it took."""
    state: dict[str, Any] | None = None
    parts = 0
    while True:
        parts += 1
        result = sync_transactions.sync_part(svc, actor, account_id, state, pages=1)
        if result["done"]:
            return result, parts
        assert parts < 100
        state = result


def sync_rows(engine: Any, account_id: str) -> list[AuditEntry]:
    with session_scope(engine) as session:
        return list(session.exec(
            select(AuditEntry).where(
                AuditEntry.target == account_id, AuditEntry.action == "transactions.sync"
            )
        ).all())


def test_parts_store_every_transaction_and_save_the_cursor_with_one_audit_row(
    svc, gateway, simulator, ops
) -> None:  # type: ignore[no-untyped-def]
    account = subscribed_account(svc, gateway, simulator, ops)
    everything = _stripe_rows(gateway, account["id"])
    assert len(everything) > 1, "one page only: parts untested"

    result, parts = in_parts(svc, ops, account["id"])

    assert parts == len(everything)  # one part a page, its last one saying there is no more
    assert result["fetched"] == result["inserted"] == len(everything)
    assert set(_stored(svc.engine, account["id"])) == set(everything)
    cursor = transaction_store.cursor_for(svc.engine, account["id"])
    assert cursor is not None and cursor.cursor == account["transaction_refresh"]["id"]
    [row] = sync_rows(svc.engine, account["id"])
    assert row.outcome == "ok" and row.params["fetched"] == len(everything)
    # Nothing new since: a second run is one part that reads nothing.
    again, parts = in_parts(svc, ops, account["id"])
    assert (again["fetched"], again["inserted"], parts) == (0, 0, 1)


def test_an_unknown_cursor_starts_the_parts_over_in_full(svc, gateway, simulator, ops) -> None:  # type: ignore[no-untyped-def]
    account = subscribed_account(svc, gateway, simulator, ops)
    with session_scope(svc.engine) as session:
        session.add(SyncState(
            name=transaction_store.cursor_key(account["id"]), cursor="fctxnref_doesnotexist"
        ))
    result, _ = in_parts(svc, ops, account["id"])
    assert result["fetched"] == len(_stripe_rows(gateway, account["id"]))
    assert set(_stored(svc.engine, account["id"])) == set(_stripe_rows(gateway, account["id"]))
    [row] = sync_rows(svc.engine, account["id"])
    assert row.params["full"] is True


def test_before_a_refresh_succeeded_a_part_says_the_account_waits(svc, gateway, simulator, ops) -> None:  # type: ignore[no-untyped-def]
    account = _linked_account(gateway, simulator, permissions=["transactions"])
    result = sync_transactions.sync_part(svc, ops, account["id"], None)
    assert result["done"] and result["waiting"]
    assert transaction_store.cursor_for(svc.engine, account["id"]) is None
    [row] = sync_rows(svc.engine, account["id"])  # as the one-go sync writes it
    assert row.outcome == "error" and "No transaction refresh" in (row.message or "")


def test_a_page_stripe_failed_to_answer_is_asked_again(svc, gateway, simulator, ops) -> None:  # type: ignore[no-untyped-def]
    account = subscribed_account(svc, gateway, simulator, ops)
    first = sync_transactions.sync_part(svc, ops, account["id"], None, pages=1)
    assert not first["done"]
    simulator.force_faults("500", 2)
    try:
        second = sync_transactions.sync_part(svc, ops, account["id"], first, pages=1)
    finally:
        simulator.clear_faults()
    assert second["fetched"] == first["fetched"] + 1  # the next page, read once it answered
    assert not [r for r in sync_rows(svc.engine, account["id"]) if r.outcome == "error"]


def test_a_part_checks_the_role_and_audits_the_refusal(svc, gateway, simulator, manager) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Forbidden):
        sync_transactions.sync_part(svc, None, "fca_nobody", None)
    [row] = sync_rows(svc.engine, "fca_nobody")
    assert row.outcome == "refused"
