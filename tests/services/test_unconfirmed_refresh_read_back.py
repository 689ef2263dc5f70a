"""Accounts' Refresh (and the other changes ``settle`` reads back) after a 5xx on its POST.

A 500 is Stripe's answer, not a confirmation: Stripe may have made the change before failing,
and it saves the 500 under the key (a replay only answers it again). So the account is read
back once: the refresh is there (``500_done``) → started, as any refresh (the page follows it),
its audit row ``unknown`` (Stripe did not confirm it) saying the read showed it; not there
(``500``) → ``ChangeNotMade`` saying "Refresh balance again is safe", and it is (the gateway spent the
key: the next request is new and starts one refresh). The read failing too says both. Through
the real SDK against a private sandbox, the fault aimed at the refresh POST
(``fault_on_refresh``, shared with Balance check's tests).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlmodel import select

from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.context import Services
from services.errors import ChangeNotMade, ReadBackFailed
from services.usecases import refresh_balance, sync_transactions
from tests.services.conftest import linked_account
from tests.services.test_unconfirmed_balance_refresh import (  # Balance check's sandbox options
    box_options,
    fault_on_refresh,
    refresh_rows,
    stale_account,
)

__all__ = ["box_options"]  # the fixture, shared with Balance check's tests

NOT_CONFIRMED = "Stripe did not confirm the balance refresh (a server error, Stripe request req_"


def refresh(services: Services, actor: Any, fca: str, key: str) -> dict[str, Any]:
    return refresh_balance.refresh(services, actor, fca, "balance", idempotency_key=key)


def test_a_500_after_stripe_made_the_refresh_is_a_refresh_started(
    svc: Services, gw: Any, sim: Any, box: Any, admin: Any
) -> None:
    fca = stale_account(gw, sim, box)
    before = gw.retrieve_account(fca)["balance_refresh"]
    box.state.config.refresh_delay = 3600  # still running when read back: the page follows it
    try:
        fault_on_refresh(gw, sim, "500_done")
        started = refresh_balance.refresh_started(
            svc, admin, fca, "balance", idempotency_key="test-accounts-500-done"
        )
    finally:
        box.state.config.refresh_delay = 0
    assert started.server_error is not None  # Stripe answered a 500 …
    assert started.account["balance_refresh"]["status"] == "pending"  # … and had started it
    now = gw.retrieve_account(fca)["balance_refresh"]
    assert now["last_attempted_at"] > before["last_attempted_at"]
    [row] = refresh_rows(svc, fca)
    assert row.outcome == "unknown"
    assert row.message == (
        "Stripe did not confirm the balance refresh (a server error), though reading it back "
        "shows it was made: Balance refresh started (pending)."
    )
    assert row.stripe_request_id == started.server_error.request_id  # the 500's, not the read's


def test_a_500_that_made_nothing_says_refresh_again_is_safe_and_it_is(
    svc: Services, gw: Any, sim: Any, box: Any, admin: Any
) -> None:
    fca = stale_account(gw, sim, box)
    before = gw.retrieve_account(fca)["balance_refresh"]
    fault_on_refresh(gw, sim, "500")
    with pytest.raises(ChangeNotMade) as caught:
        refresh(svc, admin, fca, "test-accounts-500")
    said = str(caught.value)
    assert said.startswith(NOT_CONFIRMED), said
    assert said.endswith(
        "so it may have started; the account read back shows Stripe did not start it: Refresh "
        "balance again is safe."
    ), said
    assert gw.retrieve_account(fca)["balance_refresh"] == before  # truly not started
    # The same key replays the saved 500 (the sandbox as Stripe); a new one starts it once.
    with pytest.raises(ChangeNotMade):
        refresh(svc, admin, fca, "test-accounts-500")
    again = refresh(svc, admin, fca, "test-accounts-500-again")
    assert again["balance_refresh"]["last_attempted_at"] > before["last_attempted_at"]
    assert [r.outcome for r in refresh_rows(svc, fca)] == ["unknown", "unknown", "ok"]


def test_a_500_whose_read_back_fails_too_says_both(
    svc: Services, gw: Any, sim: Any, box: Any, admin: Any
) -> None:
    fca = stale_account(gw, sim, box)
    fault_on_refresh(gw, sim, "500", "500")  # the POST, then the one read of the account
    with pytest.raises(ReadBackFailed) as caught:
        refresh(svc, admin, fca, "test-accounts-500-500")
    said = str(caught.value)
    assert said.startswith(NOT_CONFIRMED), said
    assert "so it may have started, and reading the account back failed too: Stripe had a " in said
    assert [r.outcome for r in refresh_rows(svc, fca)] == ["unknown"]


def test_a_subscription_stripe_made_before_its_500_is_subscribed(
    svc: Services, gw: Any, sim: Any, box: Any, ops: Any
) -> None:
    """Another ``settle`` caller: the account's subscriptions read back decide."""
    fca = linked_account(svc.gateway, sim)  # linked with the transactions permission
    original = gw.subscribe_transactions

    def faulted(*args: Any, **kwargs: Any) -> Any:
        sim.force_faults("500_done", 1)
        return original(*args, **kwargs)

    gw.subscribe_transactions = faulted
    account = sync_transactions.subscribe(svc, ops, fca, idempotency_key="test-sub-500-done")
    assert "transactions" in account["subscriptions"]
    with session_scope(svc.engine) as session:
        [row] = session.exec(
            select(AuditEntry).where(AuditEntry.idempotency_key == "test-sub-500-done")
        ).all()
    assert row.outcome == "unknown"
    assert (row.message or "").startswith(
        f"Stripe did not confirm the subscription of {fca} (a server error), though reading it "
        "back shows it was made: "
    ), row.message


def _batch(svc: Services, fca: str) -> Any:
    from services.auth import Actor
    from services.rules.debit_csv import parse_debits_csv
    from services.usecases import check_batch

    planned, _ = parse_debits_csv(f"id,amount\n{fca},1.00")
    return check_batch.run_batch(
        svc, Actor("fin", "finance"), planned, refresh_stale=True, max_requests_per_second=1_000
    )


def test_batch_check_after_a_500_that_made_the_refresh_uses_it(
    svc: Services, gw: Any, sim: Any, box: Any
) -> None:
    """Batch check's refreshes settle through the same read back: no longer "not started"."""
    fca = stale_account(gw, sim, box)
    fault_on_refresh(gw, sim, "500_done")
    result = _batch(svc, fca)
    assert result.refreshed == [fca] and not result.unrefreshed
    [row] = result.rows
    assert row.refreshed and row.verdict == "ok", row.reasons


def test_batch_check_after_a_500_says_what_the_read_back_showed(
    svc: Services, gw: Any, sim: Any, box: Any
) -> None:
    fca = stale_account(gw, sim, box)
    fault_on_refresh(gw, sim, "500")  # nothing done: not started, and the row says so
    result = _batch(svc, fca)
    assert result.unrefreshed[fca][0] == "not started"
    [row] = result.rows
    # The batch's words (services.errors.not_made): the next run sends the key's next variant.
    assert re.fullmatch(
        r"Stripe did not confirm the balance refresh \(a server error, Stripe request req_\w+\), "
        r"so it may have started; the account read back shows it did not: Run batch check again "
        r"is safe\.",
        row.reasons[-1],
    ), row.reasons
    assert _batch(svc, fca).refreshed == [fca]  # and it is: the next run refreshes it
    other = stale_account(gw, sim, box)
    fault_on_refresh(gw, sim, "500", "500")  # the read back fails too: it may have started
    result = _batch(svc, other)
    assert result.unrefreshed[other][0] == "unconfirmed"
    assert "1 refresh may have started, but Stripe did not confirm it" in result.summary().said()
    [row] = result.rows
    assert re.fullmatch(  # a refresh's words (services.errors.read_failed): the read's error
        r"Stripe did not confirm the balance refresh \(a server error, Stripe request req_\w+\), "
        r"so it may have started, and reading the account back failed too: Stripe had a temporary "
        r"problem \(HTTP 500\)\. Try again in a minute\. \(Stripe request req_\w+\)",
        row.reasons[-1],
    ), row.reasons


def test_a_verification_after_a_500_is_not_replayed(
    svc: Services, gw: Any, sim: Any, box: Any, ops: Any
) -> None:
    """A ``settle`` caller whose read back is the same request again (``same_key``): after a
    500 the replay would only answer the 500, so it is not sent, and the sentence stays."""
    from services.errors import StripeUnavailable
    from services.usecases import microdeposits
    from tests.services.test_unconfirmed_changes import _setup_intent

    intent = _setup_intent(svc, ops)
    sim.manual_entry(intent, microdeposit_type="descriptor_code")
    sim.microdeposits_arrive(intent)
    original, sent = gw.verify_microdeposits, []

    def faulted(*args: Any, **kwargs: Any) -> Any:
        if not sent:
            sim.force_faults("500", 1)
        sent.append(1)
        return original(*args, **kwargs)

    gw.verify_microdeposits = faulted
    with pytest.raises(StripeUnavailable) as caught:
        microdeposits.verify_microdeposits(
            svc, ops, intent, descriptor_code="SM11AA", idempotency_key="test-verify-500"
        )
    assert len(sent) == 1
    assert str(caught.value).startswith(
        "Stripe did not confirm the verification: it had a server error"
    ), caught.value


def test_balance_check_whose_read_before_the_refresh_fails_keeps_the_stale_verdict(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Any
) -> None:
    """A 500 on the account read before the POST: nothing was sent, so "did not start" (not
    "did not confirm"), the stale verdict stays, and the audit row is ``error``."""
    from services.usecases import check_debit

    fca = stale_account(gw, sim, box)
    original, reads = gw.retrieve_account, []

    def faulted(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        if len(reads) == 2:  # the check's own read, then the refresh's read before its POST
            sim.force_faults("500", 1)
        return original(*args, **kwargs)

    gw.retrieve_account = faulted
    done = check_debit.check_debit(svc, finance, fca, 10_000, "usd", refresh_stale=True)
    assert done.refresh is not None and not done.refresh.unconfirmed
    assert done.refresh.message.startswith(
        "Stripe did not start the refresh: Stripe had a temporary problem (HTTP 500)"
    ), done.refresh.message
    assert not done.refresh.requested and done.verdict == "stale"
    assert [r.outcome for r in refresh_rows(svc, fca)] == ["error"]
