"""Collect opens on the tab its address names: Home's open-requests card links to ?tab=open."""

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
    [(None, "New request"), ("open", "Open requests"), ("elsewhere", "New request")],
)
def test_collect_opens_on_the_tab_its_address_names(tab: str | None, shown: str) -> None:
    at = open_page("pages/collect.py", "ops")
    if tab is not None:
        at.query_params["tab"] = tab
        at.run()
    no_exceptions(at)
    assert selected_tab(at).endswith(shown)
