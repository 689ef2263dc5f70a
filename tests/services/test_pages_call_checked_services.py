"""Pages reach the services only through functions that check the signed-in actor.

Every ``module.function`` of ``services.usecases`` (or ``services.audit`` / ``services.users``)
that a page, component or the router names is either a row of the access table (it takes the
actor and is tested per role) or a pure helper (no store, no Stripe). Read from the source, so a
page that starts calling an unchecked read fails here before anyone ships it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

from tests.services.test_access_table import NO_ACTOR, TABLE

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "components").glob("*.py"))]
SOURCES += [ROOT / "dashboard.py", ROOT / "streamlit_app.py"]
# Pure helpers: no store, no Stripe, nothing about anyone.
PURE = {name for name, why in NO_ACTOR.items() if why.startswith("pure")}
# The gate itself: used before anyone is signed in (or by Stripe), each with its own check.
GATE = {
    "sign_in.sign_in": "the password sign-in (delay, lockout, audited)",
    "sign_in_sso.resolve": "the role from the identity provider's claims",
    "sign_in_sso.record": "audits an SSO sign-in once",
    "services.users.get_user": "the router re-reads the signed-in user on every click",
    "services.users.session_stamp": "binds a sign-in to the password it was made with",
    "sign_out.has_ended": "every run asks whether this sign-in was logged out in another tab",
    "webhooks.receive": "Stripe's webhook; the signature is the check",
}


def defined_name(prefix: str, attr: str) -> str:
    """``prefix.attr`` named after the module that defines it (pages read some functions
    through re-exports, e.g. ``jobs.recent_jobs`` is ``job_runs.recent_jobs``)."""
    dotted = prefix if prefix.startswith("services.") else f"services.usecases.{prefix}"
    obj = getattr(importlib.import_module(dotted), attr, None)
    if not inspect.isfunction(obj):
        return f"{prefix}.{attr}"
    module = obj.__module__.removeprefix("services.usecases.")
    return f"{module}.{obj.__name__}"


def service_aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> table prefix ("review_ownership", "services.audit") for imported modules."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("services.usecases", "services"):
            for alias in node.names:
                prefix = (
                    alias.name if node.module == "services.usecases" else f"services.{alias.name}"
                )
                names[alias.asname or alias.name] = prefix
    return names


def referenced(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    aliases = service_aliases(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and not node.attr[:1].isupper()  # classes, constants: not calls into a service
        ):
            found.add(defined_name(aliases[node.value.id], node.attr))
    return found


def test_pages_use_only_actor_checked_service_functions() -> None:
    unchecked: dict[str, list[str]] = {}
    seen = 0
    for path in SOURCES:
        for name in sorted(referenced(path)):
            seen += 1
            if name in TABLE or name in PURE or name in GATE:
                continue
            unchecked.setdefault(name, []).append(path.relative_to(ROOT).as_posix())
    assert seen > 50, "the pages' service calls were not found; is the parser still right?"
    assert not unchecked, f"pages call service functions without a role check: {unchecked}"
