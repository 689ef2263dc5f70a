"""The accounts browser: customers and their Financial Connections accounts, mirrored in the store.

Stripe has no "list every FC account" call and no server-side filters beyond the holder, so the
browser reads a mirror: :func:`sync_accounts` copies customers and their accounts into the store,
and every other function that touches an account (detail, refresh, lookup) upserts what it saw.
Paging, filtering and CSV export then run in SQL, so tens of thousands of accounts stay cheap.

Reads check ``accounts.view``; state changes (sync, refresh) go through :func:`audit.guarded`.
Owners' personal data is removed here, not only in the page, unless the actor may see it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete as sa_delete
from sqlalchemy import or_
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from services import audit
from services.adapters.models import (
    AccountRecord,
    AuditEntry,
    BalanceSnapshot,
    CustomerRecord,
    SyncState,
    utcnow,
)
from services.adapters.store import (
    UpsertCounts,
    mark_sync,
    read_sync_cursor,
    retrying,
    session_scope,
    upsert,
)
from services.auth import Actor, require
from services.context import Services
from services.errors import NotFound, RefreshNotAllowed, StripeRequestError, ValidationError
from services.lookup import LOOKUP_KINDS, Resolution, resolve
from services.rules import refresh_rule
from services.rules.clock import as_utc
from services.rules.ids import kind_of, parse_id
from services.rules.relink import relink_needed
from services.rules.spreadsheet import safe_text

FEATURES = refresh_rule.FEATURES
FEATURE_PERMISSION = refresh_rule.FEATURE_PERMISSION
FEATURE_FIELD = refresh_rule.FEATURE_FIELD
STATUSES: tuple[str, ...] = ("active", "inactive", "disconnected")
PERMISSIONS: tuple[str, ...] = ("balances", "ownership", "payment_method", "transactions")
SYNC_NAME = "accounts"
# The events that change what the mirror holds; their ``data.object`` is the whole customer or
# FC account (reference §5.1), so an incremental sync upserts it without another request.
# Stripe's ``types`` filter takes exact names (at most 20), so they are spelled out.
ACCOUNT_EVENTS: tuple[str, ...] = tuple(
    f"financial_connections.account.{name}"
    for name in (
        "created",
        "deactivated",
        "reactivated",
        "disconnected",
        "refreshed_balance",
        "refreshed_ownership",
        "refreshed_transactions",
        "account_numbers_updated",
        "upcoming_account_number_expiry",
        "upcoming_deactivation",
        "expected_deactivation_date_updated",
        "supported_payment_method_types_updated",
    )
)
CUSTOMER_EVENTS: tuple[str, ...] = ("customer.created", "customer.updated", "customer.deleted")
SYNC_EVENTS: tuple[str, ...] = (*CUSTOMER_EVENTS, *ACCOUNT_EVENTS)
# Kept in an account row's ``raw`` (not a Stripe field): the ``created`` of the event whose copy
# the row holds, so a replay never puts an older copy over a newer one.
EVENT_STAMP = "_fcops_event_created"
# Stripe keeps events for 30 days (reference §2.11); a cursor older than that (less a day of
# margin, so the oldest events cannot expire while we page through them) means a full walk.
EVENT_RETENTION_SECONDS = 30 * 86_400
CURSOR_MAX_AGE_SECONDS = EVENT_RETENTION_SECONDS - 86_400
MAX_PAGE_SIZE = 500
CSV_COLUMNS: tuple[str, ...] = (
    "id",
    "customer_id",
    "institution_name",
    "display_name",
    "last4",
    "category",
    "subcategory",
    "status",
    "permissions",
    "subscriptions",
    "balance_currency",
    "balance_current_minor",
    "balance_available_minor",
    "balance_as_of",
    "balance_refresh_status",
    "ownership_refresh_status",
    "transaction_refresh_status",
    "relink_required_by",
    "created",
)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

Progress = Callable[[int, int | None, str], None]


# --------------------------------------------------------------------------- result types


@dataclass(frozen=True)
class SyncResult:
    customers: int
    accounts: int
    snapshots: int
    seconds: float
    full: bool = True  # False: only what the events since the cursor named was re-read
    events: int = 0
    removed: int = 0  # customers a full walk no longer found in Stripe (deleted there)


@dataclass(frozen=True)
class SyncInfo:
    """What the page needs to decide whether to sync: when it last ran and how much is stored."""

    accounts: int
    customers: int
    last_finished_at: datetime | None
    details: dict[str, Any]


@dataclass(frozen=True)
class CustomerHit:
    id: str
    email: str | None
    name: str | None
    created: int
    accounts: int


@dataclass(frozen=True)
class AccountRow:
    """One line of the accounts table (a flattened :class:`AccountRecord` plus its customer)."""

    id: str
    customer_id: str | None
    customer_email: str | None
    customer_name: str | None
    institution_name: str
    display_name: str | None
    last4: str | None
    category: str
    subcategory: str
    status: str
    permissions: list[str]
    subscriptions: list[str]
    balance_currency: str | None
    balance_current: int | None
    balance_available: int | None
    balance_as_of: int | None
    balance_refresh_status: str | None
    ownership_refresh_status: str | None
    transaction_refresh_status: str | None
    created: int
    relink_required_by: int | None = None  # Stripe expects it inactive then unless relinked


@dataclass(frozen=True)
class AccountPage:
    rows: list[AccountRow]
    total: int
    page: int = 1
    page_size: int = 50

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class OwnerView:
    """An account owner; ``pii_hidden`` means name and contact details were removed for this role."""

    id: str
    name: str | None
    email: str | None
    phone: str | None
    raw_address: str | None
    refreshed_at: int | None
    pii_hidden: bool = False


@dataclass(frozen=True)
class AccountDetail:
    account: dict[str, Any]  # Stripe's object; ``ownership`` is always the ID, never expanded
    row: AccountRow
    customer: dict[str, Any] | None
    owners: list[OwnerView]
    owners_hidden: bool
    snapshots: list[BalanceSnapshot]
    blockers: dict[str, str | None]  # feature -> why its refresh button is disabled, or None


@dataclass(frozen=True)
class RefreshState:
    feature: str
    status: str | None  # pending | succeeded | failed | None (never refreshed)
    last_attempted_at: int | None
    next_refresh_available_at: int | None
    account: dict[str, Any]

    @property
    def pending(self) -> bool:
        return self.status == "pending"


# --------------------------------------------------------------------------- flattening


def _csv_set(values: Any) -> str:
    """Sorted values wrapped in commas (",a,b,"), so ``LIKE '%,a,%'`` matches whole values."""
    items = sorted({str(v) for v in (values or [])})
    return f",{','.join(items)}," if items else ""


def _split_set(text: str | None) -> list[str]:
    return [v for v in (text or "").split(",") if v]


def _balance_amounts(balance: Mapping[str, Any] | None) -> list[tuple[str, int | None, int | None]]:
    """(currency, current, available) for each currency in a Stripe balance object."""
    if not balance:
        return []
    current = balance.get("current") or {}
    cash = balance.get("cash") or {}
    available = (cash.get("available") or {}) if balance.get("type") == "cash" else {}
    currencies = list(dict.fromkeys([*current.keys(), *available.keys()]))
    return [
        (cur.lower(), current.get(cur), available.get(cur))
        for cur in currencies
        if cur != "undefined"
    ]


def normalise_account(account: Mapping[str, Any]) -> dict[str, Any]:
    """Stripe's account with ``ownership`` collapsed to its ID, so no owner PII is ever mirrored."""
    data = dict(account)
    ownership = data.get("ownership")
    if isinstance(ownership, Mapping):
        data["ownership"] = ownership.get("id")
    holder = data.get("account_holder")
    if isinstance(holder, Mapping) and isinstance(holder.get("customer"), Mapping):
        data["account_holder"] = {**holder, "customer": holder["customer"].get("id")}
    return data


def _refresh(account: Mapping[str, Any], feature: str) -> Mapping[str, Any]:
    return account.get(FEATURE_FIELD[feature]) or {}


def flatten_account(account: Mapping[str, Any]) -> dict[str, Any]:
    """The filterable columns of an :class:`AccountRecord` from Stripe's object."""
    data = normalise_account(account)
    holder = data.get("account_holder") or {}
    amounts = _balance_amounts(data.get("balance"))
    currency, current, available = amounts[0] if amounts else (None, None, None)
    balance = data.get("balance") or {}
    return {
        "id": data["id"],
        "customer_id": holder.get("customer"),
        "institution_name": data.get("institution_name") or "",
        "display_name": data.get("display_name"),
        "last4": data.get("last4"),
        "category": data.get("category") or "other",
        "subcategory": data.get("subcategory") or "other",
        "status": data.get("status") or "active",
        "permissions": _csv_set(data.get("permissions")),
        "subscriptions": _csv_set(data.get("subscriptions")),
        "balance_currency": currency,
        "balance_current": current,
        "balance_available": available,
        "balance_as_of": balance.get("as_of") if amounts else None,
        "balance_refresh_status": _refresh(data, "balance").get("status"),
        "balance_next_refresh_at": _refresh(data, "balance").get("next_refresh_available_at"),
        "ownership_refresh_status": _refresh(data, "ownership").get("status"),
        "transaction_refresh_status": _refresh(data, "transactions").get("status"),
        "relink_required_by": relink.by if (relink := relink_needed(data)) else None,
        "created": int(data.get("created") or 0),
        "raw": data,
    }


def _flatten_customer(customer: Mapping[str, Any]) -> dict[str, Any]:
    email = customer.get("email")
    name = customer.get("name")
    return {
        "id": customer["id"],
        "email": email,
        "email_lower": email.lower() if email else None,
        "name": name,
        "name_lower": name.lower() if name else None,
        "phone": customer.get("phone"),
        "created": int(customer.get("created") or 0),
        "raw": dict(customer),
    }


# --------------------------------------------------------------------------- upserts


def _put(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> UpsertCounts:
    """Insert or update mirrored rows by ID; ``synced_at`` moves only when something changed."""
    return upsert(session, model, rows, touch={"synced_at": utcnow()})


def _snapshot(session: Session, account_id: str, balance: Mapping[str, Any] | None) -> int:
    """Record each currency of a balance once (the unique key is account, as_of, currency)."""
    as_of = (balance or {}).get("as_of")
    if as_of is None:
        return 0
    added = 0
    for currency, current, available in _balance_amounts(balance):
        seen = session.exec(
            select(BalanceSnapshot.id).where(
                BalanceSnapshot.account_id == account_id,
                BalanceSnapshot.as_of == as_of,
                BalanceSnapshot.currency == currency,
            )
        ).first()
        if seen is None:
            session.add(
                BalanceSnapshot(
                    account_id=account_id,
                    as_of=int(as_of),
                    currency=currency,
                    current=current,
                    available=available,
                )
            )
            added += 1
    return added


def applied_event_created(raw: Mapping[str, Any] | None) -> int | None:
    """When the event whose copy a stored account row holds was created (None: not from an event)."""
    value = (raw or {}).get(EVENT_STAMP)
    return int(value) if isinstance(value, int) else None


def _newer_copy_wins(stored: Mapping[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """The upsert ``merge`` hook: never replace a row stored from a newer event with an older copy.

    A copy from an event (stamped) older than the stored stamp leaves the row as it is; an
    unstamped copy (a full walk or a direct read, both current) is written but keeps the stored
    stamp, so an old event replayed later still cannot win over the event the row last applied.
    Checked inside the write transaction, so two replicas replaying at once agree.
    """
    before = applied_event_created(stored.get("raw"))
    after = applied_event_created(incoming.get("raw"))
    if before is None:
        return incoming
    if after is None:
        return {**incoming, "raw": {**incoming["raw"], EVENT_STAMP: before}}
    if after < before:
        return {column: stored[column] for column in incoming}
    return incoming


def _mirror(
    session: Session,
    accounts: Sequence[Mapping[str, Any]],
    *,
    stamps: Mapping[str, int] | None = None,
) -> int:
    """Upsert accounts and record their balances; returns how many snapshots were new.

    ``stamps`` (account ID -> event ``created``) marks copies taken from events; see
    :func:`_newer_copy_wins`.
    """
    rows = [flatten_account(a) for a in accounts]
    for row in rows:
        if stamps and row["id"] in stamps:
            row["raw"] = {**row["raw"], EVENT_STAMP: int(stamps[row["id"]])}
    upsert(session, AccountRecord, rows, touch={"synced_at": utcnow()}, merge=_newer_copy_wins)
    return sum(_snapshot(session, r["id"], r["raw"].get("balance")) for r in rows)


def upsert_account(engine: Engine, account: Mapping[str, Any]) -> AccountRecord:
    """Mirror one Stripe FC account and keep its balance in the history; safe to call repeatedly.

    Other use cases (finance checks, collection) call this for every account they see.
    """

    def work(session: Session) -> AccountRecord:
        _mirror(session, [account])
        row = session.get(AccountRecord, str(account["id"]))
        assert row is not None  # just written in this transaction
        return row

    row: AccountRecord = retrying(engine, work)
    return row


def upsert_customer(engine: Engine, customer: Mapping[str, Any]) -> CustomerRecord:
    def work(session: Session) -> CustomerRecord:
        _put(session, CustomerRecord, [_flatten_customer(customer)])
        row = session.get(CustomerRecord, str(customer["id"]))
        assert row is not None  # just written in this transaction
        return row

    row: CustomerRecord = retrying(engine, work)
    return row


def _mirror_customer_accounts(svc: Services, customer: Mapping[str, Any]) -> tuple[int, int]:
    """Mirror a customer and all their accounts in one transaction; (accounts, snapshots)."""
    accounts = svc.gateway.list_accounts(customer=customer["id"])

    def work(session: Session) -> tuple[int, int]:
        _put(session, CustomerRecord, [_flatten_customer(customer)])
        return len(accounts), _mirror(session, accounts)

    result: tuple[int, int] = retrying(svc.engine, work)
    return result


# --------------------------------------------------------------------------- sync

# The list is ordered newest first; without this index every page (and deep OFFSET pages
# most) sorts the whole table. services/adapters/models.py is shared, so the index is declared here
# and created idempotently by :func:`ensure_indexes` (see bench/bench_accounts.py).
_TABLE: Any = AccountRecord.__table__  # type: ignore[attr-defined]
CREATED_INDEX = next(i for i in _TABLE.indexes if i.name == "ix_fca_created_id")


def ensure_indexes(engine: Engine) -> None:
    """Create the browser's extra indexes if they are missing (safe to call any time)."""
    CREATED_INDEX.create(bind=engine, checkfirst=True)


def _newest_event_created(svc: Services) -> int:
    """When the newest account or customer event happened (one request: lists are newest first).

    Read *before* a full walk, so anything that changes during the walk is replayed next time.
    """
    for event in svc.gateway.iter_events(types=SYNC_EVENTS):
        return int(event["created"])
    return svc.now()


def _walk(svc: Services, report: Progress) -> tuple[int, int, int, int]:
    """Every customer and each one's accounts: one request per customer, so only when needed.

    A walk that reached the end has seen every customer Stripe has, so the mirror's customers
    it did not see were deleted in Stripe (while nobody replayed their ``customer.deleted``)
    and are forgotten as that event would (:func:`_forget_customers`). Returns (customers,
    accounts, snapshots, customers removed).
    """
    customers = accounts = snapshots = 0
    seen: set[str] = set()
    report(0, None, "Reading customers from Stripe…")
    for customer in svc.gateway.iter_customers():
        n_accounts, n_snapshots = _mirror_customer_accounts(svc, customer)
        seen.add(str(customer["id"]))
        customers += 1
        accounts += n_accounts
        snapshots += n_snapshots
        report(customers, None, f"{customers} customers, {accounts} accounts")

    def forget_unseen(session: Session) -> int:
        stored = set(session.exec(select(CustomerRecord.id)).all())
        gone = stored - seen
        _forget_customers(session, gone)
        return len(gone)

    removed: int = retrying(svc.engine, forget_unseen)
    return customers, accounts, snapshots, removed


def _event_object(event: Mapping[str, Any]) -> Mapping[str, Any]:
    data = event.get("data") or {}
    obj = data.get("object") if isinstance(data, Mapping) else None
    return obj if isinstance(obj, Mapping) and obj.get("id") else {}


@dataclass
class _Changes:
    """The newest snapshot of each customer and account the events named (oldest applied first)."""

    customers: dict[str, Mapping[str, Any]]
    accounts: dict[str, Mapping[str, Any]]
    balances: list[tuple[str, Mapping[str, Any]]]  # every balance seen, for the history
    stamps: dict[str, int] = field(default_factory=dict)  # account ID -> its event's created
    deleted: set[str] = field(default_factory=set)  # customers deleted in Stripe


def oldest_first(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Events by ``created``, oldest first; Stripe lists newest first, so ties keep its order."""
    return sorted(reversed(events), key=lambda e: int(e.get("created") or 0))


def _changes(events: Sequence[Mapping[str, Any]]) -> _Changes:
    changes = _Changes({}, {}, [])
    for event in oldest_first(events):  # the newest snapshot of each object must win
        obj, kind = _event_object(event), str(event.get("type") or "")
        if not obj:
            continue
        oid = str(obj["id"])
        if kind == "customer.deleted":
            changes.customers.pop(oid, None)
            changes.deleted.add(oid)
        elif kind in CUSTOMER_EVENTS:
            changes.customers[oid] = obj
            changes.deleted.discard(oid)
        elif kind in ACCOUNT_EVENTS:
            changes.accounts[oid] = obj
            changes.stamps[oid] = int(event.get("created") or 0)
            if obj.get("balance"):
                changes.balances.append((oid, obj["balance"]))
    return changes


def _missing_holders(svc: Services, changes: _Changes) -> None:
    """Fetch the customers of changed accounts that neither the mirror nor the events hold."""
    holders = {flatten_account(a)["customer_id"] for a in changes.accounts.values()}
    wanted = {h for h in holders if h and h not in changes.customers and h not in changes.deleted}
    if not wanted:
        return
    with session_scope(svc.engine) as session:
        known = set(
            session.exec(
                select(CustomerRecord.id).where(col(CustomerRecord.id).in_(sorted(wanted)))
            ).all()
        )
    for customer_id in sorted(wanted - known):
        try:
            customer = svc.gateway.retrieve_customer(customer_id)
        except NotFound:
            continue
        if not customer.get("deleted"):
            changes.customers[customer_id] = customer


def _forget_customers(session: Session, customer_ids: set[str]) -> None:
    """Remove deleted customers from the mirror, so search no longer finds them.

    Their FC accounts are left as they are (still holding the customer ID): Stripe keeps the
    accounts, later account events still update them, and the accounts list shows them without
    a name or email.
    """
    if customer_ids:
        session.execute(
            sa_delete(CustomerRecord).where(col(CustomerRecord.id).in_(sorted(customer_ids)))
        )


def apply_events(engine: Engine, events: Sequence[Mapping[str, Any]]) -> tuple[int, int, int]:
    """Apply customer and account events to the mirror in one transaction, oldest first.

    ``customer.deleted`` removes the customer (see :func:`_forget_customers`); an account copy
    older than the event the stored row last applied is skipped (:func:`_newer_copy_wins`).
    Returns (customers upserted or removed, accounts named, new balance snapshots). Holders
    missing from the mirror are not fetched here; :func:`sync_accounts` does that first.
    """
    return _apply(engine, _changes(events))


def _apply(engine: Engine, changes: _Changes) -> tuple[int, int, int]:
    def work(session: Session) -> int:
        _put(session, CustomerRecord, [_flatten_customer(c) for c in changes.customers.values()])
        _forget_customers(session, changes.deleted)
        added = _mirror(session, list(changes.accounts.values()), stamps=changes.stamps)
        return added + sum(_snapshot(session, fca, b) for fca, b in changes.balances)

    snapshots: int = retrying(engine, work)
    customers = len(changes.customers) + len(changes.deleted)
    return customers, len(changes.accounts), snapshots


def _replay(svc: Services, cursor: int, report: Progress) -> tuple[int, int, int, int, int]:
    """Upsert what the events since ``cursor`` name; (customers, accounts, snapshots, events, newest)."""
    report(0, None, "Reading changes from Stripe…")
    events = list(svc.gateway.iter_events(types=SYNC_EVENTS, created_gte=cursor))
    report(0, None, f"{len(events)} changes to apply")
    changes = _changes(events)
    _missing_holders(svc, changes)
    customers, n_accounts, snapshots = _apply(svc.engine, changes)
    newest = max((int(e["created"]) for e in events), default=cursor)
    return customers, n_accounts, snapshots, len(events), newest


def sync_accounts(
    svc: Services, actor: Actor, *, progress: Progress | None = None, full: bool = False
) -> SyncResult:
    """Bring the mirror of customers and their FC accounts up to date; re-running only upserts.

    The first run (and ``full=True``, or a cursor older than Stripe keeps events) walks every
    customer, one request each. Later runs list the customer and account events since the
    cursor (the newest event ``created`` seen) and upsert the objects they carry, so a re-run
    costs a few requests however many customers there are.

    ``progress(done, total, message)`` is called as work is done; Stripe gives no total count
    for lists, so ``total`` is None until it is known.
    """
    report = progress or (lambda done, total, message: None)

    def run(ctx: audit.AuditContext) -> SyncResult:
        started = datetime.now(UTC)
        ensure_indexes(svc.engine)
        mark_sync(svc.engine, SYNC_NAME, last_started_at=utcnow())
        cursor = None if full else read_sync_cursor(svc.engine, SYNC_NAME)
        walk = cursor is None or cursor < svc.now() - CURSOR_MAX_AGE_SECONDS
        events = removed = 0
        if walk:
            cursor_after = _newest_event_created(svc)
            customers, accounts, snapshots, removed = _walk(svc, report)
        else:
            assert cursor is not None
            customers, accounts, snapshots, events, cursor_after = _replay(svc, cursor, report)
        seconds = round((datetime.now(UTC) - started).total_seconds(), 2)
        result = SyncResult(
            customers, accounts, snapshots, seconds, full=walk, events=events, removed=removed
        )
        details = {
            "customers": customers,
            "accounts": accounts,
            "snapshots": snapshots,
            "full": walk,
            "events": events,
            "removed": removed,
        }
        mark_sync(
            svc.engine,
            SYNC_NAME,
            cursor=str(cursor_after),
            last_finished_at=utcnow(),
            details={**details, "seconds": seconds},
        )
        ctx.request_id = svc.gateway.last_request_id
        ctx.params.update(details)
        ctx.message = _sync_message(result)
        report(customers, customers, ctx.message)
        return result

    return audit.guarded(
        svc.engine,
        actor=actor,
        permission="accounts.sync",
        action="accounts.sync",
        target=None,
        params={"full": full},
        idempotency_key=None,
        run=run,
    )


def _sync_message(result: SyncResult) -> str:
    if result.full:
        gone = (
            f" {result.removed} customer(s) deleted in Stripe were removed from the list; their "
            "accounts are kept."
            if result.removed
            else ""
        )
        return (
            f"Synced {result.customers} customers and {result.accounts} accounts "
            f"in {result.seconds} s.{gone}"
        )
    return (
        f"Applied {result.events} changes from Stripe: {result.customers} customers and "
        f"{result.accounts} accounts updated in {result.seconds} s."
    )


def mirrored_account_count(engine: Engine) -> int:
    """How many FC accounts the store holds (a count, no data): the first-run check of pages."""
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(AccountRecord)).one())


def sync_info(svc: Services, actor: Actor) -> SyncInfo:
    require(actor, "accounts.view")
    with session_scope(svc.engine) as session:
        n_accounts = session.exec(select(func.count()).select_from(AccountRecord)).one()
        n_customers = session.exec(select(func.count()).select_from(CustomerRecord)).one()
        state = session.get(SyncState, SYNC_NAME)
        return SyncInfo(
            accounts=int(n_accounts),
            customers=int(n_customers),
            last_finished_at=as_utc(state.last_finished_at) if state else None,
            details=dict(state.details) if state else {},
        )


# --------------------------------------------------------------------------- search


def _hits(session: Session, customers: list[CustomerRecord]) -> list[CustomerHit]:
    ids = [c.id for c in customers]
    counts: dict[str, int] = {}
    if ids:
        rows = session.exec(
            select(AccountRecord.customer_id, func.count())
            .where(col(AccountRecord.customer_id).in_(ids))
            .group_by(col(AccountRecord.customer_id))
        ).all()
        counts = {str(cid): int(n) for cid, n in rows}
    return [
        CustomerHit(
            id=c.id, email=c.email, name=c.name, created=c.created, accounts=counts.get(c.id, 0)
        )
        for c in customers
    ]


def _store_customers(engine: Engine, where: Any, limit: int) -> list[CustomerHit]:
    with session_scope(engine) as session:
        found = session.exec(
            select(CustomerRecord)
            .where(where)
            .order_by(col(CustomerRecord.created).desc())
            .limit(limit)
        ).all()
        return _hits(session, list(found))


def _customers_from_stripe(
    svc: Services, customers: list[dict[str, Any]], limit: int
) -> list[CustomerHit]:
    for customer in customers[:limit]:
        _mirror_customer_accounts(svc, customer)
    ids = [c["id"] for c in customers[:limit]]
    return _store_customers(svc.engine, col(CustomerRecord.id).in_(ids), limit)


def _search_by_id(svc: Services, text: str, limit: int) -> list[CustomerHit]:
    customer_id, _ = parse_id(text, allowed=("customer",))
    try:
        customer = svc.gateway.retrieve_customer(customer_id)
    except NotFound:
        raise NotFound(
            f"Stripe has no customer {customer_id}. Check the ID and the mode (test or live)."
        ) from None
    if customer.get("deleted"):
        raise NotFound(f"The customer {customer_id} was deleted in Stripe.")
    return _customers_from_stripe(svc, [customer], limit)


def _search_by_email(svc: Services, text: str, limit: int) -> list[CustomerHit]:
    if not _EMAIL_RE.match(text):
        raise ValidationError(f"'{text[:80]}' is not a complete email address (name@example.com).")
    hits = _store_customers(svc.engine, CustomerRecord.email_lower == text.lower(), limit)
    if hits:
        return hits
    # The list filter is exact and case-sensitive; Search matches any case but lags writes by
    # up to a minute (reference §1.4), so try the list first, as typed and in lower case (how
    # most emails are stored), and Search last: a customer created a moment ago is still found.
    found = svc.gateway.customers_by_email(text)
    if not found and text != text.lower():
        found = svc.gateway.customers_by_email(text.lower())
    if not found:
        quoted = text.replace("\\", "\\\\").replace("'", "\\'")
        found = svc.gateway.search_customers(f"email:'{quoted}'", limit=limit)
    return _customers_from_stripe(svc, found, limit)


def _not_a_customer_hint(text: str) -> str | None:
    kind = kind_of(text)
    if kind is None or kind == "customer" or " " in text:
        return None
    return (
        f"'{text[:60]}' is a {kind.replace('_', ' ')} ID, not a customer. Use Payment lookup to find "
        "the account behind it."
    )


def search_customers(
    svc: Services, actor: Actor, text: str | None, *, limit: int = 25
) -> list[CustomerHit]:
    """Customers matching a ``cus_`` ID, an email (exact, any case) or part of a name or email."""
    require(actor, "accounts.view")
    term = (text or "").strip()
    if len(term) < 2:
        raise ValidationError(
            "Type at least 2 characters: a customer ID (cus_…), an email, or part of a name."
        )
    hint = _not_a_customer_hint(term)
    if hint:
        raise ValidationError(hint)
    if term.startswith("cus_"):
        return _search_by_id(svc, term, limit)
    if "@" in term:
        return _search_by_email(svc, term, limit)
    needle = term.lower()
    where = or_(
        col(CustomerRecord.name_lower).contains(needle, autoescape=True),
        col(CustomerRecord.email_lower).contains(needle, autoescape=True),
    )
    return _store_customers(svc.engine, where, limit)


# --------------------------------------------------------------------------- listing


@dataclass(frozen=True)
class AccountFilters:
    customer_id: str | None = None
    status: str | None = None
    institution: str | None = None
    permission: str | None = None
    stale_after_seconds: int | None = None
    refresh_failed: bool = False  # the latest balance, ownership or transaction refresh failed
    relink_needed: bool = False  # Stripe announced a deactivation unless the customer relinks


def _validate(filters: AccountFilters) -> None:
    if filters.status and filters.status not in STATUSES:
        raise ValidationError(
            f"Unknown status '{filters.status}'. Use one of: {', '.join(STATUSES)}."
        )
    if filters.permission and filters.permission not in PERMISSIONS:
        raise ValidationError(
            f"Unknown permission '{filters.permission}'. Use one of: {', '.join(PERMISSIONS)}."
        )
    if filters.stale_after_seconds is not None and filters.stale_after_seconds < 0:
        raise ValidationError("The stale-balance age must be zero or more hours.")


def _filtered(stmt: Any, filters: AccountFilters, now: int) -> Any:
    if filters.customer_id:
        stmt = stmt.where(AccountRecord.customer_id == filters.customer_id)
    if filters.status:
        stmt = stmt.where(AccountRecord.status == filters.status)
    if filters.institution:
        stmt = stmt.where(AccountRecord.institution_name == filters.institution)
    if filters.permission:
        stmt = stmt.where(col(AccountRecord.permissions).contains(f",{filters.permission},"))
    if filters.refresh_failed:
        stmt = stmt.where(
            or_(
                col(AccountRecord.balance_refresh_status) == "failed",
                col(AccountRecord.ownership_refresh_status) == "failed",
                col(AccountRecord.transaction_refresh_status) == "failed",
            )
        )
    if filters.relink_needed:
        stmt = stmt.where(col(AccountRecord.relink_required_by).is_not(None))
    if filters.stale_after_seconds is not None:
        # Stale: a balance older than the cutoff, or none yet although balances were granted.
        cutoff = now - int(filters.stale_after_seconds)
        stmt = stmt.where(
            or_(
                col(AccountRecord.balance_as_of) < cutoff,
                (col(AccountRecord.balance_as_of).is_(None))
                & col(AccountRecord.permissions).contains(",balances,"),
            )
        )
    return stmt


_ROW_COLUMNS: tuple[Any, ...] = (
    AccountRecord.id,
    AccountRecord.customer_id,
    CustomerRecord.email,
    CustomerRecord.name,
    AccountRecord.institution_name,
    AccountRecord.display_name,
    AccountRecord.last4,
    AccountRecord.category,
    AccountRecord.subcategory,
    AccountRecord.status,
    AccountRecord.permissions,
    AccountRecord.subscriptions,
    AccountRecord.balance_currency,
    AccountRecord.balance_current,
    AccountRecord.balance_available,
    AccountRecord.balance_as_of,
    AccountRecord.balance_refresh_status,
    AccountRecord.ownership_refresh_status,
    AccountRecord.transaction_refresh_status,
    AccountRecord.created,
    AccountRecord.relink_required_by,
)


def _row(values: Any) -> AccountRow:
    v = list(values)
    return AccountRow(
        id=v[0],
        customer_id=v[1],
        customer_email=v[2],
        customer_name=v[3],
        institution_name=v[4],
        display_name=v[5],
        last4=v[6],
        category=v[7],
        subcategory=v[8],
        status=v[9],
        permissions=_split_set(v[10]),
        subscriptions=_split_set(v[11]),
        balance_currency=v[12],
        balance_current=v[13],
        balance_available=v[14],
        balance_as_of=v[15],
        balance_refresh_status=v[16],
        ownership_refresh_status=v[17],
        transaction_refresh_status=v[18],
        created=int(v[19] or 0),
        relink_required_by=v[20],
    )


def _rows_stmt(filters: AccountFilters, now: int) -> Any:
    stmt = sa_select(*_ROW_COLUMNS).join(
        CustomerRecord, col(CustomerRecord.id) == col(AccountRecord.customer_id), isouter=True
    )
    stmt = _filtered(stmt, filters, now)
    return stmt.order_by(col(AccountRecord.created).desc(), col(AccountRecord.id).desc())


def list_accounts(
    svc: Services,
    actor: Actor,
    *,
    customer_id: str | None = None,
    status: str | None = None,
    institution: str | None = None,
    permission: str | None = None,
    stale_after_seconds: int | None = None,
    refresh_failed: bool = False,
    relink_needed: bool = False,
    page: int = 1,
    page_size: int = 50,
) -> AccountPage:
    """One page of mirrored accounts, newest first; filtering, counting and paging run in SQL."""
    require(actor, "accounts.view")
    filters = AccountFilters(
        customer_id,
        status,
        institution,
        permission,
        stale_after_seconds,
        refresh_failed,
        relink_needed,
    )
    _validate(filters)
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    page = max(1, int(page))
    now = svc.now()
    with session_scope(svc.engine) as session:
        counted = _filtered(select(func.count()).select_from(AccountRecord), filters, now)
        total = int(session.exec(counted).one())
        pages = max(1, -(-total // page_size))
        page = min(page, pages)
        stmt = _rows_stmt(filters, now).offset((page - 1) * page_size).limit(page_size)
        rows = [_row(r) for r in session.execute(stmt).all()]
    return AccountPage(rows=rows, total=total, page=page, page_size=page_size)


def institutions(engine: Engine) -> list[str]:
    """Every institution name in the mirror, for the filter box."""
    with session_scope(engine) as session:
        names = session.exec(select(AccountRecord.institution_name).distinct()).all()
    return sorted(n for n in names if n)


def _csv_value(key: str, row: AccountRow) -> Any:
    if key == "balance_current_minor":
        return row.balance_current
    if key == "balance_available_minor":
        return row.balance_available
    if key in ("permissions", "subscriptions"):
        return " ".join(getattr(row, key))
    if key in ("balance_as_of", "created", "relink_required_by"):
        ts = getattr(row, key)
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ts else ""
    value = getattr(row, key)
    return safe_text(value) if isinstance(value, str) else value  # names come from banks


def iter_accounts_csv(
    engine: Engine, filters: AccountFilters, *, now: int, chunk_rows: int = 2000
) -> Iterator[bytes]:
    """CSV bytes in chunks, read from SQL in batches (never the whole table in memory at once).

    Money stays in minor units with its currency column, so spreadsheets cannot misread it.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=chunk_rows).execute(_rows_stmt(filters, now))
        for partition in result.partitions():
            for values in partition:
                row = _row(values)
                writer.writerow([_csv_value(k, row) for k in CSV_COLUMNS])
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    tail = buffer.getvalue()
    if tail:
        yield tail.encode()


def export_accounts_csv(
    svc: Services,
    actor: Actor,
    *,
    customer_id: str | None = None,
    status: str | None = None,
    institution: str | None = None,
    permission: str | None = None,
    stale_after_seconds: int | None = None,
    refresh_failed: bool = False,
    relink_needed: bool = False,
) -> bytes:
    """The filtered accounts as CSV (UTF-8). Audited, because data leaves the app."""
    filters = AccountFilters(
        customer_id,
        status,
        institution,
        permission,
        stale_after_seconds,
        refresh_failed,
        relink_needed,
    )
    _validate(filters)

    def run(ctx: audit.AuditContext) -> bytes:
        data = b"".join(iter_accounts_csv(svc.engine, filters, now=svc.now()))
        rows = max(0, data.count(b"\n") - 1)
        ctx.params["rows"] = rows
        ctx.message = f"Exported {rows} accounts as CSV."
        return data

    params = {k: v for k, v in filters.__dict__.items() if v is not None and v is not False}
    return audit.guarded(
        svc.engine,
        actor=actor,
        permission="accounts.view",
        action="accounts.export",
        target=None,
        params=params,
        idempotency_key=None,
        run=run,
    )


# --------------------------------------------------------------------------- detail


def refresh_blocker(
    account: Mapping[str, Any], feature: str, *, now: int, actor: Actor | None = None
) -> str | None:
    """Why a refresh of ``feature`` cannot start now, as a sentence; None when it can.

    The role check, then the one rule every page and the batch share
    (:func:`services.rules.refresh_rule.judge`), so the button says why before Stripe is asked.
    """
    if feature not in FEATURES:
        return f"'{feature}' is not a refresh Stripe offers; use one of: {', '.join(FEATURES)}."
    if actor is not None and not actor.can("accounts.refresh"):
        return f"Your role ({actor.role}) may not refresh accounts."
    verdict = refresh_rule.judge(account, feature, now=now)
    return None if verdict.allowed else verdict.reason


def _owners(svc: Services, account: Mapping[str, Any], *, show_pii: bool) -> list[OwnerView]:
    ownership = account.get("ownership")
    if not ownership:
        return []
    if isinstance(ownership, Mapping):
        listing = ownership.get("owners") or {}
        raw = list(listing.get("data") or [])
        if listing.get("has_more"):
            raw = svc.gateway.list_owners(account["id"], str(ownership["id"]))
    else:
        raw = svc.gateway.list_owners(account["id"], str(ownership))
    owners = [
        OwnerView(
            id=o["id"],
            name=o.get("name"),
            email=o.get("email"),
            phone=o.get("phone"),
            raw_address=o.get("raw_address"),
            refreshed_at=o.get("refreshed_at"),
        )
        for o in raw
    ]
    if show_pii:
        return owners
    return [
        replace(o, name=None, email=None, phone=None, raw_address=None, pii_hidden=True)
        for o in owners
    ]


def _customer(svc: Services, customer_id: str | None) -> dict[str, Any] | None:
    if not customer_id:
        return None
    try:
        customer = svc.gateway.retrieve_customer(customer_id)
    except NotFound:
        return None
    if customer.get("deleted"):
        return None
    upsert_customer(svc.engine, customer)
    return customer


def _parse_account_id(account_id: str | None) -> str:
    value, _ = parse_id(account_id, allowed=("financial_connections.account",))
    return value


def require_idempotency_key(key: str | None) -> str:
    """Every state-changing Stripe call carries a key, so a double click or a retry after a
    timeout makes Stripe do it once (reference §1.6)."""
    clean = (key or "").strip()
    if not clean:
        raise ValidationError(
            "An idempotency key is required so a double click or a retry changes Stripe once."
        )
    return clean


def fetch_account(
    svc: Services, account_id: str, *, expand_ownership: bool = False
) -> dict[str, Any]:
    """One FC account from Stripe; an unknown ID is a sentence, not Stripe's raw 404 text."""
    return _retrieve(svc, account_id, expand_ownership=expand_ownership)


def _retrieve(svc: Services, account_id: str, *, expand_ownership: bool = False) -> dict[str, Any]:
    try:
        return svc.gateway.retrieve_account(account_id, expand_ownership=expand_ownership)
    except NotFound as err:
        raise NotFound(
            f"Stripe has no Financial Connections account {account_id}. Check the ID and the mode.",
            request_id=err.request_id,
        ) from None


def _row_for(engine: Engine, account_id: str) -> AccountRow:
    with session_scope(engine) as session:
        values = session.execute(
            sa_select(*_ROW_COLUMNS)
            .join(
                CustomerRecord,
                col(CustomerRecord.id) == col(AccountRecord.customer_id),
                isouter=True,
            )
            .where(col(AccountRecord.id) == account_id)
        ).one()
    return _row(values)


def account_detail(svc: Services, actor: Actor, account_id: str | None) -> AccountDetail:
    """Everything about one account, fresh from Stripe and mirrored; owners' PII only if allowed."""
    require(actor, "accounts.view")
    account_id = _parse_account_id(account_id)
    fresh = _retrieve(svc, account_id, expand_ownership=True)
    show_pii = actor.can("owners.view_pii")
    owners = _owners(svc, fresh, show_pii=show_pii)
    upsert_account(svc.engine, fresh)
    account = normalise_account(fresh)
    customer = _customer(svc, (account.get("account_holder") or {}).get("customer"))
    with session_scope(svc.engine) as session:
        snapshots = list(
            session.exec(
                select(BalanceSnapshot)
                .where(BalanceSnapshot.account_id == account_id)
                .order_by(col(BalanceSnapshot.as_of).desc())
                .limit(50)
            ).all()
        )
    now = svc.now()
    return AccountDetail(
        account=account,
        row=_row_for(svc.engine, account_id),
        customer=customer,
        owners=owners,
        owners_hidden=bool(owners) and not show_pii,
        snapshots=snapshots,
        blockers={f: refresh_blocker(account, f, now=now, actor=actor) for f in FEATURES},
    )


# --------------------------------------------------------------------------- refresh


def _state(account: Mapping[str, Any], feature: str) -> RefreshState:
    current = _refresh(account, feature)
    return RefreshState(
        feature=feature,
        status=current.get("status"),
        last_attempted_at=current.get("last_attempted_at"),
        next_refresh_available_at=current.get("next_refresh_available_at"),
        account=normalise_account(account),
    )


def _ask_stripe_to_refresh(
    svc: Services, account_id: str, feature: str, idempotency_key: str
) -> dict[str, Any]:
    """The refresh call; Stripe's refusal (HTTP 400) becomes RefreshNotAllowed with its sentence."""
    try:
        return svc.gateway.refresh_account(account_id, [feature], idempotency_key=idempotency_key)
    except StripeRequestError as err:
        raise RefreshNotAllowed(
            f"Stripe refused the {feature} refresh: {err}", request_id=err.request_id
        ) from None


def refresh(
    svc: Services,
    actor: Actor,
    account_id: str | None,
    feature: str,
    *,
    idempotency_key: str,
) -> dict[str, Any]:
    """Start a balance, ownership or transactions refresh; audited as ``account.refresh``.

    The one rule (:mod:`services.rules.refresh_rule`) is checked first on a fresh copy of the
    account, so the person gets a sentence saying until when and no request is sent that
    Stripe would not act on. Stripe's answer is then judged by the account it returns: a
    refresh it did not start (no new pending refresh) raises RefreshNotAllowed and is audited
    as an error, never reported as started; a refusal carries Stripe's own sentence.
    """
    if feature not in FEATURES:
        raise ValidationError(
            f"'{feature}' is not a refresh Stripe offers; use one of: {', '.join(FEATURES)}."
        )
    account_id = _parse_account_id(account_id)
    idempotency_key = require_idempotency_key(idempotency_key)

    def run(ctx: audit.AuditContext) -> dict[str, Any]:
        account = _retrieve(svc, account_id)
        upsert_account(svc.engine, account)
        blocker = refresh_blocker(account, feature, now=svc.now())
        if blocker:
            raise RefreshNotAllowed(blocker)
        result = _ask_stripe_to_refresh(svc, account_id, feature, idempotency_key)
        ctx.request_id = svc.gateway.last_request_id
        upsert_account(svc.engine, result)
        status = _refresh(result, feature).get("status") or "unknown"
        ctx.params["status"] = status
        if not refresh_rule.started(account, result, feature):
            raise RefreshNotAllowed(
                refresh_rule.not_started_reason(result, feature, now=svc.now()),
                request_id=svc.gateway.last_request_id,
            )
        ctx.message = f"{feature.capitalize()} refresh started ({status})."
        return normalise_account(result)

    return audit.guarded(
        svc.engine,
        actor=actor,
        permission="accounts.refresh",
        action="account.refresh",
        target=account_id,
        params={"feature": feature},
        idempotency_key=idempotency_key,
        run=run,
    )


def _record_result(svc: Services, actor: Actor, account_id: str, state: RefreshState) -> None:
    """One ``account.refresh.result`` row per finished refresh attempt, however often it is polled.

    A refresh attempt is identified by its account, feature and ``last_attempted_at``; that key
    goes in the row's idempotency-key column so a repeat poll finds it and writes nothing.
    """
    attempt_key = f"result:{account_id}:{state.feature}:{state.last_attempted_at}"
    with session_scope(svc.engine) as session:
        seen = session.exec(
            select(AuditEntry.id).where(
                AuditEntry.action == "account.refresh.result",
                AuditEntry.idempotency_key == attempt_key,
            )
        ).first()
    if seen is not None:
        return
    audit.record(
        svc.engine,
        actor=actor,
        action="account.refresh.result",
        target=account_id,
        outcome="ok" if state.status == "succeeded" else "error",
        params={"feature": state.feature, "status": state.status},
        message=f"{state.feature.capitalize()} refresh {state.status}.",
        stripe_request_id=svc.gateway.last_request_id,
        idempotency_key=attempt_key,
    )


def refresh_status(
    svc: Services, actor: Actor, account_id: str | None, feature: str
) -> RefreshState:
    """The current state of a refresh, for polling; mirrors the account and its balance.

    When a polled refresh has finished, its outcome is written to the audit log once
    (``account.refresh.result``), so the log says what each refresh achieved, not only who
    started it.
    """
    require(actor, "accounts.view")
    if feature not in FEATURES:
        raise ValidationError(
            f"'{feature}' is not a refresh Stripe offers; use one of: {', '.join(FEATURES)}."
        )
    account_id = _parse_account_id(account_id)
    account = _retrieve(svc, account_id)
    upsert_account(svc.engine, account)
    state = _state(account, feature)
    if state.status in ("succeeded", "failed") and state.last_attempted_at:
        _record_result(svc, actor, account_id, state)
    return state


# --------------------------------------------------------------------------- lookup


_KIND_LABELS = {
    "payment_intent": "PaymentIntent",
    "setup_intent": "SetupIntent",
    "payment_method": "PaymentMethod",
    "financial_connections.account": "Financial Connections account",
    "customer": "customer",
}


def lookup(svc: Services, actor: Actor, text: str | None) -> Resolution:
    """Resolve a pasted PI/SI/PM/fca/cus ID to its FC account(s), mirroring what it finds."""
    require(actor, "accounts.view")
    object_id, kind = parse_id(text, allowed=LOOKUP_KINDS)
    try:
        resolution = resolve(svc.gateway, object_id)
    except NotFound as err:
        raise NotFound(
            f"Stripe has no {_KIND_LABELS.get(kind, kind)} {object_id}, or nothing it points "
            "to. Check the ID and that it is from this mode (test or live).",
            request_id=err.request_id,
        ) from None
    for account in [resolution.account, *resolution.accounts]:
        if account:
            upsert_account(svc.engine, account)
    if kind == "customer":
        count = len(resolution.accounts)
        noun = "linked bank account" if count == 1 else "linked bank accounts"
        message = re.sub(r"\d+ linked account\(s\)", f"{count} {noun}", resolution.message)
        resolution = replace(resolution, message=message)
    return resolution


def forget_unseen_customers(engine: Engine, seen: set[str]) -> int:
    """After a walk that reached the end: forget the mirrored customers it did not see (deleted
    in Stripe), as :func:`_walk` does; the background job's walk calls this. Returns how many."""

    def forget_unseen(session: Session) -> int:
        gone = set(session.exec(select(CustomerRecord.id)).all()) - seen
        _forget_customers(session, gone)
        return len(gone)

    removed: int = retrying(engine, forget_unseen)
    return removed
