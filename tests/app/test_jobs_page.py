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
    assert any("Queued `accounts.sync-" in s.value for s in at.success)
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
    [queued] = [s.value for s in at.success if "Queued `transactions.sync-" in s.value]
    jobs_settled(at)
    frame = at.dataframe[0].value
    row = frame[frame["ID"] == queued.split("`")[1]].iloc[0]
    assert row["Status"] == "Finished", row.to_dict()
    assert row["Job"] == "Transaction sync (all subscribed accounts)"
    assert re.match(r"Synced the transactions of \d+ of [1-9][\d,]* subscribed", row["Message"]), (
        row["Message"]
    )
