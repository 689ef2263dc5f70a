"""The store's one upsert, on SQLite and PostgreSQL (the ``engine`` fixture runs both)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlmodel import select

from services.adapters.models import CustomerRecord, IntentRecord
from services.adapters.store import UPSERT_CHUNK, UpsertCounts, session_scope, upsert

EARLIER = datetime(2026, 1, 1, tzinfo=UTC)
LATER = EARLIER + timedelta(days=1)


def customer(n: int, *, name: str = "Pat", raw: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": f"cus_{n:06d}",
        "name": name,
        "created": 1_700_000_000 + n,
        "raw": raw if raw is not None else {"id": f"cus_{n:06d}", "name": name},
    }


def stored(engine: Any) -> dict[str, CustomerRecord]:
    with session_scope(engine) as session:
        return {c.id: c for c in session.exec(select(CustomerRecord))}


def test_new_rows_are_inserted_then_only_changed_ones_updated(engine: Any) -> None:
    with session_scope(engine) as session:
        first = upsert(
            session, CustomerRecord, [customer(1), customer(2)], touch={"synced_at": EARLIER}
        )
    with session_scope(engine) as session:
        again = upsert(
            session,
            CustomerRecord,
            [customer(1, name="Quinn"), customer(2)],
            touch={"synced_at": LATER},
        )
    rows = stored(engine)
    assert first == UpsertCounts(inserted=2, updated=0, unchanged=0)
    assert again == UpsertCounts(inserted=0, updated=1, unchanged=1)
    assert rows["cus_000001"].name == "Quinn"
    assert rows["cus_000001"].raw == {"id": "cus_000001", "name": "Quinn"}
    assert rows["cus_000001"].synced_at.replace(tzinfo=UTC) == LATER
    # An unchanged row is not written at all: its touch column keeps the first value.
    assert rows["cus_000002"].synced_at.replace(tzinfo=UTC) == EARLIER


def test_only_the_compared_columns_decide_whether_a_row_changed(engine: Any) -> None:
    with session_scope(engine) as session:
        upsert(session, CustomerRecord, [customer(3)])
    quieter = customer(3, raw={"id": "cus_000003", "note": "ignored"})
    with session_scope(engine) as session:
        counts = upsert(session, CustomerRecord, [quieter], compare=["name", "created"])
    assert counts == UpsertCounts(unchanged=1)
    assert stored(engine)["cus_000003"].raw == {"id": "cus_000003", "name": "Pat"}


def test_merge_sees_the_stored_row_before_the_new_values_are_written(engine: Any) -> None:
    def keep_earliest(before: Any, values: dict[str, Any]) -> dict[str, Any]:
        known = [t for t in (before["succeeded_at"], values["succeeded_at"]) if t is not None]
        return {**values, "succeeded_at": min(known) if known else None}

    def intent(status: str, succeeded_at: int | None) -> dict[str, Any]:
        return {
            "id": "pi_1",
            "kind": "payment_intent",
            "status": status,
            "verification_method": "automatic",
            "created": 100,
            "succeeded_at": succeeded_at,
            "raw": {"status": status},
        }

    with session_scope(engine) as session:
        upsert(session, IntentRecord, [intent("processing", 200)], merge=keep_earliest)
    with session_scope(engine) as session:
        counts = upsert(session, IntentRecord, [intent("succeeded", 500)], merge=keep_earliest)
    with session_scope(engine) as session:
        row = session.get(IntentRecord, "pi_1")
    assert counts.outcome == "updated"
    assert row is not None and (row.status, row.succeeded_at) == ("succeeded", 200)


def test_the_last_duplicate_of_a_key_wins_and_counts_once(engine: Any) -> None:
    with session_scope(engine) as session:
        counts = upsert(session, CustomerRecord, [customer(4, name="A"), customer(4, name="B")])
    assert counts == UpsertCounts(inserted=1)
    assert stored(engine)["cus_000004"].name == "B"


def test_more_rows_than_one_statement_holds_are_written_in_chunks(engine: Any) -> None:
    many = [customer(n) for n in range(UPSERT_CHUNK * 2 + 7)]
    with session_scope(engine) as session:
        first = upsert(session, CustomerRecord, many)
    renamed = [customer(n, name="Renamed") if n % 2 else customer(n) for n in range(len(many))]
    with session_scope(engine) as session:
        second = upsert(session, CustomerRecord, renamed)
    assert first == UpsertCounts(inserted=len(many))
    assert second == UpsertCounts(updated=len(many) // 2, unchanged=len(many) - len(many) // 2)
    assert sum(c.name == "Renamed" for c in stored(engine).values()) == len(many) // 2


def test_an_object_the_session_already_holds_shows_the_new_values(engine: Any) -> None:
    with session_scope(engine) as session:
        upsert(session, CustomerRecord, [customer(5)])
    with session_scope(engine) as session:
        held = session.get(CustomerRecord, "cus_000005")
        upsert(session, CustomerRecord, [customer(5, name="Fresh")])
        assert held is not None and held.name == "Fresh"


def test_rows_are_completed_as_the_model_would_complete_them() -> None:
    """Each row the upsert writes holds what ``model(**values)`` holds: the given values, the
    fields' defaults (factories called per row) and None for the rest, for every table model."""
    from sqlmodel import SQLModel

    from services.adapters.store import _full_row

    models = {
        mapper.class_ for mapper in SQLModel._sa_registry.mappers  # type: ignore[attr-defined]
    }
    assert CustomerRecord in models and IntentRecord in models
    for model in models:
        table: Any = model.__table__
        key = next(iter(table.primary_key.columns)).name
        for values in ({key: "k1"}, {c.name: None for c in table.columns} | {key: "k2"}):
            built = model(**values)
            expected = {c.name: getattr(built, c.name) for c in table.columns}
            got = _full_row(model, dict(values))
            assert got.keys() == expected.keys(), model
            for name, value in expected.items():
                if isinstance(value, datetime):  # a factory (now): called anew for each row
                    assert isinstance(got[name], datetime)
                    assert abs((got[name] - value).total_seconds()) < 5, (model, name)
                else:
                    assert got[name] == value, (model, name)


def test_a_merge_reads_and_locks_stored_rows_in_key_order_across_chunks(engine: Any) -> None:
    """Two writers of overlapping rows lock them in one order, so neither waits on the other's
    later chunk while holding an earlier one (a deadlock); the plain upsert locks nothing."""
    many = [customer(n) for n in range(UPSERT_CHUNK + 7)]
    with session_scope(engine) as session:
        upsert(session, CustomerRecord, many)
    merged: list[str] = []

    def record(before: Any, values: dict[str, Any]) -> dict[str, Any]:
        merged.append(values["id"])
        return values

    statements: list[str] = []
    listen = lambda *a: statements.append(a[2])  # noqa: E731  (before_cursor_execute's statement)
    event.listen(engine, "before_cursor_execute", listen)
    try:
        with session_scope(engine) as session:
            upsert(session, CustomerRecord, list(reversed(many)))
        plain = list(statements)
        with session_scope(engine) as session:
            counts = upsert(session, CustomerRecord, list(reversed(many)), merge=record)
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert counts == UpsertCounts(unchanged=len(many))
    assert merged == sorted(c["id"] for c in many)
    assert not any("FOR UPDATE" in s for s in plain)
    locking = [s for s in statements[len(plain) :] if "FOR UPDATE" in s]
    # PostgreSQL: each chunk's read locks its rows; SQLite has no FOR UPDATE (it takes the
    # write lock with BEGIN IMMEDIATE, through the driver, before the read).
    assert len(locking) == (2 if engine.dialect.name == "postgresql" else 0)
