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


def test_one_gateway_module_imports_the_stripe_sdk() -> None:
    """The app's code (services, pages, components and the entry points) reaches the SDK only
    through ``services/adapters/gateway/sdk.py``; the sandbox, benchmarks and tests may use it."""
    app_code = [
        *(ROOT / "services").rglob("*.py"),
        *(ROOT / "pages").rglob("*.py"),
        *(ROOT / "components").rglob("*.py"),
        *ROOT.glob("*.py"),
    ]
    importers = sorted(str(p.relative_to(ROOT)) for p in app_code if "stripe" in _top(_imports(p)))
    assert importers == ["services/adapters/gateway/sdk.py"]


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


def test_the_sandbox_keeps_its_layers_engine_builders_resources_demo() -> None:
    """sandbox/: ``core`` (the engine) knows no resource; ``objects`` (the builders) build on the
    engine only; ``api`` (one module per Stripe resource) uses the engine, the builders and only
    the public names of other resources; ``demo`` (the generated world) loads itself through
    the same public names; only ``shared_facts.py`` imports ``services``; nothing imports pages,
    components, bootstrap or dashboard; nobody outside the engine reads ``state._…``."""
    sandbox = ROOT / "sandbox"
    may_import = {  # package → the sandbox packages (and top-level modules) it may import
        "core": {"core", "spec", "shared_facts"},
        "objects": {"core", "objects"},
        "api": {"core", "objects", "api", "spec", "shared_facts"},
        "demo": {"core", "objects", "api", "demo", "shared_facts"},
    }

    def sandbox_part(module: str) -> str | None:
        parts = module.split(".")
        return parts[1] if parts[0] == "sandbox" and len(parts) > 1 else None

    def is_module(module: str) -> bool:
        path = ROOT.joinpath(*module.split("."))
        return path.with_suffix(".py").exists() or (path / "__init__.py").exists()

    problems: list[str] = []
    for path in sorted(sandbox.rglob("*.py")):
        rel = path.relative_to(ROOT)
        package = rel.parts[1] if len(rel.parts) > 2 else rel.stem
        names = _imports(path)
        foreign = _top(names) & {"pages", "components", "bootstrap", "dashboard"}
        if "services" in _top(names) and rel != Path("sandbox/shared_facts.py"):
            foreign.add("services")
        problems += [f"{rel} imports {name}" for name in sorted(foreign)]
        allowed = may_import.get(package)
        if allowed is not None:
            parts = {p for p in map(sandbox_part, names) if p}
            problems += [f"{rel} imports sandbox.{p}" for p in sorted(parts - allowed)]
        if package == "core":
            continue
        tree = ast.parse(path.read_text())
        modules: set[str] = set()  # local names bound to sandbox modules
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sandbox"):
                for alias in node.names:
                    if alias.name.startswith("_"):
                        problems.append(f"{rel} imports the private {node.module}.{alias.name}")
                    if is_module(f"{node.module}.{alias.name}"):
                        modules.add(alias.asname or alias.name)
            if isinstance(node, ast.Import):
                modules |= {a.asname or a.name for a in node.names if a.name.startswith("sandbox")}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                owner = node.value
                name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
                if name in modules or name == "state":
                    problems.append(f"{rel}:{node.lineno} reads {name}.{node.attr}")
    assert not problems, "\n".join(problems)


# ----------------------------------------------------------------- the services layout (issue 8)

KERNEL = {"__init__", "errors", "auth", "context", "audit", "users"}
KEPT_PATHS = {"balances", "ownership", "transactions", "conversion", "returns"}  # re-exports other tools call


def _services_imports(path: Path) -> set[str]:
    return {n for n in _imports(path) if n.split(".")[0] == "services"}


def test_services_top_level_holds_only_the_kernel_and_the_kept_import_paths() -> None:
    top = {p.stem for p in (ROOT / "services").glob("*.py")}
    assert top == KERNEL | KEPT_PATHS
    folders = {p.name for p in (ROOT / "services").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == {"rules", "adapters", "usecases"}
    for name in KEPT_PATHS:  # nothing but a docstring, one import and __all__
        tree = ast.parse((ROOT / "services" / f"{name}.py").read_text())
        kinds = [type(node).__name__ for node in tree.body]
        assert kinds == ["Expr", "ImportFrom", "Assign"], f"services/{name}.py is more than a re-export"


def test_adapters_import_only_rules_errors_adapters_and_the_context() -> None:
    allowed = ("services.rules", "services.errors", "services.adapters", "services.context")
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in _services_imports(p) if not m.startswith(allowed))
        for p in (ROOT / "services" / "adapters").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_nothing_below_the_use_cases_imports_them() -> None:
    below = [*(ROOT / "services" / "rules").rglob("*.py"), *(ROOT / "services" / "adapters").rglob("*.py")]
    below += [ROOT / "services" / f"{name}.py" for name in KERNEL]
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in _services_imports(p) if m.startswith("services.usecases"))
        for p in below
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_pages_call_use_cases_and_never_touch_the_engine_or_adapters() -> None:
    """Pages read through use cases (which check the role); the only adapter a page may import
    is the pure request-preview builder of Flow configuration."""
    offenders: dict[str, list[str]] = {}
    for p in (ROOT / "pages").glob("*.py"):
        tree = ast.parse(p.read_text())
        bad = sorted(
            f"{n.module}.{a.name}"
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("services.adapters")
            for a in n.names
            if f"{n.module}.{a.name}".removeprefix("services.adapters.") not in {"flow_requests"}
            and not (n.module or "").startswith("services.adapters.flow_requests")
            and p.name != "_runtime.py"
        )
        bad += [f"line {n.lineno}: .engine" for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "engine"]
        if bad:
            offenders[str(p.relative_to(ROOT))] = bad
    assert offenders == {}


def test_no_module_outside_tests_is_over_500_lines_unless_it_is_a_data_table() -> None:
    big = []
    for folder in ("services", "pages", "components", "sandbox", "bench", "bin"):
        for p in (ROOT / folder).rglob("*.py"):
            text = p.read_text()
            first = text.lstrip().splitlines()[0] if text.strip() else ""
            if text.count("\n") > 500 and "data table" not in first.lower():
                big.append(f"{p.relative_to(ROOT)}: {text.count(chr(10))} lines")
    for p in (ROOT / "dashboard.py", ROOT / "bootstrap.py"):
        assert p.read_text().count("\n") <= 500, p
    assert big == []


def test_the_readme_layout_names_every_folder_of_the_tree() -> None:
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("```", 2)[1]
    listed = {line.split()[0].rstrip("/") for line in layout.splitlines() if line.strip()}
    folders = {"pages", "components", "services", "sandbox", "tests", "bench"}
    for parent in ("services", "sandbox"):
        for p in sorted((ROOT / parent).rglob("*")):
            if p.is_dir() and p.name != "__pycache__" and any(p.glob("*.py")) and "spec" not in p.parts[-1:]:
                folders.add(str(p.relative_to(ROOT)))
    folders.add("sandbox/spec")
    assert sorted(folders - listed) == []
    assert sorted(f for f in listed - folders if "/" in f and not (ROOT / f).exists()) == []


def test_every_self_refreshing_fragment_checks_the_page_is_still_the_persons() -> None:
    """A fragment's own run skips the page and its guard: a user removed or demoted kept seeing
    the Jobs board update. Pages make fragments with pages._live.fragment (its first step is
    page_still_open); the one in components takes that check as ``still_open`` and asks it first."""
    made_here = {"pages/_live.py"}
    takes_the_check = {"components/refresh_watch.py"}
    offenders = []
    for p in [*(ROOT / "pages").glob("*.py"), *(ROOT / "components").glob("*.py")]:
        rel = p.relative_to(ROOT).as_posix()
        text = p.read_text()
        if "st.fragment" not in text or rel in made_here:
            continue
        if rel in takes_the_check and "if not still_open():" in text:
            continue
        offenders.append(rel)
    assert not offenders, f"st.fragment without pages._live's check: {offenders}"
    live_fragments = sum(p.read_text().count("@live.fragment(") for p in (ROOT / "pages").glob("*.py"))
    assert live_fragments >= 12, live_fragments  # Jobs, Home, Batch check, Collect, Balance check…
