"""Admins browse and export the audit log: filtered pages, the actions seen, and CSV files.

Parameters were scrubbed of secrets when the rows were written; the export adds protection
against spreadsheet formula injection, since admins open these files in Excel or Sheets.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.audit import (
    AUDIT_SORTS,
    DEFAULT_AUDIT_SORT,
    AuditPage,
    audited,
    distinct_actions,
    query,
)
from services.audit import (
    OUTCOMES as OUTCOMES,  # the Audit log page lists them (its outcome filter)
)
from services.auth import Actor, require
from services.context import Services
from services.rules.spreadsheet import safe_text

COLUMNS: tuple[str, ...] = (
    "time",
    "actor",
    "role",
    "action",
    "target",
    "outcome",
    "message",
    "stripe_request_id",
    "idempotency_key",
    "params",
)
BATCH = 500
MAX_ROWS = 100_000


@dataclass(frozen=True)
class AuditFilters:
    """What the audit page filters on; every field optional."""

    actions: Sequence[str] = ()
    actor_name: str | None = None
    target: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def as_query(self) -> dict[str, Any]:
        return {
            "actions": list(self.actions) or None,
            "actor_name": self.actor_name or None,
            "target": self.target or None,
            "outcome": self.outcome or None,
            "since": self.since,
            "until": self.until,
        }


def as_row(entry: AuditEntry) -> dict[str, Any]:
    """One entry as flat, display-ready values (time in UTC, params as compact JSON)."""
    return {
        "time": entry.at.strftime("%Y-%m-%d %H:%M:%S UTC") if entry.at else "",
        "actor": entry.actor,
        "role": entry.role,
        "action": entry.action,
        "target": entry.target or "",
        "outcome": entry.outcome,
        "message": entry.message or "",
        "stripe_request_id": entry.stripe_request_id or "",
        "idempotency_key": entry.idempotency_key or "",
        "params": json.dumps(entry.params or {}, sort_keys=True, default=str),
    }


def iter_entries(
    engine: Engine, *, actor: Actor, filters: AuditFilters, max_rows: int = MAX_ROWS
) -> Iterator[AuditEntry]:
    """Every matching entry, newest first, fetched in batches (role-checked by ``query``)."""
    offset = 0
    while offset < max_rows:
        page = query(
            engine,
            actor=actor,
            limit=min(BATCH, max_rows - offset),
            offset=offset,
            **filters.as_query(),
        )
        yield from page.rows
        offset += len(page.rows)
        if not page.rows or offset >= page.total:
            return


def export_csv(
    engine: Engine, *, actor: Actor, filters: AuditFilters, max_rows: int = MAX_ROWS
) -> str:
    """The filtered audit log as CSV text with a header row (at most ``max_rows`` rows).

    The export is itself audited (``audit.export``, with the filters and the row count): the
    log leaving the app is an action like any other. Refusals are audited too.
    """
    wanted = {k: str(v) for k, v in filters.as_query().items() if v}
    with audited(engine, actor=actor, action="audit.export", params=wanted) as ctx:
        require(actor, "audit.view")
        rows = [
            [safe_text(row[c]) for c in COLUMNS]
            for row in map(
                as_row, iter_entries(engine, actor=actor, filters=filters, max_rows=max_rows)
            )
        ]
        ctx.params["rows"] = len(rows)
        ctx.message = f"Exported {len(rows)} audit entries as CSV."
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue()


def sort_or_default(sort: str | None) -> str:
    """``sort`` when it is one of ``AUDIT_SORTS``, else newest first (a link's bad value)."""
    return sort if sort in AUDIT_SORTS else DEFAULT_AUDIT_SORT


def browse(
    svc: Services,
    actor: Actor,
    filters: AuditFilters,
    *,
    limit: int,
    offset: int = 0,
    sort: str | None = None,
) -> AuditPage:
    """One page of matching entries in ``sort`` order (``AUDIT_SORTS``, default newest first;
    sorted over every match in SQL), with the count of all that match."""
    return query(
        svc.engine,
        actor=actor,
        limit=limit,
        offset=offset,
        sort=sort_or_default(sort),
        **filters.as_query(),
    )


def actions(svc: Services, actor: Actor) -> list[str]:
    """Every action the log has recorded, for the filter."""
    require(actor, "audit.view")
    return distinct_actions(svc.engine)


def export(svc: Services, actor: Actor, filters: AuditFilters) -> str:
    """The filtered log as CSV text (see :func:`export_csv`)."""
    return export_csv(svc.engine, actor=actor, filters=filters)


def entry(svc: Services, actor: Actor, entry_id: int) -> AuditEntry | None:
    """The entry ``entry_id`` (an Audit log link's ``?entry=``), whatever the filters; None when
    the log has none of that ID."""
    require(actor, "audit.view")
    if not 0 < entry_id < 2**62:
        return None
    with session_scope(svc.engine) as session:
        return session.get(AuditEntry, entry_id)
