"""AppTest fixtures: every page runs through the real router (dashboard.py) on a small sandbox.

The app (and its sandbox) is built once per test process by ``st.cache_resource``; the
environment below is set before that happens.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

_DATA_DIR = tempfile.mkdtemp(prefix="fcops-apptest-")
os.environ.pop("STRIPE_API_KEY", None)
os.environ["FCOPS_DATA_DIR"] = _DATA_DIR
os.environ["FCOPS_SANDBOX_CUSTOMERS"] = "30"
os.environ["FCOPS_SANDBOX_SEED"] = "5"
os.environ["FCOPS_SANDBOX_REFRESH_DELAY"] = "0"

DASHBOARD = os.path.join(os.path.dirname(__file__), "..", "..", "dashboard.py")


def open_page(
    page: str | None,
    role: str | None,
    *,
    timeout: float = 60,
    state: dict[str, Any] | None = None,
) -> AppTest:
    """Run the dashboard signed in as the demo user of ``role`` (None: signed out) on ``page``,
    in a session that starts with ``state`` (e.g. a first sync already behind it)."""
    at = AppTest.from_file(DASHBOARD, default_timeout=timeout)
    for key, value in (state or {}).items():
        at.session_state[key] = value
    if role is not None:
        signed_in(at, role)  # the demo usernames equal the role names
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    return at


def signed_in(at: AppTest, username: str) -> AppTest:
    """Start ``at``'s session signed in as ``username``, as the sign-in form leaves it: with the
    stamp of the password it was made with (pages._session.stands checks it each run)."""
    from pages import _session
    from services import users

    entry = users.credentials(shared_app().settings.users_file)["usernames"].get(username)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    at.session_state["name"] = f"Demo {username}"
    at.session_state[_session.STAMP] = users.session_stamp(entry)
    return at


@pytest.fixture
def page_as() -> Callable[..., AppTest]:
    return open_page


def texts(at: AppTest) -> str:
    """Everything a person would read on the page, joined (for 'shows no data' checks)."""
    parts: list[str] = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "text",
        "info",
        "warning",
        "error",
        "success",
        "metric",
        "table",
        "dataframe",
    ):
        for el in at.get(kind):
            value = getattr(el, "value", None)
            parts.append(str(value if value is not None else getattr(el, "body", "")))
    return "\n".join(parts)


def column_config(dataframe: Any) -> dict[str, Any]:
    """The column configs a ``st.dataframe`` was drawn with ({column: {"type_config": …}})."""
    import json

    return dict(json.loads(dataframe.proto.columns or "{}"))


PAGE_WIDTH = 938  # px: the main column in a 1,400 px window (measured in Chromium)
ROW_PICKER = 32  # px: the check box column of a table whose rows can be picked


def shown_widths(dataframe: Any) -> dict[str, Any]:
    """{column: width} of the columns a ``st.dataframe`` shows (its ``column_order``), so a test
    can check that they add up to no more than :data:`PAGE_WIDTH` (no sideways scroll)."""
    config = column_config(dataframe)
    return {name: config.get(name, {}).get("width") for name in dataframe.proto.column_order}


def filter_box(at: AppTest, kind: str, base: str) -> Any:
    """The Accounts or Conversion filter widget of ``kind`` ("selectbox", "checkbox",
    "number_input", "multiselect", "date_input") whose key starts with ``base``
    (components.account_filters and components.conversion_filters key each box by the URL's
    value too: "acc_status:inactive")."""
    return next(w for w in getattr(at, kind) if str(w.key).startswith(f"{base}:"))


def shown_cells(element: Any) -> Any:
    """A table's cells as the browser draws them (a Styler's display values, a DataFrame)."""
    from streamlit import dataframe_util

    return dataframe_util.convert_arrow_bytes_to_pandas_df(
        element.proto.arrow_data.styler.display_values
    )


def drawn_cells(element: Any) -> Any:
    """A table's cells as the browser draws them and its search box matches them: a Styler's
    display values when the table was given one, else its values (st.dataframe's search matches
    the text a cell draws, not the value behind it)."""
    styler = element.proto.arrow_data.styler
    return shown_cells(element) if styler.display_values else element.value


def no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def typed_in(page: str, box: str, value: str, *, press: str | None = None,
             role: str = "ops") -> AppTest:
    """``page`` opened as ``role`` with ``value`` typed into the text box ``box`` and, with
    ``press``, the button of that label clicked (as a person looks an ID up), without an
    exception on the way."""
    at = open_page(page, role)
    at.text_input(key=box).set_value(value)
    if press is not None:
        next(b for b in at.button if b.label == press).click()
    at.run()
    no_exceptions(at)
    return at


def run_script(page: str, role: str | None) -> AppTest:
    """Run one page script directly (bypassing the router), signed in as ``role`` or not."""
    at = AppTest.from_file(os.path.join(os.path.dirname(DASHBOARD), page), default_timeout=60)
    if role is not None:
        signed_in(at, role)
    at.run()
    return at


def refused(page: str, role: str) -> AppTest:
    """Check that ``role`` cannot reach ``page``: it is not in the role's navigation, and the
    script run directly refuses with a message and no trace. Returns that direct run, for the
    page's own checks that it shows none of its data."""
    at = open_page(None, role)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(page)
    direct = run_script(page, role)
    no_exceptions(direct)
    assert "cannot open this page" in texts(direct)
    return direct


_app_built = False


def shared_app() -> Any:
    """The app every AppTest in this process runs against (built once, inside an AppTest run)."""
    global _app_built
    from pages._runtime import get_app

    if not _app_built:
        open_page(None, None)
        _app_built = True
    return get_app()


@pytest.fixture(autouse=True, scope="session")
def no_waiting_on_rate_limits() -> None:
    """The app's gateway backs off on 429s (seconds of sleeping); here it skips the sleeps and
    keeps its number of attempts, so a forced 429 plays out as in production, only faster."""
    from tests.conftest import quick_backoff

    shared_app().services.gateway.backoff = quick_backoff()[0]


@pytest.fixture
def automatic_setup_intent_flow() -> None:
    """Other page tests share this app and may leave the SetupIntent flow on instant or
    microdeposits; journeys that need both routes start from automatic."""
    from services.auth import Actor
    from services.usecases import edit_flows as flows

    engine = shared_app().engine
    current = flows.load_flow(engine, "setup_intent")
    if current.verification_method != "automatic":
        flows.save_flow(
            engine,
            Actor(username="apptest-admin", role="admin"),
            "setup_intent",
            permissions=current.permissions,
            prefetch=current.prefetch,
            verification_method="automatic",
            expected_version=current.version,
        )


def webhooks_settled(timeout: float = 20.0) -> None:
    """Wait until the sandbox has delivered every event to the app's webhook endpoint and the app
    has applied each one, so a test's before/after comparison sees only what the test did.

    The world fixtures link banks and run refreshes; their events reach the app asynchronously
    (sandbox delivery thread → endpoint → DBOS queue), and would otherwise land mid-test."""
    import time

    from sqlmodel import func, select

    from services.adapters.job_models import WebhookEventRecord
    from services.adapters.store import session_scope

    a = shared_app()
    deadline = time.monotonic() + timeout
    router = a.sandbox.state.extras.get("webhook_connector") if a.sandbox else None
    for dispatcher in router.dispatchers() if router is not None else []:
        dispatcher.wait_idle(timeout=max(0.1, deadline - time.monotonic()))
    while time.monotonic() < deadline:
        with session_scope(a.engine) as session:
            waiting = session.exec(
                select(func.count())
                .select_from(WebhookEventRecord)
                .where(WebhookEventRecord.status == "received")
            ).one()
        if not waiting:
            return
        time.sleep(0.05)
    raise AssertionError(f"{waiting} webhook event(s) still unapplied after {timeout} s")


def jobs_settled(at: AppTest | None = None, timeout: float = 60.0) -> AppTest | None:
    """Wait until no background job is queued or running, then rerun ``at`` (a page that
    started a job draws what it stored). Pages follow jobs, so a test waits for them here.
    Every unfinished job counts, however many jobs were started after it (the newest 20 only
    let a job pushed past them by a busy test end the wait early)."""
    import time

    shared_app()
    deadline = time.monotonic() + timeout
    while unfinished_jobs():
        if time.monotonic() > deadline:
            raise AssertionError(f"jobs still running after {timeout} s: {unfinished_jobs()}")
        time.sleep(0.1)
    if at is not None:
        at.run()
    return at


FINISHED = ("succeeded", "failed")  # a job's status once it ended


def unfinished_jobs() -> list[str]:
    """The IDs of every job in the shared store that has not finished (queued or running)."""
    from sqlmodel import col, select

    from services.adapters.job_models import JobRecord
    from services.adapters.store import session_scope

    stmt = select(JobRecord.id).where(col(JobRecord.status).not_in(FINISHED))
    with session_scope(shared_app().engine) as session:
        return list(session.exec(stmt).all())


def force_faults(mode: str, count: int, *, seconds: float | None = None) -> None:
    """Force the next ``count`` answers of the shared sandbox to be ``mode`` faults, once the
    background work of earlier tests has ended: a job's requests, and a webhook being applied
    (an intent event, or an account event of the same second, is read back from Stripe), would
    otherwise take faults meant for what the test does next (Home's first-sync test found the
    intent sync it slowed already ended: a read-back had taken the slow answers)."""
    jobs_settled()
    webhooks_settled()
    shared_app().simulator.force_faults(mode, count, seconds=seconds)


def clear_flow_drafts() -> None:
    """Forget every admin's stored Flows drafts (the AppTests share one store, and a draft left
    by one test would open, marked, in the next)."""
    from sqlmodel import delete

    from services.adapters.flow_drafts import FlowDraftRow
    from services.adapters.store import session_scope

    with session_scope(shared_app().engine) as session:
        session.exec(delete(FlowDraftRow))  # type: ignore[call-overload]


def save_policy(policy: Any, by: Any) -> int:
    """Save ``policy`` as the debit policy in force, as the admin ``by``; its new version."""
    from services.usecases import debit_policy

    in_force = debit_policy.load_policy(shared_app().engine)
    saved = debit_policy.save_policy(
        shared_app().engine, by, policy, expected_version=in_force.version
    )
    return int(saved.version)


@pytest.fixture
def defaults_after() -> Any:
    """Put the default debit policy figures back after the test (the page tests after it count
    on them)."""
    from services.auth import Actor
    from services.rules.debit import DebitPolicy

    yield
    save_policy(DebitPolicy(), Actor(username="apptest-admin", role="admin"))
