"""Home's conversion cards while the first intent sync is still running.

Before, a manager opening Home during the first intent sync saw "Automatic verification 91.9 %
— 158 of 172 ended" next to "Intents last synced: never": rates of a store half read, which
read 77.3 % once the sync ended. Now Home says the intents are still being read from Stripe,
follows the job's progress line and shows the rates when it ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import delete
from sqlmodel import col
from streamlit.testing.v1 import AppTest

from services.usecases import conversion_report
from tests.app.conftest import jobs_settled, no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app
from tests.app.test_pages_follow_jobs import active_jobs, progress, slow_stripe

__all__ = ["slow_stripe"]  # a fixture, used by name

STILL_READING = "The intents are still being read from Stripe for the first time"


def rate_cards(at: AppTest) -> list[str]:
    return [str(m.label) for m in at.metric if str(m.label).endswith(" verification")]


@pytest.fixture
def intents_never_synced() -> Iterator[None]:
    """Intents in the store (as a sync half done leaves them) but no sync ever finished."""
    from services.adapters import data_version
    from services.adapters.models import SyncState
    from services.adapters.store import session_scope
    from services.auth import SYSTEM
    from services.usecases import sync_accounts, sync_intents

    open_page(None, None)  # builds the app with the test settings
    jobs_settled()
    if not conversion_report.store_info(app().engine).intents:
        sync_accounts.sync_accounts(app().services, SYSTEM)
        sync_intents.sync_intents(app().services, SYSTEM)
    with session_scope(app().engine) as session:
        session.execute(delete(SyncState).where(col(SyncState.name) == "intents"))  # type: ignore[arg-type]
        # a job ID carries the data version: this store's first sync is a new job
        data_version.bump(session, data_version.INTENTS)
    assert conversion_report.store_info(app().engine).intents > 0
    yield
    jobs_settled()
    if conversion_report.store_info(app().engine).last_finished_at is None:
        sync_intents.sync_intents(app().services, SYSTEM)  # as the tests after this expect


@pytest.mark.usefixtures("intents_never_synced", "slow_stripe")
def test_home_shows_no_rates_while_the_first_intent_sync_runs_and_fills_them_in_after() -> None:
    conversion = open_page("pages/conversion.py", "manager")  # its first visit starts the sync
    no_exceptions(conversion)
    assert active_jobs("intents.sync"), "the sync ended before Home was opened"

    home = open_page(None, "manager")  # Home, in another tab, while the sync runs
    no_exceptions(home)
    assert rate_cards(home) == [], "rates of a half-read store shown as real"
    assert not any(m.value.endswith(" %") for m in home.metric)
    assert STILL_READING in texts(home)
    assert any(p.startswith("Reading intents from Stripe") for p in progress(home))
    assert str(next(m.value for m in home.metric if m.label == "Intents last synced")) == "never"

    jobs_settled(home)  # the progress line reruns the page when the job ends
    no_exceptions(home)
    assert set(rate_cards(home)) >= {"Automatic verification", "Instant verification"}
    assert STILL_READING not in texts(home)
    assert not progress(home)
    synced = next(m.value for m in home.metric if m.label == "Intents last synced")
    assert str(synced) != "never"


@pytest.mark.usefixtures("intents_never_synced")
def test_home_says_the_intents_were_never_synced_instead_of_partial_rates() -> None:
    home = open_page(None, "admin")  # no sync running: nothing to follow
    no_exceptions(home)
    assert rate_cards(home) == []
    assert "have not been synced from Stripe yet" in texts(home)
    assert STILL_READING not in texts(home)


@pytest.mark.usefixtures("intents_never_synced", "slow_stripe")
def test_conversion_says_its_figures_are_not_final_while_the_first_intent_sync_runs() -> None:
    """At 5,000 customers a manager opening Conversion during the first sync read "No data yet:
    no intents match these filters. Widen the date range, clear a filter, or sync intents." for
    three minutes (filters could not help), or partial rates as if they were final."""
    from datetime import UTC, datetime, timedelta

    from tests.app.conftest import filter_box

    at = open_page("pages/conversion.py", "manager")  # its first visit starts the sync
    no_exceptions(at)
    assert active_jobs("intents.sync"), "the sync ended before the page was drawn"
    assert any("Not final: the first read of intents from Stripe is still running" in w.value
               for w in at.warning), [w.value for w in at.warning]
    # A range no intent is in (yet): tomorrow
    day = datetime.fromtimestamp(app().services.now(), UTC).date() + timedelta(days=1)
    filter_box(at, "date_input", "conv_dates").set_value((day, day)).run()
    no_exceptions(at)
    shown = " ".join(i.value for i in at.info)
    assert "still being read from Stripe for the first time" in shown, shown
    assert "Widen the date range" not in shown

    jobs_settled(at)
    no_exceptions(at)
    assert not any("Not final" in w.value for w in at.warning)
    assert any("Widen the date range" in i.value for i in at.info)  # a real empty range now


@pytest.mark.usefixtures("intents_never_synced")
def test_ops_open_requests_card_says_the_requests_were_not_read_yet() -> None:
    """Before any intent sync ops' Home said "Open collection requests 0" while Collect, once
    opened, listed 6."""
    home = open_page(None, "ops")
    no_exceptions(home)
    card = next(m for m in home.metric if m.label == "Open collection requests")
    assert card.value == "—"
    assert "Not read from Stripe yet: Collect reads the requests on its first visit." in texts(home)
