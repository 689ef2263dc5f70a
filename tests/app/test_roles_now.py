"""A change is made as the person is now, not as the page last saw them.

A fragment's own run (the Jobs board redraws itself every 2 s; a click inside it runs it alone),
a widget's callback and a download built on the click all run without the page and its guard.
An admin made a manager (or removed) while their Jobs page was open pressed "Try again" on a
failed job, and the retry ran and was audited as ``admin | jobs.retry | ok``. Now:

- every service call a page makes (``pages._runtime.call`` and its kin) passes the person as
  they are now: a demoted user is refused by the new role's permissions and audited with it, a
  removed one is refused with a row that names them (tests/services/test_pages_call_checked_
  services.py holds every page to those calls);
- every self-refreshing fragment first checks that the page is still theirs
  (``pages._live.page_still_open``) and otherwise reruns the whole app, which shows "cannot open
  this page" or the sign-in form (tests/browser/test_roles_now.py: the same on Jobs, in Chromium).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import no_exceptions, shared_app, signed_in, texts


@pytest.fixture
def colleague(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An admin of their own in the users file (quick hash), removed afterwards."""
    import secrets

    from services import users

    monkeypatch.setattr(users, "BCRYPT_ROUNDS", 4)
    name = f"adm{secrets.token_hex(3)}"
    path = shared_app().settings.users_file
    users.add_user(path, username=name, password="plum-orbit-canvas-42", role="admin")
    yield name
    if users.get_user(path, name) is not None:
        users.remove_user(path, name)


def failed_intent_sync() -> str:
    from services.adapters import jobs as engine
    from services.adapters.models import utcnow

    job_id = f"intents.sync-rolesnow{time.time_ns()}"
    engine.create_job(
        shared_app().engine, job_id, kind="intents.sync", label="Intent sync", actor="admin",
        role="admin", params={"full": False, "window": time.time_ns() % 10**9, "data": 0},
    )
    engine.update_job(shared_app().engine, job_id, status="failed", finished_at=utcnow(),
                      error="Stripe had a temporary problem (HTTP 500). Try again in a minute.")
    return job_id


def audit_rows(action: str, actor: str) -> list[tuple[str, str, str | None]]:
    """(role, outcome, target) of every ``action`` row ``actor`` has."""
    from sqlmodel import select

    from services.adapters.models import AuditEntry
    from services.adapters.store import session_scope

    with session_scope(shared_app().engine) as session:
        rows = session.exec(
            select(AuditEntry).where(AuditEntry.action == action, AuditEntry.actor == actor)
        ).all()
        return [(r.role, r.outcome, r.target) for r in rows]


def job_exists(job_id: str) -> bool:
    from services.adapters import jobs as engine

    return engine.get_job(shared_app().engine, job_id) is not None


# ----------------------------------------------------------------- the call path (runtime.call)


def _try_again_as_last_seen() -> None:
    """Jobs' ``try_again`` as a fragment's own run makes it: ``runtime.call`` with the Actor the
    page's last full run saw (an admin)."""
    import streamlit as st

    from pages import _runtime as runtime
    from services.auth import Actor
    from services.usecases import jobs_retry

    seen = Actor(username=str(st.session_state["username"]), role="admin")
    started = runtime.call(jobs_retry.retry_job, seen, st.session_state["probe_job"])
    st.write(f"started: {started}")


def try_again_after(name: str, job_id: str) -> AppTest:
    at = AppTest.from_function(_try_again_as_last_seen, default_timeout=60)
    signed_in(at, name)
    at.session_state["probe_job"] = job_id
    return at.run()


def test_a_demoted_admins_try_again_is_refused_by_their_new_role_and_audited_with_it(
    colleague: str,
) -> None:
    from services import users

    failed = failed_intent_sync()
    users.set_role(shared_app().settings.users_file, colleague, "finance")  # no intents.sync
    at = try_again_after(colleague, failed)
    no_exceptions(at)
    assert [e.value for e in at.error] == [
        "Your role (finance) may not do this (intents.sync); it needs one of: admin, manager, ops."
    ], texts(at)
    assert "started: None" in texts(at)
    assert not job_exists(f"{failed}-retry1")  # nothing started
    assert audit_rows("jobs.retry", colleague) == [("finance", "refused", failed)]


def test_a_removed_admins_try_again_is_refused_and_audited_naming_them(colleague: str) -> None:
    from services import users
    from services.auth import ENDED_ROLE, SIGN_IN_ENDED

    failed = failed_intent_sync()
    users.remove_user(shared_app().settings.users_file, colleague)
    at = try_again_after(colleague, failed)
    no_exceptions(at)
    assert [e.value for e in at.error] == [SIGN_IN_ENDED], texts(at)
    assert not job_exists(f"{failed}-retry1")
    assert audit_rows("jobs.retry", colleague) == [(ENDED_ROLE, "refused", failed)]


def test_an_admin_still_admin_tries_again_as_before(colleague: str) -> None:
    failed = failed_intent_sync()
    at = try_again_after(colleague, failed)
    no_exceptions(at)
    assert f"started: {failed}-retry1" in texts(at)
    assert audit_rows("jobs.retry", colleague) == [("admin", "ok", failed)]


# ------------------------------------------------------- a download built on the click, later


def _audit_export_offered() -> None:
    """Audit log's "Export CSV": the file is built on the click, in another thread."""
    import streamlit as st

    from pages import _person as person
    from pages import _runtime as runtime
    from services.auth import Actor
    from services.usecases import export_audit

    actor = Actor(username=str(st.session_state["username"]), role="admin")
    st.session_state["probe_later"] = person.on_click(
        export_audit.export, runtime.get_app().services, actor, export_audit.AuditFilters()
    )


@pytest.mark.parametrize("change", ["ops", "removed"])
def test_a_download_clicked_after_a_demotion_is_built_as_the_person_is_then(
    colleague: str, change: str
) -> None:
    from services import users
    from services.auth import ENDED_ROLE

    at = AppTest.from_function(_audit_export_offered, default_timeout=60)
    signed_in(at, colleague).run()
    no_exceptions(at)
    later = at.session_state["probe_later"]
    path = shared_app().settings.users_file
    if change == "removed":
        users.remove_user(path, colleague)
    else:
        users.set_role(path, colleague, change)
    assert later() == ""  # in this thread, without the session: as Streamlit runs it
    role = ENDED_ROLE if change == "removed" else change
    assert audit_rows("audit.export", colleague) == [(role, "refused", None)]


def test_a_download_clicked_by_a_user_still_allowed_is_built(colleague: str) -> None:
    at = AppTest.from_function(_audit_export_offered, default_timeout=60)
    signed_in(at, colleague).run()
    assert str(at.session_state["probe_later"]()).startswith("time,actor,role,action,")
    assert audit_rows("audit.export", colleague) == [("admin", "ok", None)]


# ---------------------------------------------------------- a fragment's own run (run_every)


def _page_with_a_board() -> None:
    """A page guarded for admins with a self-refreshing board. ``probe_fragment_run`` makes the
    next run the board's own run (as its timer or a click inside it makes it): no guard."""
    import streamlit as st

    from pages import _live as live
    from pages import _runtime as runtime

    st.session_state["probe_runs"] = st.session_state.get("probe_runs", 0) + 1

    @live.fragment(run_every=60.0)
    def board() -> None:
        st.session_state["probe_board_runs"] = st.session_state.get("probe_board_runs", 0) + 1
        st.write("board: the failed jobs")

    if not st.session_state.pop("probe_fragment_run", False):
        runtime.guard("jobs.view")
    board()


@pytest.mark.parametrize("change", ["manager", "finance", "removed"])
def test_the_board_stops_and_the_page_says_why_once_the_role_is_lost(
    colleague: str, change: str
) -> None:
    from services import users

    at = AppTest.from_function(_page_with_a_board, default_timeout=60)
    signed_in(at, colleague).run()
    no_exceptions(at)
    assert "board: the failed jobs" in texts(at)
    path = shared_app().settings.users_file
    if change == "removed":
        users.remove_user(path, colleague)
    else:
        users.set_role(path, colleague, change)
    runs = at.session_state["probe_board_runs"]
    at.session_state["probe_fragment_run"] = True
    at.run()
    no_exceptions(at)
    assert "board: the failed jobs" not in texts(at)
    assert at.session_state["probe_board_runs"] == runs  # its body did not run again
    if change == "removed":
        assert "Sign in to see this page." in texts(at)
    else:
        assert f"Your role ({change}) cannot open this page. It is for: admin." in texts(at)


@pytest.mark.parametrize("change", ["manager", "finance"])
def test_a_board_run_still_on_its_way_after_the_refusal_draws_nothing_and_runs_nothing(
    colleague: str, change: str
) -> None:
    """The board's timer can fire once more after the app's full run refused the role (CI's
    Chromium journey: the page then stayed busy for 30 s). That run draws nothing and does not
    run the app again: before, every such run reran the whole app to say the refusal again."""
    from services import users

    at = AppTest.from_function(_page_with_a_board, default_timeout=60)
    signed_in(at, colleague).run()
    users.set_role(shared_app().settings.users_file, colleague, change)
    at.run()  # the full run: the guard refuses
    assert f"Your role ({change}) cannot open this page. It is for: admin." in texts(at)
    runs, board_runs = at.session_state["probe_runs"], at.session_state["probe_board_runs"]
    at.session_state["probe_fragment_run"] = True
    at.run()  # the board's own run, after the refusal
    no_exceptions(at)
    assert "board: the failed jobs" not in texts(at)
    assert at.session_state["probe_board_runs"] == board_runs
    assert at.session_state["probe_runs"] == runs + 1  # no second, full run of the app


def test_the_board_goes_on_for_a_user_whose_role_stands(colleague: str) -> None:
    at = AppTest.from_function(_page_with_a_board, default_timeout=60)
    signed_in(at, colleague).run()
    at.session_state["probe_fragment_run"] = True
    at.run()
    no_exceptions(at)
    assert "board: the failed jobs" in texts(at)
    assert at.session_state["probe_board_runs"] == 2
