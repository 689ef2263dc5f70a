"""End-to-end fixtures: ``streamlit run dashboard.py`` on the sandbox, driven by headless Chromium.

Needs Debian's ``chromium`` (/usr/bin/chromium) and the ``playwright`` Python package; Playwright
must never download a browser. Where either is missing the tests skip with the reason, except
under CI (CI=true), where that is a failure: CI installs Chromium first.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("FCOPS_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
ARTIFACTS = ROOT / "artifacts"

pytestmark = pytest.mark.browser


def _skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason}; CI must run the browser tests (.ci/run installs chromium).")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_below_ephemeral_range() -> int:
    """A free port the kernel will not hand out to outgoing connections meanwhile."""
    import random

    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20_000, 32_000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return _free_port()


# The journeys play the bank customer's part through the server's own sandbox, so it listens on
# a port chosen here. Only the server's environment gets it: the AppTests in this same pytest
# process start a sandbox of their own and must not take this port.
SANDBOX_PORT = _port_below_ephemeral_range()
SANDBOX_URL = f"http://127.0.0.1:{SANDBOX_PORT}"


@contextmanager
def serve_dashboard(env: dict[str, str], *extra_args: str, port: int | None = None) -> Iterator[str]:
    """``streamlit run dashboard.py`` with ``env`` (its FCOPS_DATA_DIR holds the log) until the
    block ends; yields the URL once the server answers its health check."""
    port = port or _free_port()
    log_path = Path(env["FCOPS_DATA_DIR"]) / "streamlit.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
             "--server.port", str(port), "--server.headless", "true",
             "--browser.gatherUsageStats", "false", *extra_args],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.terminate()
        pytest.fail(f"Streamlit did not start: {log_path.read_text()[-2000:]}")
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        ARTIFACTS.mkdir(exist_ok=True)  # kept for whoever debugs a failed journey
        shutil.copy(log_path, ARTIFACTS / log_path.name)


APP_DATA: dict[str, str] = {}  # "dir": the data folder of the app_url server (its store)


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """The dashboard served by a real Streamlit server on a private sandbox and data folder."""
    data_dir = tempfile.mkdtemp(prefix="fcops-browser-")
    APP_DATA["dir"] = data_dir
    env = {k: v for k, v in os.environ.items() if k != "STRIPE_API_KEY"}
    env.update(
        FCOPS_DATA_DIR=data_dir,
        FCOPS_SANDBOX_CUSTOMERS="40",
        FCOPS_SANDBOX_SEED="8",
        FCOPS_SANDBOX_REFRESH_DELAY="1.5",
        FCOPS_SANDBOX_PORT=str(SANDBOX_PORT),
    )
    with serve_dashboard(env) as url:
        yield url
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        _skip_or_fail(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail("the playwright Python package is not installed")
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, request):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def wait_idle(pg, timeout: float = 30_000) -> None:  # type: ignore[no-untyped-def]
    """Wait until Streamlit has finished running the script."""
    pg.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout
    )


def sign_in(pg, url: str, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    """Open ``url`` (the app, or any page URL with its query) and sign in through the real form."""
    pg.goto(url)
    wait_idle(pg, timeout=90_000)
    submit_login(pg, username, password)


def submit_login(pg, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in through the login form already on screen and wait until the signed-in app drew.

    The first visit may still be starting the app (and its sandbox), and a submit that lands
    during a rerun can be lost, so it submits again (at most three times) until the sidebar's
    "Log out" button, which only a signed-in user has, appears. The password box is found by
    role: the "Show password" button carries the label "Password" too.
    """
    for attempt in range(3):
        user_box = pg.get_by_role("textbox", name="Username")
        user_box.wait_for(timeout=60_000)
        user_box.fill(username)
        password_box = pg.get_by_role("textbox", name="Password")
        password_box.fill(password)
        pg.get_by_role("button", name="Login").click()
        try:
            pg.get_by_role("button", name="Log out").wait_for(timeout=30_000)
            break
        except Exception:
            if attempt == 2:
                raise AssertionError(f"could not sign in as {username}") from None
            wait_idle(pg, timeout=60_000)
    wait_idle(pg, timeout=60_000)


def upload_batch(  # type: ignore[no-untyped-def]
    pg, name: str, rows: list[str] | str, ready: str | None = None, *, from_sidebar: bool = True
) -> None:
    """Batch check (opened from the sidebar unless ``from_sidebar`` is False) with ``rows`` (CSV
    lines, or the whole text) uploaded as ``name``; returns once the page has read the file
    ("Ready: <name> …", or ``ready``) and is idle, so "Run batch check" is enabled. The page reads
    the file on the rerun the upload causes, so a click before it cannot reach the file."""
    if from_sidebar:
        pg.get_by_test_id("stSidebar").get_by_role("link", name="Batch check", exact=True).click()
        wait_idle(pg)
    text = rows if isinstance(rows, str) else "\n".join(rows)
    pg.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}]
    )
    pg.get_by_text(ready or f"Ready: {name}").wait_for(timeout=60_000)
    wait_idle(pg)


def open_check(pg, url: str, fca: str, amount: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Finance signed in at ``url`` on Balance check, ``fca`` pasted in "Paste an ID" (Tab sends
    it); with ``amount``, that debit typed and "Check debit" pressed (its verdict not waited for)."""
    from tests.browser.test_config_to_conversion_journey import open_page, settle

    sign_in(pg, url, "finance", "fcops-finance-demo")
    open_page(pg, "Balance check")
    pg.get_by_text("Paste an ID", exact=True).click()
    settle(pg)
    pg.get_by_role("textbox", name="ID to check").fill(fca)
    pg.get_by_role("textbox", name="ID to check").press("Tab")
    settle(pg)
    if amount is not None:
        pg.get_by_role("textbox", name="Debit amount").fill(amount)
        pg.get_by_role("button", name="Check debit").click()
        settle(pg)
