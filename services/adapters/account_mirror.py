"""The store's mirror of customers and their FC accounts: upserts, events, queries.
(The mirrored customers are searched in :mod:`services.adapters.customer_search`.)

Stripe has no "list every FC account" call and no server-side filters beyond the holder, so the
browser reads this mirror. The sync use case fills it; every use case that touches an account
(detail, refresh, lookup, debit checks) upserts what it saw. Paging, filtering and CSV export
run in SQL here, so tens of thousands of accounts stay cheap.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import delete as sa_delete
from sqlalchemy import or_
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from services.adapters import balance_attention, data_version
from services.adapters.balance_snapshots import record_snapshots
from services.adapters.models import AccountRecord, BalanceSnapshot, CustomerRecord, utcnow
from services.adapters.store import UpsertCounts, retrying, session_scope, upsert
from services.context import Services
from services.rules.bank_account import (
    EVENT_STAMP,
    AccountFilters,
    AccountRow,
    BalancePoint,
    flatten_account,
    flatten_customer,
    newer_copy_wins,
    split_set,
)
from services.rules.stripe_api import rendered_elsewhere

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

# The list is ordered newest first; without this index every page (and deep OFFSET pages
# most) sorts the whole table. services/adapters/models.py is shared, so the index is declared
# there and created idempotently by :func:`ensure_indexes` (see bench/bench_accounts.py).
_TABLE: Any = AccountRecord.__table__  # type: ignore[attr-defined]
CREATED_INDEX = next(i for i in _TABLE.indexes if i.name == "ix_fca_created_id")


def ensure_indexes(engine: Engine) -> None:
    """Create the browser's extra indexes if they are missing (safe to call any time)."""
    CREATED_INDEX.create(bind=engine, checkfirst=True)


# --------------------------------------------------------------------------- upserts


def _put(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> UpsertCounts:
    """Insert or update mirrored rows by ID; ``synced_at`` moves only when something changed."""
    return upsert(session, model, rows, touch={"synced_at": utcnow()})


def read_mark(engine: Engine) -> int:
    """The store's mark to take *before* reading accounts from Stripe, and to hand to the write
    of what was read (``read_began``): the accounts data version, which every account write
    bumps in its own transaction (:func:`services.adapters.data_version.bump`).

    Stripe gives a copy no read time, and its refresh clocks do not show a status or permission
    change (:func:`services.rules.bank_account.read_earlier`): a walk that listed an account as
    active, written after the ``disconnected`` event was applied, put "active" back until the
    next event or sync. Each event's write records the version it made on the rows it changed
    (``event_mark``); a copy read after this mark was taken is written only over rows whose
    ``event_mark`` is at most it, compared inside the write (:func:`store.upsert`'s ``guard``).
    An event applied before the mark was taken was created in Stripe before the read began, so
    the read shows it; one applied after may not, and its row is left as it is. One counter in
    the store, so it holds across processes and hosts whatever their clocks."""
    return data_version.read(engine, data_version.ACCOUNTS)


def _mirror(
    session: Session,
    accounts: Sequence[Mapping[str, Any]],
    *,
    stamps: Mapping[str, int] | None = None,
    read_began: int | None = None,
    events: Collection[str] = (),
    balances: Sequence[tuple[str, Mapping[str, Any]]] = (),
) -> int:
    """Upsert accounts, record their balances and ``balances``; returns how many were new.
    ``stamps`` (account ID -> event ``created``) marks copies taken from events; see
    :func:`services.rules.bank_account.newer_copy_wins`. The other copies were read from Stripe
    after :func:`read_mark` returned ``read_began`` (None: not known, as before marks); ``events``
    names those read because of an event (a re-read), whose rows are marked as an event's.
    One upsert in key order writes both (the guard holds back the reads alone), one insert the
    balances: a pass per kind, each sorted, locked two batches' accounts in opposite orders
    (X a copy and Y a re-read, and the reverse) and PostgreSQL aborted one as a deadlock.
    """
    stamps = stamps or {}
    rows = [flatten_account(a) for a in accounts]
    for row in rows:
        if row["id"] in stamps:
            row["raw"] = {**row["raw"], EVENT_STAMP: int(stamps[row["id"]])}
    touch = {"synced_at": utcnow()}
    guard = None if read_began is None else ("event_mark", int(read_began))
    written = upsert(
        session, AccountRecord, rows, touch=touch, merge=newer_copy_wins, guard=guard,
        unguarded=stamps.keys(),  # an event's copy: its stamp decides (newer_copy_wins)
    )
    added = record_snapshots(session, [*((r["id"], r["raw"].get("balance")) for r in rows), *balances])
    if written.inserted or written.updated:
        # Last: the counter row stays locked until commit, and every account write bumps it
        # (concurrent webhook events queued on it for the rest of their transaction on PG).
        version = data_version.bump(session, data_version.ACCOUNTS)  # pages' counts are stale
        marked = sorted(written.written & {*stamps, *events})  # rows this transaction locked
        if marked:
            session.execute(
                sa_update(_TABLE).where(_TABLE.c.id.in_(marked)).values(event_mark=version)
            )
    return added


def upsert_account(
    engine: Engine,
    account: Mapping[str, Any],
    *,
    read_began: int | None = None,
    event: bool = False,
) -> AccountRecord:
    """Mirror one Stripe FC account and keep its balance in the history; safe to call repeatedly.

    Other use cases (finance checks, collection) call this for every account they see.
    ``read_began``: :func:`read_mark` taken before the account was read (see there); ``event``:
    it was read because of an event (the row is marked as that event's).
    """

    def work(session: Session) -> AccountRecord:
        _mirror(
            session, [account], read_began=read_began, events={str(account["id"])} if event else ()
        )
        row = session.get(AccountRecord, str(account["id"]))
        assert row is not None  # just written in this transaction
        return row

    row: AccountRecord = retrying(engine, work)
    return row


def upsert_customer(engine: Engine, customer: Mapping[str, Any]) -> CustomerRecord:
    def work(session: Session) -> CustomerRecord:
        _put(session, CustomerRecord, [flatten_customer(customer)])
        row = session.get(CustomerRecord, str(customer["id"]))
        assert row is not None  # just written in this transaction
        return row

    row: CustomerRecord = retrying(engine, work)
    return row


def upsert_customers(engine: Engine, customers: Sequence[Mapping[str, Any]]) -> int:
    """Mirror customers in one transaction (one bulk upsert); returns how many were written."""
    if not customers:
        return 0
    rows = [flatten_customer(c) for c in customers]
    counts: UpsertCounts = retrying(engine, lambda session: _put(session, CustomerRecord, rows))
    return counts.inserted + counts.updated


def mirror_customer_accounts(svc: Services, customer: Mapping[str, Any]) -> tuple[int, int]:
    """Mirror a customer and all their accounts in one transaction; (accounts, snapshots)."""
    began = read_mark(svc.engine)  # before the list call
    accounts = svc.gateway.list_accounts(customer=customer["id"])
    return mirror_customers(svc.engine, [(customer, accounts)], read_began=began)


def mirror_customers(
    engine: Engine,
    listed: Sequence[tuple[Mapping[str, Any], Sequence[Mapping[str, Any]]]],
    *,
    read_began: int | None = None,
) -> tuple[int, int]:
    """Customers with all their accounts in one transaction of bulk upserts; (accounts, snapshots).
    ``read_began``: :func:`read_mark` taken before the first list call."""

    def work(session: Session) -> int:
        _put(session, CustomerRecord, [flatten_customer(c) for c, _ in listed])
        accounts = [a for _, accounts in listed for a in accounts]
        return _mirror(session, accounts, read_began=read_began)

    snapshots: int = retrying(engine, work)
    return sum(len(accounts) for _, accounts in listed), snapshots


def forget_customers(session: Session, customer_ids: set[str]) -> None:
    """Remove deleted customers from the mirror, so search no longer finds them.

    Their FC accounts are left as they are (still holding the customer ID): Stripe keeps the
    accounts, later account events still update them, and the accounts list shows them without
    a name or email.
    """
    if customer_ids:
        session.execute(
            sa_delete(CustomerRecord).where(col(CustomerRecord.id).in_(sorted(customer_ids)))
        )


def forget_customers_except(engine: Engine, seen: set[str], *, created_by: int) -> int:
    """After a complete walk: forget every mirrored customer the walk did not see and Stripe
    created by ``created_by`` (the newest event's ``created`` when the walk began).

    A customer made while the walk ran (Collect's "New customer", or its ``customer.created``
    event) was not on the pages already read, yet is no deleted customer: it is kept, unless
    made within the second of that newest event (Stripe's clock counts whole seconds)."""

    def work(session: Session) -> int:
        stored = set(
            session.exec(
                select(CustomerRecord.id).where(col(CustomerRecord.created) <= created_by)
            ).all()
        )
        gone = stored - seen
        forget_customers(session, gone)
        return len(gone)

    removed: int = retrying(engine, work)
    return removed


def known_customers(engine: Engine, wanted: set[str]) -> set[str]:
    with session_scope(engine) as session:
        return set(
            session.exec(
                select(CustomerRecord.id).where(col(CustomerRecord.id).in_(sorted(wanted)))
            ).all()
        )


# --------------------------------------------------------------------------- events


def _event_object(event: Mapping[str, Any]) -> Mapping[str, Any]:
    data = event.get("data") or {}
    obj = data.get("object") if isinstance(data, Mapping) else None
    return obj if isinstance(obj, Mapping) and obj.get("id") else {}


@dataclass
class Changes:
    """The newest snapshot of each customer and account the events named (oldest applied first)."""

    customers: dict[str, Mapping[str, Any]]
    accounts: dict[str, Mapping[str, Any]]
    balances: list[tuple[str, Mapping[str, Any]]]  # every balance seen, for the history
    stamps: dict[str, int] = field(default_factory=dict)  # account ID -> its event's created
    deleted: set[str] = field(default_factory=set)  # customers deleted in Stripe
    # ID -> "customer" or "account": named only by events rendered in another API version
    reread: dict[str, str] = field(default_factory=dict)
    read_began: int | None = None  # read_mark() taken before those accounts were read again


def oldest_first(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Events by ``created``, oldest first; Stripe lists newest first, so ties keep its order."""
    return sorted(reversed(events), key=lambda e: int(e.get("created") or 0))


def changes_in(events: Sequence[Mapping[str, Any]]) -> Changes:
    changes = Changes({}, {}, [])
    for event in oldest_first(events):  # the newest snapshot of each object must win
        obj, kind = _event_object(event), str(event.get("type") or "")
        if not obj:
            continue
        oid = str(obj["id"])
        if kind != "customer.deleted" and rendered_elsewhere(event):  # its copy may lack fields
            changes.reread[oid] = "customer" if kind in CUSTOMER_EVENTS else "account"
        elif kind == "customer.deleted":
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


def apply_events(engine: Engine, events: Sequence[Mapping[str, Any]]) -> tuple[int, int, int]:
    """Apply customer and account events to the mirror in one transaction, oldest first.

    ``customer.deleted`` removes the customer (see :func:`forget_customers`); an account copy
    older than the event the stored row last applied is skipped (``newer_copy_wins``).
    Returns (customers upserted or removed, accounts named, new balance snapshots). Holders
    missing from the mirror are not fetched here; the sync use case does that first.
    """
    return apply_changes(engine, changes_in(events))


def apply_changes(engine: Engine, changes: Changes) -> tuple[int, int, int]:
    def work(session: Session) -> int:
        customers = sorted(changes.customers.items())  # in key order, as the accounts are
        _put(session, CustomerRecord, [flatten_customer(c) for _, c in customers])
        forget_customers(session, changes.deleted)
        # The mirror write last: it ends with the data-version bump (see _mirror). Every
        # account here was named by an event, its copy read again or not.
        accounts = list(changes.accounts.values())
        return _mirror(
            session, accounts, stamps=changes.stamps, read_began=changes.read_began,
            events=changes.accounts.keys(), balances=changes.balances,
        )

    snapshots: int = retrying(engine, work)
    customers = len(changes.customers) + len(changes.deleted)
    return customers, len(changes.accounts), snapshots


# --------------------------------------------------------------------------- reads


def mirrored_account_count(engine: Engine) -> int:
    """How many FC accounts the store holds (a count, no data): the first-run check of pages."""
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(AccountRecord)).one())


def mirrored_customer_count(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(CustomerRecord)).one())


def filtered(stmt: Any, filters: AccountFilters, now: int) -> Any:
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
    if filters.balance:  # what Home's finance cards count, by the same condition
        age = int(filters.balance_max_age_seconds or 0)
        stmt = stmt.where(balance_attention.balance_filter(filters.balance, now - age))
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


# AccountRow's fields, declared in the order of _ROW_COLUMNS.
_ROW_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(AccountRow))
assert len(_ROW_FIELDS) == len(_ROW_COLUMNS)


def to_row(values: Any) -> AccountRow:
    data = dict(zip(_ROW_FIELDS, values, strict=True))
    data["permissions"] = split_set(data["permissions"])
    data["subscriptions"] = split_set(data["subscriptions"])
    data["created"] = int(data["created"] or 0)
    return AccountRow(**data)


def _joined() -> Any:
    return sa_select(*_ROW_COLUMNS).join(
        CustomerRecord, col(CustomerRecord.id) == col(AccountRecord.customer_id), isouter=True
    )


def rows_stmt(filters: AccountFilters, now: int) -> Any:
    stmt = filtered(_joined(), filters, now)
    return stmt.order_by(col(AccountRecord.created).desc(), col(AccountRecord.id).desc())


def count_rows(engine: Engine, filters: AccountFilters, now: int) -> int:
    with session_scope(engine) as session:
        counted = filtered(select(func.count()).select_from(AccountRecord), filters, now)
        return int(session.exec(counted).one())


# Orders the account list offers (by the name the page keeps in its URL): name -> (column,
# descending). Accounts without the value come last; ties fall back to newest first.
SORT_COLUMNS: dict[str, tuple[Any, bool]] = {
    "balance_desc": (AccountRecord.balance_current, True),
    "balance_asc": (AccountRecord.balance_current, False),
    "available_desc": (AccountRecord.balance_available, True),
    "available_asc": (AccountRecord.balance_available, False),
    "age_desc": (AccountRecord.balance_as_of, False),  # oldest as_of = greatest age
    "age_asc": (AccountRecord.balance_as_of, True),
}


def account_order(sort: str | None) -> list[Any]:
    """ORDER BY terms for ``sort`` (a SORT_COLUMNS name; anything else: newest first)."""
    newest = [col(AccountRecord.created).desc(), col(AccountRecord.id).desc()]
    if sort not in SORT_COLUMNS:
        return newest
    column, descending = SORT_COLUMNS[sort]
    # NULLs last on SQLite and PostgreSQL alike (their defaults differ).
    return [col(column).is_(None), col(column).desc() if descending else col(column).asc(), *newest]


def read_rows(
    engine: Engine,
    filters: AccountFilters,
    now: int,
    *,
    offset: int,
    limit: int,
    sort: str | None = None,
) -> list[AccountRow]:
    with session_scope(engine) as session:
        stmt = rows_stmt(filters, now).order_by(None).order_by(*account_order(sort))
        stmt = stmt.offset(offset).limit(limit)
        return [to_row(r) for r in session.execute(stmt).all()]


def row_for(engine: Engine, account_id: str) -> AccountRow:
    with session_scope(engine) as session:
        values = session.execute(_joined().where(col(AccountRecord.id) == account_id)).one()
    return to_row(values)


def institutions(engine: Engine) -> list[str]:
    """Every institution name in the mirror, for the filter box."""
    with session_scope(engine) as session:
        names = session.exec(select(AccountRecord.institution_name).distinct()).all()
    return sorted(n for n in names if n)


def balance_history(engine: Engine, account_id: str, *, limit: int = 50) -> list[BalancePoint]:
    """The newest balances recorded for an account, newest first."""
    with session_scope(engine) as session:
        found = session.exec(
            select(BalanceSnapshot)
            .where(BalanceSnapshot.account_id == account_id)
            .order_by(col(BalanceSnapshot.as_of).desc())
            .limit(limit)
        ).all()
        return [BalancePoint(s.as_of, s.currency, s.current, s.available) for s in found]
