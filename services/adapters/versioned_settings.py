"""Versioned settings documents with compare-and-set saving (debit policy, per-flow configs).

A setting is one :class:`~services.adapters.models.Setting` row (the current document and its
version) plus one :class:`~services.adapters.models.SettingVersion` row per saved version. A save
names the version it was edited from and is accepted only if that is still the current version
(one ``UPDATE … WHERE version = expected``, or an insert that the primary key refuses twice), so
two admins, even on two app replicas sharing PostgreSQL, never overwrite each other silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from services.adapters.models import Setting, SettingVersion, utcnow
from services.adapters.store import session_scope
from services.errors import Conflict

__all__ = [
    "Saved", "Stored", "StaleVersion", "history", "load", "load_many", "load_version", "save",
]


class StaleVersion(Conflict):
    """Someone saved another version first; nothing was written. Callers reword it."""


@dataclass(frozen=True)
class Stored:
    """One version of a setting: the document, its version and who saved it when."""

    key: str
    value: dict[str, Any]
    version: int
    updated_by: str | None
    updated_at: datetime | None
    note: str | None = None


@dataclass(frozen=True)
class Saved:
    """The outcome of a save: what is stored now, and whether this save wrote it."""

    stored: Stored
    changed: bool


def _of(row: Setting) -> Stored:
    return Stored(row.key, dict(row.value), row.version, row.updated_by, row.updated_at)


def load(engine: Engine, key: str) -> Stored | None:
    """The current version, or None if it was never saved."""
    with session_scope(engine) as session:
        row = session.get(Setting, key)
        return _of(row) if row is not None else None


def load_many(engine: Engine, keys: Iterable[str]) -> dict[str, Stored]:
    """The current versions of the saved ones among ``keys`` (one query)."""
    with session_scope(engine) as session:
        rows = session.exec(select(Setting).where(col(Setting.key).in_(list(keys)))).all()
        return {row.key: _of(row) for row in rows}


def history(engine: Engine, key: str) -> list[Stored]:
    """Every saved version, newest first (empty until the first save)."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(SettingVersion)
            .where(SettingVersion.key == key)
            .order_by(col(SettingVersion.version).desc())
        ).all()
        return [
            Stored(key, dict(r.value), r.version, r.updated_by, r.updated_at, r.note) for r in rows
        ]


def load_version(engine: Engine, key: str, version: int) -> Stored | None:
    """One saved version (as the history has it), or None if there is no such version."""
    with session_scope(engine) as session:
        r = session.exec(
            select(SettingVersion).where(
                SettingVersion.key == key, col(SettingVersion.version) == version
            )
        ).first()
        if r is None:
            return None
        return Stored(key, dict(r.value), r.version, r.updated_by, r.updated_at, r.note)


def save(
    engine: Engine,
    key: str,
    value: Mapping[str, Any],
    *,
    updated_by: str,
    expected_version: int,
    note: str | None = None,
) -> Saved:
    """Save ``value`` as version ``expected_version + 1`` if nobody saved since; else StaleVersion.

    Saving what is already stored writes nothing (an unchanged form, or a repeated submit — double
    click, rerun — of one's own save is not a conflict with oneself), even when a concurrent
    identical submit won the race.
    """
    doc = dict(value)
    current = load(engine, key)
    if current is not None and current.value == doc:
        return Saved(current, changed=False)
    try:
        return Saved(_write(engine, key, doc, updated_by, expected_version, note), changed=True)
    except StaleVersion:
        latest = load(engine, key)
        if latest is None or latest.value != doc:
            raise
        return Saved(latest, changed=False)


def _write(
    engine: Engine,
    key: str,
    doc: dict[str, Any],
    updated_by: str,
    expected_version: int,
    note: str | None,
) -> Stored:
    version, now = expected_version + 1, utcnow()
    try:
        with session_scope(engine) as session:
            if expected_version == 0:
                session.add(
                    Setting(key=key, version=1, value=doc, updated_by=updated_by, updated_at=now)
                )
                session.flush()
            else:
                result = session.exec(
                    update(Setting)
                    .where(col(Setting.key) == key, col(Setting.version) == expected_version)
                    .values(version=version, value=doc, updated_by=updated_by, updated_at=now)
                )
                if result.rowcount != 1:
                    raise StaleVersion(f"{key} is no longer at version {expected_version}.")
            session.add(
                SettingVersion(
                    key=key,
                    version=version,
                    value=doc,
                    updated_by=updated_by,
                    updated_at=now,
                    note=note or None,
                )
            )
    except IntegrityError:
        raise StaleVersion(f"{key} was saved by someone else first.") from None
    return Stored(key, doc, version, updated_by, now, note or None)
