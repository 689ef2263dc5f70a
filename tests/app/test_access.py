"""Who can reach which page: data-driven from the page registry so every new page is covered.

Two walls are checked for each page: the router (a page missing from a role's navigation cannot
be switched to, and signed out only the login exists) and the page script's own guard (run
directly, it shows a sentence and no data).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from services.auth import PERMISSIONS, ROLES
from tests.app.conftest import no_exceptions, open_page, run_script, texts

ROOT = Path(__file__).resolve().parents[2]


def _pages() -> list[tuple[str, str, str | None]]:
    """(file, title, permission) of every registered page (the router's registry)."""
    from components.navigation import PAGES as REGISTRY

    return [(p.file, p.title, p.permission) for p in REGISTRY]


PAGES = [p for p in _pages() if (ROOT / p[0]).exists()]
GUARDED = [p for p in PAGES if p[2] is not None]
DENIED = [
    (file, title, perm, role)
    for file, title, perm in GUARDED
    for role in ROLES
    if role not in PERMISSIONS[perm or ""]
]


def test_the_registry_lists_pages_that_exist() -> None:
    assert any(file == "pages/accounts.py" for file, _, _ in PAGES)


def test_signed_out_the_router_offers_only_the_login() -> None:
    at = open_page(None, None)
    no_exceptions(at)
    labels = [t.label for t in at.text_input]
    assert "Username" in labels and "Password" in labels
    shown = texts(at)
    for _, title, _ in PAGES:
        if title != "Home":
            assert title not in shown
    assert not at.dataframe and "fca_" not in shown and "cus_" not in shown


@pytest.mark.parametrize(("file", "title", "perm"), PAGES, ids=[p[0] for p in PAGES])
def test_signed_out_no_page_can_be_switched_to(file: str, title: str, perm: str | None) -> None:
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        open_page(file, None)


@pytest.mark.parametrize(("file", "title", "perm"), PAGES, ids=[p[0] for p in PAGES])
def test_signed_out_a_page_script_shows_only_a_sign_in_note(
    file: str, title: str, perm: str | None
) -> None:
    at = run_script(file, None)
    no_exceptions(at)
    assert "Sign in to see this page." in [w.value for w in at.warning]
    assert not at.dataframe and not at.title and not at.metric


@pytest.mark.parametrize(
    ("file", "title", "perm", "role"), DENIED, ids=[f"{d[0]}-{d[3]}" for d in DENIED]
)
def test_a_role_without_the_permission_cannot_reach_the_page(
    file: str, title: str, perm: str, role: str
) -> None:
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        open_page(file, role)
    at = run_script(file, role)
    no_exceptions(at)
    assert "cannot open this page" in " ".join(e.value for e in at.error)
    assert not at.dataframe and not at.metric and not at.title
    assert "fca_" not in texts(at)
