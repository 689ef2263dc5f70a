"""The microdeposit queue says how far past the expected arrival a request is without calling
it late: "Business days late 2" read oddly next to "stuck = more than 2 business days", as the
2 business days are the usual wait, not lateness."""

from __future__ import annotations

from datetime import UTC, datetime

from components.collect_view import queue_frame
from services.rules.intents import STUCK_AFTER_BUSINESS_DAYS, microdeposit_item

ARRIVAL = int(datetime(2026, 12, 1, 12, tzinfo=UTC).timestamp())  # a Tuesday
THURSDAY = ARRIVAL + 2 * 86_400
FRIDAY = ARRIVAL + 3 * 86_400


def waiting(now: int) -> object:
    intent = {
        "id": "seti_queue",
        "object": "setup_intent",
        "created": ARRIVAL - 2 * 86_400,
        "status": "requires_action",
        "next_action": {
            "type": "verify_with_microdeposits",
            "verify_with_microdeposits": {
                "arrival_date": ARRIVAL,
                "microdeposit_type": "descriptor_code",
                "hosted_verification_url": "https://example.test/verify",
            },
        },
    }
    return microdeposit_item(intent, now=now)


def test_two_business_days_past_arrival_is_not_called_late_nor_stuck() -> None:
    frame = queue_frame([waiting(THURSDAY), waiting(FRIDAY)])  # type: ignore[list-item]

    assert not any("late" in str(c).lower() for c in frame.columns)
    assert list(frame["Business days past arrival"]) == [STUCK_AFTER_BUSINESS_DAYS, STUCK_AFTER_BUSINESS_DAYS + 1]
    assert list(frame["Stuck"]) == ["", "stuck"]
