"""A sync's success is said on the page it was started on, not on the next page the session
opens: Ownership review showed "Synced 200 customers and 313 accounts in 7.34 s." from a sync
run on Accounts."""

from __future__ import annotations

from pages import _follow as follow
from pages import _runtime as runtime
from services.auth import SYSTEM, Actor
from services.usecases import jobs, sync_accounts
from tests.app.conftest import force_faults, jobs_settled, no_exceptions, open_page
from tests.app.conftest import shared_app as app

SAID = "Synced 200 customers and 313 accounts in 7.34 s."
ADMIN = Actor(username="apptest-admin", role="admin")
SLOW_SECONDS = 3.0  # longer than a page waits for a job it starts (pages/_follow.WAIT_SECONDS)


def _running() -> bool:
    return any(j.active for j in jobs.recent_jobs(ADMIN, kinds=["accounts.sync"], limit=5))


def _successes(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [s.value for s in at.success]


def test_a_success_from_another_page_is_not_said_here_and_one_from_here_is() -> None:
    sync_accounts.sync_accounts(app().services, SYSTEM)  # a synced store: no first sync here
    at = open_page("pages/ownership.py", "ops")
    no_exceptions(at)
    here = at.session_state[runtime.PAGE_NOW]
    at.session_state[follow.ENDED + follow.ACCOUNTS] = (True, SAID, "another page's hash")
    at.run()
    no_exceptions(at)
    assert SAID not in _successes(at), _successes(at)
    at.session_state[follow.ENDED + follow.ACCOUNTS] = (True, SAID, here)
    at.run()
    assert SAID in _successes(at), _successes(at)


def test_a_failure_is_said_wherever_the_session_is_next() -> None:
    at = open_page("pages/ownership.py", "ops")
    at.session_state[follow.ENDED + follow.ACCOUNTS] = (False, "Stripe answered 500.", "elsewhere")
    at.run()
    no_exceptions(at)
    assert any("Stripe answered 500." in e.value for e in at.error), [e.value for e in at.error]


def test_a_success_that_ends_while_the_session_is_elsewhere_is_said_back_on_its_page_once() -> None:
    """Sync on Accounts, go to Ownership review (it follows the same sync) before it ends: the
    success is not Ownership's news, and was dropped there. Back on Accounts it is said, once."""
    sync_accounts.sync_accounts(app().services, SYSTEM)  # a synced store: no first sync here
    at = open_page("pages/accounts.py", "ops")
    no_exceptions(at)
    force_faults("slow", 2, seconds=SLOW_SECONDS)  # the sync outlasts the page's wait for it
    try:
        next(b for b in at.button if b.label == "Sync from Stripe").click().run()
        no_exceptions(at)
        assert _running(), "the sync ended before the session left the page"
        at.switch_page("pages/ownership.py").run()  # away while it runs
        no_exceptions(at)
        jobs_settled(at)  # it ends; Ownership's progress line sees it end and reruns the page
        no_exceptions(at)
    finally:
        app().simulator.clear_faults()
    said = jobs.recent_jobs(ADMIN, kinds=["accounts.sync"], limit=1)[0]
    assert said.status == "succeeded" and said.message, said
    assert said.message not in _successes(at), "Accounts' sync said on Ownership review"
    at.switch_page("pages/accounts.py").run()  # back on the page that started it
    no_exceptions(at)
    assert _successes(at).count(said.message) == 1, _successes(at)
    at.run()
    assert said.message not in _successes(at), "said twice"
    at.switch_page("pages/ownership.py").run()
    assert said.message not in _successes(at)
