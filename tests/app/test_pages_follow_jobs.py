"""Pages follow jobs, not run them: the first visit to Accounts or Conversion on a store never
synced starts the sync as a background job and draws the store as it is; the progress line
follows the job, and the page fills in once it ends.

Stripe is made slow (a forced slow answer) so the sync cannot finish while the page script
runs: the page returning with the job still running is what shows it did not wait."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlmodel import col, delete
from streamlit.testing.v1 import AppTest

from services.adapters import data_version
from services.auth import Actor
from services.usecases import conversion_report, jobs
from tests.app.conftest import force_faults, jobs_settled, no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app
from tests.app.test_first_run import fresh_store, mirrored  # noqa: F401  (fixture)

ADMIN = Actor(username="apptest-admin", role="admin")
SLOW_SECONDS = 3.0  # longer than the page waits for a job (pages/_follow.WAIT_SECONDS)


def active_jobs(kind: str) -> list[jobs.JobView]:
    return [j for j in jobs.recent_jobs(ADMIN, kinds=[kind], limit=20) if j.active]


def jobs_of(kind: str, actor: str) -> int:
    return sum(1 for j in jobs.recent_jobs(ADMIN, kinds=[kind], limit=100) if j.actor == actor)


SYNC_ICON = ":material/sync: "  # a job with no total: its count and time so far, no bar


def progress(at: AppTest) -> list[str]:
    """The page's progress lines: a bar's text, or a count with no bar (Stripe gave no total)."""
    bars = [p.text for p in at.get("progress")]
    counts = [m.value.removeprefix(SYNC_ICON) for m in at.markdown if m.value.startswith(SYNC_ICON)]
    return bars + counts


@pytest.fixture
def slow_stripe() -> Iterator[None]:
    # Two slow answers, once nothing of an earlier test still runs or is applied (a webhook's
    # read-back took both once, and the sync ended before Home was opened); a request of
    # something else in flight may still take the first, and the sync is slower than the wait.
    force_faults("slow", 2, seconds=SLOW_SECONDS)
    yield
    app().simulator.clear_faults()


@pytest.fixture
def no_intents() -> Iterator[None]:
    """The intents store as a new data folder has it: no intents and no cursor."""
    from services.adapters.models import IntentDay, IntentRecord, SyncState
    from services.adapters.store import session_scope

    open_page(None, None)
    jobs_settled()
    with session_scope(app().engine) as session:
        session.execute(delete(IntentRecord))
        session.execute(delete(IntentDay))  # and the day counts its writers keep
        session.execute(delete(SyncState).where(col(SyncState.name) == "intents"))  # type: ignore[arg-type]
        # as any write to the mirror does: a job ID carries the data version, and a sync
        # started this minute by an earlier test must not answer this store's first one as done
        data_version.bump(session, data_version.INTENTS)
    assert conversion_report.store_info(app().engine).intents == 0
    yield


@pytest.mark.usefixtures("fresh_store", "slow_stripe")
def test_accounts_first_visit_starts_the_sync_as_a_job_and_fills_in_when_it_ends() -> None:
    before = jobs_of("accounts.sync", "ops")
    at = open_page("pages/accounts.py", "ops")
    no_exceptions(at)
    # The page script returned while the sync is still running (Stripe answers slowly).
    assert active_jobs("accounts.sync"), "the page waited for the whole sync"
    assert jobs_of("accounts.sync", "ops") == before + 1
    assert any(
        p.startswith("Reading customers and accounts from Stripe") for p in progress(at)
    )
    # The store never synced and Stripe's list has no total: how far, and for how long, no bar
    # (one that filled toward a guess read 99 % a tenth into a 20,000-customer walk).
    assert not list(at.get("progress"))
    assert any(p.endswith("so far") for p in progress(at)), progress(at)
    assert "runs in the background" in texts(at)
    jobs_settled(at)
    no_exceptions(at)
    count = mirrored()
    assert count > 0
    assert any(f"{count:,} accounts" in c.value for c in at.caption)
    assert any(s.value.startswith("Synced ") for s in at.success), "the page says what it read"
    at.run()  # once per session: a rerun starts nothing more
    assert jobs_of("accounts.sync", "ops") == before + 1
    assert not at.success  # said once


def test_conversion_first_visit_starts_the_intent_sync_as_a_job_and_draws_figures_after(
    no_intents: None, slow_stripe: None
) -> None:
    at = open_page("pages/conversion.py", "manager")
    no_exceptions(at)
    assert active_jobs("intents.sync"), "the page waited for the whole sync"
    assert any(p.startswith("Reading intents from Stripe") for p in progress(at))
    # It read "Reading intents from Stripe: Reading success events from Stripe…".
    assert all(p.count("from Stripe") == 1 for p in progress(at)), progress(at)
    assert "runs in the background" in texts(at)
    assert not at.dataframe  # nothing stored yet: no figures, and no error
    jobs_settled(at)
    no_exceptions(at)
    assert conversion_report.store_info(app().engine).intents > 0
    assert at.dataframe and "Linked" in at.dataframe[0].value.columns
    assert "runs in the background" not in texts(at)


@pytest.mark.usefixtures("fresh_store", "slow_stripe")
def test_home_says_its_account_figures_are_partial_during_the_first_account_sync() -> None:
    """At 5,000 customers finance's Home said "Stale balances 1,787" (2,631 once the sync
    ended) with no word that the accounts were still being read."""
    accounts = open_page("pages/accounts.py", "ops")  # its first visit starts the sync
    no_exceptions(accounts)
    assert active_jobs("accounts.sync"), "the sync ended before Home was opened"
    home = open_page(None, "finance")
    no_exceptions(home)
    still = [i.value for i in home.info if "still being read from Stripe for the first time" in i.value]
    assert still, [i.value for i in home.info]
    assert any(p.startswith("Reading customers and accounts from Stripe") for p in progress(home))
    jobs_settled(home)  # the progress line reruns Home when the sync ends
    no_exceptions(home)
    assert not any("still being read" in i.value for i in home.info)
    assert any(m.label == "Stale balances" for m in home.metric)


@pytest.mark.usefixtures("fresh_store", "slow_stripe")
def test_home_during_the_first_account_sync_gives_one_count_of_how_far_it_got() -> None:
    """Home said "the figures below cover the 202 accounts read so far" (the store's count)
    above the progress line's "100 customers, 141 accounts" (the walk counts a page once all its
    chunks are in; later pages' chunks are stored ahead of it). Here an account stored ahead of
    the walk's count stands in for those."""
    from services.adapters import account_mirror
    from services.adapters.models import AccountRecord
    from services.adapters.store import session_scope
    from tests.services.test_accounts import fake_account

    accounts = open_page("pages/accounts.py", "ops")  # its first visit starts the sync
    no_exceptions(accounts)
    assert active_jobs("accounts.sync"), "the sync ended before Home was opened"
    ahead = fake_account(990_001)
    account_mirror.upsert_account(app().engine, ahead)
    try:
        home = open_page(None, "finance")
        no_exceptions(home)
        [still] = [i.value for i in home.info if "still being read from Stripe" in i.value]
        lines = progress(home)
        assert any(p.startswith("Reading customers and accounts from Stripe") for p in lines)
        assert not re.search(r"\d[\d,]* accounts", still), still  # the line's count only
        assert "the line below says how far it has got" in still
        jobs_settled(home)
    finally:
        with session_scope(app().engine) as session:
            session.execute(delete(AccountRecord).where(col(AccountRecord.id) == ahead["id"]))


@pytest.mark.usefixtures("fresh_store", "no_intents", "slow_stripe")
def test_collect_first_visit_reads_customers_and_requests_as_jobs_and_says_so_meanwhile() -> None:
    """Before, a fresh store's Collect said "No customer matches" for any name and listed no
    open request, as if Stripe had none: both read only the store, which nothing had filled."""
    from sqlmodel import select

    from services.adapters.models import CustomerRecord
    from services.adapters.store import session_scope

    accounts_before = jobs_of("accounts.sync", "ops")
    intents_before = jobs_of("intents.sync", "ops")
    at = open_page("pages/collect.py", "ops")
    no_exceptions(at)
    assert jobs_of("accounts.sync", "ops") == accounts_before + 1
    assert jobs_of("intents.sync", "ops") == intents_before + 1
    lines = progress(at)
    assert any(t.startswith("Reading customers and accounts from Stripe") for t in lines), lines
    assert any(t.startswith("Reading intents from Stripe") for t in lines), lines
    at.text_input(key="collect_search").input("zz-nobody").run()
    no_exceptions(at)
    if active_jobs("accounts.sync"):  # Stripe is slow: the sync still runs, and the page says so
        assert "still being read from Stripe" in texts(at)

    jobs_settled(at)
    no_exceptions(at)
    with session_scope(app().engine) as session:
        name = next(n for n in session.exec(select(CustomerRecord.name)) if n)
    at.text_input(key="collect_search").input(name).run()
    no_exceptions(at)
    assert at.selectbox(key="collect_pick").options
    assert any("open request" in c.value for c in at.caption), "the open requests are listed"
    at.run()  # once per session: nothing more is started
    assert jobs_of("intents.sync", "ops") == intents_before + 1
