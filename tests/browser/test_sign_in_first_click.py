"""The first press of Login counts, right after the sign-in page has drawn.

A busy machine loads a page's components (iframes) late. The sign-in page used to draw one
(streamlit-authenticator's cookie manager): its first answer reran the script, and with
Streamlit's fast reruns that stopped the run handling a Login pressed just then and started
another beside it. The wrong password was counted but no message showed (the form just sat
there), or the press was lost, or a right password needed a second press. These tests hold every
component's files until the press has landed, as a slow machine does, and press at once.

Each press is a new tab (its own browser context) on a server of its own, so the counts in its
store are these presses only.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import _port_below_ephemeral_range, serve_dashboard, wait_idle

pytestmark = pytest.mark.browser

REFUSED = "Username or password is incorrect."


@pytest.fixture(scope="module")
def own_app() -> Iterator[tuple[str, Path]]:
    data_dir = Path(tempfile.mkdtemp(prefix="fcops-first-click-"))
    env = {k: v for k, v in os.environ.items() if k not in ("STRIPE_API_KEY", "DATABASE_URL")}
    env.update(
        FCOPS_DATA_DIR=str(data_dir),
        FCOPS_SANDBOX_CUSTOMERS="5",
        FCOPS_SANDBOX_REFRESH_DELAY="0",
        FCOPS_SANDBOX_PORT=str(_port_below_ephemeral_range()),
    )
    with serve_dashboard(env) as url:
        yield url, data_dir
    shutil.rmtree(data_dir, ignore_errors=True)


def sign_in_rows(data_dir: Path) -> list[tuple[str, str]]:
    """(target, outcome) of every password sign-in attempt the store has audited."""
    with sqlite3.connect(data_dir / "fcops-sandbox.db") as conn:
        return list(conn.execute(
            "select target, outcome from audit_log where action = 'signin' order by id"
        ))


def failures(data_dir: Path, username: str) -> int:
    with sqlite3.connect(data_dir / "fcops-sandbox.db") as conn:
        row = conn.execute(
            "select failures from sign_in_throttle where key = ?", (f"user:{username}",)
        ).fetchone()
    return int(row[0]) if row else 0


def press_login_at_once(browser: Any, url: str, username: str, password: str) -> Any:
    """A new tab on ``url``; Login pressed the moment the form has drawn, while the page's
    components are still loading (they load once the press has been sent)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    held: list[Any] = []
    pg.route("**/component/**", lambda route, request: held.append(route))
    pg.goto(url)
    wait_idle(pg, timeout=90_000)
    pg.get_by_role("textbox", name="Username").fill(username)
    pg.get_by_role("textbox", name="Password").fill(password)
    pg.get_by_role("button", name="Login").click()
    for route in held:
        route.continue_()
    pg.unroute("**/component/**")
    return pg


def test_a_wrong_password_pressed_at_once_is_said_and_counted_once(
    browser: Any, own_app: tuple[str, Path]
) -> None:
    url, data_dir = own_app
    assert failures(data_dir, "ops") == 0
    for press in range(1, 4):  # three presses: the username's free failures, no delay yet
        pg = press_login_at_once(browser, url, "ops", "wrongpass1")
        try:
            pg.get_by_text(REFUSED).wait_for(timeout=8_000)
        except Exception:
            raise AssertionError(
                f"press {press}: no refusal on screen 8 s after Login; counted "
                f"{failures(data_dir, 'ops')} failure(s)"
            ) from None
        pg.wait_for_timeout(1_500)  # a second run handling the same press would land by now
        assert failures(data_dir, "ops") == press, f"press {press}"
        assert pg.get_by_text(REFUSED).count() == 1
        pg.context.close()
    assert sign_in_rows(data_dir) == [("ops", "refused")] * 3


def test_the_right_password_pressed_at_once_signs_in_on_the_first_press(
    browser: Any, own_app: tuple[str, Path]
) -> None:
    url, data_dir = own_app
    for press in range(2):
        before = len(sign_in_rows(data_dir))
        pg = press_login_at_once(browser, url, "finance", "fcops-finance-demo")
        started = time.time()
        try:
            pg.get_by_role("button", name="Log out").wait_for(timeout=15_000)
        except Exception:
            raise AssertionError(
                f"try {press}: not signed in {time.time() - started:.0f} s after one press of "
                f"Login; audited: {sign_in_rows(data_dir)[before:]}"
            ) from None
        assert sign_in_rows(data_dir)[before:] == [("finance", "ok")]
        assert failures(data_dir, "finance") == 0
        pg.context.close()
