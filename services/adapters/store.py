"""The database: engine creation, schema, sessions.

SQLite (WAL) is the embedded default; any SQLAlchemy URL works through DATABASE_URL
(PostgreSQL with psycopg 3 for several app replicas).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, event, insert, inspect, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, create_engine

import services.adapters.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from services.adapters import (
    debit_chains,
    job_models,
    last_checks,
    latest_blocks,
    original_dates,
    row_locks,
    verdict_days,
)
from services.adapters.models import SyncState, utcnow
from services.adapters.transactions import retrying, session_scope  # (re-exported)
from services.errors import ConfigurationError
from services.rules.secrets import mask_secrets


def normalise_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, postgresql://) and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    except Exception as err:  # a malformed URL or a missing driver
        raise ConfigurationError(mask_secrets(f"DATABASE_URL cannot be used: {err}")) from None


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MB per connection (the default is 2 MB)
    cursor.close()


def create_schema(engine: Engine) -> None:
    """The tables, indexes and columns of the models (an older store gets what it lacks)."""
    from services.adapters import (  # noqa: F401  (they import this module)
        collect_starts,
        ended_sign_ins,
        flow_drafts,
    )

    SQLModel.metadata.create_all(engine)
    add_missing_columns(engine)


def fill_kept(engine: Engine) -> list[str]:
    """Fill what the writers keep at write time and a store lacks (made before it, or filled by
    bulk inserts around the writers), each once, from one place: every debit's last check and
    its original's date (columns), the chains and their day sums, the verdict day counts (again
    whenever those columns were filled: they count by them), each payment method's latest
    block, the intent day counts. Each is a cheap probe when nothing is missing. Returns the
    names of those filled."""
    from services.adapters import intent_days, people  # they write through this module

    filled = []
    if last_checks.backfill(engine):
        filled.append("last_checks")
    if original_dates.backfill(engine):
        filled.append("original_dates")
    columns_filled = bool(filled)  # the verdict days count by both columns
    if debit_chains.backfill_if_empty(engine):
        filled.append("debit_chains")
    if columns_filled:
        verdict_days.rebuild(engine)
        filled.append("verdict_days")
    elif verdict_days.backfill_if_empty(engine):
        filled.append("verdict_days")
    if latest_blocks.backfill_if_empty(engine):
        filled.append("latest_blocks")
    if intent_days.backfill_if_empty(engine):
        filled.append("intent_days")
    if people.refold_names(engine):
        filled.append("customers.name_lower")
    return filled


# columns an older store gets filled from what it holds, in the transaction that adds them
FILLED_WHEN_ADDED = {"jobs.retried_as": job_models.fill_retried_as}

# indexes an older store has that a newer model replaced
OBSOLETE_INDEXES = (
    "ix_debit_dated",  # by ix_debit_days (it also covers the headroom days)
    "ix_fca_overview",  # by ix_fca_counts (it also covers the category finance's counts need)
)


def add_missing_columns(engine: Engine) -> list[str]:
    """Add nullable columns a newer model has and an older store lacks (``create_all`` only
    creates missing tables). Returns ``table.column`` for each one added."""
    inspector = inspect(engine)
    added: list[str] = []
    with engine.begin() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if not inspector.has_table(table.name):
                continue
            have = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in have or not column.nullable:
                    continue
                kind = column.type.compile(engine.dialect)
                conn.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))
                for index in table.indexes:
                    if [c.name for c in index.columns] == [column.name]:
                        index.create(conn, checkfirst=True)
                added.append(f"{table.name}.{column.name}")
                if f"{table.name}.{column.name}" in FILLED_WHEN_ADDED:
                    FILLED_WHEN_ADDED[f"{table.name}.{column.name}"](conn)
            for index in table.indexes:  # indexes a newer model added to an existing table
                if len(index.columns) > 1:
                    index.create(conn, checkfirst=True)
        for name in OBSOLETE_INDEXES:  # and those a wider one replaced (each write kept them)
            conn.execute(text(f'DROP INDEX IF EXISTS "{name}"'))
    return added


def open_store(url: str) -> Engine:
    """Engine with the schema in place; the one call the composition root makes."""
    engine = make_engine(url)
    try:
        create_schema(engine)
        fill_kept(engine)
    except Exception as err:
        raise ConfigurationError(
            mask_secrets(
                f"Could not open the database ({engine.url.render_as_string(hide_password=True)}): {err}"
            )
        ) from None
    return engine


# --------------------------------------------------------------------------- upsert

UPSERT_CHUNK = 500
Merge = Callable[[Mapping[str, Any], dict[str, Any]], dict[str, Any]]
# (column, mark): update a stored row only while its ``column`` is NULL or at most ``mark``
Guard = tuple[str, int]
GUARD_PARAM = "upsert_guard_mark"
UNGUARDED_MARK = 2**63 - 1  # the mark of a row ``unguarded`` exempts (a BIGINT guard column)


@dataclass(frozen=True)
class UpsertCounts:
    """How many of the given rows were new, changed, or already stored exactly so."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    written: frozenset[Any] = field(default=frozenset(), compare=False, repr=False)  # their keys

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.written | other.written,
        )

    @property
    def outcome(self) -> str:
        """For a one-row call: 'inserted', 'updated' or 'unchanged'."""
        if self.inserted:
            return "inserted"
        return "updated" if self.updated else "unchanged"


def rows_since(engine: Engine, model: type[SQLModel], stamp: Any, since: int | None) -> list[Any]:
    """A table's rows whose ``stamp`` column is at or after ``since`` (all when None), oldest
    first, ties by primary key: plain rows with the columns as attributes, not ORM objects (a
    report reads a hundred thousand of them)."""
    table = model.__table__  # type: ignore[attr-defined]
    query = select(table).order_by(col(stamp), *inspect(model).primary_key)
    if since is not None:
        query = query.where(col(stamp) >= since)
    with engine.connect() as conn:
        return list(conn.execute(query))


def upsert(
    session: Session,
    model: type[SQLModel],
    rows: Sequence[Mapping[str, Any]],
    *,
    key: str = "id",
    compare: Sequence[str] | None = None,
    touch: Mapping[str, Any] | None = None,
    merge: Merge | None = None,
    guard: Guard | None = None,
    unguarded: Collection[Any] = (),
) -> UpsertCounts:
    """Insert or update ``rows`` (column dicts) by ``key``; the one upsert every mirror uses.

    Args:
        compare: the columns whose difference makes a stored row "updated" (default: every
            given column). Rows equal on them are counted "unchanged" and not written at all.
        touch: values written with every inserted or updated row but never compared
            (``synced_at``), so a re-run of an unchanged sync writes nothing.
        merge: ``(stored, incoming) -> values`` for columns whose new value depends on the
            stored one (keep the earliest success time); called only for stored rows.
        guard: ``(column, mark)``: a stored row whose ``column`` is above ``mark`` is left as it
            is. Checked on the rows read first and again inside the write itself (``ON
            CONFLICT DO UPDATE … WHERE``), so a row another process changed in between, after
            this transaction read it, is not overwritten either (PostgreSQL's READ COMMITTED).
        unguarded: keys of ``rows`` the guard does not hold back, so rows with and without it
            are written in one sorted pass (one lock order in the transaction: two passes,
            each sorted, locked two writers' rows in opposite orders and deadlocked).

    On SQLite and PostgreSQL the write is ``INSERT … ON CONFLICT DO UPDATE``, so two replicas
    writing the same new row at once cannot fail on the duplicate key; any other database gets
    the portable select-then-update. Later duplicates of a key within ``rows`` win.

    With a ``merge`` or ``guard`` the stored rows decide the write, so reading them locks them
    until commit (:mod:`services.adapters.row_locks`), in key order; the plain upsert does not.
    """
    latest = {values[key]: dict(values) for values in rows}
    keys = sorted(latest) if merge is not None or guard is not None else list(latest)
    total = UpsertCounts()
    for start in range(0, len(keys), UPSERT_CHUNK):
        chunk = {k: latest[k] for k in keys[start : start + UPSERT_CHUNK]}
        total += _upsert_chunk(
            session, model, chunk, key=key, compare=compare, touch=touch or {}, merge=merge,
            guard=guard, unguarded=unguarded,
        )
    return total


def _upsert_chunk(
    session: Session,
    model: type[SQLModel],
    incoming: dict[Any, dict[str, Any]],
    *,
    key: str,
    compare: Sequence[str] | None,
    touch: Mapping[str, Any],
    merge: Merge | None,
    guard: Guard | None = None,
    unguarded: Collection[Any] = (),
) -> UpsertCounts:
    table: Any = model.__table__  # type: ignore[attr-defined]
    decides = merge is not None or guard is not None  # the stored rows decide the write: lock
    dialect = session.get_bind().dialect.name if decides else ""  # (the plain path: as before)
    if decides and dialect == "sqlite":
        row_locks.take_sqlite_write_lock(session)
    reading = _stored_rows(table, key, decides and dialect != "sqlite")
    stored = {r[key]: dict(r) for r in session.execute(reading, {"keys": [*incoming]}).mappings()}
    inserted: list[dict[str, Any]] = []
    updated: list[dict[str, Any]] = []
    for k, values in incoming.items():
        before = stored.get(k)
        if before is None:
            inserted.append({**values, **touch})
            continue
        if guard is not None and k not in unguarded and (before.get(guard[0]) or 0) > guard[1]:
            continue  # changed after the mark: left as it is (counted unchanged)
        if merge is not None:
            values = merge(before, values)
        columns = compare if compare is not None else [c for c in values if c != key]
        if any(before[c] != values[c] for c in columns):
            updated.append({**values, **touch})
    late: dict[Any, dict[str, Any]] = {}  # absent when read, inserted by another writer since
    if decides and dialect == "postgresql" and inserted:
        if updated:
            _write(session, model, updated, key=key, guard=guard, unguarded=unguarded)
        session.flush()
        added = row_locks.insert_absent(session, table, key, [_full_row(model, r) for r in inserted])
        late = {r[key]: incoming[r[key]] for r in inserted if r[key] not in added}
        inserted = [r for r in inserted if r[key] in added]
    elif inserted or updated:
        _write(session, model, inserted + updated, key=key, guard=guard, unguarded=unguarded)
    changed = inserted + updated
    counts = UpsertCounts(
        len(inserted), len(updated), len(incoming) - len(changed) - len(late),
        frozenset(r[key] for r in changed),
    )
    if late:  # read them again, now locked, and merge
        counts += _upsert_chunk(
            session, model, late, key=key, compare=compare, touch=touch, merge=merge, guard=guard,
            unguarded=unguarded,
        )
    return counts


def _full_row(model: type[SQLModel], values: dict[str, Any]) -> dict[str, Any]:
    """Every column, with the model's defaults where ``values`` is silent (one VALUES shape).

    What ``model(**values)`` would hold (a field's default, its factory called per row, None
    for a required one left out), without building the object: that cost ~0.1 ms a row, a
    quarter of a chunk's write and more under a busy GIL (cProfile at 2,000 customers)."""
    return {
        name: values[name] if name in values else (default() if default else None)
        for name, default in _column_defaults(model)
    }


def insert_rows(
    session: Any, model: type[SQLModel], rows: Sequence[dict[str, Any]], *, returning: Any
) -> list[Any]:
    """Insert ``rows`` in one ``INSERT … RETURNING`` (SQLAlchemy's "insertmanyvalues"), each
    completed with the model's defaults (:func:`_full_row`) but for the key, which the database
    numbers; returns ``returning`` of each row. No ORM object per row."""
    key = next(iter(model.__table__.primary_key.columns)).name  # type: ignore[attr-defined]
    full = [{k: v for k, v in _full_row(model, r).items() if k != key} for r in rows]
    return list(session.scalars(insert(model).returning(returning), full))


@lru_cache(maxsize=64)
def _column_defaults(model: type[SQLModel]) -> tuple[tuple[str, Callable[[], Any] | None], ...]:
    """Each column of ``model`` and how its field's default is made (None: no default)."""
    table: Any = model.__table__  # type: ignore[attr-defined]
    fields = model.model_fields
    plan: list[tuple[str, Callable[[], Any] | None]] = []
    for column in table.columns:
        field = fields.get(column.name)
        if field is None or field.is_required():
            plan.append((column.name, None))
        else:
            plan.append((column.name, partial(field.get_default, call_default_factory=True)))
    return tuple(plan)


def _write(
    session: Session,
    model: type[SQLModel],
    rows: list[dict[str, Any]],
    *,
    key: str,
    guard: Guard | None = None,
    unguarded: Collection[Any] = (),
) -> None:
    dialect = session.get_bind().dialect.name
    if dialect not in ("sqlite", "postgresql"):
        _write_portably(session, model, rows, key=key, guard=guard, unguarded=unguarded)
        return
    given = tuple(sorted({c for r in rows for c in r if c != key}))
    table = model.__table__  # type: ignore[attr-defined]
    stmt = _upsert_statement(dialect, table, key, given, guard[0] if guard else None)
    session.flush()
    session.execute(stmt, [{**_full_row(model, r), **_marked(guard, unguarded, r[key])} for r in rows])
    # Objects this session already holds for these keys would still show the old values.
    written = {r[key] for r in rows}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, model) and getattr(obj, key) in written:
            session.expire(obj)


def _marked(guard: Guard | None, unguarded: Collection[Any], k: Any) -> dict[str, int]:
    """The guard's mark parameter for the row ``k`` (none without a guard)."""
    if guard is None:
        return {}
    return {GUARD_PARAM: UNGUARDED_MARK if k in unguarded else guard[1]}


@lru_cache(maxsize=64)
def _stored_rows(table: Any, key: str, lock: bool = False) -> Any:
    """The stored rows of ``table`` whose ``key`` is in the ``keys`` list parameter (built once);
    ``lock``: locked until commit, in key order (``FOR UPDATE``)."""
    stmt = select(table).where(table.c[key].in_(bindparam("keys", expanding=True)))
    return row_locks.locked(stmt, table.c[key]) if lock else stmt


@lru_cache(maxsize=256)
def _upsert_statement(
    dialect: str, table: Any, key: str, columns: tuple[str, ...], guarded: str | None = None
) -> Any:
    """``INSERT … ON CONFLICT (key) DO UPDATE SET`` the given columns, built once per shape.

    One statement with bound parameters run for every row (SQLAlchemy batches it into
    multi-row INSERTs): compiled once and cached, where .values([...rows]) compiled every
    parameter of every row again (a third of a page's write time). Building it is not free
    either (``excluded`` sets up a column collection each time: a quarter of a one-row
    webhook write), so the construct is kept too; it is immutable and safe to share.

    ``guarded``: the stored row is updated only while that column is NULL or at most the
    ``GUARD_PARAM`` parameter; the database checks it on the row it locks for the update (the
    latest committed version), so no other writer can slip in between the check and the write."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(table)
    where = None
    if guarded is not None:
        stored = table.c[guarded]
        where = stored.is_(None) | (stored <= bindparam(GUARD_PARAM))
    return stmt.on_conflict_do_update(
        index_elements=[key], set_={c: stmt.excluded[c] for c in columns}, where=where
    )


def _write_portably(
    session: Session,
    model: type[SQLModel],
    rows: list[dict[str, Any]],
    *,
    key: str,
    guard: Guard | None = None,
    unguarded: Collection[Any] = (),
) -> None:
    for values in rows:
        obj = session.get(model, values[key], with_for_update=guard is not None)
        if obj is None:
            session.add(model(**values))
            continue
        if guard is not None and (getattr(obj, guard[0]) or 0) > _marked(guard, unguarded, values[key])[GUARD_PARAM]:
            continue
        for column, value in values.items():
            setattr(obj, column, value)
    session.flush()


def read_sync_cursor(engine: Engine, name: str) -> int | None:
    """The integer cursor a sync stored under ``name`` (None: never ran, or unreadable)."""
    with session_scope(engine) as session:
        state = session.get(SyncState, name)
        if state is None or not state.cursor:
            return None
        try:
            return int(state.cursor)
        except ValueError:
            return None


def never_finished(engine: Engine, name: str) -> bool:
    """True while the sync ``name`` has never finished (a page's first visit starts it)."""
    with session_scope(engine) as session:
        state = session.get(SyncState, name)
        return state is None or state.last_finished_at is None


def mark_sync(engine: Engine, name: str, **changes: Any) -> None:
    """Set fields of the SyncState row ``name`` (created on first use; safe across replicas)."""

    def work(session: Session) -> None:
        state = session.get(SyncState, name)
        if state is None:
            state = SyncState(name=name)
            session.add(state)
        for key, value in changes.items():
            setattr(state, key, value)

    retrying(engine, work)


def mark_finished(
    engine: Engine, name: str, cursor: str, details: Mapping[str, Any], seconds: float
) -> None:
    """A sync ``name`` that finished now, at ``cursor``, with what it did and how long it took."""
    mark_sync(
        engine, name, cursor=cursor, last_finished_at=utcnow(),
        details={**details, "seconds": seconds},
    )
