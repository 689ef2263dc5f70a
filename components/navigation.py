"""The page registry: every page, its section, title, icon, and the permission that shows it.

The router (dashboard.py) builds the role-filtered navigation from it; the home page links to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PageSpec:
    section: str
    file: str
    title: str
    icon: str
    permission: str | None  # None: every signed-in role
    blurb: str = ""


PAGES: tuple[PageSpec, ...] = (
    PageSpec("", "pages/home.py", "Home", ":material/home:", None),
    PageSpec("Operations", "pages/accounts.py", "Accounts", ":material/account_balance:",
             "accounts.view", "Customers and their linked bank accounts; refresh data."),
    PageSpec("Operations", "pages/payment_lookup.py", "Payment lookup", ":material/search:",
             "accounts.view", "Find the bank account behind a PaymentIntent or SetupIntent."),
    PageSpec("Operations", "pages/ownership.py", "Ownership review", ":material/badge:",
             "ownership.review", "Compare account owners with the customer record."),
    PageSpec("Operations", "pages/transactions.py", "Transactions", ":material/receipt_long:",
             "transactions.view", "Cash flow, recurring income and risk aggregates."),
    PageSpec("Operations", "pages/blocked.py", "Blocked accounts", ":material/block:",
             "accounts.blocked", "Bank accounts Stripe blocked after a return, and what to do."),
    PageSpec("Operations", "pages/collect.py", "Collect accounts", ":material/add_card:",
             "collect.create", "Create SetupIntents and FC sessions; chase microdeposits."),
    PageSpec("Finance", "pages/balance_check.py", "Balance check", ":material/fact_check:",
             "balances.check", "Check one debit against the latest balance."),
    PageSpec("Finance", "pages/batch_check.py", "Batch check", ":material/checklist:",
             "balances.check", "Upload a CSV of planned debits and see what is at risk."),
    PageSpec("Finance", "pages/returns.py", "Returns", ":material/assignment_return:",
             "returns.view", "Did debits come back? Return rates against Nacha's limits; retries."),
    PageSpec("Insights", "pages/conversion.py", "Conversion", ":material/insights:",
             "conversion.view", "How each verification method converts, week by week."),
    PageSpec("Admin", "pages/flows.py", "Flow configuration", ":material/tune:", "flows.edit",
             "FC permissions, prefetch and verification method per payment flow."),
    PageSpec("Admin", "pages/policy.py", "Debit policy", ":material/policy:", "policy.edit",
             "Safety buffer and maximum balance age for debit checks."),
    PageSpec("Admin", "pages/jobs.py", "Jobs", ":material/work_history:", "jobs.view",
             "Background jobs and webhooks: running, queued, failed, retried."),
    PageSpec("Admin", "pages/users.py", "Users", ":material/group:", "users.manage",
             "Who can sign in, with which role; add, change and remove users."),
    PageSpec("Admin", "pages/audit.py", "Audit log", ":material/history:", "audit.view",
             "Every state-changing action: who, when, what, outcome."),
)


def pages_for(role_can: object) -> list[PageSpec]:
    """The pages a role may open (``role_can`` is ``Actor.can``) whose file exists."""
    can = role_can  # a callable permission check
    return [
        p
        for p in PAGES
        if (p.permission is None or can(p.permission))  # type: ignore[operator]
        and (ROOT / p.file).exists()
    ]


def page_typed_otherwise(
    typed: str, url_paths: list[str], titles: dict[str, str] | None = None
) -> str | None:
    """The page's URL path that ``typed`` names in other letters' case ("Users" for "users"), or
    by the title people read in the sidebar (``titles``: {url path: title}; "audit_log",
    "Audit-log" or "Audit%20log" for "Audit log" at /audit), or None: no page is at that address.
    Streamlit matches paths exactly, and a path it does not know silently ran Home."""
    wanted = typed.strip("/").casefold()
    same = next((path for path in url_paths if path.casefold() == wanted), None)
    if same is not None or not titles:
        return same
    slug = _slug(wanted)
    return next((path for path, title in titles.items() if _slug(title) == slug), None)


def _slug(text: str) -> str:
    return "_".join(re.split(r"[\s_\-]+|%20", text.casefold().strip()))


def no_page_notice(typed_path: str, where: str = "here is Home") -> str:
    """What the default page says when opened for an address no page has (``typed_path`` is
    Markdown-safe: a code span): "There is no page at `/nope`; here is Home." """
    return f"There is no page at {typed_path}; {where}."
