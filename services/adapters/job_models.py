"""Tables for background work: job progress (read by every page, tab and replica) and the
webhook event inbox (each Stripe event stored once by its ``id``).

DBOS keeps its own workflow tables in its system database; these rows are what people see:
what a job is doing now, how far it got, its result or the reason it failed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel

from services.adapters.models import utcnow


class JobRecord(SQLModel, table=True):
    """One background job (a DBOS workflow): its ID is the workflow ID."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_created", "created_at"),
        Index("ix_jobs_kind", "kind"),
        Index("ix_jobs_status_created", "status", "created_at"),  # the Jobs page's counts
        # a person's newest job of a kind (Batch check picks up your last batch on every
        # visit): a seek, not a walk through every job when that person has none
        Index("ix_jobs_actor_kind_created", "actor", "kind", "created_at"),
        # the Failed tile: failures no one has tried again, counted from the index alone
        Index("ix_jobs_status_retried", "status", "retried_as"),
        # a sync's newest ended job (the failed-sync line on four pages, each run): the last
        # entry of the kind's ended jobs, not a walk and a sort of every job of that kind
        Index("ix_jobs_kind_finished", "kind", "finished_at"),
    )

    id: str = Field(primary_key=True)
    kind: str  # accounts.sync | intents.sync | balances.batch_check | ownership.check_all | …
    label: str = ""
    actor: str = ""
    role: str = ""
    status: str = "queued"  # queued | running | succeeded | failed
    done: int = 0
    total: int | None = None
    message: str | None = None
    error: str | None = None
    attempts: int = 0
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    # A failed job that someone tried again: the job that took it over (its retry, whose params
    # name it as ``retry_of``, or a running job of its kind that does the same work)
    retried_as: str | None = None


class WebhookEventRecord(SQLModel, table=True):
    """A Stripe event received on the webhook endpoint, stored once by its ``id``."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_events_received", "received_at"),
        Index("ix_webhook_events_status", "status", "received_at"),  # the backlog, counted
    )

    id: str = Field(primary_key=True)  # evt_…
    type: str = Field(index=True)
    created: int = Field(sa_column=Column(BigInteger, nullable=False))
    livemode: bool = False
    status: str = "received"  # received | processed | ignored | failed
    deliveries: int = 1  # how many times Stripe delivered it
    error: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(default_factory=utcnow)
    processed_at: datetime | None = None


def fill_retried_as(conn: Connection) -> int:
    """An older store's failed jobs that were tried again: each one's ``retried_as``, its newest
    retry (named in the retry's params as ``retry_of``). Once, when the column is added."""
    jobs = SQLModel.metadata.tables[JobRecord.__tablename__]
    found = conn.execute(
        select(jobs.c.id, jobs.c.params)
        .where(jobs.c.id.like("%-retry%"))
        .order_by(jobs.c.created_at)
    ).all()
    newest = {str(p["retry_of"]): i for i, p in found if p and p.get("retry_of")}  # last wins
    for failed, retry in newest.items():
        conn.execute(update(jobs).where(jobs.c.id == failed).values(retried_as=retry))
    return len(newest)
