"""A batch check job with the app's webhook endpoint registered (the sandbox delivers signed
events to ``POST /webhooks/stripe``, the DBOS workflow applies them to the mirror): accounts are
read from the mirror and the refresh completes from its ``refreshed_balance`` event, so the
job's only Stripe request is the refresh. On SQLite and on PostgreSQL (the package fixture)."""

from __future__ import annotations

import time
from typing import Any

from services.adapters import account_mirror, mirror_live
from services.adapters.models import AccountRecord
from services.adapters.store import session_scope
from services.auth import Actor
from services.rules.debit_csv import parse_debits_csv
from services.usecases import browse_accounts, jobs, sync_accounts
from tests.background.test_jobs import wait_done

ADMIN = Actor("admin", "admin")
FINANCE = Actor("finance", "finance")
DAY = 86_400


def announce_balance(app: Any, account_id: str, *, age: int, next_in: int) -> int:
    """The bank's last figure ``age`` seconds old, announced by an event as after a refresh."""
    state = app.sandbox.state
    with state.lock:
        account = state.lookup(account_id)
        now = state.now()
        account["balance"] = {
            "as_of": now - age, "type": "cash", "current": {"usd": 5_000_000},
            "cash": {"available": {"usd": 5_000_000}},
        }
        account["balance_refresh"] = {
            "status": "succeeded", "last_attempted_at": now - age,
            "next_refresh_available_at": now + next_in,
        }
        state.emit("financial_connections.account.refreshed_balance", account)
    return int(now - age)


def wait_mirrored(app: Any, account_id: str, as_of: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(app.engine) as session:
            row = session.get(AccountRecord, account_id)
            if row is not None and row.balance_as_of == as_of:
                return
        time.sleep(0.05)
    raise AssertionError(f"the event for {account_id} did not reach the mirror")


def refreshable(app: Any) -> list[str]:
    """Mirrored accounts (synced first if none are) whose balance Stripe may refresh."""
    if not account_mirror.mirrored_account_count(app.engine):
        sync_accounts.sync_accounts(app.services, ADMIN, full=True)
    return [
        r.id
        for r in browse_accounts.list_accounts(app.services, ADMIN, page_size=100).rows
        if r.status == "active" and "balances" in r.permissions
        and r.balance_refresh_status != "pending"
    ]


def test_a_batch_job_reads_the_live_mirror_and_completes_its_refresh_from_the_event(
    fcops: Any,
) -> None:
    app, _ = fcops
    candidates = refreshable(app)
    assert len(candidates) >= 2
    fresh, stale = candidates[:2]
    wait_mirrored(app, fresh, announce_balance(app, fresh, age=60, next_in=3_600))
    wait_mirrored(app, stale, announce_balance(app, stale, age=2 * DAY, next_in=-1))
    assert mirror_live.live_since(app.engine) is not None

    planned, _ = parse_debits_csv(f"id,amount\n{fresh},10.00\n{stale},10.00\n{stale},12.00\n")
    view = wait_done(jobs.start_batch_check(FINANCE, planned, refresh_stale=True))
    assert view.status == "succeeded", view.error
    result = jobs.batch_result(FINANCE, view.id)
    assert result is not None
    assert result.from_mirror == 2 and result.requests == 1 and result.refreshed == [stale]
    assert [(r.account_id, r.verdict, r.refreshed) for r in result.rows] == [
        (fresh, "ok", False), (stale, "ok", True), (stale, "ok", True),
    ]  # fmt: skip
    with session_scope(app.engine) as session:  # the event brought the new balance
        row = session.get(AccountRecord, stale)
        assert row is not None and row.balance_refresh_status == "succeeded"
        assert row.balance_as_of is not None and row.balance_as_of > time.time() - 3_600
