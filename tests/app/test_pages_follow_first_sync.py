"""Every page that reads mirrored accounts follows the first account sync as a job.

Transactions, Ownership, Balance check and Blocked accounts, opened on a store never synced,
start the account sync as a background job (pages/_follow.py) and draw the store as it is with
the progress line; once the job ends they draw what it stored and say once what it read.

Stripe is made slow (a forced slow answer) so the sync cannot finish while the page script
runs: the page returning with the job still running is what shows it did not wait. The debit
outcomes count as synced, so Blocked accounts follows only the account sync here (the slow
answer goes to it; test_returns_first_sync.py covers the outcome sync)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from pages import _runtime as runtime
from tests.app.conftest import DASHBOARD, jobs_settled, no_exceptions, open_page, signed_in, texts
from tests.app.test_first_run import NOT_YET, fresh_store, mirrored  # noqa: F401  (fixture)
from tests.app.test_pages_follow_jobs import active_jobs, jobs_of, progress, slow_stripe  # noqa: F401
from tests.app.test_returns_page import outcomes_synced  # noqa: F401  (autouse fixture)

LABEL = "Reading customers and accounts from Stripe"
PAGES = [
    ("pages/transactions.py", "ops"),
    ("pages/ownership.py", "ops"),
    ("pages/balance_check.py", "finance"),
    ("pages/blocked.py", "ops"),
]


def synced_said(at: AppTest) -> bool:
    return any(s.value.startswith("Synced ") for s in at.success)


@pytest.mark.usefixtures("fresh_store", "slow_stripe")
@pytest.mark.parametrize(("page", "role"), PAGES, ids=[p.split("/")[1][:-3] for p, _ in PAGES])
def test_first_visit_starts_the_account_sync_as_a_job_and_fills_in_when_it_ends(
    page: str, role: str
) -> None:
    before = jobs_of("accounts.sync", role)
    at = open_page(page, role)
    no_exceptions(at)
    # The page script returned while the sync is still running (Stripe answers slowly).
    assert active_jobs("accounts.sync"), "the page waited for the whole sync"
    assert jobs_of("accounts.sync", role) == before + 1
    assert any(p.startswith(LABEL) for p in progress(at))
    assert "runs in the background" in texts(at)
    assert not synced_said(at)
    jobs_settled(at)
    no_exceptions(at)
    assert mirrored() > 0
    assert synced_said(at), "the page says what the sync read"
    assert "runs in the background" not in texts(at)
    at.run()  # once per session: a rerun starts nothing more, and the sentence was said once
    no_exceptions(at)
    assert jobs_of("accounts.sync", role) == before + 1
    assert not synced_said(at)


@pytest.mark.usefixtures("fresh_store", "slow_stripe")
def test_load_accounts_on_transactions_starts_the_sync_as_a_job_and_returns_at_once() -> None:
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    signed_in(at, "ops")
    at.session_state[runtime.AUTOSYNCED] = True  # this session's first sync is behind it
    at.run()
    at.switch_page("pages/transactions.py")
    at.run()
    no_exceptions(at)
    assert not active_jobs("accounts.sync"), "nothing started without the click"
    before = jobs_of("accounts.sync", "ops")
    next(b for b in at.button if b.label == "Load accounts from Stripe").click().run()
    no_exceptions(at)
    assert active_jobs("accounts.sync"), "the click waited for the whole sync"
    assert jobs_of("accounts.sync", "ops") == before + 1
    assert any(p.startswith(LABEL) for p in progress(at))
    jobs_settled(at)
    no_exceptions(at)
    assert mirrored() > 0
    assert synced_said(at)
    assert at.selectbox(key="txn_pick").options


@pytest.mark.usefixtures("fresh_store", "slow_stripe")
def test_accounts_on_a_store_never_synced_says_the_sync_is_reading_them_not_change_the_filters(
) -> None:
    """It said "No accounts match. Change the filters, or sync from Stripe." with no filter set
    and the first sync already running (seen in Chromium)."""
    at = open_page("pages/accounts.py", "ops")
    running, said = active_jobs("accounts.sync"), texts(at)
    jobs_settled(at)  # first: a failed assert must not leave the slow sync running
    assert running
    assert "No accounts in the store yet: the sync is reading them from Stripe" in said
    assert "No accounts match" not in said and "Change the filters" not in said
    no_exceptions(at)
    assert mirrored() > 0
    assert "No accounts in the store yet" not in texts(at)
