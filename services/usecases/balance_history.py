"""Finance looks at an account's balance over time: every balance the store has mirrored."""

from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from services.adapters.models import BalanceSnapshot
from services.adapters.store import session_scope
from services.auth import Actor, require
from services.context import Services
from services.rules.ids import parse_id

__all__ = ["balance_history", "for_account"]


def balance_history(engine: Engine, account_id: str) -> pd.DataFrame:
    """Every balance the store has seen for the account, oldest first.

    Columns: as_of (UTC datetime), currency, current, available (minor units or NA).
    """
    with session_scope(engine) as session:
        rows = session.exec(
            select(BalanceSnapshot)
            .where(BalanceSnapshot.account_id == account_id)
            .order_by(col(BalanceSnapshot.as_of), col(BalanceSnapshot.currency))
        ).all()
    frame = pd.DataFrame(
        {
            "as_of": pd.to_datetime([r.as_of for r in rows], unit="s", utc=True),
            "currency": pd.Series([r.currency for r in rows], dtype="string"),
            "current": pd.array([r.current for r in rows], dtype="Int64"),
            "available": pd.array([r.available for r in rows], dtype="Int64"),
        }
    )
    return frame


def for_account(svc: Services, actor: Actor, account_id: str) -> pd.DataFrame:
    """:func:`balance_history` for finance checking a debit."""
    require(actor, "balances.check")
    fca, _ = parse_id(account_id, allowed=("financial_connections.account",))
    return balance_history(svc.engine, fca)
