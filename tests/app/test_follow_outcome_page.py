"""A sync's success is said on the page it was started on, not on the next page the session
opens: Ownership review showed "Synced 200 customers and 313 accounts in 7.34 s." from a sync
run on Accounts."""

from __future__ import annotations

from pages import _follow as follow
from pages import _runtime as runtime
from services.auth import SYSTEM
from services.usecases import sync_accounts
from tests.app.conftest import no_exceptions, open_page
from tests.app.conftest import shared_app as app

SAID = "Synced 200 customers and 313 accounts in 7.34 s."


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
