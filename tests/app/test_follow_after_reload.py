"""A sync someone started is followed by every page that shows what it writes, not only by the
session that clicked: after a reload (a new session), in another tab, or by a colleague, the page
shows the job's progress line, does not offer to start it again, and says once how it ended.

Stripe is made slow (a forced slow answer) so the job is still running when the second session
opens the page, as a person who reloads or opens a tab at once would find it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from services.adapters import jobs as engine
from services.auth import SYSTEM, Actor
from services.usecases import jobs
from tests.app.conftest import force_faults, jobs_settled, no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app
from tests.app.test_pages_follow_jobs import active_jobs, jobs_of, progress, slow_stripe
from tests.app.test_returns_first_sync import first_visit, outcomes_never_synced

__all__ = ["outcomes_never_synced", "slow_stripe"]  # fixtures, used by name


def sync_button(at: AppTest, key: str) -> bool:
    """Whether the button with ``key`` is disabled."""
    return bool(at.button(key=key).disabled)


@pytest.mark.usefixtures("slow_stripe")
def test_a_reload_follows_the_intent_sync_it_started_instead_of_offering_it_again() -> None:
    first = open_page("pages/conversion.py", "manager")
    jobs_settled(first)  # a first visit's own sync, if the store was never synced
    force_faults("slow", 2, seconds=3.0)  # the click's sync outlives the page
    before = jobs_of("intents.sync", "manager")
    first.toggle(key="conv_full").set_value(True)
    first.button(key="conv_sync").click().run()
    no_exceptions(first)
    assert active_jobs("intents.sync"), "the click's sync ended before the reload"

    again = open_page("pages/conversion.py", "manager")  # a reload: a new session
    no_exceptions(again)
    assert any(p.startswith("Reading intents from Stripe") for p in progress(again))
    assert "runs in the background" in texts(again)
    assert sync_button(again, "conv_sync"), "the reloaded page offers the running sync again"
    assert jobs_of("intents.sync", "manager") == before + 1  # nothing started by the reload

    jobs_settled(again)
    no_exceptions(again)
    assert any(s.value.startswith("Read ") for s in again.success), "it says how the sync ended"
    assert not sync_button(again, "conv_sync")
    again.run()
    assert not again.success  # said once


def test_a_colleague_opening_returns_follows_the_outcome_sync_already_running(
    outcomes_never_synced: None, slow_stripe: None
) -> None:
    finance = jobs_settled(first_visit("pages/returns.py", "finance"))  # the first sync, done
    assert finance is not None and not progress(finance)
    force_faults("slow", 2, seconds=3.0)  # the click's sync outlives the page
    finance.button(key="outcomes_sync").click().run()
    no_exceptions(finance)
    assert active_jobs("returns.sync"), "the click's sync ended before the colleague looked"
    started = jobs_of("returns.sync", "finance")
    by_manager = jobs_of("returns.sync", "manager")

    colleague = open_page("pages/returns.py", "manager")
    no_exceptions(colleague)
    assert any(p.startswith("Reading debit outcomes from Stripe") for p in progress(colleague))
    assert sync_button(colleague, "outcomes_sync")
    assert jobs_of("returns.sync", "manager") == by_manager  # the colleague started none
    assert jobs_of("returns.sync", "finance") == started

    jobs_settled(colleague)
    no_exceptions(colleague)
    assert not sync_button(colleague, "outcomes_sync")
    assert not progress(colleague)


@pytest.fixture
def scheduled_and_finished_jobs() -> Iterator[list[str]]:
    """Job rows as the store holds them: the safety net's scheduled sync running, a person's
    sync that finished, and two a person started that are still running (no workflow behind
    them: only what pages read)."""
    jobs_settled(open_page("pages/accounts.py", "ops"))  # the store synced once: no first sync
    store = app().engine
    made = []
    for job_id, kind, actor, status in [
        ("test-follow-system", "accounts.sync", SYSTEM, "running"),
        ("test-follow-done", "intents.sync", Actor(username="ops", role="ops"), "succeeded"),
        ("test-follow-older", "intents.sync", Actor(username="ops", role="ops"), "running"),
        ("test-follow-newer", "intents.sync", Actor(username="manager", role="manager"), "queued"),
    ]:
        engine.create_job(
            store, job_id, kind=kind, label="test", actor=actor.username, role=actor.role,
            params={},
        )
        engine.update_job(store, job_id, status=status)
        made.append(job_id)
    yield made
    for job_id in made:
        engine.update_job(store, job_id, status="failed", error="test row")


def test_running_job_is_the_newest_a_person_started_and_only_for_roles_that_see_it(
    scheduled_and_finished_jobs: list[str],
) -> None:
    manager = Actor(username="manager", role="manager")
    found = jobs.running_job(manager, "intents.sync")
    assert found is not None and found.id == "test-follow-newer"
    # The safety net's scheduled sync is not followed: pages show only what a person started.
    assert jobs.running_job(manager, "accounts.sync") is None
    # Finance may not sync intents, so it is not shown one.
    assert jobs.running_job(Actor(username="finance", role="finance"), "intents.sync") is None
    assert jobs.running_job(manager, "no.such.kind") is None


def test_a_page_does_not_follow_the_scheduled_safety_sync(
    scheduled_and_finished_jobs: list[str],
) -> None:
    at = open_page("pages/accounts.py", "ops")
    no_exceptions(at)
    assert not progress(at)
    (sync,) = [b for b in at.button if b.label == "Sync from Stripe"]
    assert not sync.disabled
