"""An admin made a manager while their Jobs page is open: the board, which redraws itself every
2 s, stops at once and the page says the role cannot open it; their "Try again" on a failed job
starts nothing. Removed, the board's own run signs them out and says why. Before, the board kept updating (jobs started after the demotion too) and
"Try again" ran the retry, audited ``<them> | admin | jobs.retry | ok``, and only then did the
page say "Your role (manager) cannot open this page." The tester's journey, in two browsers.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from services import users
from tests.browser.conftest import APP_DATA, ARTIFACTS, SANDBOX_URL, sign_in, wait_idle
from tests.browser.test_config_to_conversion_journey import open_page, settle
from tests.browser.test_users_journey import PASSWORD, choose, submit_new_user

# A slow journey (a sync failing through 400 Stripe 500s, two browsers, minutes): in CI56 it timed
# out under load and left the shared server unable to show the next test's sign-in form, so it
# runs only when asked (FCOPS_SLOW_JOURNEYS=1); tests/app/test_roles_now.py covers the same rules
# (Try again refused and audited, the board stopping) in every run.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.environ.get("FCOPS_SLOW_JOURNEYS"),
                       reason="slow journey; FCOPS_SLOW_JOURNEYS=1 runs it"),
]


def faults(**fields: str) -> None:
    """The sandbox's fault switch (``mode=500&count=400``; ``clear=true`` ends them)."""
    body = urllib.parse.urlencode(fields).encode()
    urllib.request.urlopen(f"{SANDBOX_URL}/_sandbox/faults", data=body, timeout=10).read()


def store(sql: str, *params: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(Path(APP_DATA["dir"]) / "fcops-sandbox.db") as db:
        return db.execute(sql, params).fetchall()


def test_a_demoted_admins_jobs_board_stops_and_their_try_again_starts_nothing(
    app_url: str, browser: Any, page: Any
) -> None:
    name = f"adm{secrets.token_hex(3)}"
    sign_in(page, app_url, "admin", "fcops-admin-demo")
    open_page(page, "Users")
    submit_new_user(page, "admin", Username=name, Name="Board Colleague",
                    Email=f"{name}@example.com")
    page.get_by_text(f"Added {name} as admin").wait_for()
    since = store("SELECT COALESCE(MAX(created_at), '') FROM jobs")[0][0]
    colleague = browser.new_context(viewport={"width": 1400, "height": 1800})
    failed: list[str] = []
    try:
        faults(mode="500", count="400")  # Stripe answers 500 until the sync gives up
        open_page(page, "Jobs")
        page.get_by_role("button", name="Sync account changes").click()
        page.get_by_text("Failed job to try again").wait_for(timeout=180_000)
        faults(clear="true")
        failed = [row[0] for row in store(
            "SELECT id FROM jobs WHERE kind = 'accounts.sync' AND status = 'failed' "
            "AND created_at > ?", since)]
        assert failed, store("SELECT id, status FROM jobs WHERE created_at > ?", since)

        other = colleague.new_page()
        other.set_default_timeout(30_000)
        sign_in(other, f"{app_url}/jobs", name, PASSWORD)
        other.get_by_text("Failed job to try again").wait_for(timeout=60_000)
        wait_idle(other)

        open_page(page, "Users")
        choose(page, "User", f"{name} · Board Colleague")
        choose(page, "Role", "manager")
        page.get_by_role("button", name="Save role").click()
        settle(page)
        page.get_by_text(f"{name} is now manager (was admin)").wait_for()
        # Their "Try again" right away (before the board's next own run, if it is quick enough):
        # the run it makes finds the role gone before anything is asked.
        with contextlib.suppress(Exception):
            other.locator(".st-key-jobs_retry").get_by_role("button", name="Try again").click(
                timeout=1_500
            )
        # No click needed: the board's own run (every 2 s) finds the role gone too.
        other.get_by_text("Your role (manager) cannot open this page.").wait_for(timeout=60_000)
        wait_idle(other)
        time.sleep(5)  # two more of the board's periods: nothing comes back
        main = other.get_by_test_id("stMain").inner_text()
        assert "Failed job to try again" not in main and "Webhook events" not in main, main
        assert other.get_by_role("button", name="Try again").count() == 0
        assert store("SELECT id FROM jobs WHERE id LIKE ?", f"{failed[0]}-retry%") == []
        assert store(
            "SELECT role, outcome FROM audit_log WHERE actor = ? AND action = 'jobs.retry' "
            "AND outcome = 'ok'", name) == []

        # Removed while the board is open, and no click at all: the board's own run signs them
        # out and says why (it went on showing the jobs until their next click).
        open_page(page, "Users")
        choose(page, "Role", "admin")
        page.get_by_role("button", name="Save role").click()
        settle(page)
        page.get_by_text(f"{name} is now admin (was manager)").wait_for()
        other.goto(f"{app_url}/jobs")
        other.get_by_text("Failed job to try again").wait_for(timeout=60_000)
        wait_idle(other)
        page.get_by_role("button", name="Remove user").click()
        page.get_by_role("button", name="Remove", exact=True).click()
        settle(page)
        page.get_by_text(f"Removed {name}").wait_for()
        other.get_by_text("Your account was removed by an admin").wait_for(timeout=30_000)
        assert "Failed job to try again" not in other.get_by_test_id("stMain").inner_text()
    except Exception:
        with contextlib.suppress(Exception):  # the colleague's page, for whoever debugs it
            ARTIFACTS.mkdir(exist_ok=True)
            colleague.pages[0].screenshot(path=str(ARTIFACTS / "roles_now_colleague.png"))
        raise
    finally:
        faults(clear="true")
        colleague.close()
        for job_id in failed:  # later journeys on this server see no failed sync of ours
            store("DELETE FROM jobs WHERE id = ? OR id LIKE ?", job_id, f"{job_id}-retry%")
        with contextlib.suppress(Exception):
            users.remove_user(Path(APP_DATA["dir"]) / "users.yaml", name)
