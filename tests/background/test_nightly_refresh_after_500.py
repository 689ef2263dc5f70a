"""The nightly refresh of tomorrow's debits when Stripe answers an account's refresh POST with a
500. Stripe saves the 500 under the idempotency key and replays it to that key, so a retry
under the job's fixed key ``<job>:<fca>`` could never start the refresh: after a 500 that made
nothing (``500``) the job asks again under the next key (``~2``) and starts exactly one
refresh; after a 500 that made it (``500_done``) the read back says so and nothing more is
sent. The fault is aimed at the refresh POST (``fault_on_refresh``, Balance check's), on the
job engine's own gateway and sandbox (tests/background/conftest.py)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from dbos import DBOS, SetWorkflowID

from services.adapters.models import AuditEntry
from services.errors import ChangeNotMade, OutcomeStillUnknown, StripeUnavailable
from services.rules.debit_csv import parse_debits_csv
from services.usecases import jobs, jobs_daily, refresh_balance
from tests.background.test_daily_jobs import FINANCE
from tests.background.test_jobs import wait_done
from tests.services.test_unconfirmed_balance_refresh import (
    fault_on_refresh,
    refresh_rows,
    stale_account,
)

REFRESHED = "financial_connections.account.refreshed_balance"


@pytest.fixture
def app(fcops: Any) -> Iterator[Any]:
    """The engine's app; the gateway's refresh POST unwrapped again afterwards."""
    app = fcops[0]
    yield app
    vars(app.services.gateway).pop("refresh_account", None)


def nightly_after(app: Any, mode: str) -> tuple[str, jobs.JobView, list[AuditEntry]]:
    """A stale account, the one row of a batch checked now; its nightly refresh meeting
    ``mode`` on the refresh POST. The account, the job's view and its refresh audit rows."""
    gw = app.services.gateway
    fca = stale_account(gw, app.simulator, app.sandbox)
    planned, bad = parse_debits_csv(f"account,amount,currency\n{fca},5.00,usd\n")
    batch = jobs.start_batch_check(FINANCE, planned, bad, refresh_stale=False)
    assert wait_done(batch).status == "succeeded"
    fault_on_refresh(gw, app.simulator, mode)
    job_id = f"test-nightly-{mode}-{secrets.token_hex(4)}"
    with SetWorkflowID(job_id):
        DBOS.start_workflow(
            jobs_daily.nightly_refresh_workflow, datetime.now(UTC),
            {"by": FINANCE.username, "role": FINANCE.role},
        )
    view = wait_done(job_id, timeout=90)
    assert view.status == "succeeded", view.error
    return fca, view, refresh_rows(app.services, fca)


def refreshes_at_stripe(app: Any, fca: str) -> int:
    """How many balance refreshes of ``fca`` the sandbox made (its ``refreshed_balance``
    events; the sandbox finishes a refresh at once here)."""
    app.services.gateway.retrieve_account(fca)  # a read lets a finished refresh land
    return sum(
        1 for e in app.sandbox.state.find("event")
        if e["type"] == REFRESHED and e["data"]["object"]["id"] == fca
    )


def test_a_500_that_made_nothing_is_asked_again_under_a_new_key(app: Any) -> None:
    fca, view, rows = nightly_after(app, "500")
    assert view.result is not None
    assert (view.result["started"], view.result["errors"]) == (1, 0), view.result
    key = f"{view.id}:{fca}"
    assert [(r.outcome, r.idempotency_key) for r in rows] == [
        ("unknown", key), ("ok", f"{key}~2")
    ]
    assert [r.message for r in rows] == [
        "Stripe did not confirm the balance refresh (a server error), so it may have started; "
        "read back at once, the account showed Stripe had not started it.",
        "Balance refresh started (pending).",
    ]
    assert refreshes_at_stripe(app, fca) == 1  # exactly one refresh


def test_a_500_that_made_the_refresh_sends_nothing_more(app: Any) -> None:
    fca, view, rows = nightly_after(app, "500_done")
    assert view.result is not None
    assert (view.result["started"], view.result["errors"]) == (1, 0), view.result
    [row] = rows
    assert row.outcome == "unknown" and row.idempotency_key == f"{view.id}:{fca}"
    assert row.message is not None and "shows it was made" in row.message, row.message
    assert refreshes_at_stripe(app, fca) == 1  # the one the 500 hid, no second


def test_no_answer_repeats_the_key_and_only_a_500_that_made_nothing_moves_on(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DBOS's retry of the step after no answer sends the same key (Stripe does it at most
    once); only a 500 that made nothing takes the next variant, and keeps it for its own
    no-answer retry."""
    fca = stale_account(app.services.gateway, app.simulator, app.sandbox)
    server_error = StripeUnavailable("Stripe answered HTTP 500")
    answers: list[Exception | None] = [
        OutcomeStillUnknown("no answer"),
        ChangeNotMade("not made", server_error=server_error, current={}),
        OutcomeStillUnknown("no answer"),
        None,
    ]
    keys: list[str] = []

    def refresh(*args: Any, idempotency_key: str) -> dict[str, Any]:
        keys.append(idempotency_key)
        answer = answers.pop(0)
        if answer is not None:
            raise answer
        return {}

    monkeypatch.setattr(refresh_balance, "refresh", refresh)
    job_id = f"test-nightly-keys-{secrets.token_hex(4)}"
    with SetWorkflowID(f"{job_id}:{fca}"):
        chunk = DBOS.start_workflow(
            jobs_daily.accounts_chunk_workflow, "refresh",
            [job_id, FINANCE.username, FINANCE.role], [fca],
        )
    assert chunk.get_result() == [{"account": fca, "started": True}]
    key = f"{job_id}:{fca}"
    assert keys == [key, key, f"{key}~2", f"{key}~2"]
