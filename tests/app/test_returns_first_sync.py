"""Returns on a store whose debit outcomes were never synced: the first visit starts the
outcome sync as a background job (pages/_follow.py), draws the page meanwhile with the progress
line, and fills in the rates when the job ends; it never sits at "last synced never".

Stripe is made slow (a forced slow answer) so the sync cannot finish while the page script
runs: the page returning with the job still running is what shows it did not wait."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import col, delete
from streamlit.testing.v1 import AppTest

from tests.app.conftest import force_faults, jobs_settled, no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app
from tests.app.test_first_run import fresh_store  # noqa: F401  (fixture)
from tests.app.test_pages_follow_jobs import (  # noqa: F401
    SLOW_SECONDS,
    active_jobs,
    jobs_of,
    progress,
    slow_stripe,
)

PAGE = "pages/returns.py"
LABEL = "Reading debit outcomes from Stripe"


def stored_debits() -> int:
    from services.usecases.debit_outcomes import load_outcomes

    return len(load_outcomes(app().engine))


@pytest.fixture
def outcomes_never_synced() -> Iterator[None]:
    """The outcome mirror as a new data folder has it: no debits and no cursor."""
    from services.adapters import data_version
    from services.adapters.models import (
        DebitChainDayRecord,
        DebitChainRecord,
        DebitHeadroomDayRecord,
        DebitOutcomeRecord,
        DebitVerdictDayRecord,
        LatestBlockRecord,
        SyncState,
    )
    from services.adapters.store import session_scope
    from services.usecases.debit_outcomes import SYNC_NAME

    open_page(None, None)  # builds the app with the test settings
    jobs_settled()
    with session_scope(app().engine) as session:
        session.exec(delete(DebitOutcomeRecord))  # type: ignore[call-overload]
        session.exec(delete(DebitChainRecord))  # type: ignore[call-overload]
        session.exec(delete(DebitChainDayRecord))  # type: ignore[call-overload]
        session.exec(delete(DebitVerdictDayRecord))  # type: ignore[call-overload]
        session.exec(delete(DebitHeadroomDayRecord))  # type: ignore[call-overload]
        session.exec(delete(LatestBlockRecord))  # type: ignore[call-overload]
        session.exec(delete(SyncState).where(col(SyncState.name) == SYNC_NAME))  # type: ignore[call-overload]
        # as any write to the mirror does: a job ID carries the data version, and a sync started
        # this minute by an earlier test must not answer this store's first sync as done
        data_version.bump(session, data_version.OUTCOMES)
    yield
    jobs_settled()
    with session_scope(app().engine) as session:  # other page tests seed their own debits
        session.exec(delete(DebitOutcomeRecord))  # type: ignore[call-overload]
        session.exec(delete(DebitChainRecord))  # type: ignore[call-overload]
        session.exec(delete(DebitChainDayRecord))  # type: ignore[call-overload]
        session.exec(delete(DebitVerdictDayRecord))  # type: ignore[call-overload]
        session.exec(delete(DebitHeadroomDayRecord))  # type: ignore[call-overload]
        session.exec(delete(LatestBlockRecord))  # type: ignore[call-overload]


def first_visit(page: str, role: str) -> AppTest:
    """Open ``page`` on outcomes never synced, with Stripe slow: it returns while the outcome
    sync it started (one job) still runs."""
    before = jobs_of("returns.sync", role)
    at = open_page(page, role)
    no_exceptions(at)
    assert active_jobs("returns.sync"), "the page waited for the whole sync"
    assert jobs_of("returns.sync", role) == before + 1
    return at


@pytest.mark.usefixtures("outcomes_never_synced", "slow_stripe")
def test_the_first_visit_starts_the_outcome_sync_as_a_job_and_fills_in_the_rates() -> None:
    at = first_visit(PAGE, "finance")
    before = jobs_of("returns.sync", "finance")
    assert any(p.startswith(LABEL) for p in progress(at))
    page = texts(at)
    assert "runs in the background" in page
    assert "never" not in page and "not synced from Stripe yet" not in page
    assert "being read from Stripe" in page  # no rate yet, and it says why

    jobs_settled(at)
    no_exceptions(at)
    assert stored_debits() > 0
    page = texts(at)
    assert any(str(s.value).startswith("Read ") for s in at.success), "it says what it read"
    assert "Outcomes last synced 20" in page and "UTC" in page
    assert "runs in the background" not in page
    overall = next(m for m in at.metric if str(m.label) == "All returns")
    assert str(overall.value).endswith("%"), "a rate once the debits are in"

    at.run()  # once per session, and the sentence was said once
    no_exceptions(at)
    assert jobs_of("returns.sync", "finance") == before
    assert not any(str(s.value).startswith("Read ") for s in at.success)
    again = open_page(PAGE, "manager")  # a new session on a synced store: nothing to start
    no_exceptions(again)
    assert jobs_of("returns.sync", "manager") == 0 and not active_jobs("returns.sync")



@pytest.mark.parametrize(("page", "role"), [(PAGE, "finance"), ("pages/blocked.py", "ops")])
def test_sync_outcomes_starts_a_job_the_page_follows(page: str, role: str) -> None:
    """"Sync outcomes" (Returns, Blocked accounts) returns at once, as the first visit's sync
    does: the page follows the job with its progress line and says what it read at the end."""
    from services.adapters import data_version
    from services.adapters.store import session_scope

    at = open_page(page, role)
    jobs_settled(at)
    # A sync that finished this minute answers a new start while no outcome changed since (the
    # job ID carries the minute and the data version): an earlier test's sync may have, so an
    # outcome changes here, as a webhook's return would, and the click is due a job of its own
    with session_scope(app().engine) as session:
        data_version.bump(session, data_version.OUTCOMES)
    before = jobs_of("returns.sync", role)
    force_faults("slow", 2, seconds=SLOW_SECONDS)  # longer than the page waits
    try:
        at.button(key="outcomes_sync").click().run()
        no_exceptions(at)
        assert jobs_of("returns.sync", role) == before + 1
        assert active_jobs("returns.sync"), "the click waited for the whole sync"
        assert any(p.startswith(LABEL) for p in progress(at))
        assert at.button(key="outcomes_sync").disabled, "no second start while one is followed"
    finally:
        jobs_settled(at)
        app().simulator.clear_faults()
    no_exceptions(at)
    assert any(str(s.value).startswith("Read ") for s in at.success), "it says what it read"
    assert not at.button(key="outcomes_sync").disabled


@pytest.mark.usefixtures("fresh_store", "outcomes_never_synced")
def test_the_first_visit_on_a_fresh_store_names_the_people_behind_the_debits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The debits' names and emails come from the customers the account sync reads; on a fresh
    store the page starts that sync too, so the table does not show "—" for every person.

    A sentence is said again by a rerun within ``SAY_AGAIN_SECONDS`` (10 s); the account sync of
    the shared sandbox, which earlier tests fill with customers, can end later than that after
    the outcome sync's sentence (10.5 s in a whole tests/app run): the window is widened here so
    the test asks for the mechanism, not for the sync's speed."""
    from pages import _follow

    monkeypatch.setattr(_follow, "SAY_AGAIN_SECONDS", 120.0)
    before = jobs_of("accounts.sync", "finance")
    at = open_page(PAGE, "finance")
    no_exceptions(at)
    assert jobs_of("accounts.sync", "finance") == before + 1
    jobs_settled(at)
    no_exceptions(at)
    # Both syncs say how they ended, though the second one's end reran the page right after
    # the first one's sentence was drawn (a rerun discards what was drawn).
    said = [str(s.value) for s in at.success]
    assert any(s.startswith("Read ") for s in said), said
    assert any(s.startswith("Synced ") for s in said), said
    table = next(d.value for d in at.dataframe if "name" in d.value.columns)
    assert len(table) > 0
    named = table["name"].notna() & (table["name"].astype(str).str.len() > 0)
    assert named.mean() > 0.5, table[["name", "email"]].head()
