"""Which bank account a debit is checked against, and how a person recognises it.

Pure: works on Stripe-shaped account dicts already fetched. A customer may have several linked
accounts; the debit check uses the active cash account with balance access and the freshest
balance, and says which one it used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from services.rules.account_summary import AccountSummary
from services.rules.debit import Assessment, DebitPolicy, assess_debit
from services.rules.wording import counted

__all__ = ["assess_target", "choose_for_debit"]


def _eligible(account: Mapping[str, Any]) -> bool:
    return (
        account.get("status") == "active"
        and account.get("category") == "cash"
        and "balances" in (account.get("permissions") or ())
    )


def _freshness(account: Mapping[str, Any]) -> int:
    balance = account.get("balance")
    as_of = balance.get("as_of") if isinstance(balance, Mapping) else None
    return as_of if isinstance(as_of, int) else -1


def choose_for_debit(
    customer_id: str, accounts: Sequence[dict[str, Any]]
) -> tuple[dict[str, Any] | None, str, str | None]:
    """(account or None, a note saying what was checked, why there is no account if None)."""
    if not accounts:
        reason = f"Customer {customer_id} has no linked bank accounts, so there is no balance."
        return None, reason, reason
    eligible = sorted((a for a in accounts if _eligible(a)), key=_freshness, reverse=True)
    if not eligible:
        first = accounts[0]
        note = (
            f"None of the customer's {counted(len(accounts), 'linked account')} is an active cash account "
            f"with balance access; showing {AccountSummary.of(first).label}."
        )
        return first, note, None
    chosen = eligible[0]
    others = len(accounts) - 1
    tail = f" ({counted(others, 'other account')} not used)" if others else ""
    note = (
        f"Checked {AccountSummary.of(chosen).label}: the customer's active cash account with "
        f"balance access and the freshest balance{tail}."
    )
    return chosen, note, None


def assess_target(
    account: Mapping[str, Any] | None,
    amount: int,
    currency: str,
    now: int,
    policy: DebitPolicy,
    missing: str | None,
    debits: int = 1,
) -> Assessment:
    """assess_debit, but with our own sentence when there is no account for a reason other
    than manual entry (no payment method yet, a card, a customer without accounts)."""
    result = assess_debit(account, amount, currency, now=now, policy=policy, debits=debits)
    if account is None and missing:
        return replace(result, reasons=(missing,))
    return result
