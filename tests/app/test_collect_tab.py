"""Collect opens on the tab its address names: Home's open-requests card links to ?tab=open, and
a switch of tab goes into the address (tests/browser/test_collect_tab_address.py clicks the tabs:
AppTest cannot), so a reload, a new tab, Back or Forward open the tab the address names."""

from __future__ import annotations

from typing import Any

import pytest

from tests.app.conftest import no_exceptions, open_page


def _is_bar(proto: Any) -> bool:
    try:
        return bool(proto.HasField("tab_container"))
    except ValueError:  # an element, not a block
        return False


def selected_tab(at: Any) -> str:
    """The label of the tab Collect's tab bar opens on (what the browser shows first)."""
    [bar] = [
        b
        for b in at.main.children.values()
        if _is_bar(b.proto)
    ]
    tabs = list(bar.children.values())
    return str(tabs[bar.proto.tab_container.default_tab_index].label)


@pytest.mark.parametrize(
    ("tab", "shown"),
    [
        (None, "New request"),
        ("open", "Open requests"),
        ("queue", "Microdeposit queue"),
        ("elsewhere", "New request"),
    ],
)
def test_collect_opens_on_the_tab_its_address_names(tab: str | None, shown: str) -> None:
    at = open_page("pages/collect.py", "ops")
    if tab is not None:
        at.query_params["tab"] = tab
        at.run()
    no_exceptions(at)
    assert selected_tab(at).endswith(shown)


def test_back_or_forward_to_another_tabs_address_opens_that_tab_in_the_same_session() -> None:
    """The address is the truth on every step of the history: it kept ?tab=open (the first tab
    the page was opened on) whatever tab was shown, and a change of it moved no tab."""
    at = open_page("pages/collect.py", "ops")
    for tab, shown in (("open", "Open requests"), ("queue", "Microdeposit queue"),
                       (None, "New request"), ("open", "Open requests")):  # fmt: skip
        if tab is None:
            at.query_params.pop("tab", None)
        else:
            at.query_params["tab"] = tab
        at.run()
        no_exceptions(at)
        assert selected_tab(at).endswith(shown), (tab, selected_tab(at))
        at.run()  # a plain rerun (a click elsewhere) keeps it
        assert selected_tab(at).endswith(shown)
        assert at.query_params.get("tab") == tab
