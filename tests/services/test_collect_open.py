"""A customer's open collection requests: named before a second one is made, a create recorded
while it runs (so a reload or a colleague sees it), two people at once never both unwarned."""

from __future__ import annotations

import secrets
import threading
from typing import Any

import pytest
from sqlmodel import select

from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.context import Services
from services.errors import Forbidden
from services.usecases import collect_customers, collection_requests
from services.usecases.collect_open import OpenRequestsExist, creation, customer_requests
from tests.conftest import actor_for


def _customer(svc: Services, ops: Any) -> str:
    email = f"open-{secrets.token_hex(4)}@example.com"
    return collect_customers.create_customer(
        svc, ops, email=email, name="Open Test", idempotency_key=f"cus-{email}"
    ).id


def _key() -> str:
    return f"test-{secrets.token_hex(8)}"


def _setup_intents(svc: Services, customer: str) -> list[str]:
    return [si["id"] for si in svc.gateway.iter_setup_intents(customer=customer)]


def test_a_customers_open_requests_name_the_link_who_made_it_and_when(services_ctx, ops) -> None:  # type: ignore[no-untyped-def]
    customer = _customer(services_ctx, ops)
    assert customer_requests(services_ctx, ops, customer) == []
    link = collection_requests.create_hosted_link(
        services_ctx, ops, customer_id=customer, idempotency_key=_key()
    )
    [one] = customer_requests(services_ctx, ops, customer)
    assert (one.kind, one.request_id, one.link_id, one.by) == (
        "link", link.id, link.checkout_session_id, "test-ops"
    )
    assert one.address == link.checkout_session_id and one.status == "requires_payment_method"
    with pytest.raises(Forbidden):
        customer_requests(services_ctx, actor_for("finance"), customer)


def test_a_second_request_is_refused_until_the_person_confirms_it_beside_the_first(
    services_ctx, ops
) -> None:  # type: ignore[no-untyped-def]
    customer = _customer(services_ctx, ops)
    first = collection_requests.create_setup_intent(
        services_ctx, ops, customer_id=customer, idempotency_key=_key(), open_seen=()
    )
    colleague = actor_for("admin")
    key = _key()
    with pytest.raises(OpenRequestsExist) as refused:
        collection_requests.create_setup_intent(
            services_ctx, colleague, customer_id=customer, idempotency_key=key, open_seen=()
        )
    assert [o.request_id for o in refused.value.requests] == [first.id]
    assert first.id in str(refused.value) and "Nothing was created" in str(refused.value)
    assert _setup_intents(services_ctx, customer) == [first.id]  # Stripe was not asked
    with session_scope(services_ctx.engine) as session:
        row = session.exec(
            select(AuditEntry).where(AuditEntry.idempotency_key == key)
        ).one()
    assert row.outcome == "refused" and row.params["open_requests"] == [first.id]
    # The same click again is asked again (a refusal made nothing to replay) ...
    with pytest.raises(OpenRequestsExist):
        collection_requests.create_setup_intent(
            services_ctx, colleague, customer_id=customer, idempotency_key=key, open_seen=()
        )
    # ... and made once confirmed beside the open one it named.
    second = collection_requests.create_setup_intent(
        services_ctx, colleague, customer_id=customer, idempotency_key=key, open_seen=(first.id,)
    )
    assert second.id != first.id
    assert sorted(_setup_intents(services_ctx, customer)) == sorted([first.id, second.id])
    # The same request again (same key) is a replay, not a second one: not asked.
    again = collection_requests.create_setup_intent(
        services_ctx, colleague, customer_id=customer, idempotency_key=key, open_seen=()
    )
    assert again.id == second.id and again.replayed


def test_a_create_is_seen_while_stripe_is_slow_and_a_colleagues_create_is_told(
    store_svc, simulator, ops
) -> None:  # type: ignore[no-untyped-def]
    services_ctx = store_svc  # on SQLite and on PostgreSQL (the rows two sessions race on)
    customer = _customer(services_ctx, ops)
    made: list[Any] = []
    simulator.force_faults("slow", 1, seconds=2.5)
    slow = threading.Thread(
        target=lambda: made.append(collection_requests.create_hosted_link(
            services_ctx, ops, customer_id=customer, idempotency_key=_key(), open_seen=()
        ))
    )
    slow.start()
    try:
        for _ in range(40):
            running = [o for o in customer_requests(services_ctx, ops, customer) if o.start_id]
            if running:
                break
            threading.Event().wait(0.05)
        [being] = running
        assert (being.kind, being.by, being.status, being.address) == ("link", "test-ops", "creating", None)
        assert creation(services_ctx, ops, being.start_id).outcome == "running"  # type: ignore[union-attr,arg-type]
        with pytest.raises(OpenRequestsExist) as refused:  # a colleague at the same moment
            collection_requests.create_setup_intent(
                services_ctx, actor_for("admin"), customer_id=customer, idempotency_key=_key(),
                open_seen=(),
            )
        assert [o.ref for o in refused.value.requests] == [being.ref]
    finally:
        slow.join(timeout=30)
    [link] = made
    done = creation(services_ctx, ops, being.start_id)  # type: ignore[arg-type]
    assert done is not None and done.outcome == "ok"
    assert (done.request_id, done.link_id) == (link.id, link.checkout_session_id)
    assert _setup_intents(services_ctx, customer) == [link.id]
    # Confirmed beside the create the colleague saw running: the link it made counts as seen.
    other = collection_requests.create_setup_intent(
        services_ctx, actor_for("admin"), customer_id=customer, idempotency_key=_key(),
        open_seen=(being.ref,),
    )
    assert other.id != link.id


def test_two_creates_started_together_are_never_both_made_unwarned(store_svc, ops) -> None:  # type: ignore[no-untyped-def]
    services_ctx = store_svc  # on SQLite and on PostgreSQL (the rows two sessions race on)
    customer = _customer(services_ctx, ops)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def create(user: str) -> None:
        barrier.wait()
        try:
            collection_requests.create_setup_intent(
                services_ctx, actor_for(user), customer_id=customer, idempotency_key=_key(),
                open_seen=(),
            )
            outcomes.append("made")
        except OpenRequestsExist:
            outcomes.append("asked")

    threads = [threading.Thread(target=create, args=(u,)) for u in ("ops", "admin")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) in (["asked", "made"], ["asked", "asked"])
    assert len(_setup_intents(services_ctx, customer)) == outcomes.count("made")
