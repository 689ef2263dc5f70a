"""Searching the store's mirrored customers: by ID, by whole email, by part of a name or an
email (accents folded), newest first, each with how many FC accounts the mirror holds for them.
Split from :mod:`services.adapters.account_mirror`, which fills these rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from services.adapters.models import AccountRecord, CustomerRecord
from services.adapters.store import session_scope
from services.rules.bank_account import CustomerHit
from services.rules.people import fold

__all__ = [
    "count_customers_matching",
    "customers_by_email",
    "customers_by_id",
    "customers_matching",
]


def _hits(session: Session, customers: list[CustomerRecord]) -> list[CustomerHit]:
    ids = [c.id for c in customers]
    counts: dict[str, int] = {}
    if ids:
        rows = session.exec(
            select(AccountRecord.customer_id, func.count())
            .where(col(AccountRecord.customer_id).in_(ids))
            .group_by(col(AccountRecord.customer_id))
        ).all()
        counts = {str(cid): int(n) for cid, n in rows}
    return [
        CustomerHit(
            id=c.id, email=c.email, name=c.name, created=c.created, accounts=counts.get(c.id, 0)
        )
        for c in customers
    ]


def _customers(engine: Engine, where: Any, limit: int, offset: int = 0) -> list[CustomerHit]:
    with session_scope(engine) as session:
        found = session.exec(
            select(CustomerRecord)
            .where(where)
            .order_by(col(CustomerRecord.created).desc(), col(CustomerRecord.id).desc())
            .offset(offset)
            .limit(limit)
        ).all()
        return _hits(session, list(found))


def customers_by_id(engine: Engine, ids: list[str], limit: int) -> list[CustomerHit]:
    return _customers(engine, col(CustomerRecord.id).in_(ids), limit)


def customers_by_email(engine: Engine, email: str, limit: int) -> list[CustomerHit]:
    """Mirrored customers with this email, in any case."""
    return _customers(engine, CustomerRecord.email_lower == email.lower(), limit)


def _matching(needle: str) -> Any:
    return or_(
        col(CustomerRecord.name_lower).contains(fold(needle), autoescape=True),  # no accents
        col(CustomerRecord.email_lower).contains(needle, autoescape=True),
    )


def customers_matching(
    engine: Engine, needle: str, limit: int, offset: int = 0
) -> list[CustomerHit]:
    """Mirrored customers whose name or email contains ``needle`` (lower case), newest first."""
    return _customers(engine, _matching(needle), limit, offset)


def count_customers_matching(engine: Engine, needle: str) -> int:
    with session_scope(engine) as session:
        counted = select(func.count()).select_from(CustomerRecord).where(_matching(needle))
        return int(session.exec(counted).one())
