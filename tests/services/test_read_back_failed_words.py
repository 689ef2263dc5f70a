"""A change Stripe answered with a 500, whose read back failed too (``ReadBackFailed``): the
change may have happened, and nothing showed whether it did. Each page says it in its own words
(``services.errors.read_failed``): "Stripe did not confirm X (a server error, Stripe request …),
so …, and reading <the object> back failed too: <where to look>; press <button> again only if
…" (a refresh: the read's own error instead). The audit row stays ``unknown`` with where to look.
Through the real SDK against the sandbox: the POST and the read right after it meet a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from services.context import Services
from services.errors import ReadBackFailed
from services.usecases import collect_cancel, refresh_balance, sync_transactions
from tests.services.conftest import audit_rows, fault_before, linked_account, new_key
from tests.services.test_unconfirmed_changes import _open_intent, _open_link


def _account(svc: Services, ops: Any, simulator: Any) -> tuple[str, str]:
    fca = linked_account(svc.gateway, simulator)
    return fca, fca


def _subscribed(svc: Services, ops: Any, simulator: Any) -> tuple[str, str]:
    fca = linked_account(svc.gateway, simulator)
    sync_transactions.subscribe(svc, ops, fca, idempotency_key=new_key())
    return fca, fca


def _cancel(svc: Services, ops: Any, request: str, key: str) -> Any:
    return collect_cancel.cancel_request(svc, ops, request, reason=None, idempotency_key=key)


@dataclass(frozen=True)
class Change:
    """Its set-up (the request or account it changes, the object read back), the call, the POST
    the 500s meet, its audit action, the page's sentence and the row's ({request}, {changed},
    {rid}: the 500's request ID, the row's)."""

    made: Callable[[Services, Any, Any], tuple[str, str]]
    send: Callable[[Services, Any, str, str], Any]
    method: str
    action: str
    said: str
    row: str


LOOK = "Sync from Stripe in Open requests shows whether {request} is still open; press Cancel "
CHANGES = {
    "setup intent": Change(
        _open_intent,
        _cancel,
        "cancel_setup_intent",
        "collect.cancel",
        "Stripe did not confirm the cancellation of {request} (a server error, Stripe request "
        "{rid}), so it may have been canceled, and reading the SetupIntent back failed too: "
        + LOOK + "request again only if it is.",
        "Stripe did not confirm the cancellation of {request} (a server error), so it may have "
        "been canceled; Sync from Stripe in Open requests shows its status.",
    ),
    "link expiry": Change(
        _open_link,
        _cancel,
        "expire_checkout_session",
        "collect.cancel",
        "Stripe did not confirm the expiry of link {changed} (a server error, Stripe request "
        "{rid}), so it may have expired, and reading the link back failed too: "
        + LOOK + "request again only if it is.",
        "Stripe did not confirm the expiry of link {changed} (a server error), so it may have "
        "been canceled; Sync from Stripe in Open requests shows its status.",
    ),
    "subscribe": Change(
        _account,
        lambda svc, ops, fca, key: sync_transactions.subscribe(svc, ops, fca, idempotency_key=key),
        "subscribe_transactions",
        "transactions.subscribe",
        "Stripe did not confirm the transactions subscription (a server error, Stripe request "
        "{rid}), so it may have been made, and reading the account back failed too: Transactions "
        "shows whether the account is subscribed; press Subscribe again only if it is not.",
        "Stripe did not confirm the subscription of {request} (a server error), so it may be "
        "subscribed after all; Transactions shows whether the account is subscribed.",
    ),
    "unsubscribe": Change(
        _subscribed,
        lambda svc, ops, fca, key: sync_transactions.unsubscribe(
            svc, ops, fca, idempotency_key=key
        ),
        "unsubscribe_transactions",
        "transactions.unsubscribe",
        "Stripe did not confirm the end of the transactions subscription (a server error, Stripe "
        "request {rid}), so it may have ended, and reading the account back failed too: "
        "Transactions shows whether the account is subscribed; press Unsubscribe again only if "
        "it still is.",
        "Stripe did not confirm the unsubscription of {request} (a server error), so it may be "
        "unsubscribed after all; Transactions shows whether the account is subscribed.",
    ),
}


def _failed(svc: Services, simulator: Any, method: str, call: Callable[[], Any]) -> str:
    """``call`` with its POST and the read back after it answered by 500s: its sentence."""
    calls = fault_before(svc, simulator, method, "500", times=2)
    with pytest.raises(ReadBackFailed) as caught:
        call()
    assert calls
    return str(caught.value)


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_whose_read_back_failed_says_where_to_look_before_pressing_again(
    services_ctx: Services, simulator: Any, ops: Any, change: str
) -> None:
    case = CHANGES[change]
    request, changed = case.made(services_ctx, ops, simulator)
    key = new_key()
    said = _failed(
        services_ctx, simulator, case.method, lambda: case.send(services_ctx, ops, request, key)
    )
    (row,) = audit_rows(services_ctx, case.action, key)
    assert row.outcome == "unknown" and row.stripe_request_id, row.message
    named = {"request": request, "changed": changed, "rid": row.stripe_request_id}
    assert said == case.said.format(**named)
    assert row.message == case.row.format(**named)


def test_a_refresh_whose_read_back_failed_says_the_reads_error(
    services_ctx: Services, simulator: Any, admin: Any
) -> None:
    """The refresh's words, built by the same helper (``read_failed`` without a place to look):
    the read's own error after them."""
    fca = linked_account(services_ctx.gateway, simulator)
    key = new_key()
    said = _failed(
        services_ctx,
        simulator,
        "refresh_account",
        lambda: refresh_balance.refresh(services_ctx, admin, fca, "balance", idempotency_key=key),
    )
    (row,) = audit_rows(services_ctx, "account.refresh", key)
    start = (
        f"Stripe did not confirm the balance refresh (a server error, Stripe request "
        f"{row.stripe_request_id}), so it may have started, and reading the account back failed "
        "too: Stripe had a temporary problem (HTTP 500). Try again in a minute. (Stripe request "
    )
    assert said.startswith(start) and said.endswith(")"), said
    assert row.message == (
        "Stripe did not confirm the balance refresh (a server error), so it may have started; "
        "the account's balance refresh state (Accounts) shows whether it did."
    )
