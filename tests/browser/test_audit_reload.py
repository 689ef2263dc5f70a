"""Audit log's filters live in the address: a link opens the filtered log, a typed filter goes
into the address, and a reload keeps both (``/audit?actor=…`` showed the unfiltered log)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import sign_in, wait_idle

pytestmark = pytest.mark.browser


def settled(page: Any) -> None:
    wait_idle(page, timeout=60_000)
    page.wait_for_timeout(1_000)
    wait_idle(page)


def box(page: Any, name: str) -> Any:
    return page.get_by_role("textbox", name=name)


def test_a_linked_and_a_typed_filter_stay_after_a_reload(app_url: str, page: Any) -> None:
    sign_in(page, app_url, "admin", "fcops-admin-demo")
    page.goto(f"{app_url}/audit?actor=admin")
    settled(page)
    assert box(page, "Actor (username)").input_value() == "admin"
    box(page, "Target contains").fill("sync")
    box(page, "Target contains").press("Enter")
    page.wait_for_url(f"{app_url}/audit?actor=admin&target=sync")
    settled(page)
    page.reload()
    settled(page)
    assert page.url == f"{app_url}/audit?actor=admin&target=sync"
    assert box(page, "Actor (username)").input_value() == "admin"
    assert box(page, "Target contains").input_value() == "sync"
