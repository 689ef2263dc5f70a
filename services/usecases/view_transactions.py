"""Read an account's transactions: where its subscription and mirror stand, the stored rows as
typed views, and the insight (income, risk, charts) computed from them.

Everything here reads the store's mirror (kept up to date by
``services.usecases.sync_transactions``); only :func:`transaction_status` asks Stripe for the
account's live subscription and refresh state.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from services.adapters import account_mirror
from services.adapters import transaction_store as store
from services.adapters.transaction_store import TRANSACTION_SORTS, AccountChoice
from services.auth import Actor, require
from services.context import Services
from services.errors import StripeUnavailable, ValidationError
from services.rules import bank_account, input_limits
from services.rules.cashflow import (
    RiskWindow,
    daily_cash_flow,
    risk_aggregates,
    running_balance,
    top_counterparties,
)
from services.rules.clock import as_utc
from services.rules.ids import parse_id
from services.rules.income import IncomeRow, detect_income, suggest_debit_date
from services.rules.paging import Page, clamp
from services.rules.transactions import (
    TransactionFilter,
    TransactionView,
    start_of_day_ts,
    transaction_refresh_of,
)
from services.rules.wording import counted
from services.usecases import browse_accounts
from services.usecases.sync_transactions import ACCOUNT_KIND

TRANSACTION_STATUSES = ("posted", "pending", "void")

__all__ = [
    "AccountChoice",
    "IncomeRow",
    "TransactionInsight",
    "TransactionStatus",
    "account_choices",
    "account_count",
    "account_insight",
    "insight",
    "TRANSACTION_SORTS",
    "TransactionPage",
    "list_transactions",
    "status_of",
    "transactions_page",
    "transaction_status",
]

# Who may pick accounts with a given FC permission: the page that offers them.
_PICKER_PERMISSION = {"transactions": "transactions.view", "ownership": "ownership.review"}


@dataclass(frozen=True)
class TransactionStatus:
    """The account's transaction subscription and refresh state, for the page's controls."""

    account_id: str
    account: dict[str, Any]  # the FC account as Stripe returned it (for the insight)
    institution_name: str
    display_name: str
    last4: str
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
    stored: bank_account.StoredCopy | None = None  # set when Stripe could not be read

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


# --------------------------------------------------------------------------- status


def transaction_status(
    svc: Services, actor: Actor, account_id: str, *, what: str | None = None
) -> TransactionStatus:
    """Live subscription/refresh state of the account plus where the local mirror stands.

    When Stripe cannot be read (a 5xx, a timeout, a rate limit) the stored transactions stay
    readable: the state comes from the store's copy of the account, marked ``stored`` with the
    failed read's sentence and its age. An account the store never saw still raises it."""
    require(actor, "transactions.view")
    fca, _ = parse_id(account_id, allowed=ACCOUNT_KIND, what=what)
    began = account_mirror.read_mark(svc.engine)  # before the read (see read_mark)
    try:
        account = browse_accounts.fetch_account(svc, fca)
    except StripeUnavailable as err:
        found = browse_accounts.stored_account(svc, fca, reason=str(err))
        if found is None:
            raise
        copy, stored = found
        return replace(status_of(svc.engine, copy, now=svc.now(), actor=actor), stored=stored)
    account_mirror.upsert_account(svc.engine, account, read_began=began)
    return status_of(svc.engine, account, now=svc.now(), actor=actor)


def status_of(
    engine: Engine, account: Mapping[str, Any], *, now: int, actor: Actor | None = None
) -> TransactionStatus:
    """The state of ``account`` (a Stripe dict) as the page shows it; no Stripe call."""
    refresh = transaction_refresh_of(account)
    blocker = browse_accounts.refresh_blocker(account, "transactions", now=now, actor=actor)
    state = store.cursor_for(engine, str(account["id"]))
    return TransactionStatus(
        account_id=str(account["id"]),
        account=bank_account.normalise_account(account),
        institution_name=str(account.get("institution_name") or ""),
        display_name=str(account.get("display_name") or ""),
        last4=str(account.get("last4") or ""),
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
        stored_rows=store.stored_count(engine, str(account["id"])),
    )


# --------------------------------------------------------------------------- rows


PICKER_LIMIT = 50


def account_choices(
    svc: Services,
    actor: Actor,
    *,
    permission: str,
    search: str = "",
    limit: int | None = PICKER_LIMIT,
) -> list[AccountChoice]:
    """Accounts with the FC ``permission`` ("transactions", "ownership") for a page's picker:
    at most ``limit`` of them, those matching ``search`` (id, bank, last 4, customer id, or the
    customer's name or email), each naming the customer first."""
    require(actor, _PICKER_PERMISSION.get(permission, "accounts.view"))
    term = input_limits.search_term(search, field="The account search")
    return store.known_accounts(svc.engine, permission=permission, search=term, limit=limit)


def account_count(svc: Services, actor: Actor, *, permission: str, search: str = "") -> int:
    """How many accounts the picker searches, or of them match ``search`` (a SQL count)."""
    require(actor, _PICKER_PERMISSION.get(permission, "accounts.view"))
    return store.count_known_accounts(svc.engine, permission=permission, search=search)


def list_transactions(
    svc: Services,
    actor: Actor,
    account_id: str,
    chosen: TransactionFilter,
    *,
    limit: int | None = None,
) -> list[TransactionView]:
    """The stored rows of the account matching ``chosen``, newest first."""
    require(actor, "transactions.view")
    fca, _ = parse_id(account_id, allowed=ACCOUNT_KIND)
    rows = store.load_transactions(svc.engine, fca, limit=limit, **_filters_checked(chosen))
    return [TransactionView.of(t) for t in rows]


def _filters_checked(chosen: TransactionFilter) -> dict[str, Any]:
    """``chosen`` as the store's filter keywords, or a ValidationError saying what is wrong."""
    wanted = asdict(chosen)
    wanted["text"] = input_limits.search_term(chosen.text, field="The description search")
    if chosen.status not in (None, "", *TRANSACTION_STATUSES):
        raise ValidationError(
            f"Unknown transaction status {str(chosen.status)[:40]!r}; use one of: "
            f"{', '.join(TRANSACTION_STATUSES)}."
        )
    for value, label in ((chosen.start, "The start date"), (chosen.end, "The end date")):
        if value is not None and not isinstance(value, date):
            raise ValidationError(f"{label} must be a date.")
    if chosen.direction not in (None, "", "in", "out"):
        raise ValidationError("The direction must be money in or money out.")
    wanted["status"] = chosen.status or None
    wanted["direction"] = chosen.direction or None
    return wanted


@dataclass(frozen=True)
class TransactionPage(Page[TransactionView]):
    """One page of an account's matching transactions, with the true number of matches."""

    sort: str


def transactions_page(
    svc: Services,
    actor: Actor,
    account_id: str,
    chosen: TransactionFilter,
    *,
    page: int = 1,
    page_size: int = 100,
    sort: str | None = None,
) -> TransactionPage:
    """Page ``page`` of the matching stored rows in ``sort`` order (``TRANSACTION_SORTS``; an
    unknown order is newest first): counted, sorted over the whole result and paged in SQL."""
    require(actor, "transactions.view")
    order = sort if sort in TRANSACTION_SORTS else "newest"
    size = max(1, min(int(page_size), 500))
    filters = asdict(chosen)
    total = store.count_transactions(svc.engine, account_id, **filters)
    page = clamp(page, total, size)
    rows = store.load_transactions(
        svc.engine, account_id, limit=size, offset=(page - 1) * size, sort=order, **filters
    )
    return TransactionPage([TransactionView.of(t) for t in rows], total, page, size, order)


# --------------------------------------------------------------------------- insight


def account_insight(
    svc: Services, actor: Actor, status: TransactionStatus, *, chart_days: int = 90
) -> TransactionInsight:
    """:func:`insight` for the account a :class:`TransactionStatus` was read for."""
    require(actor, "transactions.view")
    return insight(svc.engine, status.account, now=svc.now(), chart_days=chart_days)


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
    rows = store.load_transactions(engine, account_id)
    currency = _account_currency(account, rows)
    notes: list[str] = []
    same = [r for r in rows if str(r.get("currency") or "").lower() == currency]
    if len(same) < len(rows):
        other = len(rows) - len(same)
        notes.append(
            f"{counted(other, 'transaction')} in other currencies "
            f"{'is' if other == 1 else 'are'} left out."
        )
    moment = now if isinstance(now, datetime) else datetime.fromtimestamp(now, UTC)
    today = moment.date()
    current, as_of = _current_balance(account, currency)
    if current is None:
        notes.append("The account has no balance, so daily balances cannot be rebuilt.")
    since = start_of_day_ts(today - timedelta(days=chart_days - 1))
    recent = [r for r in same if int(r["transacted_at"]) >= since]
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
