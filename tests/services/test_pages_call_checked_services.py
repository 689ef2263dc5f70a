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


# The calls that make a service call as the person is now: every actor among the arguments goes
# through pages._person.acting_as (the users file and the sign-in read at the call, not the copy
# the page's guard read; tests/app/test_roles_now.py runs them).
AS_NOW = {"call", "call_keyed", "call_keyed_routed", "call_stripe", "call_stripe_keyed", "on_click"}
# Page helpers that take a service function and call it through one of those, by file.
FORWARDERS = {
    "pages/_follow.py": {"start": "_follow.start", "_first_sync": "_follow._first_sync"},
    "pages/accounts.py": {"start": "_refresh.start"},
    "pages/ownership.py": {"start": "_refresh.start"},
    "pages/conversion.py": {"start": "_follow.start"},
    "pages/transactions.py": {"act": "transactions.act"},
}
FORWARDED_THROUGH = {  # each forwarder, and the call of its body that makes it as now
    "_follow.start": ("pages/_follow.py", "start", "runtime.call"),
    "_follow._first_sync": ("pages/_follow.py", "_first_sync", "start"),
    "_refresh.start": ("pages/_refresh.py", "start", "runtime.call_stripe_keyed"),
    "transactions.act": ("pages/transactions.py", "act", "runtime.call_stripe_keyed"),
}
# A direct call whose actor is read just before it, for want of a session to read it from.
DIRECT = {
    ("pages/_session.py", "sign_out.sign_out"): "Log out: the session is cleared before the "
    "audited record, with the actor read (runtime.current_actor) just before",
    ("pages/accounts.py", "export_accounts.export_accounts_csv"): "csv_or_message runs only as "
    "pages._person.on_click's download, which passes the person as they are at the click",
}


def _function_name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _passed(arg: ast.expr) -> list[ast.expr]:
    """The expressions an argument passes on as they are (through ``a if c else b``)."""
    if isinstance(arg, ast.IfExp):
        return [*_passed(arg.body), *_passed(arg.orelse)]
    return [arg]


def _as_now(call: ast.Call) -> bool:
    """A direct call whose actor argument is ``runtime.acting_as(...)``."""
    return any(
        isinstance(a, ast.Call) and _function_name(a.func) == "acting_as"
        for a in [*call.args, *(k.value for k in call.keywords)]
    )


def writes_not_as_now(path: Path) -> list[str]:
    """The state-changing service functions ``path`` names outside a call made as now."""
    rel = path.relative_to(ROOT).as_posix()
    tree = ast.parse(path.read_text())
    aliases = service_aliases(tree)
    routes = AS_NOW | set(FORWARDERS.get(rel, {}))
    fine: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if _function_name(node.func) in routes:
                fine.update(id(p) for a in node.args for p in _passed(a))
            if _as_now(node):
                fine.add(id(node.func))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and not node.attr[:1].isupper()
        ):
            name = defined_name(aliases[node.value.id], node.attr)
            row = TABLE.get(name)
            if row is None or not row.writes or id(node) in fine or (rel, name) in DIRECT:
                continue
            found.append(f"{rel}:{node.lineno} {name}")
    return found


def test_pages_make_state_changing_service_calls_as_the_person_is_now() -> None:
    """A fragment's own run and a widget's callback run without the page's guard: the Jobs
    board's "Try again" retried a job as admin after its user was made a manager. Every
    state-changing service function a page names goes through a call that passes the person
    as they are now (runtime.call and its kin, pages._person.on_click), through a helper that
    does, or is called with ``runtime.acting_as(actor)``."""
    stale = [hit for path in SOURCES for hit in writes_not_as_now(path)]
    assert not stale, f"state-changing service calls made with the page's copy of the actor: {stale}"


def test_the_forwarders_call_through_a_call_made_as_now() -> None:
    for file, function, through in FORWARDED_THROUGH.values():
        tree = ast.parse((ROOT / file).read_text())
        [body] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function]
        assert through in ast.unparse(body), (file, function, through)


def test_the_check_finds_a_direct_call_with_the_pages_actor() -> None:
    page = ROOT / "pages" / "_probe_stale.py"
    page.write_text(
        "from services.usecases import jobs_retry\n"
        "def again(actor, job_id):\n"
        "    return jobs_retry.retry_job(actor, job_id)\n"
        "def fine(actor, job_id):\n"
        "    return jobs_retry.retry_job(runtime.acting_as(actor), job_id)\n"
    )
    try:
        assert writes_not_as_now(page) == ["pages/_probe_stale.py:3 jobs_retry.retry_job"]
    finally:
        page.unlink()
