"""Deactivation ahead of time (issue 7, B7): Stripe's announcement reaches the mirror, the list
filter, the ops overview, the account detail and the pre-debit checks — on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from bootstrap import SANDBOX_KEY
from sandbox.client import Simulator
from sandbox.server import start_background
from services.adapters.gateway import StripeGateway
from services.adapters.store import create_schema, open_store
from services.context import Services
from services.rules.debit_csv import parse_debits_csv
from services.usecases import (
    browse_accounts,
    check_batch,
    check_debit,
    export_accounts,
    overview,
    sync_accounts,
)
from tests.services.test_accounts import make_customer

DAY = 86_400


@pytest.fixture(scope="module")
def own_sandbox() -> Iterator[Any]:
    """A sandbox of this module's own: the test moves its clock by days."""
    handle = start_background(port=0, seed=21, customers=3, refresh_delay=0)
    yield handle
    handle.stop()


@pytest.fixture
def svc(own_sandbox: Any, engine: Any) -> Services:
    gateway = StripeGateway(SANDBOX_KEY, base_url=own_sandbox.base_url, max_network_retries=0)
    return Services(gateway=gateway, engine=engine, mode="sandbox", now=own_sandbox.state.now)


def _date(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def test_an_announced_deactivation_flows_from_stripes_events_to_every_place_it_matters(
    svc: Services, own_sandbox: Any, ops: Any, admin: Any
) -> None:
    store_svc, gateway, sandbox_handle = svc, svc.gateway, own_sandbox
    simulator = Simulator(own_sandbox.base_url)
    customer, [account, other] = make_customer(gateway, simulator, accounts=2)
    sync_accounts.sync_accounts(store_svc, ops)  # the mirror before the announcement
    expected = sandbox_handle.state.now() + 9 * DAY
    simulator.announce_deactivation(account["id"], expected_deactivation_date=expected)

    result = sync_accounts.sync_accounts(store_svc, ops)  # incremental: from the event alone
    assert not result.full and result.events >= 1
    listed = browse_accounts.list_accounts(
        store_svc, ops, customer_id=customer["id"], relink_needed=True
    )
    assert [r.id for r in listed.rows] == [account["id"]]
    assert listed.rows[0].relink_required_by == expected
    every = browse_accounts.list_accounts(store_svc, ops, customer_id=customer["id"])
    assert {r.id: r.relink_required_by for r in every.rows} == {
        account["id"]: expected,
        other["id"]: None,
    }
    ops_view = overview.ops_overview(store_svc.engine, now=store_svc.now())
    assert ops_view.relink_needed >= 1 and ops_view.relink_soonest is not None
    assert ops_view.relink_soonest <= expected

    exported = export_accounts.export_accounts_csv(
        store_svc, ops, customer_id=customer["id"], relink_needed=True
    ).decode()
    assert _date(expected) in exported and other["id"] not in exported

    check = check_debit.check_debit(store_svc, admin, account["id"], 100, "usd")
    assert any(r.startswith(f"Relink needed by {_date(expected)}") for r in check.final.reasons)
    planned, _ = parse_debits_csv(f"id,amount\n{account['id']},1.00\n{other['id']},1.00\n")
    batch = check_batch.run_batch(store_svc, admin, planned, refresh_stale=False)
    by_account = {r.account_id: " ".join(r.reasons) for r in batch.rows}
    assert "Relink needed by" in by_account[account["id"]]
    assert "Relink needed" not in by_account[other["id"]]

    # The date moves, then passes: the mirror follows, and an inactive account needs no relink
    # filter (it has its own status).
    later = expected + 3 * DAY
    simulator.announce_deactivation(account["id"], expected_deactivation_date=later)
    sync_accounts.sync_accounts(store_svc, ops)
    [moved] = browse_accounts.list_accounts(
        store_svc, ops, customer_id=customer["id"], relink_needed=True
    ).rows
    assert moved.relink_required_by == later
    simulator.advance_clock(later - sandbox_handle.state.now() + 60)
    sync_accounts.sync_accounts(store_svc, ops)
    after = {
        r.id: r
        for r in browse_accounts.list_accounts(store_svc, ops, customer_id=customer["id"]).rows
    }
    assert after[account["id"]].status == "inactive"
    assert after[account["id"]].relink_required_by is None


def test_an_older_store_gets_the_new_column_when_it_opens(db_url: str) -> None:
    """``create_all`` adds tables, not columns: a store from before B7 gains the column."""
    engine = open_store(db_url)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX IF EXISTS ix_fc_accounts_relink_required_by"))
        conn.execute(text('ALTER TABLE fc_accounts DROP COLUMN "relink_required_by"'))
    create_schema(engine)  # what open_store does at start-up
    with engine.begin() as conn:
        conn.execute(text("SELECT relink_required_by FROM fc_accounts")).all()
    engine.dispose()
