"""Opening an account when Stripe cannot be read: the store's copy, marked as such.

``browse_accounts.account_detail`` reads Stripe; when that read fails with Stripe unavailable
(a 500, a timeout, a rate limit) it returns the account the store holds, saying it is the stored
copy, when it was stored and why Stripe was not read. Faults are forced on the sandbox, so the
failure travels the real SDK path.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlmodel import func, select

from services.adapters import account_mirror
from services.adapters.models import AccountRecord, AuditEntry
from services.adapters.store import session_scope
from services.context import Services
from services.errors import NotFound, StripeUnavailable
from services.rules.bank_account import EVENT_STAMP, StoredCopy
from services.usecases import browse_accounts, refresh_balance
from tests.services.test_accounts import fake_account, make_customer


def audit_count(engine: Any) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(AuditEntry)).one())


def stored_row(engine: Any, account_id: str) -> dict[str, Any]:
    with session_scope(engine) as session:
        row = session.get(AccountRecord, account_id)
        assert row is not None
        return row.model_dump()


def test_a_read_that_fails_after_a_refresh_started_returns_the_stored_copy_saying_so(
    services_ctx: Services, gateway: Any, simulator: Any, sandbox_handle: Any, ops: Any
) -> None:
    _, [linked] = make_customer(gateway, simulator, accounts=1, prefetch=["balances"])
    account_id = linked["id"]
    before_read = int(time.time())
    browse_accounts.account_detail(services_ctx, ops, account_id)  # read once: now stored
    refresh_balance.refresh(
        services_ctx, ops, account_id, "ownership", idempotency_key=f"t-{account_id}"
    )
    audits, row = audit_count(services_ctx.engine), stored_row(services_ctx.engine, account_id)
    simulator.force_faults("500", 1)
    detail = browse_accounts.account_detail(services_ctx, ops, account_id)
    assert sandbox_handle.state.forced_faults_pending() == 0  # Stripe was asked, and failed
    assert detail.stored is not None
    assert "temporary problem" in detail.stored.reason
    assert before_read - 1 <= detail.stored.stored_at <= int(time.time()) + 1
    # The account as fcops stored it: who, which bank, its balance, and the refresh it started.
    assert (detail.row.id, detail.row.institution_name, detail.row.last4) == (
        account_id,
        linked["institution_name"],
        linked["last4"],
    )
    assert detail.row.balance_current is not None and detail.snapshots
    assert detail.refreshes["ownership"].pending
    assert detail.blockers["ownership"]  # a pending refresh: no second one
    assert detail.customer is not None and detail.customer.id == detail.row.customer_id
    assert detail.owners == [] and EVENT_STAMP not in detail.account
    assert detail.account["id"] == account_id and detail.account["last4"] == linked["last4"]
    # Nothing written by the read.
    assert audit_count(services_ctx.engine) == audits
    assert stored_row(services_ctx.engine, account_id) == row


def test_a_rate_limit_that_outlasts_the_backoff_also_returns_the_stored_copy(
    services_ctx: Services, gateway: Any, simulator: Any, ops: Any
) -> None:
    _, [linked] = make_customer(gateway, simulator, accounts=1)
    browse_accounts.account_detail(services_ctx, ops, linked["id"])
    simulator.force_faults("429", services_ctx.gateway.backoff.retries + 1)
    detail = browse_accounts.account_detail(services_ctx, ops, linked["id"])
    assert detail.stored is not None and "rate-limiting" in detail.stored.reason


def test_a_fresh_read_is_not_marked_stored(
    services_ctx: Services, gateway: Any, simulator: Any, ops: Any
) -> None:
    _, [linked] = make_customer(gateway, simulator, accounts=1)
    assert browse_accounts.account_detail(services_ctx, ops, linked["id"]).stored is None


def test_an_account_the_store_never_saw_still_raises_the_sentence(
    services_ctx: Services, simulator: Any, ops: Any
) -> None:
    simulator.force_faults("500", 1)
    with pytest.raises(StripeUnavailable, match="temporary problem"):
        browse_accounts.account_detail(services_ctx, ops, "fca_neverstored0001")


def test_stripe_saying_the_account_does_not_exist_is_not_covered_by_a_stored_copy(
    services_ctx: Services, ops: Any
) -> None:
    account_mirror.upsert_account(services_ctx.engine, fake_account(4242))  # Stripe has no such
    with pytest.raises(NotFound, match="no Financial Connections account"):
        browse_accounts.account_detail(services_ctx, ops, "fca_fake004242")


def test_the_stored_copy_sentence_says_when_it_was_stored_and_to_try_again() -> None:
    copy = StoredCopy(reason="Stripe had a temporary problem (HTTP 500).", stored_at=1_796_000_000)
    sentence = copy.sentence(now=1_796_000_000 + 7_200)
    assert sentence == (
        "Stripe could not be read just now; showing what fcops stored at 2026-11-30 00:53 UTC "
        "(2 h ago). Try again in a minute."
    )
    # A read that says when to try again itself is not contradicted by a second time (the
    # tester saw "Try again in a minute." and "Try again in a moment." in two banners).
    timed_out = StoredCopy(
        reason="Could not reach Stripe in 15 s (the connection failed or timed out); nothing "
        "was changed. Try again in a minute.",
        stored_at=1_796_000_000,
    )
    assert timed_out.sentence(now=1_796_000_000 + 7_200).endswith("(2 h ago).")
    assert copy.refresh_sentence("balance").startswith(
        "Balance refresh started; its outcome is not known yet"
    )
