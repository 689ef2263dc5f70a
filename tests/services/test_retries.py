"""Retries as Stripe does them (issue 7, B5), through the real SDK against a local stub.

Stripe's real rate-limit 429 asks for no retry, most 500s say ``Stripe-Should-Retry: false``
and are saved under their idempotency key; only an unanswered request keeps its outcome open.
So the gateway backs off on every 429 itself, a key Stripe answered with a failure is never sent
again for a new attempt, and a key whose request got no answer is.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from services.context import Services
from services.errors import OutcomeUnknown, RateLimited
from services.rules.debit_csv import parse_debits_csv
from services.usecases import browse_accounts, check_batch, check_debit, refresh_balance
from tests.conftest import actor_for, quick_backoff
from tests.stripe_shapes import DAY, NOW, account, refresh
from tests.stripe_stub import InstantClock, Reply, Seen, StripeStub

FCA = "fca_retry"
PATH = f"/v1/financial_connections/accounts/{FCA}"
STALE = account(
    FCA, balance_refresh=refresh("succeeded", attempted=NOW - 3 * DAY, next_at=NOW - 60)
)
STARTED = {**STALE, "balance_refresh": refresh("pending", attempted=NOW)}


def rate_limit() -> Reply:
    return Reply(
        {"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many"}},
        429,
    )


def server_error() -> Reply:
    return Reply(
        {"error": {"type": "api_error", "message": "An unknown error occurred"}},
        500,
        {"Stripe-Should-Retry": "false"},
    )


@pytest.fixture
def stub() -> Iterator[StripeStub]:
    with StripeStub() as served:
        served.on("GET", "/v1/customers/cus_shape", {"id": "cus_shape", "object": "customer"})
        yield served


def services_on(stub: StripeStub, engine: Engine, **gateway_options: object) -> Services:
    gateway = stub.gateway(**gateway_options)
    return Services(gateway=gateway, engine=engine, mode="test", now=lambda: NOW)


def keys(stub: StripeStub) -> list[str | None]:
    return [s.headers.get("idempotency-key") for s in stub.requests("POST", f"{PATH}/refresh")]


def test_every_call_backs_off_on_rate_limits_with_growing_jittered_waits(
    stub: StripeStub, sqlite_engine: Engine
) -> None:
    stub.on("GET", PATH, rate_limit(), rate_limit(), rate_limit(), STALE)
    backoff, slept = quick_backoff()
    svc = services_on(stub, sqlite_engine, backoff=backoff, max_network_retries=2)
    assert browse_accounts.fetch_account(svc, FCA)["id"] == FCA
    assert stub.calls("GET", PATH) == 4  # the SDK retried none of the 429s; the gateway did
    assert len(slept) == 3 and slept[0] < slept[2]
    assert all(0.25 * 2**n <= s <= 0.5 * 2**n for n, s in enumerate(slept))


def test_a_rate_limit_that_does_not_end_is_a_sentence_after_a_bounded_number_of_tries(
    stub: StripeStub, sqlite_engine: Engine
) -> None:
    stub.on("GET", PATH, rate_limit())
    backoff, slept = quick_backoff()
    svc = services_on(stub, sqlite_engine, backoff=backoff)
    with pytest.raises(RateLimited, match="rate-limiting"):
        browse_accounts.fetch_account(svc, FCA)
    assert stub.calls("GET", PATH) == backoff.retries + 1
    assert max(slept) <= backoff.max_seconds


def test_a_rate_limited_post_is_repeated_with_the_same_key(
    stub: StripeStub, sqlite_engine: Engine
) -> None:
    """A 429 is refused before anything runs (not saved), so the same key is right."""
    stub.on("GET", PATH, STALE)
    stub.on("POST", f"{PATH}/refresh", rate_limit(), STARTED)
    svc = services_on(stub, sqlite_engine, backoff=quick_backoff()[0])
    refresh_balance.refresh(svc, actor_for("ops"), FCA, "balance", idempotency_key="page-key-1")
    assert keys(stub) == ["page-key-1", "page-key-1"]


def test_after_a_saved_500_the_next_balance_check_refresh_uses_a_new_key(
    stub: StripeStub, sqlite_engine: Engine
) -> None:
    stub.on("GET", PATH, STALE)
    stub.on("POST", f"{PATH}/refresh", server_error(), STARTED)
    svc = services_on(stub, sqlite_engine, max_network_retries=2)
    finance = actor_for("finance")
    clock = InstantClock()
    first = check_debit.check_debit(
        svc, finance, FCA, 1000, "usd", refresh_stale=True, wait_seconds=0, clock=clock
    )
    assert first.refresh is not None and not first.refresh.requested
    assert first.refresh.message.startswith(  # a 500 may have started it: read back, it had not
        "Stripe did not confirm the balance refresh (a server error"
    )
    assert first.refresh.message.endswith("did not start it: Refresh balance now again is safe.")
    second = check_debit.check_debit(
        svc, finance, FCA, 1000, "usd", refresh_stale=True, wait_seconds=0, clock=clock
    )
    assert second.refresh is not None and second.refresh.requested
    failed, retried = keys(stub)  # one attempt each: Should-Retry false stops the SDK
    assert failed and retried == f"{failed}~2"


def test_after_a_saved_500_the_next_batch_refresh_uses_a_new_key(
    stub: StripeStub, sqlite_engine: Engine
) -> None:
    stub.on("GET", PATH, STALE)
    stub.on("POST", f"{PATH}/refresh", server_error(), STARTED)
    svc = services_on(stub, sqlite_engine)
    planned, _ = parse_debits_csv(f"id,amount\n{FCA},10.00\n")
    for _ in range(2):
        check_batch.run_batch(
            svc,
            actor_for("finance"),
            planned,
            refresh_stale=True,
            wait_seconds=0,
            clock=InstantClock(),
        )
    failed, retried = keys(stub)
    assert retried == f"{failed}~2"


def test_after_no_answer_the_retry_reuses_the_key(
    stub: StripeStub, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No answer, and the account read back never shows the refresh (the stub keeps it stale):
    the person is told it may still happen, and the key stays usable for the retry."""
    from services.adapters import backoff

    monkeypatch.setattr(backoff, "READ_BACK", backoff.ReadBack(tries=2, pause_seconds=0.01))

    def too_slow(_: Seen) -> Reply:
        time.sleep(0.8)
        return Reply(STARTED)

    stub.on("GET", PATH, STALE)
    stub.on("POST", f"{PATH}/refresh", too_slow, STARTED)
    svc = services_on(stub, sqlite_engine, timeout_seconds=0.3)
    ops = actor_for("ops")
    with pytest.raises(OutcomeUnknown, match="reading it back 2 times has not shown it yet"):
        refresh_balance.refresh(svc, ops, FCA, "balance", idempotency_key="page-key-2")
    assert svc.gateway.fresh_key("page-key-2") == "page-key-2"  # not spent
