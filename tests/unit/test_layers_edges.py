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


def test_the_page_glue_calls_the_sync_use_case_not_the_mirror() -> None:
    modules = _modules(ROOT / "pages" / "_runtime.py")
    assert not any(m.startswith("services.adapters.account_mirror") for m in modules)
    assert "services.usecases" in modules or "services.usecases.sync_accounts" in modules
