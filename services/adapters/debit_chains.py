"""The chain table (``debit_chains``): one row per original debit and its re-initiations, kept
at write time from ``debit_outcomes`` so the return rates count chains without grouping every
debit again on each read (issue 13; :mod:`services.adapters.outcome_figures` reads it).

A chain's row holds what ``outcome_figures._chains`` computes for it when every attempt is
counted: its date (the original's ``created``, else its attempts' earliest), a 0/1 flag per
Nacha category, the breakdown values (the original's, else the least; empty is "unknown"), and
whether its attempts span more than :data:`LONG` (such chains are counted from their attempts).

Writers call :func:`refresh` in their transaction with the chains they touched; :func:`rebuild`
recomputes the whole table in one statement (a bulk load, or a store from before the table).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Boolean, and_, case, delete, func, select, type_coerce
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.adapters.models import DebitChainRecord, DebitOutcomeRecord

__all__ = ["BY", "LONG", "backfill_if_empty", "chain_columns", "chain_value", "rebuild", "refresh"]

LONG = 30 * 86_400  # a chain whose attempts span more than this is "long"
BY = ("verification_method", "institution", "flow")  # the breakdown columns
OUTCOMES: Any = DebitOutcomeRecord.__table__  # type: ignore[attr-defined]
CHAINS: Any = DebitChainRecord.__table__  # type: ignore[attr-defined]
CHUNK = 500


def _any_of(condition: Any) -> Any:
    return func.max(case((condition, 1), else_=0))


def chain_columns(t: Any) -> list[Any]:
    """Per chain (a GROUP BY original_id over rows of ``t``): ``created`` (the original's, else
    the earliest attempt's) and a 0/1 flag per category (an attempt came back in it)."""
    original = t.c.id == t.c.original_id
    returned = and_(
        t.c.status == "returned", t.c.return_code.is_not(None), t.c.category.is_not(None)
    )
    return [
        func.coalesce(func.max(case((original, t.c.created))), func.min(t.c.created)).label(
            "created"
        ),
        _any_of(and_(returned, t.c.category == "unauthorized")).label("unauthorized"),
        _any_of(and_(returned, t.c.category == "administrative")).label("administrative"),
        _any_of(returned).label("overall"),
    ]


def chain_value(t: Any, by: str) -> Any:
    """Per chain: the original's value of ``by`` ("unknown" when empty), else the least of its
    attempts' values."""
    value = func.coalesce(func.nullif(t.c[by], ""), "unknown")
    original = t.c.id == t.c.original_id
    return func.coalesce(func.max(case((original, value))), func.min(value))


def _whole_chains() -> Any:
    """Every column of a ``debit_chains`` row, grouped from all of a chain's attempts."""
    t = OUTCOMES
    first, last = func.min(t.c.created), func.max(t.c.created)
    return select(
        t.c.original_id,
        *chain_columns(t),
        first.label("first_created"),
        last.label("last_created"),
        *(chain_value(t, by).label(by) for by in BY),
        type_coerce(last - first > LONG, Boolean).label("long"),
    ).group_by(t.c.original_id)


def refresh(session: Session, original_ids: Iterable[str]) -> None:
    """Recompute the rows of these chains from their attempts, in the caller's transaction
    (a chain left without attempts loses its row)."""
    from services.adapters.store import upsert  # the store opens (and fills) this table

    ids = sorted(set(original_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        stmt = _whole_chains().where(OUTCOMES.c.original_id.in_(chunk))
        rows = [dict(r) for r in session.execute(stmt).mappings()]
        if rows:
            upsert(session, DebitChainRecord, rows, key="original_id")
        gone = set(chunk) - {r["original_id"] for r in rows}
        if gone:
            session.execute(delete(CHAINS).where(CHAINS.c.original_id.in_(sorted(gone))))


def _rebuild(conn: Connection) -> None:
    conn.execute(delete(CHAINS))
    stmt = _whole_chains()
    names = [c.name for c in stmt.selected_columns]
    conn.execute(CHAINS.insert().from_select(names, stmt))


def rebuild(engine: Engine) -> None:
    """Every chain's row again from ``debit_outcomes``, in one transaction (after a bulk load
    that bypassed the writers)."""
    with engine.begin() as conn:
        _rebuild(conn)


def backfill_if_empty(engine: Engine) -> bool:
    """Fill the table of a store that has debits but no chains yet (made before the table);
    two cheap reads otherwise. True when it filled it."""
    with engine.connect() as conn:
        if conn.execute(select(CHAINS.c.original_id).limit(1)).first() is not None:
            return False
        if conn.execute(select(OUTCOMES.c.id).limit(1)).first() is None:
            return False
    try:
        with engine.begin() as conn:
            if conn.execute(select(CHAINS.c.original_id).limit(1)).first() is None:
                _rebuild(conn)
                return True
    except IntegrityError:  # another replica opening the store filled it at the same time
        pass
    return False
