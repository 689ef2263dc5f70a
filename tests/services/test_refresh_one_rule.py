"""One answer to "can this account be refreshed now?" on every page and in the batch.

Each account shape (Stripe's own example and variants of it the pinned types allow) is served
by a local stub through the real SDK; the Accounts detail, Ownership review, Transactions,
Balance check and the batch must agree with each other and with ``refresh_rule.judge``.
Before this rule, ``accounts.refresh_blocker`` allowed a refresh of Stripe's example account
(failed refresh, ``next_refresh_available_at: null``) and ``balances.refresh_state`` refused it.
``balances.refresh_state`` is gone: the debit check and the batch ask ``refresh_rule.judge``
directly, and ``browse_accounts.refresh_blocker`` adds only the role check in front of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from services.context import Services
from services.rules import refresh_rule
from services.rules.debit_csv import parse_debits_csv
from services.usecases import (
    browse_accounts,
    check_batch,
    check_debit,
    refresh_balance,
    review_ownership,
    view_transactions,
)
from tests.conftest import actor_for
from tests.stripe_shapes import NOW, account, fixture, refresh
from tests.stripe_stub import InstantClock, StripeStub, error

FCA = "fca_shape"
ACCOUNT_PATH = f"/v1/financial_connections/accounts/{FCA}"

SHAPES: dict[str, dict[str, Any]] = {
    "stripe's example as it is (no permissions)": {
        **fixture("financial_connections.account"),
        "id": FCA,
        "account_holder": {"customer": "cus_shape", "type": "customer"},
    },
    "failed refresh, next time null (Stripe's example, permissions granted)": account(FCA),
    "never refreshed": account(
        FCA, balance_refresh=None, ownership_refresh=None, transaction_refresh=None
    ),
    "pending": account(
        FCA,
        balance_refresh=refresh("pending", attempted=NOW - 5),
        ownership_refresh=refresh("pending", attempted=NOW - 5),
        transaction_refresh=refresh("pending", attempted=NOW - 5, id="fctxnref_p"),
    ),
    "throttled for an hour": account(
        FCA,
        balance_refresh=refresh("succeeded", next_at=NOW + 3600),
        ownership_refresh=refresh("succeeded", next_at=NOW + 3600),
        transaction_refresh=refresh("succeeded", next_at=NOW + 3600, id="fctxnref_t"),
    ),
    "waiting time over": account(
        FCA,
        balance_refresh=refresh("succeeded", next_at=NOW - 60),
        ownership_refresh=refresh("failed", next_at=NOW - 60),
        transaction_refresh=refresh("succeeded", next_at=NOW - 60, id="fctxnref_w"),
    ),
    "inactive": account(FCA, status="inactive"),
    "disconnected": account(FCA, status="disconnected"),
    "balances permission only": account(FCA, permissions=["balances", "payment_method"]),
    "no balances permission": account(
        FCA, permissions=["ownership", "payment_method", "transactions"]
    ),
    "succeeded, next time null": account(
        FCA,
        balance_refresh=refresh("succeeded", next_at=None),
        ownership_refresh=refresh("succeeded", next_at=None),
        transaction_refresh=refresh("succeeded", next_at=None, id="fctxnref_n"),
    ),
}


@pytest.fixture
def stub() -> Iterator[StripeStub]:
    with StripeStub() as served:
        served.on("GET", "/v1/customers/cus_shape", {**fixture("customer"), "id": "cus_shape"})
        yield served


def _svc(stub: StripeStub, engine: Engine) -> Services:
    return Services(gateway=stub.gateway(), engine=engine, mode="test", now=lambda: NOW)


def _started(shape: dict[str, Any]) -> dict[str, Any]:
    """What Stripe answers when it starts a balance refresh of ``shape``."""
    return {**shape, "balance_refresh": refresh("pending", attempted=NOW)}


def _batch_refreshes(stub: StripeStub, svc: Services) -> bool:
    planned, _ = parse_debits_csv(f"id,amount\n{FCA},10.00\n")
    check_batch.run_batch(
        svc, actor_for("admin"), planned, refresh_stale=True, wait_seconds=0, clock=InstantClock()
    )
    return stub.calls("POST", f"{ACCOUNT_PATH}/refresh") > 0


@pytest.mark.parametrize("name", list(SHAPES))
def test_every_page_and_the_batch_give_the_rules_answer(
    name: str, stub: StripeStub, sqlite_engine: Engine
) -> None:
    shape = SHAPES[name]
    stub.on("GET", ACCOUNT_PATH, shape)
    stub.on("POST", f"{ACCOUNT_PATH}/refresh", _started(shape))
    svc = _svc(stub, sqlite_engine)
    admin = actor_for("admin")
    rule = {f: refresh_rule.judge(shape, f, now=NOW) for f in refresh_rule.FEATURES}

    detail = browse_accounts.account_detail(svc, admin, FCA)
    assert {f: detail.blockers[f] is None for f in rule} == {f: v.allowed for f, v in rule.items()}
    assert {f: detail.blockers[f] or "" for f in rule} == {f: v.reason for f, v in rule.items()}

    report = review_ownership.check_account(svc, admin, FCA)
    assert (report.refresh_blocker is None) == rule["ownership"].allowed

    status = view_transactions.transaction_status(svc, admin, FCA)
    assert status.can_refresh == rule["transactions"].allowed
    assert status.why_not == rule["transactions"].reason

    check = check_debit.check_debit(svc, admin, FCA, 1000, "usd")
    assert check.before.can_refresh_now == rule["balance"].allowed

    stale = check.before.verdict == "stale"
    assert stale or shape["status"] != "active" or "balances" not in shape["permissions"]
    if stale:  # the batch refreshes stale balances only, and exactly when the rule allows
        assert _batch_refreshes(stub, svc) == rule["balance"].allowed


def test_stripes_example_shape_is_refreshable_and_both_old_helpers_now_agree() -> None:
    shape = SHAPES["failed refresh, next time null (Stripe's example, permissions granted)"]
    assert shape["balance_refresh"] == {
        "last_attempted_at": 1981828143,
        "next_refresh_available_at": None,
        "status": "failed",
    }
    assert browse_accounts.refresh_blocker(shape, "balance", now=NOW) is None
    verdict = refresh_rule.judge(shape, "balance", now=NOW)
    assert (verdict.allowed, verdict.until, verdict.reason) == (True, None, "")


def test_a_refresh_stripe_answers_without_starting_is_reported_as_not_started(
    stub: StripeStub, sqlite_engine: Engine
) -> None:
    shape = SHAPES["failed refresh, next time null (Stripe's example, permissions granted)"]
    stub.on("GET", ACCOUNT_PATH, shape)
    # Stripe answers 200 with the account unchanged: nothing was started.
    stub.on("POST", f"{ACCOUNT_PATH}/refresh", shape)
    svc = _svc(stub, sqlite_engine)
    from services.errors import RefreshNotAllowed

    with pytest.raises(RefreshNotAllowed, match="Stripe did not start the balance refresh"):
        refresh_balance.refresh(svc, actor_for("ops"), FCA, "balance", idempotency_key="k-1")
    check = check_debit.check_debit(
        svc, actor_for("finance"), FCA, 1000, "usd", refresh_stale=True, clock=InstantClock()
    )
    assert check.refresh is not None and not check.refresh.requested
    assert "did not start" in (check.refresh.message or "")
    assert check.after is None  # nothing new to judge


def test_stripes_refusal_sentence_reaches_the_person(
    stub: StripeStub, sqlite_engine: Engine
) -> None:
    from services.errors import RefreshNotAllowed

    shape = SHAPES["waiting time over"]
    stub.on("GET", ACCOUNT_PATH, shape)
    sentence = "You cannot refresh balance for fca_shape because the account is being migrated."
    stub.on("POST", f"{ACCOUNT_PATH}/refresh", error(400, sentence))
    svc = _svc(stub, sqlite_engine)
    with pytest.raises(RefreshNotAllowed) as err:
        refresh_balance.refresh(svc, actor_for("ops"), FCA, "balance", idempotency_key="k-3")
    assert sentence in str(err.value)
    inactive = error(400, "The account is inactive.", code="financial_connections_account_inactive")
    stub.on("POST", f"{ACCOUNT_PATH}/refresh", inactive)
    with pytest.raises(RefreshNotAllowed, match="The account is inactive."):
        refresh_balance.refresh(svc, actor_for("ops"), FCA, "balance", idempotency_key="k-4")
    assert stub.calls("POST", f"{ACCOUNT_PATH}/refresh") == 2
