"""Collection requests being created, in the store, so every tab and every person sees them.

A create waits on Stripe (up to ~20 s when Stripe is slow), and the page that asked may be
gone by then: a reload or a new tab is a new session that knew nothing of it, and the person
made a second request. Each create writes a row here before it calls Stripe and closes it
after (with what Stripe made, or why not), so another session can say "being created" and
then show the result, and a colleague creating for the same customer is told.

A cancel is recorded the same way (``kind`` ``cancel``, ``request_id`` the seti_/pi_ it
cancels from the start), so a reload during a slow cancel says "still running" instead of
offering Cancel again. The create readers below never see those rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from services.adapters.store import retrying, session_scope

RUNNING, OK, REFUSED = "running", "ok", "refused"
CANCEL = "cancel"  # the kind of a cancel's row


class CollectStart(SQLModel, table=True):
    """One create of a collection request: who, for whom, when, and how it ended."""

    __tablename__ = "collect_starts"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: str = Field(index=True, max_length=255)
    kind: str = Field(max_length=40)  # link | setup_intent | fc_session | cancel
    username: str = Field(max_length=200)
    idempotency_key: str = Field(index=True, max_length=255)
    started_at: int = 0
    finished_at: int | None = None
    # running | ok | error | refused; a cancel also ended (already canceled) | unchanged
    outcome: str = Field(default=RUNNING, max_length=20)
    request_id: str | None = Field(default=None, max_length=255)  # seti_… / pi_… or fcsess_…
    link_id: str | None = Field(default=None, max_length=255)  # a link's cs_…
    message: str = Field(default="", max_length=2_000)


@dataclass(frozen=True)
class Start:
    id: int
    customer_id: str
    kind: str
    username: str
    started_at: int
    finished_at: int | None
    outcome: str
    request_id: str | None
    link_id: str | None
    message: str
    key: str = ""  # its idempotency key


def _start(row: CollectStart) -> Start:
    return Start(
        int(row.id or 0), row.customer_id, row.kind, row.username, row.started_at,
        row.finished_at, row.outcome, row.request_id, row.link_id, row.message,
        row.idempotency_key,
    )


def begin(
    engine: Engine, *, customer_id: str, kind: str, username: str, key: str, at: int,
    request_id: str | None = None,
) -> int:
    """Write the row of a create (or a cancel of ``request_id``) about to call Stripe
    (committed, so others see it); its id."""

    def work(session: Session) -> int:
        row = CollectStart(
            customer_id=customer_id, kind=kind, username=username, idempotency_key=key,
            started_at=at, request_id=request_id,
        )
        session.add(row)
        session.flush()
        return int(row.id or 0)

    return retrying(engine, work)


def finish(
    engine: Engine, start_id: int, *, outcome: str, at: int, request_id: str | None = None,
    link_id: str | None = None, message: str = "",
) -> None:
    def work(session: Session) -> None:
        row = session.get(CollectStart, start_id)
        if row is not None:
            row.outcome, row.finished_at, row.message = outcome, at, message[:2_000]
            row.request_id, row.link_id = request_id or row.request_id, link_id
            session.add(row)

    retrying(engine, work)


def for_customer(engine: Engine, customer_id: str, *, since: int, limit: int = 50) -> list[Start]:
    """The creates for ``customer_id`` started since ``since``, newest first."""
    stmt = (
        select(CollectStart)
        .where(
            CollectStart.customer_id == customer_id,
            col(CollectStart.started_at) >= since,
            CollectStart.kind != CANCEL,
        )
        .order_by(col(CollectStart.id).desc())
        .limit(limit)
    )
    with session_scope(engine) as session:
        return [_start(r) for r in session.exec(stmt).all()]


def made_of(engine: Engine, request_ids: list[str]) -> dict[str, Start]:
    """The finished creates that made ``request_ids`` (by request ID): who made each, its link."""
    if not request_ids:
        return {}
    stmt = select(CollectStart).where(
        col(CollectStart.request_id).in_(request_ids),
        CollectStart.outcome == OK,
        CollectStart.kind != CANCEL,
    )
    with session_scope(engine) as session:
        return {str(r.request_id): _start(r) for r in session.exec(stmt).all()}


def keyed_before(engine: Engine, key: str, start_id: int) -> bool:
    """Whether a create with this idempotency key went to Stripe before ``start_id`` (the same
    request again: a double click, a rerun or the retry of an unknown outcome; Stripe replays
    it). One refused before calling Stripe does not count: it made nothing to replay."""
    stmt = select(CollectStart.id).where(
        CollectStart.idempotency_key == key,
        col(CollectStart.id) < start_id,
        CollectStart.outcome != "refused",
    )
    with session_scope(engine) as session:
        return session.exec(stmt).first() is not None


def one(engine: Engine, start_id: int) -> Start | None:
    with session_scope(engine) as session:
        row = session.get(CollectStart, start_id)
        return _start(row) if row is not None else None


def cancels_of(
    engine: Engine, request_ids: list[str] | None, *, since: int, before: int | None = None
) -> dict[str, Start]:
    """The newest cancel of each of ``request_ids`` (None: of every request) started since
    ``since`` (and, given ``before``, written before that row), by request ID. A cancel refused
    before Stripe was called (another was running) is not one: it would hide the running one,
    and its request was then listed as open with Cancel again."""
    if request_ids is not None and not request_ids:
        return {}
    stmt = select(CollectStart).where(
        CollectStart.kind == CANCEL,
        col(CollectStart.started_at) >= since,
        CollectStart.outcome != REFUSED,
    )
    if request_ids is not None:
        stmt = stmt.where(col(CollectStart.request_id).in_(request_ids))
    if before is not None:
        stmt = stmt.where(col(CollectStart.id) < before)
    with session_scope(engine) as session:
        rows = session.exec(stmt.order_by(col(CollectStart.id))).all()
        return {str(r.request_id): _start(r) for r in rows}  # the newest last, so it wins
