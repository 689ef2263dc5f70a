"""Data versions: one counter row per kind of mirrored data, bumped in the writer's transaction.

A page caches what it derives from the store (``st.cache_data``) keyed on the version, so a
rerun that finds the same version reuses the figures, and any sync or webhook that changed a row
makes the next rerun compute them again. Reading a version is one primary-key lookup.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.adapters.models import DataVersion
from services.adapters.store import session_scope

INTENTS = "intents"
ACCOUNTS = "accounts"  # the mirrored FC accounts (services.adapters.account_mirror)
OUTCOMES = "debit_outcomes"  # the debit-outcome mirror (services.usecases.debit_outcomes)
CHECKS = "debit_checks"  # the pre-debit verdicts kept (services.adapters.check_history)
ALL = (INTENTS, ACCOUNTS, OUTCOMES, CHECKS)


def bump(session: Session, name: str) -> int:
    """Add one to ``name``'s counter inside ``session``'s transaction (commits with the write);
    returns the new value. The row stays locked until commit, so the values count up in the
    order the writers commit: a value read before a writer bumped is below the one it made."""
    table = DataVersion.__table__  # type: ignore[attr-defined]
    done = session.execute(
        update(table).where(table.c.name == name).values(version=table.c.version + 1)
    )
    if not getattr(done, "rowcount", 0):
        try:
            with session.begin_nested():  # a replica may insert the first row at the same moment
                session.add(DataVersion(name=name, version=1))
        except IntegrityError:
            session.execute(
                update(table).where(table.c.name == name).values(version=table.c.version + 1)
            )
    return int(session.execute(select(table.c.version).where(table.c.name == name)).scalar_one())


def read(engine: Engine, name: str) -> int:
    """``name``'s counter (0: never written since this table existed)."""
    with session_scope(engine) as session:
        row = session.get(DataVersion, name)
        return int(row.version) if row else 0


def read_many(engine: Engine, *names: str) -> tuple[int, ...]:
    """The counters of ``names`` in that order, in one query (a page's cache key reads several
    on every rerun)."""
    table = DataVersion.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        found: dict[str, int] = dict(
            conn.execute(select(table.c.name, table.c.version).where(table.c.name.in_(names))).all()
        )
    return tuple(int(found.get(name, 0)) for name in names)
