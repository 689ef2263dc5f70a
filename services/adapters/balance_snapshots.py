"""The balance history: each (account, as_of, currency) a mirror write saw, recorded once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, insert
from sqlmodel import Session, col, select

from services.adapters.models import BalanceSnapshot, utcnow
from services.rules.bank_account import balance_amounts

IN_LIST = 400  # keys per look-up query (SQLite bounds the variables of one statement)


def record_snapshots(
    session: Session, balances: Sequence[tuple[str, Mapping[str, Any] | None]]
) -> int:
    """Record each (account, as_of, currency) of ``balances`` once (the table's unique key);
    the stored ones are read by one query per ``IN_LIST`` keys, not one per balance. Returns
    how many were new."""
    wanted = {
        (fca, int(b["as_of"]), currency): (current, available)
        for fca, b in balances
        if b and b.get("as_of") is not None
        for currency, current, available in balance_amounts(b)
    }
    keys = sorted(wanted)
    stored: set[tuple[str, int, str]] = set()
    for start in range(0, len(keys), IN_LIST):
        part = keys[start : start + IN_LIST]
        found = session.execute(
            _STORED, {"accounts": sorted({k[0] for k in part}), "stamps": sorted({k[1] for k in part})}
        ).all()
        stored.update((str(a), int(t), str(c)) for a, t, c in found)
    new = [k for k in keys if k not in stored]
    if new:
        seen = utcnow()
        session.execute(
            insert(BalanceSnapshot.__table__),  # type: ignore[attr-defined]
            [
                {"account_id": fca, "as_of": as_of, "currency": currency,
                 "current": wanted[(fca, as_of, currency)][0],
                 "available": wanted[(fca, as_of, currency)][1], "seen_at": seen}
                for fca, as_of, currency in new
            ],
        )
    return len(new)


# Built once: a webhook event records one balance, and building the query (its IN lists and
# cache key) cost more than running it.
_STORED = (
    select(BalanceSnapshot.account_id, BalanceSnapshot.as_of, BalanceSnapshot.currency)
    .where(col(BalanceSnapshot.account_id).in_(bindparam("accounts", expanding=True)))
    .where(col(BalanceSnapshot.as_of).in_(bindparam("stamps", expanding=True)))
)
