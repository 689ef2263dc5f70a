"""Financial Connections transactions as pure facts: time, status, direction, filters, the view.

Inputs are ``financial_connections.transaction`` objects as plain mappings (see the FC reference
§2.3): ``amount`` is signed integer minor units, **positive = money in, negative = money out**
(the opposite of Plaid), ``transacted_at`` is Unix seconds. Dates are taken in UTC.

Status rules, applied everywhere in ``services.rules.income`` and ``services.rules.cashflow``:

* ``void`` transactions never happened and are ignored by every function (a table filter
  returns them only when ``status="void"`` is asked for explicitly).
* ``pending`` transactions count as cash flow (``daily_cash_flow``, ``top_counterparties``,
  ``risk_aggregates`` credit/debit totals) because the money is moving.
* Income detection uses **posted** deposits only.
* Balance reconstruction uses **posted** transactions only, timed by ``status_transitions.posted_at``
  (falling back to ``transacted_at``), because an FC ``balance.current`` is the posted balance,
  before pending items (reference §2.1).

Nothing here touches the network, a database or Streamlit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from services.rules.input_limits import as_searched

__all__ = ["TransactionFilter", "TransactionView", "filter_transactions"]

Txn = Mapping[str, Any]
Moment = datetime | date | int


@dataclass(frozen=True)
class TransactionView:
    """One transaction as a page shows it (Stripe's dict stops at the service boundary)."""

    id: str
    account_id: str
    amount: int  # signed minor units: positive = money in
    currency: str
    description: str
    status: str  # posted | pending | void
    transacted_at: datetime  # UTC

    @property
    def direction(self) -> str:
        return "in" if self.amount > 0 else "out"

    @classmethod
    def of(cls, t: Txn) -> TransactionView:
        return cls(
            id=str(t["id"]),
            account_id=str(t.get("account") or ""),
            amount=int(t["amount"]),
            currency=str(t.get("currency") or "").lower(),
            description=str(t.get("description") or ""),
            status=str(t.get("status") or ""),
            transacted_at=datetime.fromtimestamp(int(t["transacted_at"]), UTC),
        )


# --------------------------------------------------------------------------- time helpers


def as_datetime(value: Moment) -> datetime:
    """A timezone-aware UTC datetime; a bare date means the start of that UTC day."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time.min, tzinfo=UTC)
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    raise TypeError(f"expected a datetime, date or Unix seconds, got {type(value).__name__}")


def as_date(value: Moment) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return as_datetime(value).date()


def as_timestamp(value: Moment) -> int:
    return int(as_datetime(value).timestamp())


def day_of(ts: int) -> date:
    return datetime.fromtimestamp(ts, tz=UTC).date()


def start_of_day_ts(d: date) -> int:
    return int(datetime.combine(d, time.min, tzinfo=UTC).timestamp())


def end_of_day_ts(d: date) -> int:
    return int(datetime.combine(d, time.max, tzinfo=UTC).timestamp())


def txn_day(t: Txn) -> date:
    return day_of(int(t["transacted_at"]))


def is_void(t: Txn) -> bool:
    return t.get("status") == "void"


def live_rows(transactions: Iterable[Txn]) -> list[Txn]:
    return [t for t in transactions if not is_void(t)]


def single_currency(transactions: Sequence[Txn]) -> str | None:
    """Sums across currencies are meaningless, so refuse them with a clear message."""
    currencies = {str(t.get("currency", "")).lower() for t in transactions}
    if len(currencies) > 1:
        raise ValueError(
            f"transactions mix currencies ({', '.join(sorted(currencies))}); "
            "pass one account's (or one currency's) transactions"
        )
    return next(iter(currencies), None)


# --------------------------------------------------------------------------- direction

DIRECTIONS = ("in", "out")


def direction_of(t: Txn) -> str | None:
    amount = int(t["amount"])
    return "in" if amount > 0 else "out" if amount < 0 else None


# --------------------------------------------------------------------------- filtering


@dataclass(frozen=True)
class TransactionFilter:
    """What a table of transactions is narrowed to (the keywords of :func:`filter_transactions`
    and of the store's ``load_transactions``); ``None`` means "any"."""

    start: date | None = None
    end: date | None = None
    direction: str | None = None
    status: str | None = None
    text: str | None = None


def filter_transactions(
    transactions: Sequence[Txn],
    *,
    start: date | None = None,
    end: date | None = None,
    direction: str | None = None,
    status: str | None = None,
    text: str | None = None,
) -> list[Txn]:
    """The rows matching every given criterion, in their original order.

    ``start``/``end`` are inclusive UTC dates of ``transacted_at``; ``direction`` is "in" or
    "out"; ``text`` is a case-insensitive substring of the description. Void rows are left out
    unless ``status="void"`` asks for them.
    """
    if direction is not None and direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'in' or 'out', not {direction!r}")
    checks: list[Callable[[Txn], bool]] = [
        (lambda t: t.get("status") == status) if status else (lambda t: not is_void(t))
    ]
    if start is not None:
        checks.append(lambda t: txn_day(t) >= start)
    if end is not None:
        checks.append(lambda t: txn_day(t) <= end)
    if direction is not None:
        checks.append(lambda t: direction_of(t) == direction)
    if text:
        needle = as_searched(text).casefold()
        checks.append(lambda t: needle in as_searched(str(t.get("description") or "")).casefold())
    return [t for t in transactions if all(check(t) for check in checks)]


# --------------------------------------------------------------------------- the account's refresh


def transaction_refresh_of(account: Mapping[str, Any]) -> Mapping[str, Any]:
    """The FC account's ``transaction_refresh`` object, or an empty mapping when it has none."""
    refresh = account.get("transaction_refresh")
    return refresh if isinstance(refresh, Mapping) else {}


def refresh_status_of(account: Mapping[str, Any]) -> str | None:
    """The status of the FC account's last transaction refresh (None: never refreshed)."""
    status = transaction_refresh_of(account).get("status")
    return str(status) if status is not None else None
