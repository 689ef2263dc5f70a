"""First run: on an empty store every page that reads mirrored accounts fills it by itself.

Each test empties the app's mirror first (the app and its store are shared by the AppTest
process), then opens one page without pressing any button. The first sync is a background job
the page follows (pages/_follow.py), so each test waits for it (``jobs_settled``) before
looking at the data.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import col, delete, select
from streamlit.testing.v1 import AppTest

from tests.app.conftest import DASHBOARD, jobs_settled, no_exceptions, open_page, signed_in, texts
from tests.app.conftest import shared_app as app

NOT_YET = "No accounts in the store yet"


def mirrored() -> int:
    from services.adapters import account_mirror

    return account_mirror.mirrored_account_count(app().engine)


@pytest.fixture
def fresh_store() -> Iterator[None]:
    """The app's store as a new data folder has it: no customers, accounts, checks or cursor."""
    from services.adapters import data_version
    from services.adapters.models import (
        AccountRecord,
        BalanceSnapshot,
        CustomerRecord,
        OwnershipCheck,
        SyncState,
        TransactionRecord,
    )
    from services.adapters.store import session_scope

    open_page(None, None)  # builds the app with the test settings
    with session_scope(app().engine) as session:
        for model in (
            AccountRecord,
            CustomerRecord,
            BalanceSnapshot,
            OwnershipCheck,
            TransactionRecord,
        ):
            session.execute(delete(model))
        # The accounts cursor and every account's transaction cursor (a picker lists accounts
        # with synced transactions too), as an earlier test in the same run may have left them.
        session.execute(
            delete(SyncState).where(  # type: ignore[arg-type]
                (SyncState.name == "accounts") | col(SyncState.name).startswith("txns:")
            )
        )
        # as any write to the mirror does: a job ID carries the data version, and a sync started
        # this minute by an earlier test must not answer this store's first sync as done
        data_version.bump(session, data_version.ACCOUNTS)
    assert mirrored() == 0
    yield


def test_transactions_lists_accounts_on_a_fresh_store_without_a_click(fresh_store: None) -> None:
    at = open_page("pages/transactions.py", "ops")
    no_exceptions(at)
    jobs_settled(at)
    no_exceptions(at)
    assert mirrored() > 0
    picker = at.selectbox(key="txn_pick")
    assert len(picker.options) > 0
    assert NOT_YET not in texts(at)


def test_ownership_review_list_counts_the_mirrored_accounts_on_a_fresh_store(
    fresh_store: None,
) -> None:
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    signed_in(at, "ops")
    at.session_state["own_view"] = "Review list"
    at.run()
    at.switch_page("pages/ownership.py")
    at.run()
    no_exceptions(at)
    jobs_settled(at)
    no_exceptions(at)
    assert mirrored() > 0
    import re

    # "Not checked yet: 0 of 25 accounts checked — use Check all accounts …"
    [eligible] = [
        int(m.group(1).replace(",", ""))
        for i in at.info
        if (m := re.search(r"\b0 of ([\d,]+) accounts checked", i.value))
    ]
    assert eligible > 0


def test_balance_check_finds_a_customer_by_name_on_a_fresh_store(fresh_store: None) -> None:
    from services.adapters.models import CustomerRecord
    from services.adapters.store import session_scope

    at = open_page("pages/balance_check.py", "finance")
    no_exceptions(at)
    jobs_settled(at)
    no_exceptions(at)
    assert mirrored() > 0
    with session_scope(app().engine) as session:
        name = next(n for n in session.exec(select(CustomerRecord.name)) if n)
    at.text_input(key="bc_customer_query").input(name).run()
    no_exceptions(at)
    assert at.selectbox(key="bc_customer").options


def test_accounts_page_fills_a_fresh_store_once_per_session(fresh_store: None) -> None:
    at = open_page("pages/accounts.py", "ops")
    no_exceptions(at)
    jobs_settled(at)  # the first visit's sync is a background job the page follows
    no_exceptions(at)
    count = mirrored()
    assert count > 0
    assert any(f"{count:,} accounts" in c.value for c in at.caption)


def test_a_stripe_outage_on_first_run_leaves_the_page_working_and_the_sync_resumes(
    fresh_store: None,
) -> None:
    simulator = app().simulator
    simulator.force_faults("500", 10_000)  # Stripe answers nothing until it is cleared
    try:
        at = open_page("pages/transactions.py", "ops")
        no_exceptions(at)  # the page returned: the sync is a job that retries in the background
        assert mirrored() == 0
        assert NOT_YET in texts(at)
        assert "as the sync reads them" in texts(at)
        assert "runs in the background" in texts(at)
        loads = [b for b in at.button if b.label == "Load accounts from Stripe"]
        assert not loads, "no second start offered while the first sync is followed"
    finally:
        simulator.clear_faults()
    jobs_settled(at)  # Stripe is back: the job resumes where it stopped and finishes
    no_exceptions(at)
    assert mirrored() > 0
    assert NOT_YET not in texts(at)
    assert at.selectbox(key="txn_pick").options
