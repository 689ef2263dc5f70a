"""Is the account mirror kept current by webhooks right now, and which rows can be read as Stripe's?

A batch check may read an account from the mirror instead of Stripe only when webhooks keep that
row current. The test, from the store alone (no Stripe request):

- **the stream is live**: the last webhook event arrived within ``silence`` (Stripe delivers
  within seconds; the safety-net sync and refreshes make events often), and no account event is
  stuck: none received more than ``grace`` ago is still unprocessed, and none failed, since the
  stream began (a failed or stuck one means some account row missed a change; intent events
  do not touch the account rows);
- **since when**: the stream's start is the oldest event reached going back from the newest with
  no gap longer than ``silence`` between two events (within ``horizon``): across a gap the
  endpoint may have been down and changes lost;
- **the row**: only a row written since the stream began is trusted (``synced_at`` moves when
  the row's content changes, from an event, a sync or a read); an older row may have missed a
  change during a gap, so it is read from Stripe as before. Nor is a row with an event received
  and not yet applied (it is about to change).

Completion of a refresh is learnt from the mirror too (:func:`refreshed`): the row's
``balance_refresh`` shows the attempt started (same or newer ``last_attempted_at``) and no longer
``pending``, which the ``refreshed_balance`` event writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from services.adapters.account_mirror import ACCOUNT_EVENTS
from services.adapters.job_models import WebhookEventRecord
from services.adapters.models import AccountRecord, utcnow
from services.adapters.store import session_scope
from services.rules.bank_account import EVENT_STAMP

SILENCE = timedelta(minutes=10)  # longest quiet time that still counts as one stream
GRACE = timedelta(seconds=30)  # an event may wait this long for its processing
HORIZON = timedelta(days=1)  # how far back the stream's start is looked for
MAX_EVENTS = 50_000  # received times read to find the start, newest first (capped: a later
# start trusts fewer rows, never more)

__all__ = ["live_since", "refreshed", "trusted_accounts"]


def _utc(moment: datetime) -> datetime:
    """Aware UTC (SQLite hands stored datetimes back naive)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def live_since(
    engine: Engine,
    *,
    now: datetime | None = None,
    silence: timedelta = SILENCE,
    grace: timedelta = GRACE,
    horizon: timedelta = HORIZON,
) -> datetime | None:
    """When the unbroken stream of webhook events began, or None when the mirror is not live."""
    moment = _utc(now or utcnow())
    with session_scope(engine) as session:
        received = session.exec(
            select(WebhookEventRecord.received_at)
            .where(col(WebhookEventRecord.received_at) >= moment - horizon)
            .order_by(col(WebhookEventRecord.received_at).desc())
            .limit(MAX_EVENTS)
        ).all()
        if not received or moment - _utc(received[0]) > silence:
            return None  # no endpoint registered, or nothing delivered lately
        since = _utc(received[0])
        for at in map(_utc, received[1:]):
            if since - at > silence:
                break
            since = at
        broken = session.exec(
            select(func.count())
            .select_from(WebhookEventRecord)
            .where(
                col(WebhookEventRecord.received_at) >= since,
                col(WebhookEventRecord.type).in_(ACCOUNT_EVENTS),
                (col(WebhookEventRecord.status) == "failed")
                | (
                    (col(WebhookEventRecord.status) == "received")
                    & (col(WebhookEventRecord.received_at) < moment - grace)
                ),
            )
        ).one()
    return None if broken else since


def _plain(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Stripe's object as stored, without the mirror's own bookkeeping key."""
    return {k: v for k, v in raw.items() if k != EVENT_STAMP}


def trusted_accounts(
    engine: Engine, account_ids: Sequence[str], since: datetime
) -> dict[str, dict[str, Any]]:
    """The mirrored accounts among ``account_ids`` written since ``since`` and with no event
    waiting to be applied (Stripe's objects)."""
    found: dict[str, dict[str, Any]] = {}
    wanted = sorted(set(account_ids))
    with session_scope(engine) as session:
        waiting = session.exec(  # the backlog: small while the stream is live (see live_since)
            select(WebhookEventRecord.payload).where(
                col(WebhookEventRecord.status) == "received",
                col(WebhookEventRecord.type).in_(ACCOUNT_EVENTS),
            )
        ).all()
        behind = {str(((p or {}).get("data") or {}).get("object", {}).get("id")) for p in waiting}
        for start in range(0, len(wanted), 500):
            rows = session.exec(
                select(AccountRecord.id, AccountRecord.raw, AccountRecord.synced_at).where(
                    col(AccountRecord.id).in_(wanted[start : start + 500])
                )
            ).all()
            for account_id, raw, synced_at in rows:
                if raw and _utc(synced_at) >= since and account_id not in behind:
                    found[str(account_id)] = _plain(raw)
    return found


def _attempted(account: Mapping[str, Any]) -> int | None:
    refresh = account.get("balance_refresh")
    value = refresh.get("last_attempted_at") if isinstance(refresh, Mapping) else None
    return value if isinstance(value, int) else None


def refreshed(
    engine: Engine, started: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Of the accounts whose balance refresh started (ID -> Stripe's answer to the refresh), the
    mirrored copies showing that attempt finished (succeeded or failed)."""
    done: dict[str, dict[str, Any]] = {}
    ids = sorted(started)
    with session_scope(engine) as session:
        for start in range(0, len(ids), 500):
            rows = session.exec(
                select(AccountRecord.id, AccountRecord.raw).where(
                    col(AccountRecord.id).in_(ids[start : start + 500])
                )
            ).all()
            for account_id, raw in rows:
                attempt = _attempted(started[account_id])
                seen = _attempted(raw or {})
                status = ((raw or {}).get("balance_refresh") or {}).get("status")
                if attempt is not None and seen is not None and seen >= attempt and status not in (
                    None,
                    "pending",
                ):
                    done[str(account_id)] = _plain(raw)
    return done
