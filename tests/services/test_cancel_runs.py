"""A cancel is recorded while it runs at Stripe (a reload during a slow Cancel lost it: the page
listed the request as open again and ops pressed Cancel a second time), a second cancel of the
same request meanwhile is refused before Stripe is called, and a refusal that changed nothing
(already canceled) is a ``NothingChanged`` the page shows as a notice."""

from __future__ import annotations

import secrets
import threading
from typing import Any

import pytest
from sqlmodel import select

from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.errors import Conflict, Forbidden, NothingChanged
from services.usecases import collect_cancel, collect_customers, collection_requests
from services.usecases.collect_cancel_runs import (
    CancelStillRunning,
    cancellation,
    cancels_running,
)
from services.usecases.collect_open import customer_requests
from tests.conftest import actor_for


def _key() -> str:
    return f"test-{secrets.token_hex(8)}"


def _request(svc: Any, ops: Any) -> str:
    email = f"cancel-run-{secrets.token_hex(4)}@example.com"
    customer = collect_customers.create_customer(
        svc, ops, email=email, name="Cancel Run", idempotency_key=f"cus-{email}"
    ).id
    return collection_requests.create_setup_intent(
        svc, ops, customer_id=customer, idempotency_key=_key()
    ).id


def _wait_running(svc: Any, ops: Any, ident: str) -> Any:
    for _ in range(60):
        if ident in (running := cancels_running(svc, ops, [ident])):
            return running[ident]
        threading.Event().wait(0.05)
    raise AssertionError(f"the cancel of {ident} was never seen running")


def test_a_slow_cancel_is_seen_running_then_its_outcome_and_a_second_is_refused(
    store_svc, simulator, ops
) -> None:  # type: ignore[no-untyped-def]
    services_ctx = store_svc  # on SQLite and on PostgreSQL (the rows two sessions race on)
    ident = _request(services_ctx, ops)
    done: list[Any] = []
    simulator.force_faults("slow", 1, seconds=2.5)
    slow = threading.Thread(target=lambda: done.append(collect_cancel.cancel_request(
        services_ctx, ops, ident, reason="abandoned", idempotency_key=_key()
    )))
    slow.start()
    try:
        start = _wait_running(services_ctx, ops, ident)
        assert (start.username, start.request_id, start.outcome) == ("test-ops", ident, "running")
        now = cancellation(services_ctx, ops, start.id)
        assert now is not None and now.outcome == "running"
        # Another tab (or a colleague) still showing Cancel: refused, Stripe not asked.
        second = _key()
        with pytest.raises(CancelStillRunning, match=f"the cancel of {ident} .* still running"):
            collect_cancel.cancel_request(
                services_ctx, actor_for("admin"), ident, reason="duplicate", idempotency_key=second
            )
        with session_scope(services_ctx.engine) as session:
            row = session.exec(select(AuditEntry).where(AuditEntry.idempotency_key == second)).one()
        assert row.outcome == "refused"
    finally:
        slow.join(timeout=30)
    [view] = done
    assert view.status == "canceled"
    assert cancels_running(services_ctx, ops, [ident]) == {}
    ended = cancellation(services_ctx, ops, start.id)
    assert ended is not None and ended.outcome == "ok"
    assert ended.message == f"Canceled {ident} (reason: abandoned)."
    assert services_ctx.gateway.retrieve_setup_intent(ident)["cancellation_reason"] == "abandoned"
    # A cancel's row is not a create being made for the customer.
    assert all(o.start_id is None for o in customer_requests(
        services_ctx, ops, services_ctx.gateway.retrieve_setup_intent(ident)["customer"]
    ))


def test_a_cancel_of_a_request_already_canceled_changed_nothing_and_is_recorded_so(
    services_ctx, ops
) -> None:  # type: ignore[no-untyped-def]
    ident = _request(services_ctx, ops)
    services_ctx.gateway.cancel_setup_intent(ident, reason="abandoned", idempotency_key=_key())
    with pytest.raises(NothingChanged) as refused:
        collect_cancel.cancel_request(
            services_ctx, ops, ident, reason="duplicate", idempotency_key=_key()
        )
    assert isinstance(refused.value, Conflict) and refused.value.as_asked
    assert "was already canceled (reason: abandoned)" in str(refused.value)
    with session_scope(services_ctx.engine) as session:
        [row] = session.exec(
            select(AuditEntry).where(
                AuditEntry.action == "collect.cancel", AuditEntry.target == ident
            )
        ).all()
    assert row.outcome == "error"  # the audit log keeps Stripe's refusal as it did
    from services.adapters import collect_starts

    [start] = collect_starts.cancels_of(services_ctx.engine, [ident], since=0).values()
    assert (start.outcome, start.message) == ("ended", str(refused.value))


def test_cancels_running_needs_the_cancel_permission(services_ctx) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Forbidden):
        cancels_running(services_ctx, actor_for("finance"), ["seti_x"])


def test_a_failed_cancel_is_said_on_its_request_until_canceled_again_or_an_hour_old(
    services_ctx, simulator, ops
) -> None:  # type: ignore[no-untyped-def]
    """A cancel Stripe failed was said once; the next reload listed the request as open with no
    word of it. It stays said (from the store) until a newer cancel, or for an hour. Its 500s
    left it unconfirmed (the read back failed too), so it reads ``stale``: never confirmed."""
    from dataclasses import replace

    from services.errors import FcopsError
    from services.usecases.collect_cancel_runs import FAILED_SAID_SECONDS, cancels_failed

    ident = _request(services_ctx, ops)
    simulator.force_faults("500", 10_000)
    try:
        with pytest.raises(FcopsError) as failed:
            collect_cancel.cancel_request(
                services_ctx, ops, ident, reason="abandoned", idempotency_key=_key()
            )
    finally:
        simulator.clear_faults()
    said = cancels_failed(services_ctx, ops, [ident])
    assert list(said) == [ident]
    assert (said[ident].outcome, said[ident].message) == ("stale", str(failed.value))
    asked = said[ident].started_at
    later = replace(services_ctx, now=lambda: asked + FAILED_SAID_SECONDS - 5)
    assert list(cancels_failed(later, ops, [ident])) == [ident]  # every reload, within the hour
    old = replace(services_ctx, now=lambda: asked + FAILED_SAID_SECONDS + 5)
    assert cancels_failed(old, ops, [ident]) == {}
    # Canceled again: the newer cancel replaces it.
    collect_cancel.cancel_request(services_ctx, ops, ident, reason="abandoned", idempotency_key=_key())
    assert cancels_failed(services_ctx, ops, [ident]) == {}


def test_a_cancel_never_confirmed_is_said_stale_and_a_refused_one_hides_nothing(
    services_ctx, ops
) -> None:  # type: ignore[no-untyped-def]
    """A refused second cancel (another was running) wrote the newest row, which hid the
    running one: the request was listed as open with Cancel, and a third went to Stripe."""
    from services.adapters import collect_starts
    from services.usecases.collect_cancel_runs import cancels_failed

    ident, now = f"seti_{secrets.token_hex(6)}", services_ctx.now()
    running = collect_starts.begin(services_ctx.engine, customer_id="", kind="cancel",
                                   username="test-ops", key=_key(), at=now - 5, request_id=ident)
    refused = collect_starts.begin(services_ctx.engine, customer_id="", kind="cancel",
                                   username="test-admin", key=_key(), at=now, request_id=ident)
    collect_starts.finish(services_ctx.engine, refused, outcome="refused", at=now)
    assert cancels_running(services_ctx, ops, [ident])[ident].id == running
    assert cancels_failed(services_ctx, ops, [ident]) == {}

    dead = f"seti_{secrets.token_hex(6)}"  # its process died: never finished
    collect_starts.begin(services_ctx.engine, customer_id="", kind="cancel", username="test-ops",
                         key=_key(), at=now - 600, request_id=dead)
    assert cancels_running(services_ctx, ops, [dead]) == {}
    assert cancels_failed(services_ctx, ops, [dead])[dead].outcome == "stale"


def test_cancels_failed_needs_the_cancel_permission(services_ctx) -> None:  # type: ignore[no-untyped-def]
    from services.usecases.collect_cancel_runs import cancels_failed

    with pytest.raises(Forbidden):
        cancels_failed(services_ctx, actor_for("finance"), ["seti_x"])


def test_a_failed_cancel_of_an_open_request_a_page_does_not_list_is_found_without_its_id(
    services_ctx, simulator, ops
) -> None:  # type: ignore[no-untyped-def]
    """The note was asked for by the IDs a page listed: a request a search or the list's first
    50 hid had its failed cancel said nowhere. Requests no longer open are not said."""
    from services.adapters import collect_starts
    from services.errors import FcopsError
    from services.usecases.collect_cancel_runs import cancels_failed_unlisted

    ident = _request(services_ctx, ops)
    simulator.force_faults("500", 10_000)
    try:
        with pytest.raises(FcopsError):
            collect_cancel.cancel_request(
                services_ctx, ops, ident, reason="abandoned", idempotency_key=_key()
            )
    finally:
        simulator.clear_faults()
    gone = f"seti_{secrets.token_hex(6)}"  # a failed cancel of a request the store has not open
    failed = collect_starts.begin(services_ctx.engine, customer_id="", kind="cancel",
                                  username="test-ops", key=_key(), at=services_ctx.now(),
                                  request_id=gone)
    collect_starts.finish(services_ctx.engine, failed, outcome="error", at=services_ctx.now())

    hidden = cancels_failed_unlisted(services_ctx, ops, [])
    assert list(hidden) == [ident] and hidden[ident].outcome == "stale"  # 500s: unconfirmed
    assert cancels_failed_unlisted(services_ctx, ops, [ident]) == {}  # said on its request
    collect_cancel.cancel_request(services_ctx, ops, ident, reason="abandoned", idempotency_key=_key())
    assert cancels_failed_unlisted(services_ctx, ops, []) == {}


def test_a_failed_cancel_of_a_queued_request_the_queue_does_not_list_is_found_without_its_id(
    services_ctx, simulator, ops
) -> None:  # type: ignore[no-untyped-def]
    """The microdeposit queue had no such note: a request its search or its oldest 50 hid had
    its failed cancel said nowhere there. Only requests waiting on microdeposits are said."""
    from services.errors import FcopsError
    from services.usecases.collect_cancel_runs import cancels_failed_unqueued
    from services.usecases.sync_intents import store_intent

    ident = _request(services_ctx, ops)
    simulator.force_faults("500", 10_000)
    try:
        with pytest.raises(FcopsError):
            collect_cancel.cancel_request(
                services_ctx, ops, ident, reason="abandoned", idempotency_key=_key()
            )
    finally:
        simulator.clear_faults()
    assert cancels_failed_unqueued(services_ctx, ops, []) == {}  # not waiting on microdeposits

    simulator.manual_entry(ident)  # the customer typed an account: deposits on their way
    store_intent(services_ctx.engine, services_ctx.gateway.retrieve_setup_intent(ident))
    hidden = cancels_failed_unqueued(services_ctx, ops, [])
    assert list(hidden) == [ident] and hidden[ident].outcome == "stale"  # 500s: unconfirmed
    assert cancels_failed_unqueued(services_ctx, ops, [ident]) == {}  # said on its request
    collect_cancel.cancel_request(services_ctx, ops, ident, reason="abandoned", idempotency_key=_key())
    assert cancels_failed_unqueued(services_ctx, ops, []) == {}
    with pytest.raises(Forbidden):
        cancels_failed_unqueued(services_ctx, actor_for("finance"), [])
