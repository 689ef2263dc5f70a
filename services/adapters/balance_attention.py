"""Which mirrored balances finance can bring up to date: SQL conditions shared by Home's finance
counts and the Accounts filter ``?balance=stale|never``, so a card's figure and the list its
link opens are the same accounts by construction.

Counted: the accounts a debit check judges by their balance (active cash accounts with the
``balances`` permission, as ``services.rules.debit_target`` chooses them) with no balance
refresh already running. Left out: credit cards and other non-cash accounts (a debit check
never judges them by their balance), accounts without balance access, and inactive or
disconnected ones (no refresh can reach their bank until the customer links them again: the
ops Home card counts those).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, or_

from services.adapters.models import AccountRecord

__all__ = [
    "balance_filter",
    "last_failed",
    "never_fetched",
    "refreshable",
    "stale",
]

def refreshable() -> Any:
    """Active cash accounts with balance access and no balance refresh running."""
    refresh = col(AccountRecord.balance_refresh_status)
    return (
        (col(AccountRecord.status) == "active")
        & (col(AccountRecord.category) == "cash")
        & col(AccountRecord.permissions).contains(",balances,")
        & or_(refresh.is_(None), refresh != "pending")
    )


def stale(cutoff: int) -> Any:
    """:func:`refreshable` accounts whose balance was taken before ``cutoff`` (Unix time)."""
    return refreshable() & (col(AccountRecord.balance_as_of) < cutoff)


def never_fetched() -> Any:
    """:func:`refreshable` accounts with no balance yet (none fetched, or the first failed)."""
    return refreshable() & col(AccountRecord.balance_as_of).is_(None)


def balance_filter(kind: str, cutoff: int) -> Any:
    """The condition of the Accounts filter ``kind`` (``bank_account.BALANCE_KINDS``)."""
    return stale(cutoff) if kind == "stale" else never_fetched()


def last_failed() -> Any:
    """The bank failed the account's latest balance refresh (a new one may fail too)."""
    return col(AccountRecord.balance_refresh_status) == "failed"
