"""The microdeposit queue's stuck count: all waiting requests, counted in SQL, not one page."""

from __future__ import annotations

import secrets
from typing import Any

from sqlmodel import select

from services.adapters.models import IntentRecord
from services.adapters.store import session_scope
from services.context import Services
from services.usecases import collect_customers, collection_requests, microdeposits

DAY = 86_400


def _waiting_request(svc: Services, ops: Any, simulator: Any) -> tuple[str, str]:
    email = f"stuck-{secrets.token_hex(4)}@example.com"
    customer = collect_customers.create_customer(
        svc, ops, email=email, name="Stuck Test", idempotency_key=f"cus-{email}"
    ).id
    request = collection_requests.create_setup_intent(
        svc, ops, customer_id=customer, idempotency_key=f"seti-{email}"
    )
    simulator.manual_entry(request.id)
    return customer, request.id


def _move_arrival(engine: Any, intent_id: str, arrival: int) -> None:
    with session_scope(engine) as session:
        row = session.exec(select(IntentRecord).where(IntentRecord.id == intent_id)).one()
        raw = dict(row.raw)
        action = dict(raw["next_action"])
        action["verify_with_microdeposits"] = {
            **action["verify_with_microdeposits"],
            "arrival_date": arrival,
        }
        raw["next_action"] = action
        row.raw = raw
        session.add(row)


def test_the_stuck_count_covers_the_whole_queue_and_matches_the_flags(
    services_ctx, simulator, gateway, ops
) -> None:  # type: ignore[no-untyped-def]
    made = [_waiting_request(services_ctx, ops, simulator) for _ in range(4)]
    first = made[0][1]
    arrival = gateway.retrieve_setup_intent(first)["next_action"]["verify_with_microdeposits"][
        "arrival_date"
    ]
    microdeposits.microdeposit_queue(services_ctx, ops, from_stripe=True)  # store them
    for (_, intent_id), days_earlier in zip(made, (0, 1, 3, 6), strict=True):
        _move_arrival(services_ctx.engine, intent_id, arrival - days_earlier * DAY)

    # Every hour of two weeks after the arrival (weekends and the day boundaries included):
    # the SQL count says what the queue's flags say, request by request.
    for hours in range(0, 14 * 24, 5):
        later = Services(
            gateway=gateway,
            engine=services_ctx.engine,
            mode="sandbox",
            now=lambda h=hours: arrival + h * 3600,
        )
        queue = microdeposits.microdeposit_queue(later, ops)
        flagged = sum(i.stuck for i in queue)
        assert microdeposits.stuck_count(later, ops) == flagged, f"{hours} hours after arrival"

    late = Services(
        gateway=gateway, engine=services_ctx.engine, mode="sandbox", now=lambda: arrival + 9 * DAY
    )
    # The page holds one request; the count still covers the whole queue (at least our four,
    # the sandbox may hold other tests' requests) and respects the search.
    (shown,) = microdeposits.microdeposit_queue(late, ops, limit=1)
    assert shown.stuck
    everything = microdeposits.microdeposit_queue(late, ops)
    assert microdeposits.stuck_count(late, ops) == sum(i.stuck for i in everything) >= 4
    assert microdeposits.stuck_count(late, ops, search=made[2][0]) == 1
    assert microdeposits.stuck_count(late, ops, search=made[1][0]) == 1
    assert microdeposits.stuck_count(late, ops, search="seti_no_such_request") == 0
