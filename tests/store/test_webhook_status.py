"""The webhook backlog every home page shows (services/usecases/webhooks.status) counts only the
events waiting or failed, on the status index, on SQLite and PostgreSQL (issue 13: it counted
every event stored)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from services.adapters import jobs
from services.adapters.job_models import WebhookEventRecord
from services.auth import SYSTEM
from services.usecases import webhooks


def _event(n: int, status: str, kind: str = "payment_intent.succeeded") -> dict[str, object]:
    return {
        "id": f"evt_{n}",
        "type": kind,
        "created": 1_700_000_000 + n,
        "livemode": False,
        "status": status,
        "deliveries": 1,
        "error": "boom" if status == "failed" else None,
        "payload": {},
        "received_at": datetime.fromtimestamp(1_700_000_000 + n, UTC),
        "processed_at": None,
    }


@pytest.fixture
def bound(engine: Engine) -> Iterator[Engine]:
    before = jobs._bound
    jobs.bind(SimpleNamespace(engine=engine))  # type: ignore[arg-type]
    yield engine
    jobs._bound = before


def test_status_counts_the_waiting_and_failed_events(bound: Engine) -> None:
    statuses = ["processed"] * 5 + ["received"] * 3 + ["failed"] * 2 + ["ignored"]
    rows = [_event(n, s) for n, s in enumerate(statuses)]
    rows.append(_event(99, "processed", "account.updated"))  # the newest
    with bound.begin() as conn:
        conn.execute(insert(WebhookEventRecord), rows)
    got = webhooks.status(SYSTEM)
    assert (got.backlog, got.failed) == (3, 2)
    assert got.last_type == "account.updated"
    assert got.last_received_at is not None and got.last_received_at.timestamp() == 1_700_000_099


def test_status_of_an_empty_store(bound: Engine) -> None:
    got = webhooks.status(SYSTEM)
    assert (got.backlog, got.failed, got.last_type, got.last_received_at) == (0, 0, None, None)
