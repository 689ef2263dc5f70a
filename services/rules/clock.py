"""UTC helpers shared by the services: Unix seconds from a parameter, aware datetimes from the store.

No database and no network, so the pure modules (balances, conversion) can use them too.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["as_utc", "unix_seconds"]


def unix_seconds(now: datetime | int) -> int:
    """Unix seconds from an int or a datetime; a naive datetime is taken to be UTC."""
    if isinstance(now, datetime):
        aware = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        return int(aware.timestamp())
    return int(now)


def as_utc(value: datetime | None) -> datetime | None:
    """A stored datetime made timezone-aware: SQLite hands them back naive, written in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
