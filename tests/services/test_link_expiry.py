"""A hosted link nobody used expires by itself at its ``expires_at`` (24 h after it was made),
and Stripe cancels its SetupIntent: Stripe's "Manage limited inventory" says "Checkout supports
both manual and timed session expiration. When a Checkout Session expires, its status property
changes to expired." The sandbox used to keep such a link open for ever, so fcops' paths for a
link that ran out were only reached by expiring it by hand.

Each test runs on its own sandbox: a day of sandbox time would run every job the shared one has
scheduled (daily transaction refreshes, microdeposit timeouts) under the other tests."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from services.context import Services
from services.errors import Conflict
from services.rules import request_state
from services.usecases import collect_cancel, collect_customers, collection_requests
from services.usecases.collect_reopen import current_link
from tests.services.test_unknown_outcomes import _svc

DAY = 24 * 3600


@pytest.fixture
def own_sandbox() -> Iterator[Any]:
    from sandbox.server import start_background

    handle = start_background(port=0, seed=5, customers=0, refresh_delay=0)
    yield handle
    handle.stop()


def _link_then_a_day(svc: Services, own_sandbox: Any, ops: Any) -> Any:
    email = f"expiry-{secrets.token_hex(4)}@example.com"
    customer = collect_customers.create_customer(
        svc, ops, email=email, name="Expiry Test", idempotency_key=f"cus-{email}"
    ).id
    link = collection_requests.create_hosted_link(
        svc, ops, customer_id=customer, idempotency_key=f"link-{email}"
    )
    assert link.expires_at is not None
    assert collection_requests.open_requests(svc, ops, customer_id=customer, from_stripe=True)
    from sandbox.client import Simulator

    Simulator(own_sandbox.base_url).advance_clock(DAY + 60)
    return link


def test_cancelling_a_link_that_ran_out_says_it_had_already_expired(
    own_sandbox: Any, sqlite_engine: Any, ops: Any
) -> None:
    svc = _svc(own_sandbox, sqlite_engine)
    link = _link_then_a_day(svc, own_sandbox, ops)
    with pytest.raises(Conflict, match="had already expired") as err:
        collect_cancel.cancel_request(
            svc, ops, link.id, reason="abandoned", idempotency_key=f"test-{secrets.token_hex(8)}"
        )
    assert link.checkout_session_id in str(err.value)
    assert svc.gateway.retrieve_setup_intent(link.id)["status"] == "canceled"


def test_a_link_that_ran_out_leaves_the_open_requests_and_reads_as_expired(
    own_sandbox: Any, sqlite_engine: Any, ops: Any
) -> None:
    svc = _svc(own_sandbox, sqlite_engine)
    link = _link_then_a_day(svc, own_sandbox, ops)
    assert (
        collection_requests.open_requests(svc, ops, customer_id=link.customer_id, from_stripe=True)
        == []
    )
    fresh = current_link(svc, ops, link)
    assert fresh is not None and fresh.checkout_status == "expired"
    view = collection_requests.intent_view(svc, ops, link.id)
    assert view.status == "canceled"
    assert request_state.ended(fresh, view.status, now=svc.now()) == "its link expired"
