"""The README's "What each role sees and may do" table says what services/auth.py enforces."""

from __future__ import annotations

from pathlib import Path

from services.auth import PERMISSIONS, ROLES

README = Path(__file__).resolve().parents[2] / "README.md"
COLUMNS = ("admin", "ops", "finance", "manager")

# The start of each row's label -> the permissions it describes (one per "a / b" cell part).
ROWS: dict[str, list[tuple[str, ...]]] = {
    "Accounts: customers": [("accounts.view", "accounts.refresh")],
    "Customers' names": [("accounts.view",)],
    "Owner data from the bank": [("owners.view_pii",)],
    "Ownership review": [("ownership.review",)],
    "Transactions": [("transactions.view", "transactions.manage")],
    "Balance checks": [("balances.check",)],
    "Collection requests": [("collect.create", "collect.cancel", "collect.simulate")],
    "Flows: view / edit": [("flows.view",), ("flows.edit",)],
    "Conversion report": [("conversion.view",)],
    "Returns": [("returns.view",)],
    "Retry a returned debit": [("debits.retry",)],
    "Blocked accounts": [("accounts.blocked",)],
    "Sync accounts": [("accounts.sync",)],
    "Sync intents": [("intents.sync",)],
    "Sync debit outcomes": [("returns.sync",)],
    "Jobs page": [("jobs.view",)],
    "Debit policy, audit log, users": [("policy.edit", "audit.view", "users.manage")],
}


def _part(cell: str, i: int) -> str:
    """The i-th part of an "a / b" cell; a single "–" stands for every part."""
    parts = cell.split("/")
    return (parts[i] if i < len(parts) else parts[0]).strip()


def table() -> dict[str, list[str]]:
    text = README.read_text()
    section = text[text.index("### What each role sees and may do") :]
    section = section[: section.index("\n\n", section.index("| |"))]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| |"):
            assert tuple(cells[1:]) == COLUMNS
        elif line.startswith("|") and not line.startswith("|---"):
            rows[cells[0]] = cells[1:]
    return rows


def test_every_row_of_the_readme_table_matches_the_permissions() -> None:
    rows = table()
    for prefix, parts in ROWS.items():
        [label] = [r for r in rows if r.startswith(prefix)]
        for i, permissions in enumerate(parts):
            said = {
                role for role, cell in zip(COLUMNS, rows[label], strict=True)
                if _part(cell, i).startswith("✓")
            }  # fmt: skip
            for permission in permissions:
                assert said == PERMISSIONS[permission], (label, permission)
    assert len(rows) == len(ROWS), "a README row without a permission to check it against"


def test_every_permission_is_in_the_readme_table() -> None:
    described = {p for parts in ROWS.values() for ps in parts for p in ps}
    assert described == set(PERMISSIONS)
    assert set(ROLES) == set(COLUMNS)
