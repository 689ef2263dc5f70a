"""The house rules, checked by reading imports (cheap, and keeps the layers standing)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _top(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def test_services_never_import_streamlit_pages_components_or_sandbox() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(_top(_imports(p)) & {"streamlit", "pages", "components", "sandbox"})
        for p in (ROOT / "services").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_gateway_imports_the_stripe_sdk() -> None:
    importers = sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "services").rglob("*.py") if "stripe" in _top(_imports(p))
    )
    assert importers == ["services/gateway.py"]


def test_pages_never_import_stripe_or_the_orm() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(_top(_imports(p)) & {"stripe", "sqlmodel", "sqlalchemy", "sandbox"})
        for p in (ROOT / "pages").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_components_never_import_stripe_or_the_orm() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(_top(_imports(p)) & {"stripe", "sqlmodel", "sqlalchemy"})
        for p in (ROOT / "components").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_every_registered_page_has_a_file_and_a_guard() -> None:
    from components.navigation import PAGES

    assert len(PAGES) >= 10
    for spec in PAGES:
        path = ROOT / spec.file
        assert path.exists(), f"{spec.file} is registered in components/navigation.py but missing"
        assert "runtime.guard(" in path.read_text(), f"{spec.file} does not start with runtime.guard(...)"
