"""A check left on screen notices, without a click, that an admin saved another debit policy
version (a fragment reads the version in force every few seconds), and Check again applies it.
A real browser: the AppTest passed while the live click raised (the flag was the button's key)."""

from __future__ import annotations

import glob

import pytest
from sqlalchemy import create_engine

from services.auth import Actor
from services.rules.debit import DebitPolicy
from services.usecases import debit_policy
from tests.browser.conftest import APP_DATA, open_check
from tests.browser.test_batch_journey import linked_account
from tests.browser.test_config_to_conversion_journey import settle

pytestmark = pytest.mark.browser
NOTICE = "The debit policy changed after this check"


def save(policy: DebitPolicy) -> int:
    (db,) = glob.glob(f"{APP_DATA['dir']}/fcops-*.db")
    engine = create_engine(f"sqlite:///{db}")
    try:
        version = debit_policy.load_policy(engine).version
        admin = Actor(username="admin", role="admin")
        return debit_policy.save_policy(engine, admin, policy, expected_version=version).version
    finally:
        engine.dispose()


def test_a_policy_saved_after_a_check_is_noticed_and_check_again_applies_it(  # type: ignore[no-untyped-def]
    page, app_url
) -> None:
    fca = linked_account(prefetch=True)["id"]
    open_check(page, app_url, fca, "12.34")
    page.get_by_text("OK — the balance covers this debit").wait_for()
    try:
        version = save(DebitPolicy(buffer_amount=2_500, max_age_seconds=7_200))
        page.get_by_text(NOTICE).wait_for(timeout=15_000)  # no click: the fragment notices
        assert f"(now version {version}, saved by admin at " in page.inner_text("body")
        page.get_by_role("button", name="Check again").click()
        settle(page)
        page.get_by_text(f"Policy applied (version {version})").wait_for()
        assert NOTICE not in page.inner_text("body")
    finally:
        save(DebitPolicy())  # the browser tests after this one count on the default figures
