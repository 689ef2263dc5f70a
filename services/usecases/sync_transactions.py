"""Transaction insight use cases: subscribe, refresh, incremental sync, stored rows, insight.

Financial Connections transactions are mirrored into ``fc_transactions`` by an incremental sync
(reference §4): the first sync lists everything, later ones list only rows created or changed by
refreshes after the stored cursor (``transaction_refresh[after]=fctxnref_…``), rows are upserted
by ``fctxn_`` id, and the account's ``transaction_refresh.id`` becomes the new cursor. Pages then
filter, chart and analyse the stored rows without calling Stripe again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from services import accounts, audit
from services.adapters.models import AccountRecord, SyncState, TransactionRecord, utcnow
from services.adapters.store import session_scope, upsert
from services.audit import AuditContext
from services.auth import Actor, require
from services.context import Services
from services.errors import NotFound
from services.rules import refresh_rule
from services.rules.clock import as_utc
from services.rules.ids import parse_id
from services.transactions import (
    IncomeStream,
    RiskWindow,
    daily_cash_flow,
    detect_income,
    risk_aggregates,
    running_balance,
    suggest_debit_date,
    top_counterparties,
)

__all__ = [
    "IncomeRow",
    "SyncSummary",
    "TransactionInsight",
    "cursor_for",
    "insight",
    "known_accounts",
    "load_transactions",
    "refresh",
    "status_of",
    "subscribe",
    "sync_transactions",
    "transaction_status",
    "unsubscribe",
]

ACCOUNT_KIND = ("financial_connections.account",)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class SyncSummary:
    """What one sync did, in numbers a person can check against Stripe."""

    account_id: str
    full: bool  # True when everything was listed (first sync, or the cursor was unknown)
    fetched: int
    inserted: int
    updated: int
    unchanged: int
    cursor_before: str | None
    cursor_after: str | None
    refresh_status: str | None  # the account's transaction_refresh.status when the sync ran
    message: str


@dataclass(frozen=True)
class TransactionStatus:
    """The account's transaction subscription and refresh state, for the page's controls."""

    account_id: str
    account: dict[str, Any]  # the FC account as Stripe returned it
    subscribed: bool
    has_permission: bool
    account_status: str
    refresh_status: str | None  # pending | succeeded | failed | None (never refreshed)
    last_attempted_at: int | None
    next_refresh_available_at: int | None
    can_refresh: bool
    why_not: str
    cursor: str | None
    last_synced_at: datetime | None
    stored_rows: int

    @property
    def pending(self) -> bool:
        return self.refresh_status == "pending"

    @property
    def needs_sync(self) -> bool:
        """A finished refresh the store has not caught up with yet."""
        if self.refresh_status not in ("succeeded", "failed"):
            return False
        return self.last_synced_at is None or (
            self.last_attempted_at is not None
            and self.last_synced_at.timestamp() < self.last_attempted_at
        )


@dataclass(frozen=True)
class IncomeRow:
    """An income stream plus the debit date it suggests."""

    stream: IncomeStream
    suggested_debit_date: date | None


@dataclass(frozen=True)
class TransactionInsight:
    """Everything the insight part of the page shows, computed from the stored rows."""

    account_id: str
    currency: str | None
    transaction_count: int
    first_date: date | None
    last_date: date | None
    incomes: list[IncomeRow]
    risk: list[RiskWindow]
    cash_flow_daily: pd.DataFrame
    cash_flow_weekly: pd.DataFrame
    balance_series: pd.DataFrame | None  # None when the account has no usable balance
    top_out: pd.DataFrame
    top_in: pd.DataFrame
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- account state


def _feature_refresh(account: Mapping[str, Any]) -> Mapping[str, Any]:
    refresh = account.get("transaction_refresh")
    return refresh if isinstance(refresh, Mapping) else {}


def cursor_key(account_id: str) -> str:
    return f"txns:{account_id}"


def cursor_for(engine: Engine, account_id: str) -> SyncState | None:
    with session_scope(engine) as session:
        return session.get(SyncState, cursor_key(account_id))


def _stored_count(engine: Engine, account_id: str) -> int:
    with session_scope(engine) as session:
        stmt = select(func.count()).where(TransactionRecord.account_id == account_id)
        return int(session.exec(stmt).one())


def transaction_status(svc: Services, actor: Actor, account_id: str) -> TransactionStatus:
    """Live subscription/refresh state of the account plus where the local mirror stands."""
    require(actor, "transactions.view")
    fca, _ = parse_id(account_id, allowed=ACCOUNT_KIND)
    account = accounts.fetch_account(svc, fca)
    accounts.upsert_account(svc.engine, account)
    return status_of(svc.engine, account, now=svc.now(), actor=actor)


def status_of(
    engine: Engine, account: Mapping[str, Any], *, now: int, actor: Actor | None = None
) -> TransactionStatus:
    """The state of ``account`` (a Stripe dict) as the page shows it; no Stripe call."""
    refresh = _feature_refresh(account)
    blocker = accounts.refresh_blocker(account, "transactions", now=now, actor=actor)
    state = cursor_for(engine, str(account["id"]))
    return TransactionStatus(
        account_id=str(account["id"]),
        account=accounts.normalise_account(account),
        subscribed="transactions" in (account.get("subscriptions") or ()),
        has_permission="transactions" in (account.get("permissions") or ()),
        account_status=str(account.get("status") or ""),
        refresh_status=refresh.get("status"),
        last_attempted_at=refresh.get("last_attempted_at"),
        next_refresh_available_at=refresh.get("next_refresh_available_at"),
        can_refresh=blocker is None,
        why_not=blocker or "",
        cursor=state.cursor if state else None,
        last_synced_at=as_utc(state.last_finished_at) if state else None,
        stored_rows=_stored_count(engine, str(account["id"])),
    )


# --------------------------------------------------------------------------- Stripe actions


def _account_action(
    svc: Services,
    actor: Actor,
    account_id: str,
    *,
    action: str,
    idempotency_key: str,
    call: Any,
    done: str | Callable[[Mapping[str, Any] | None, Mapping[str, Any]], str],
    read_first: bool = False,
) -> dict[str, Any]:
    key = accounts.require_idempotency_key(idempotency_key)

    def run(ctx: AuditContext) -> dict[str, Any]:
        fca, _ = parse_id(account_id, allowed=ACCOUNT_KIND)
        ctx.target = fca
        before = accounts.fetch_account(svc, fca) if read_first else None
        account: dict[str, Any] = call(fca, key)
        ctx.request_id = svc.gateway.last_request_id
        accounts.upsert_account(svc.engine, account)
        ctx.message = done if isinstance(done, str) else done(before, account)
        return account

    return audit.guarded(
        svc.engine,
        actor=actor,
        permission="transactions.manage",
        action=action,
        target=account_id,
        params={"account": account_id},
        idempotency_key=key,
        run=run,
    )


def subscribe(
    svc: Services, actor: Actor, account_id: str, *, idempotency_key: str
) -> dict[str, Any]:
    """Subscribe to daily transaction refreshes; Stripe also starts one refresh right away."""
    return _account_action(
        svc,
        actor,
        account_id,
        action="transactions.subscribe",
        idempotency_key=idempotency_key,
        call=lambda fca, key: svc.gateway.subscribe_transactions(fca, idempotency_key=key),
        done=lambda before, after: _subscribed_message(before, after, now=svc.now()),
        read_first=True,
    )


def _subscribed_message(
    before: Mapping[str, Any] | None, after: Mapping[str, Any], *, now: int
) -> str:
    """Stripe starts a refresh on subscribe when it can; say so only if the answer shows one."""
    if refresh_rule.started(before, after, "transactions"):
        return "Subscribed to transactions; a refresh has started."
    reason = refresh_rule.not_started_reason(after, "transactions", now=now)
    return f"Subscribed to transactions. {reason}"


def unsubscribe(
    svc: Services, actor: Actor, account_id: str, *, idempotency_key: str
) -> dict[str, Any]:
    """Stop daily refreshes; already mirrored rows stay readable."""
    return _account_action(
        svc,
        actor,
        account_id,
        action="transactions.unsubscribe",
        idempotency_key=idempotency_key,
        call=lambda fca, key: svc.gateway.unsubscribe_transactions(fca, idempotency_key=key),
        done="Unsubscribed from transactions.",
    )


def refresh(
    svc: Services, actor: Actor, account_id: str, *, idempotency_key: str
) -> dict[str, Any]:
    """Start a transaction refresh (asynchronous: the account comes back ``pending``).

    Goes through ``accounts.refresh``, which checks Stripe's throttle first and audits it.
    """
    return accounts.refresh(svc, actor, account_id, "transactions", idempotency_key=idempotency_key)


# --------------------------------------------------------------------------- incremental sync


def sync_transactions(svc: Services, actor: Actor, account_id: str) -> SyncSummary:
    """Bring the mirror of one account's transactions up to date (reference §4), audited.

    The account is read *before* listing, so the cursor stored is never newer than the rows
    fetched: a refresh finishing mid-sync is simply listed again next time (upserts are
    idempotent). A cursor is only advanced to a finished refresh; while one is pending its rows
    do not exist yet and the old cursor must stay.
    """

    def run(ctx: AuditContext) -> SyncSummary:
        fca, _ = parse_id(account_id, allowed=ACCOUNT_KIND)
        ctx.target = fca
        summary = _sync(svc, fca)
        ctx.request_id = svc.gateway.last_request_id
        ctx.params.update(
            full=summary.full,
            fetched=summary.fetched,
            inserted=summary.inserted,
            updated=summary.updated,
            cursor=summary.cursor_after,
        )
        ctx.message = summary.message
        return summary

    return audit.guarded(
        svc.engine,
        actor=actor,
        permission="transactions.view",
        action="transactions.sync",
        target=account_id,
        params={"account": account_id},
        idempotency_key=None,
        run=run,
    )


def _sync(svc: Services, fca: str) -> SyncSummary:
    account = accounts.fetch_account(svc, fca)
    accounts.upsert_account(svc.engine, account)
    refresh_info = _feature_refresh(account)
    state = cursor_for(svc.engine, fca)
    before = state.cursor if state else None
    started = utcnow()
    full = before is None
    try:
        rows = list(svc.gateway.iter_transactions(fca, after_refresh=before))
    except NotFound:
        if before is None:
            raise
        # The stored cursor is unknown to Stripe (another environment, or expired): start over.
        full = True
        rows = list(svc.gateway.iter_transactions(fca))
    inserted, updated, unchanged = upsert_transactions(svc.engine, rows)
    after = before
    if refresh_info.get("status") in ("succeeded", "failed") and refresh_info.get("id"):
        after = str(refresh_info["id"])
    _save_cursor(svc.engine, fca, after, started=started, status=refresh_info.get("status"))
    message = (
        f"{'Full' if full else 'Incremental'} sync: {len(rows)} transaction(s) received, "
        f"{inserted} new, {updated} changed."
    )
    if refresh_info.get("status") == "pending":
        message += " A refresh is still running; sync again when it finishes."
    return SyncSummary(
        account_id=fca,
        full=full,
        fetched=len(rows),
        inserted=inserted,
        updated=updated,
        unchanged=unchanged,
        cursor_before=before,
        cursor_after=after,
        refresh_status=refresh_info.get("status"),
        message=message,
    )


def _save_cursor(
    engine: Engine, account_id: str, cursor: str | None, *, started: datetime, status: str | None
) -> None:
    with session_scope(engine) as session:
        state = session.get(SyncState, cursor_key(account_id)) or SyncState(
            name=cursor_key(account_id)
        )
        state.cursor = cursor
        state.last_started_at = started
        state.last_finished_at = utcnow()
        state.details = {"refresh_status": status}
        session.add(state)


def _record_values(txn: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(txn["id"]),
        "account_id": str(txn["account"]),
        "amount": int(txn["amount"]),
        "currency": str(txn.get("currency") or "").lower(),
        "description": str(txn.get("description") or ""),
        "status": str(txn.get("status") or ""),
        "transacted_at": int(txn["transacted_at"]),
        "transaction_refresh": txn.get("transaction_refresh"),
        "raw": dict(txn),
    }


# What makes a stored transaction "changed": Stripe bumps ``updated`` inside ``raw`` whenever
# any field moves, and the indexed columns are compared too in case ``updated`` is missing.
_COMPARED = ("amount", "status", "description", "transaction_refresh", "raw")


def upsert_transactions(
    engine: Engine, transactions: Iterable[Mapping[str, Any]]
) -> tuple[int, int, int]:
    """Insert or update rows by ``fctxn_`` id; returns (inserted, updated, unchanged).

    Uses the store's one upsert (``ON CONFLICT DO UPDATE`` on SQLite and PostgreSQL), so two
    syncs of the same account at once cannot fail on a duplicate key.
    """
    rows = [_record_values(t) for t in transactions]
    with session_scope(engine) as session:
        counts = upsert(
            session, TransactionRecord, rows, compare=_COMPARED, touch={"synced_at": utcnow()}
        )
    return counts.inserted, counts.updated, counts.unchanged


# --------------------------------------------------------------------------- reading the mirror


def _day_start(d: date) -> int:
    return int(datetime.combine(d, time.min, tzinfo=UTC).timestamp())


def load_transactions(
    engine: Engine,
    account_id: str,
    *,
    start: date | None = None,
    end: date | None = None,
    direction: str | None = None,
    status: str | None = None,
    text: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Stored rows (Stripe-shaped dicts), newest first, filtered in SQL.

    Same rules as ``services.transactions.filter_transactions``: ``start``/``end`` are inclusive
    UTC dates, ``direction`` is "in" or "out", ``text`` a case-insensitive substring of the
    description, and void rows only appear when ``status="void"`` asks for them.
    """
    if direction not in (None, "in", "out"):
        raise ValueError(f"direction must be 'in' or 'out', not {direction!r}")
    stmt = select(TransactionRecord).where(TransactionRecord.account_id == account_id)
    if status:
        stmt = stmt.where(TransactionRecord.status == status)
    else:
        stmt = stmt.where(TransactionRecord.status != "void")
    if start is not None:
        stmt = stmt.where(TransactionRecord.transacted_at >= _day_start(start))
    if end is not None:
        stmt = stmt.where(TransactionRecord.transacted_at < _day_start(end + timedelta(days=1)))
    if direction == "in":
        stmt = stmt.where(TransactionRecord.amount > 0)
    elif direction == "out":
        stmt = stmt.where(TransactionRecord.amount < 0)
    if text and text.strip():
        stmt = stmt.where(
            col(TransactionRecord.description).icontains(text.strip(), autoescape=True)
        )
    stmt = stmt.order_by(col(TransactionRecord.transacted_at).desc(), col(TransactionRecord.id))
    if limit is not None:
        stmt = stmt.limit(limit)
    with session_scope(engine) as session:
        return [_as_txn(r) for r in session.exec(stmt)]


def _as_txn(record: TransactionRecord) -> dict[str, Any]:
    """The stored Stripe object, with the indexed columns winning if they ever disagree."""
    raw = dict(record.raw or {})
    raw.update(
        id=record.id,
        account=record.account_id,
        amount=record.amount,
        currency=record.currency,
        description=record.description,
        status=record.status,
        transacted_at=record.transacted_at,
    )
    raw.setdefault("status_transitions", {"posted_at": None, "void_at": None})
    return raw


@dataclass(frozen=True)
class AccountChoice:
    id: str
    label: str


def known_accounts(engine: Engine, *, permission: str) -> list[AccountChoice]:
    """Accounts the store knows (mirrored accounts and synced transactions) for a picker.

    ``permission`` is the FC permission the account must have ("transactions", "ownership").
    """
    with session_scope(engine) as session:
        mirrored = session.exec(
            select(AccountRecord)
            .where(col(AccountRecord.permissions).contains(f",{permission},"))
            .order_by(col(AccountRecord.institution_name), col(AccountRecord.id))
        ).all()
        synced = session.exec(
            select(SyncState.name).where(col(SyncState.name).startswith("txns:"))
        ).all()
    choices = {
        a.id: AccountChoice(a.id, f"{a.institution_name} ••{a.last4 or '????'} ({a.id})")
        for a in mirrored
    }
    if permission == "transactions":
        for name in synced:
            fca = name.split(":", 1)[1]
            choices.setdefault(fca, AccountChoice(fca, fca))
    return list(choices.values())


# --------------------------------------------------------------------------- insight


def _account_currency(account: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str | None:
    balance = account.get("balance")
    if isinstance(balance, Mapping) and isinstance(balance.get("current"), Mapping):
        codes = list(balance["current"])
        if codes:
            return str(codes[0]).lower()
    counted = Counter(str(r.get("currency") or "").lower() for r in rows)
    return counted.most_common(1)[0][0] if counted else None


def _current_balance(
    account: Mapping[str, Any], currency: str | None
) -> tuple[int | None, int | None]:
    balance = account.get("balance")
    if currency is None or not isinstance(balance, Mapping):
        return None, None
    current = balance.get("current")
    if not isinstance(current, Mapping) or current.get(currency) is None:
        return None, None
    return int(current[currency]), int(balance.get("as_of") or 0) or None


def insight(
    engine: Engine,
    account: Mapping[str, Any],
    *,
    now: int | datetime,
    chart_days: int = 90,
) -> TransactionInsight:
    """Income streams, risk windows and chart frames from the stored rows of ``account``.

    ``account`` is the FC account as Stripe returns it: its ``balance.current`` anchors the
    rebuilt daily balances (posted rows only), so without a balance the balance figures are
    left out rather than guessed.
    """
    account_id = str(account["id"])
    rows = load_transactions(engine, account_id)
    currency = _account_currency(account, rows)
    notes: list[str] = []
    same = [r for r in rows if str(r.get("currency") or "").lower() == currency]
    if len(same) < len(rows):
        notes.append(f"{len(rows) - len(same)} transaction(s) in other currencies are left out.")
    moment = now if isinstance(now, datetime) else datetime.fromtimestamp(now, UTC)
    today = moment.date()
    current, as_of = _current_balance(account, currency)
    if current is None:
        notes.append("The account has no balance, so daily balances cannot be rebuilt.")
    recent = [
        r
        for r in same
        if int(r["transacted_at"]) >= _day_start(today - timedelta(days=chart_days - 1))
    ]
    streams = detect_income(same, now=moment)
    days = [datetime.fromtimestamp(int(r["transacted_at"]), UTC).date() for r in same]
    return TransactionInsight(
        account_id=account_id,
        currency=currency,
        transaction_count=len(same),
        first_date=min(days) if days else None,
        last_date=max(days) if days else None,
        incomes=[IncomeRow(s, suggest_debit_date(s, today=today)) for s in streams],
        risk=risk_aggregates(same, current_balance=current, as_of=as_of or moment, now=moment),
        cash_flow_daily=daily_cash_flow(recent, freq="D"),
        cash_flow_weekly=daily_cash_flow(recent, freq="W"),
        balance_series=(
            running_balance(same, current_balance=current, as_of=as_of or moment, days=chart_days)
            if current is not None
            else None
        ),
        top_out=top_counterparties(recent, limit=10, direction="out"),
        top_in=top_counterparties(recent, limit=10, direction="in"),
        notes=notes,
    )
