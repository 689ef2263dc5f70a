"""Each admin's unsaved Flows edits, in the store, one row per admin and flow.

The Flows page keeps an admin's edits in the session while they switch flows; a reload, a new
tab or a link starts a new session, so the page also writes each flow's edits here and reads
them back in a new session. A row holds the edited value, the version it was edited from (and
that version's value, what "unsaved edits" is measured against) and when it was last written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, delete, select

from services.adapters.models import utcnow
from services.adapters.store import retrying, session_scope


class FlowDraftRow(SQLModel, table=True):
    """One admin's unsaved edits of one flow."""

    __tablename__ = "flow_drafts"

    username: str = Field(primary_key=True, max_length=200)
    flow: str = Field(primary_key=True, max_length=40)
    base_version: int = 0
    start: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    value: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    note: str = Field(default="", max_length=1000)
    updated_at: datetime = Field(default_factory=utcnow)


@dataclass(frozen=True)
class Draft:
    flow: str
    base_version: int
    start: dict[str, Any]
    value: dict[str, Any]
    note: str
    updated_at: datetime


def put(
    engine: Engine, username: str, flow: str, *, base_version: int, start: dict[str, Any],
    value: dict[str, Any], note: str, at: datetime | None = None,
) -> datetime:
    """Write (or overwrite) ``username``'s draft of ``flow``; returns when."""
    when = at or utcnow()

    def work(session: Session) -> None:
        row = session.get(FlowDraftRow, (username, flow))
        if row is None:
            row = FlowDraftRow(username=username, flow=flow)
        row.base_version, row.start, row.value = base_version, dict(start), dict(value)
        row.note, row.updated_at = note, when
        session.add(row)

    retrying(engine, work)
    return when


def for_user(engine: Engine, username: str) -> dict[str, Draft]:
    """``username``'s drafts by flow."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(FlowDraftRow).where(col(FlowDraftRow.username) == username)
        ).all()
        return {
            r.flow: Draft(r.flow, r.base_version, dict(r.start), dict(r.value), r.note,
                          r.updated_at)
            for r in rows
        }


def drop(engine: Engine, username: str, flow: str) -> None:
    """Forget ``username``'s draft of ``flow`` (none is fine)."""
    with session_scope(engine) as session:
        session.exec(delete(FlowDraftRow).where(  # type: ignore[call-overload]
            col(FlowDraftRow.username) == username, col(FlowDraftRow.flow) == flow
        ))
