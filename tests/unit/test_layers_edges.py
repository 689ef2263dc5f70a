"""The edges of the layers: components take data in and give widgets out, rules are pure."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_components_import_neither_bootstrap_nor_services_beyond_the_rules() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(
            m
            for m in _modules(p)
            if m.split(".")[0] in ("bootstrap", "pages")
            or (m.split(".")[0] == "services" and not m.startswith("services.rules"))
        )
        for p in (ROOT / "components").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_rules_import_only_rules_and_errors_from_services() -> None:
    allowed = ("services.rules", "services.errors")
    offenders = {
        str(p.relative_to(ROOT)): sorted(
            m
            for m in _modules(p)
            if m.split(".")[0] == "services" and not m.startswith(allowed)
        )
        for p in (ROOT / "services" / "rules").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def _imported(path: Path) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            pairs.update((node.module, alias.name) for alias in node.names)
    return pairs


def test_the_pages_start_syncs_through_the_use_case_never_the_mirror() -> None:
    files = [*(ROOT / "pages").glob("*.py"), ROOT / "dashboard.py", ROOT / "streamlit_app.py"]
    offenders = sorted(
        str(p.relative_to(ROOT))
        for p in files
        if any(m.startswith("services.adapters.account_mirror") for m in _modules(p))
        or ("services.adapters", "account_mirror") in _imported(p)
    )
    assert offenders == []
    # the page glue that starts and follows the syncs (pages._follow) reaches them as use cases
    assert ("services.usecases", "sync_accounts") in _imported(ROOT / "pages" / "_follow.py")
