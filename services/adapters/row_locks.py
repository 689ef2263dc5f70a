"""Locks for an upsert whose write depends on the stored rows (a ``merge`` or ``guard``).

Such an upsert reads the stored rows, decides in Python, then writes. With two writers of one
row at once, each must read what the other committed, or the last to commit wins even with an
older copy (an old event replayed while a newer one is applied). So the read locks the rows
until commit:

- PostgreSQL: ``SELECT … ORDER BY key FOR UPDATE`` (:func:`locked`); a second writer waits on
  the lock, then reads the committed row. Keys are locked in one order (the upsert sorts them
  across chunks too), so two writers cannot deadlock on each other's rows. A row both saw
  absent is inserted with ``ON CONFLICT DO NOTHING`` (:func:`insert_absent`): the later insert
  waits for the earlier one's transaction, conflicts, and is read again (locked) and merged.
- SQLite: the driver (pysqlite) begins a transaction only at the first write, so the read ran
  outside it and another connection could commit in between (one writer at a time does not
  help: the second waited for the lock and then wrote what it had decided before).
  :func:`take_sqlite_write_lock` begins it first (``BEGIN IMMEDIATE``), so the read sees every
  committed write and no other write can come before this one's commit. ``FOR UPDATE`` is not
  SQL there (SQLAlchemy leaves it out).

The plain upsert (no merge, no guard: the walks' pages) locks nothing; its write alone decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import Session


def locked(stmt: Any, key_column: Any) -> Any:
    """``stmt`` locking the rows it reads until commit, in key order (PostgreSQL and others)."""
    return stmt.order_by(key_column).with_for_update()


def take_sqlite_write_lock(session: Session) -> None:
    """Begin the session's SQLite transaction holding the write lock, unless it holds it already
    (pysqlite begins one only before a write, which takes the lock: ``in_transaction``)."""
    driver = session.connection().connection.dbapi_connection
    if driver is not None and not driver.in_transaction:
        driver.execute("BEGIN IMMEDIATE")  # waits up to the busy timeout for another writer


def insert_absent(session: Session, table: Any, key: str, rows: list[dict[str, Any]]) -> set[Any]:
    """Insert the full ``rows`` where no row has their key yet (PostgreSQL); returns the keys
    inserted. One another transaction inserted after this one read is left for the caller to
    read again (locked) and merge: ``DO UPDATE`` would write this copy over it unchecked."""
    stmt = pg_insert(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
    return set(session.execute(stmt, rows).scalars())


def lock_rows(session: Session, table: Any, key: str, keys: Iterable[Any]) -> None:
    """Lock the stored rows of ``keys`` until commit, in key order, before reading what a write
    of them will change (the day or chain a row counts in): read unlocked, another writer could
    commit in between, and the counts were redone for what that writer replaced, not for what
    it wrote (the upsert that follows locks these rows again; it already holds them)."""
    wanted = sorted(set(keys))
    if not wanted:
        return
    if session.get_bind().dialect.name == "sqlite":
        take_sqlite_write_lock(session)
        return
    column = table.c[key]
    session.execute(locked(select(column).where(column.in_(wanted)), column))
