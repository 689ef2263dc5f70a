"""Ownership review's "Check all accounts" runs as a background job the page follows.

Before, the page ran the check inside the click's run: while it ran, the list drawn before the
click stayed under the progress bar and said "Nothing to review" (or that nothing was checked
yet), and after leaving the page and coming back nothing said whether the check had ended
(leaving stopped it). Now the list says the check is still running until it ends, and the page
says the last check's state on every visit: its progress line, or when it ended and what it
found.

Stripe is made slow (a forced slow answer) so the job is still running when the page returns."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlmodel import col, delete
from streamlit.testing.v1 import AppTest

from services.auth import SYSTEM, Actor
from services.rules import wording
from services.usecases import jobs
from services.usecases import review_ownership as orv
from tests.app.conftest import force_faults, jobs_settled, no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app
from tests.app.test_pages_follow_jobs import progress

PAGE = "pages/ownership.py"
KIND = "ownership.check_all"
ADMIN = Actor(username="apptest-admin", role="admin")
LABEL = "Checking every account's owners"
RUNNING = "the check of all accounts is still running"


@pytest.fixture
def new_minute(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A start in a minute of its own: a second start within the minute of a finished check-all
    answers with that run (services.usecases.jobs), and an earlier test may have run one. The
    job is over when the test is, failed or not: the next test starts from a quiet store."""
    jobs_settled()
    window = time.time_ns()
    monkeypatch.setattr(jobs, "_window", lambda now: window)
    yield
    jobs_settled()


@pytest.fixture
def only_matches() -> None:
    """Every account checked, and only the matches kept: nothing to review until a check runs."""
    from services.adapters.models import OwnershipCheck
    from services.adapters.store import session_scope

    jobs_settled()
    orv.check_all(app().services, SYSTEM)
    with session_scope(app().engine) as session:
        session.execute(delete(OwnershipCheck).where(col(OwnershipCheck.verdict) != "match"))


@pytest.fixture
def slow_stripe() -> Iterator[None]:
    force_faults("slow", 2, seconds=3.0)  # longer than the page's 1 s wait
    yield
    app().simulator.clear_faults()


def review_list(at: AppTest) -> AppTest:
    at.segmented_control(key="own_view").set_value("Review list").run()
    no_exceptions(at)
    return at


def check_all(at: AppTest) -> AppTest:
    at.button(key="own_all").click().run()
    no_exceptions(at)
    return at


def running() -> bool:
    return any(j.active for j in jobs.recent_jobs(ADMIN, kinds=[KIND], limit=5))


def last_line(at: AppTest) -> str:
    lines = [c.value for c in at.caption if "last check of all accounts" in c.value]
    assert len(lines) == 1, texts(at)
    return str(lines[0])


def ended_line(run: jobs.JobView) -> str:
    result = run.result or {}
    verdicts = result["verdicts"]
    to_review = verdicts.get("mismatch", 0) + verdicts.get("partial", 0)
    return (
        f"ended at {wording.moment(run.finished_at)}: {result['checked']:,} checked, "
        f"{to_review:,} to review, {result['errors']:,} failed."
    )


@pytest.mark.usefixtures("only_matches", "new_minute")
def test_while_the_check_runs_the_list_says_so_and_not_that_there_is_nothing_to_review(
    slow_stripe: None,
) -> None:
    at = review_list(open_page(PAGE, "ops"))
    assert "0 to review so far" in texts(at)  # true before the check (the others' checks gone)
    check_all(at)
    assert running(), "the page waited for the whole check"
    assert any(p.startswith(LABEL) for p in progress(at)), progress(at)
    shown = texts(at)
    assert f"Nothing to review so far: {RUNNING}" in shown
    assert "Nothing to review with these filters." not in shown
    assert at.button(key="own_all").disabled, "a second check is offered while one runs"

    jobs_settled(at)
    no_exceptions(at)
    assert RUNNING not in texts(at) and not progress(at)
    assert at.dataframe and "Mismatch" in set(at.dataframe[0].value["Verdict"])
    run = jobs.recent_jobs(ADMIN, kinds=[KIND], limit=1)[0]
    assert ended_line(run) in last_line(at)
    assert not at.button(key="own_all").disabled


@pytest.mark.usefixtures("new_minute")
def test_after_leaving_the_page_and_coming_back_it_says_how_the_last_check_ended() -> None:
    at = check_all(review_list(open_page(PAGE, "ops")))
    jobs_settled()
    at.switch_page("pages/accounts.py").run()  # away, while the check ends
    at.switch_page(PAGE).run()
    review_list(at)
    run = jobs.recent_jobs(ADMIN, kinds=[KIND], limit=1)[0]
    assert run.status == "succeeded" and run.result
    line = last_line(at)
    assert ended_line(run) in line
    assert "started by" not in line

    colleague = review_list(open_page(PAGE, "admin"))
    assert ended_line(run) in last_line(colleague)
    assert "accounts (started by ops) ended at" in last_line(colleague)


@pytest.mark.usefixtures("new_minute")
def test_coming_back_while_it_runs_shows_its_progress_and_offers_no_second_check(
    slow_stripe: None,
) -> None:
    check_all(review_list(open_page(PAGE, "ops")))
    assert running()
    started = len(jobs.recent_jobs(ADMIN, kinds=[KIND], limit=100))

    again = review_list(open_page(PAGE, "ops"))  # a reload, another tab: a new session
    assert any(p.startswith(LABEL) for p in progress(again)), progress(again)
    assert again.button(key="own_all").disabled
    assert not [c for c in again.caption if "last check of all accounts" in c.value]

    jobs_settled(again)
    no_exceptions(again)
    assert not progress(again)
    run = jobs.recent_jobs(ADMIN, kinds=[KIND], limit=1)[0]
    assert ended_line(run) in last_line(again)
    assert len(jobs.recent_jobs(ADMIN, kinds=[KIND], limit=100)) == started  # one job


@pytest.fixture
def last_check_all_failed_on() -> Iterator[str]:
    """The newest check-all ended with one account unread, for a reason in Stripe's words with
    Markdown in them; the row goes when the test does (later tests read their own last run)."""
    import datetime as dt

    from services.adapters.job_models import JobRecord
    from services.adapters.store import session_scope

    jobs_settled()
    why = "Stripe said: no such account ] *fca_x* [Sign in again](https://example.com)"
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)  # newer than any real run
    job = JobRecord(
        id=f"test-why-{time.time_ns()}", kind=KIND, actor="ops", role="ops", status="succeeded",
        result={"checked": 3, "verdicts": {}, "errors": 1, "why": why},
        created_at=later, finished_at=later,
    )  # fmt: skip
    with session_scope(app().engine) as session:
        session.add(job)
    yield why
    with session_scope(app().engine) as session:
        session.execute(delete(JobRecord).where(col(JobRecord.id) == job.id))


def test_the_first_failure_in_stripes_words_is_plain_text_in_the_ended_line(
    last_check_all_failed_on: str,
) -> None:
    line = last_line(review_list(open_page(PAGE, "ops")))
    assert line.startswith(":orange[") and line.endswith("later to read them.]")
    inside = line[len(":orange[") : -1]
    # Markdown's own characters from Stripe are escaped: the colour ends where fcops ends it,
    # and nothing of Stripe's draws emphasis or a link
    assert r"no such account \] \*fca\_x\* \[Sign in again\]\(https\://example\.com\)" in inside
    assert not [c for i, c in enumerate(inside) if c in "[]*" and inside[i - 1] != "\\"]
