"""Each payment method's latest blocked outcome (``latest_blocks``), kept at write time so
Blocked accounts (:mod:`services.usecases.blocked_accounts`) counts and pages one row per payment
method instead of ranking every blocked outcome of the store on each read (issue 13).

A payment method's key is its id, or for an outcome without one the outcome's own id; its
latest blocked outcome is the one with a ``blocked_reason`` returned last (none returned: after
every returned one), then made last, then the least id: what the list shows. Writers call
:func:`refresh` in their transaction with the keys their outcomes had and have; :func:`rebuild`
ranks every key again (a bulk load, a store from before the table). The columns the list's search
reads are copied from the debit, so a search reads the kept rows (and the customers it names)
only; an outcome write that changes them refreshes its key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection, Engine

from services.adapters import kept
from services.adapters.models import DebitOutcomeRecord, LatestBlockRecord

__all__ = ["backfill_if_empty", "key", "rebuild", "refresh"]

DEBITS: Any = DebitOutcomeRecord.__table__  # type: ignore[attr-defined]
LATEST: Any = LatestBlockRecord.__table__  # type: ignore[attr-defined]
CHUNK = 500
# copied from the debit: what Blocked accounts' search reads
SEARCHED = (
    "customer_id",
    "payment_method",
    "account_id",
    "institution",
    "last4",
    "blocked_code",
    "return_code",
    "blocked_reason",
)


def key(t: Any) -> Any:
    """The payment method's key of an outcome (a row of ``t``)."""
    return func.coalesce(t.c.payment_method, t.c.id)


def _latest(*where: Any) -> Any:
    """The ``latest_blocks`` rows of the keys of the blocked outcomes meeting ``where``."""
    c = DEBITS.c
    rank = (
        func.row_number()
        .over(
            partition_by=key(DEBITS),
            order_by=(c.returned_at.desc().nulls_last(), c.created.desc(), c.id),
        )
        .label("rank")
    )
    ranked = (
        select(
            key(DEBITS).label("payment_key"),
            c.id.label("debit_id"),
            c.returned_at,
            c.created,
            *(c[name] for name in SEARCHED),
            rank,
        )
        .where(c.blocked_reason.is_not(None), *where)
        .subquery("ranked")
    )
    r = ranked.c
    columns = ("payment_key", "debit_id", "returned_at", "created", *SEARCHED)
    return select(*(r[name] for name in columns)).where(r.rank == 1)


def _insert(conn: Connection | Any, stmt: Any) -> None:
    conn.execute(LATEST.insert().from_select([c.name for c in stmt.selected_columns], stmt))


def refresh(conn: Connection | Any, keys: Iterable[str]) -> None:
    """Rank the blocked outcomes of these keys again, in the caller's transaction."""
    ordered = sorted(set(keys))
    for at in range(0, len(ordered), CHUNK):
        chunk = ordered[at : at + CHUNK]
        conn.execute(delete(LATEST).where(LATEST.c.payment_key.in_(chunk)))
        _insert(conn, _latest(key(DEBITS).in_(chunk)))


def _rebuild(conn: Connection | Any) -> None:
    conn.execute(delete(LATEST))
    _insert(conn, _latest())


def rebuild(engine: Engine) -> None:
    """Every key again from ``debit_outcomes``, in one transaction (after a bulk load)."""
    with engine.begin() as conn:
        _rebuild(conn)


def _unfilled(conn: Connection) -> bool:
    """No rows but blocked outcomes (a store from before the table), or rows from before the
    copied columns (every kept row has a ``blocked_reason``)."""
    if conn.execute(select(LATEST.c.payment_key).limit(1)).first() is not None:
        stale = select(LATEST.c.payment_key).where(LATEST.c.blocked_reason.is_(None)).limit(1)
        return conn.execute(stale).first() is not None
    blocked = select(DEBITS.c.id).where(DEBITS.c.blocked_reason.is_not(None)).limit(1)
    return conn.execute(blocked).first() is not None


def backfill_if_empty(engine: Engine) -> bool:
    """Fill the table of a store with blocked outcomes but no rows yet; True when it did."""
    return kept.fill_once(engine, _unfilled, _rebuild)
