"""Pages ask Stripe only under a spinner that says what is read (pages._runtime.call_stripe).

A read of Stripe drawn without one showed a page with only its header for up to the 15 s a
person's read waits. Read from the source: a page that names one of the use cases below must
pass it to ``runtime.call_stripe``/``call_stripe_keyed`` (not ``call``/``call_keyed``), or call
it inside ``with runtime.waiting_for_stripe(...)``. The AppTests in
tests/app/test_stripe_spinners.py see the spinners themselves.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Use cases that read or ask Stripe while a person waits (on arrival or on a click).
STRIPE_CALLS = {
    "browse_accounts.account_detail",
    "browse_accounts.search_customers",
    "browse_accounts.search_customers_page",
    "lookup_account.lookup",
    "orv.find_account",
    "orv.check_account",
    "orv.refresh_ownership",
    "refresh_balance.refresh",
    "view_transactions.transaction_status",
    "sync_transactions.sync_or_wait",
    "sync_transactions.subscribe",
    "sync_transactions.unsubscribe",
    "sync_transactions.refresh",
    "blocked_accounts.find_blocked",
    "check_debit.check_debit",
    "retry_debit.create_retry",
}
PLAIN = {"call", "call_keyed", "call_keyed_routed"}
# Collect's pages are another piece of work; the customer's part is played in the sandbox only.
LEFT_ALONE = ("collect", "_collect", "_play_customer")


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return ""


def waits(node: ast.With) -> bool:
    return any(
        isinstance(item.context_expr, ast.Call)
        and dotted(item.context_expr.func) == "runtime.waiting_for_stripe"
        for item in node.items
    )


def unwaited(tree: ast.AST, under_spinner: bool = False) -> list[str]:
    found: list[str] = []
    for child in ast.iter_child_nodes(tree):
        inside = under_spinner or (isinstance(child, ast.With) and waits(child))
        if isinstance(child, ast.Call):
            name = dotted(child.func)
            if name in STRIPE_CALLS and not inside:
                found.append(f"line {child.lineno}: {name}() outside a spinner")
            if name.startswith("runtime.") and name.split(".")[1] in PLAIN:
                named = [dotted(arg) for arg in child.args if dotted(arg) in STRIPE_CALLS]
                if named and not inside:
                    found.append(f"line {child.lineno}: {name}({named[0]}) without a spinner")
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            inside = False  # a function body runs when called, not under the with it sits in
        found += unwaited(child, inside)
    return found


def test_pages_read_stripe_only_under_a_spinner_saying_what_is_read() -> None:
    sources = [*(ROOT / "pages").glob("*.py"), *(ROOT / "components").glob("*.py")]
    checked = [p for p in sources if not p.stem.startswith(LEFT_ALONE)]
    problems = {
        p.name: found for p in sorted(checked) if (found := unwaited(ast.parse(p.read_text())))
    }
    assert len(checked) > 30, "the pages were not found"
    assert not problems, problems


def test_the_check_finds_a_read_without_a_spinner() -> None:
    bare = ast.parse("runtime.call(browse_accounts.account_detail, svc, actor, fca)")
    waited = ast.parse(
        'with runtime.waiting_for_stripe("Reading…"):\n    lookup_account.lookup(svc, actor, x)'
    )
    assert unwaited(bare) and not unwaited(waited)
