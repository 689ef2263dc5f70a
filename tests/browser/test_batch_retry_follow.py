"""Finance's failed batch check, tried again by an admin on the Jobs page, is followed by the
page finance has open: it showed "The batch check did not finish" until a reload (seen in
Chromium: 90 s after the retry had finished)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import APP_DATA, sign_in, upload_batch, wait_idle
from tests.browser.test_batch_journey import linked_account

pytestmark = pytest.mark.browser
FAILURE = "Stripe had a temporary problem (HTTP 500). Try again in a minute."


def fail_last_batch() -> str:
    """The app's last batch check marked failed in its store, as a run Stripe ended would be
    (the sandbox's faults end a batch with row errors, not a failed job)."""
    store = Path(APP_DATA["dir"]) / "fcops-sandbox.db"
    with sqlite3.connect(store) as db:
        (job_id,) = db.execute(
            "SELECT id FROM jobs WHERE kind = 'balances.batch_check' AND actor = 'finance' "
            "ORDER BY created_at DESC LIMIT 1"
        ).fetchone()
        db.execute("UPDATE jobs SET status = 'failed', error = ? WHERE id = ?", (FAILURE, job_id))
    return str(job_id)


def forget_retries(job_id: str) -> None:
    """The retries of ``job_id`` taken out of the app's job list: an admin's retry is the
    admin's last batch check, which the next test's admin (same server) would find on Batch
    check (test_sessions' "another role sees nothing of the first user")."""
    store = Path(APP_DATA["dir"]) / "fcops-sandbox.db"
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM jobs WHERE id LIKE ?", (f"{job_id}-retry%",))


def test_an_admins_try_again_reaches_the_batch_check_finance_has_open(
    app_url: str, browser: Any
) -> None:
    funded = linked_account(prefetch=True)
    csv = f"id,amount,currency,reference\n{funded['id']},1.00,usd,one\n"
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1600}) for _ in range(2)]
    job_id = ""
    try:
        finance, admin = (c.new_page() for c in contexts)
        for pg in (finance, admin):
            pg.set_default_timeout(30_000)
        sign_in(finance, f"{app_url}/batch_check", "finance", "fcops-finance-demo")
        upload_batch(finance, "one.csv", csv, "Ready: one.csv has 1 row", from_sidebar=False)
        finance.get_by_role("button", name="Run batch check").click()
        finance.get_by_text("Money at risk").wait_for(timeout=90_000)
        job_id = fail_last_batch()
        finance.goto(f"{app_url}/batch_check")
        finance.get_by_text("The batch check did not finish").wait_for(timeout=60_000)
        wait_idle(finance)

        sign_in(admin, f"{app_url}/jobs", "admin", "fcops-admin-demo")
        # the newest failed job is the one picked first under "Failed job to try again"
        admin.get_by_text(f"Why it failed: {FAILURE}").wait_for(timeout=60_000)
        wait_idle(admin)
        admin.locator(".st-key-jobs_retry").get_by_role("button", name="Try again").first.click()

        # finance's page, untouched since, turns to the retry by itself
        finance.get_by_text(f"admin tried it again as {job_id}-retry1").wait_for(timeout=45_000)
        finance.get_by_text("Money at risk").wait_for(timeout=60_000)
        assert finance.get_by_text("The batch check did not finish").count() == 0
    finally:
        for c in contexts:
            c.close()
        if job_id:
            forget_retries(job_id)
