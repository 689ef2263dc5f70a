"""Who a customer ID is, from the mirrored customers table: names and emails for queue rows and
picker options, and the SQL that finds customer IDs by part of a name or email."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, or_, select

from services.adapters.models import CustomerRecord, DataVersion
from services.adapters.store import session_scope
from services.rules.people import Person, fold


def people_by_id(engine: Engine, customer_ids: Iterable[str | None]) -> dict[str, Person]:
    """Name and email of each of ``customer_ids`` the store holds (one query; a page's worth)."""
    wanted = sorted({c for c in customer_ids if c})
    if not wanted:
        return {}
    stmt = select(CustomerRecord.id, CustomerRecord.name, CustomerRecord.email).where(
        col(CustomerRecord.id).in_(wanted)
    )
    with session_scope(engine) as session:
        return {cid: Person(name, email) for cid, name, email in session.exec(stmt).all()}


def customers_matching(term: str) -> Any:
    """A subquery of the IDs of customers whose name or email contains ``term`` (lower case):
    for ``column.in_(...)`` in another table's WHERE, so searching by person stays in SQL."""
    return select(CustomerRecord.id).where(
        or_(
            col(CustomerRecord.name_lower).contains(fold(term), autoescape=True),
            col(CustomerRecord.email_lower).contains(term, autoescape=True),
        )
    )


def person_matches(customer_id: Any, term: str) -> Any:
    """An EXISTS for another table's WHERE: the customer in its ``customer_id`` column has a name
    or email containing ``term`` (lower case). Looked up per candidate row by primary key, so a
    search over a few rows (the blocked accounts) does not scan every customer, as
    :func:`customers_matching`'s IN list does; for many rows that list is the cheaper form."""
    return (
        select(CustomerRecord.id)
        .where(
            col(CustomerRecord.id) == customer_id,
            or_(
                col(CustomerRecord.name_lower).contains(fold(term), autoescape=True),
                col(CustomerRecord.email_lower).contains(term, autoescape=True),
            ),
        )
        .exists()
    )


# The store's mark that every name_lower is folded by the current rule: a row of the data
# versions whose version is FOLD_RULE. The writers fold each name they write, so names are
# read once per store (and again only when the rule changes: raise FOLD_RULE with it).
FOLDED = "customers.name_lower.fold_rule"
FOLD_RULE = 2  # services.rules.people.fold: lower case, accents off (1); quotes, spaces (2)


def refold_names(engine: Engine) -> int:
    """Customers stored before names were searched without accents get their ``name_lower``
    again (:func:`services.rules.people.fold`); returns how many. Once per store: a store marked
    folded by this rule (``FOLDED``) costs one primary-key read, nothing else."""
    with session_scope(engine) as session:
        mark = session.get(DataVersion, FOLDED)
        if mark is not None and mark.version >= FOLD_RULE:
            return 0
        named = session.exec(
            select(CustomerRecord.id, CustomerRecord.name, CustomerRecord.name_lower).where(
                col(CustomerRecord.name).is_not(None)
            )
        ).all()
        stale = [
            {"cid": cid, "folded": fold(name or "")}
            for cid, name, low in named
            if fold(name or "") != low
        ]
        if stale:
            table: Any = CustomerRecord.__table__  # type: ignore[attr-defined]  # Core: executemany
            session.execute(
                update(table)
                .where(table.c.id == bindparam("cid"))
                .values(name_lower=bindparam("folded")),
                stale,
            )
        _mark_folded(session, mark)
    return len(stale)


def _mark_folded(session: Any, mark: DataVersion | None) -> None:
    """Mark the store folded, with the refold's transaction (a replica opening the store at the
    same moment may mark it first: its row stands, the folding was the same)."""
    if mark is not None:
        mark.version = FOLD_RULE
        return
    try:
        with session.begin_nested():
            session.add(DataVersion(name=FOLDED, version=FOLD_RULE))
    except IntegrityError:
        pass
