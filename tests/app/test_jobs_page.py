"""The admin Jobs page: start a job, see it in the list with its progress, and the webhook
figures; other roles cannot open it."""

from __future__ import annotations

import re
import time

import pandas as pd
import pytest

from tests.app.conftest import no_exceptions, open_page, refused, texts

PAGE = "pages/jobs.py"


def test_admin_starts_a_sync_and_sees_it_finish_in_the_list() -> None:
    at = open_page(PAGE, "admin")
    no_exceptions(at)
    assert "Jobs" in [t.value for t in at.title], texts(at)
    assert any(m.label == "Event backlog" for m in at.metric)
    at.button(key="jobs_sync").click().run()
    no_exceptions(at)
    said = [*(s.value for s in at.success), *(i.value for i in at.info)]
    assert any(s.startswith("Account sync ") for s in said), said
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        at.run()
        frame = at.dataframe[0].value
        row = frame[frame["Job"] == "Account sync"].iloc[0]
        if row["Status"] == "Finished":
            assert pd.api.types.is_datetime64_any_dtype(frame["Finished"])
            break
        time.sleep(0.5)
    else:
        raise AssertionError(texts(at))
    assert row["Started by"] == "admin"


@pytest.mark.parametrize("role", ["ops", "finance", "manager"])
def test_only_admins_open_the_jobs_page(role: str) -> None:
    direct = refused(PAGE, role)
    assert not direct.button


def test_admin_starts_the_transaction_sync_of_every_subscribed_account() -> None:
    from tests.app.conftest import jobs_settled

    jobs_settled(open_page("pages/accounts.py", "admin"))  # the mirror: who is subscribed
    at = open_page(PAGE, "admin")
    at.button(key="jobs_txns").click().run()
    no_exceptions(at)
    [job_id] = [c.value.split("`")[1] for c in at.caption if c.value.startswith("Job ID `")]
    assert job_id.startswith("transactions.sync-")
    jobs_settled(at)
    frame = at.dataframe[0].value
    row = frame[frame["ID"] == job_id].iloc[0]
    assert row["Status"] == "Finished", row.to_dict()
    assert row["Job"] == "Transaction sync (all subscribed accounts)"
    assert re.match(r"Synced the transactions of \d+ of [1-9][\d,]* subscribed", row["Message"]), (
        row["Message"]
    )


def test_the_last_webhook_tile_shows_its_age_and_the_full_time_in_its_help() -> None:
    """The tile showed '2026-12-…': a full date and time does not fit a metric."""
    from datetime import timedelta

    from services.adapters.job_models import WebhookEventRecord
    from services.adapters.models import utcnow
    from services.adapters.store import session_scope
    from tests.app.conftest import shared_app

    open_page(None, None)  # builds the app
    with session_scope(shared_app().engine) as session:
        session.add(WebhookEventRecord(
            id=f"evt_tile{int(time.time() * 1000)}", type="customer.updated", created=0,
            status="processed", received_at=utcnow() - timedelta(seconds=1),
        ))
    at = open_page(PAGE, "admin")
    no_exceptions(at)
    tile = next(m for m in at.metric if m.label == "Last webhook")
    assert re.fullmatch(r"\d+ (s|min) ago", str(tile.value)), tile.value
    assert re.search(r"Received \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", tile.help or ""), tile.help


def test_the_note_of_a_job_started_here_names_it_and_follows_its_state() -> None:
    """The page said "Queued `ownership.check_all-0d98…`" long after the job had finished."""
    from tests.app.conftest import jobs_settled

    at = open_page(PAGE, "admin")
    at.button(key="jobs_owners").click().run()
    no_exceptions(at)
    said = [*(s.value for s in at.success), *(i.value for i in at.info)]
    assert any(s.startswith("Ownership check of all accounts") for s in said), said
    assert not any("ownership.check_all-" in s for s in said)  # the ID is beside, not the name
    [job_id] = [c.value.split("`")[1] for c in at.caption if c.value.startswith("Job ID `")]
    jobs_settled(at)
    at.run()
    no_exceptions(at)
    assert not any("queued" in s.value.lower() for s in at.success)
    assert not any("queued" in i.value.lower() for i in at.info)
    ended = [s.value for s in at.success] + [e.value for e in at.error]
    assert any(
        s.startswith("Ownership check of all accounts finished")
        or s.startswith("Ownership check of all accounts failed")
        for s in ended
    ), ended
    frame = at.dataframe[0].value
    assert frame[frame["ID"] == job_id].iloc[0]["Status"] in ("Finished", "Failed")
