"""A real server started with a DATABASE_URL whose database cannot be reached: the set-up page
in Chromium and the server's whole log hold no trace of the planted password."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.browser.conftest import serve_dashboard, wait_idle

pytestmark = pytest.mark.browser

PLANTED = "Pl4nted-Browser-Pa55"


def test_the_set_up_page_and_the_server_log_keep_the_database_password(browser) -> None:  # type: ignore[no-untyped-def]
    data_dir = tempfile.mkdtemp(prefix="fcops-secret-")
    env = {k: v for k, v in os.environ.items() if k != "STRIPE_API_KEY"}
    env.update(FCOPS_DATA_DIR=data_dir, FCOPS_SANDBOX_CUSTOMERS="2",
               DATABASE_URL=f"postgresql://fcops:{PLANTED}@127.0.0.1:1/fcops")
    try:
        with serve_dashboard(env) as url:
            context = browser.new_context()
            page = context.new_page()
            page.goto(url)
            wait_idle(page, timeout=90_000)
            page.get_by_text("fcops cannot start").wait_for(timeout=60_000)
            body = page.inner_text("body")
            context.close()
        assert "Could not open the database" in body and "fcops:***@127.0.0.1:1" in body
        assert PLANTED not in body
        log = (Path(data_dir) / "streamlit.log").read_text()
        assert PLANTED not in log
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
