"""A manager filters Conversion to microdeposits, goes to Returns and presses Back: still
microdeposits; a reload keeps it too, and one more Back shows every method again. Before, the
filters lived only in the session's widgets, so Back or a reload cleared them. Headless Chromium
on a real server (AppTest has no browser history, and a reload is a new session)."""

from __future__ import annotations

import re

from tests.browser.conftest import sign_in, wait_idle
from tests.browser.test_config_to_conversion_journey import open_page, pick_option, settle

METHOD_BOX = "Verification method"


def methods_on_cards(pg) -> set[str]:  # type: ignore[no-untyped-def]
    """The methods the page draws a card for ("… started with microdeposits · …")."""
    wait_idle(pg)
    pg.get_by_text(re.compile(r"[\d,]+ started with \w+")).first.wait_for()
    body = pg.inner_text("body")
    return set(re.findall(r"[\d,]+ started with (\w+)", body))


def chosen_methods(pg) -> str:  # type: ignore[no-untyped-def]
    return str(pg.get_by_test_id("stMultiSelect").filter(has_text=METHOD_BOX).inner_text())


def test_a_method_filter_survives_back_and_a_reload(page, app_url) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, app_url, "manager", "fcops-manager-demo")
    open_page(page, "Conversion")
    page.get_by_text("intents stored").wait_for()
    # The first visit syncs the intents in the background: let it end, so the cards stand still.
    page.get_by_text("Reading intents from Stripe").first.wait_for(state="detached", timeout=120_000)
    settle(page)
    assert len(methods_on_cards(page)) > 1, "the demo world starts setups with several methods"
    assert "method=" not in page.url

    pick_option(page, METHOD_BOX, "microdeposits")
    page.wait_for_url(re.compile(r"/conversion\?method=microdeposits$"))
    assert methods_on_cards(page) == {"microdeposits"}

    open_page(page, "Returns")
    page.wait_for_url(re.compile(r"/returns(\?|$)"))
    page.get_by_role("heading", name="Returns", exact=False).first.wait_for()

    page.go_back()
    settle(page)
    page.wait_for_url(re.compile(r"/conversion\?method=microdeposits$"))
    assert "microdeposits" in chosen_methods(page)
    assert methods_on_cards(page) == {"microdeposits"}

    page.reload()
    settle(page)
    page.get_by_text("intents stored").wait_for()
    assert "microdeposits" in chosen_methods(page)
    assert methods_on_cards(page) == {"microdeposits"}
    assert re.search(r"/conversion\?method=microdeposits$", page.url), page.url

    # The entry before the filter: no parameter, so every method again (Back is not stuck).
    page.go_back()
    settle(page)
    page.wait_for_url(re.compile(r"/conversion$"))
    assert len(methods_on_cards(page)) > 1
    assert "microdeposits" not in chosen_methods(page)
