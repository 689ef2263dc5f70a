"""Small display helpers: timestamps and ages as people read them."""

from __future__ import annotations

from datetime import UTC, datetime


def format_timestamp(ts: int | None) -> str:
    if not ts:
        return "—"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_age(seconds: int | None) -> str:
    """'3 min', '5 h', '2 d' — how old something is."""
    if seconds is None:
        return "—"
    if seconds < 0:
        return "in the future"
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 36 * 3600:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} d"


def format_until(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    return "now" if seconds <= 0 else f"in {format_age(seconds)}"
