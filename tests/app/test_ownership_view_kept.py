"""Ownership review comes back to the view the person left, and to the review list while a check
of all accounts runs.

Before, leaving the page while "Check all accounts" ran (to Accounts and back with the browser's
Back, a reload, a new tab) opened it on "Check an account": an empty form that said nothing of
the check still running; its progress was only on the review list, one click away, and nothing
said so. Now a session arriving while the check runs opens on the review list with its progress,
and a return within the session opens the view left.
"""

from __future__ import annotations

import pytest

from tests.app.conftest import no_exceptions, open_page, texts
from tests.app.test_ownership_check_all import (  # noqa: F401
    LABEL,
    PAGE,
    check_all,
    new_minute,
    review_list,
    running,
    slow_stripe,
)
from tests.app.test_pages_follow_jobs import progress


@pytest.mark.usefixtures("new_minute", "slow_stripe")
def test_a_reload_while_the_check_runs_opens_on_the_review_list_with_its_progress() -> None:
    at = check_all(review_list(open_page(PAGE, "ops")))
    assert running()
    again = open_page(PAGE, "ops")  # a reload or a new tab: a new session, no click
    no_exceptions(again)
    assert again.segmented_control(key="own_view").value == "Review list"
    assert any(p.startswith(LABEL) for p in progress(again)), progress(again)
    assert again.button(key="own_all").disabled
    assert "Enter an account ID" not in texts(again)
    del at


@pytest.mark.usefixtures("new_minute")
def test_coming_back_from_another_page_opens_the_view_left() -> None:
    at = review_list(open_page(PAGE, "ops"))
    at.switch_page("pages/accounts.py").run()
    at.switch_page(PAGE).run()
    no_exceptions(at)
    assert at.segmented_control(key="own_view").value == "Review list"

    at.segmented_control(key="own_view").set_value("Check an account").run()
    at.switch_page("pages/accounts.py").run()
    at.switch_page(PAGE).run()
    assert at.segmented_control(key="own_view").value == "Check an account"


def test_with_no_check_running_a_new_session_opens_on_check_an_account() -> None:
    from tests.app.conftest import jobs_settled

    jobs_settled()
    at = open_page(PAGE, "ops")
    no_exceptions(at)
    assert at.segmented_control(key="own_view").value == "Check an account"
