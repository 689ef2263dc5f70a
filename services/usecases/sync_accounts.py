"""Sync accounts: bring the store's mirror of customers and FC accounts up to date from Stripe.

The first run (and ``full=True``, or a cursor older than Stripe keeps events) walks every
customer, one request each; later runs replay the customer and account events since the
cursor. Audited as ``accounts.sync``; needs ``accounts.sync``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime
from functools import partial
from typing import Any

from services import audit
from services.adapters import account_mirror as mirror
from services.adapters.backoff import REQUEST_RETRY, Backoff, patiently
from services.adapters.models import SyncState, utcnow
from services.adapters.store import mark_finished, mark_sync, read_sync_cursor, session_scope
from services.auth import Actor, require, signed_in
from services.context import Services
from services.errors import NotFound
from services.rules.bank_account import SyncInfo, SyncResult, flatten_account
from services.rules.clock import as_utc
from services.rules.wording import counted

SYNC_NAME = "accounts"
# Stripe keeps events for 30 days (reference §2.11); a cursor older than that (less a day of
# margin, so the oldest events cannot expire while we page through them) means a full walk.
EVENT_RETENTION_SECONDS = 30 * 86_400
CURSOR_MAX_AGE_SECONDS = EVENT_RETENTION_SECONDS - 86_400

Progress = Callable[[int, int | None, str], None]
CHUNK_THREADS = 8  # account lists of one chunk fetched at once
# The threads that fetch chunks' account lists: one pool per process, shared by its chunks and
# kept, as the SDK transport keeps one keep-alive connection per thread (a pool per chunk opened
# 8 new connections per chunk, and the server a thread for each). Its size comes from the caller
# (the job engine sizes it for the Stripe rate); every chunk's lists share it.
_fetch_pool: tuple[int, ThreadPoolExecutor] | None = None  # (size, pool)
_fetch_pool_lock = threading.Lock()
# One customer's list inside a chunk is retried on its own (after the gateway's own 429 back-off),
# so one failed request does not make the chunk start over and repeat its other requests.
def _accounts_of(svc: Services, customer: Mapping[str, Any]) -> list[dict[str, Any]]:
    return patiently(lambda: svc.gateway.list_accounts(customer=str(customer["id"])))


def _fetch_all(
    svc: Services, customers: Sequence[Mapping[str, Any]], size: int
) -> list[list[dict[str, Any]]]:
    """Each customer's accounts, fetched on the process's pool of ``size`` threads."""
    global _fetch_pool
    with _fetch_pool_lock:  # submitted under the lock: a resize cannot shut the pool in between
        if _fetch_pool is None or _fetch_pool[0] != size:
            if _fetch_pool is not None:  # another size asked for: the old one finishes its work
                _fetch_pool[1].shutdown(wait=False)
            _fetch_pool = (size, ThreadPoolExecutor(size, thread_name_prefix="fcops-fetch"))
        pool = _fetch_pool[1]
        futures = [pool.submit(_accounts_of, svc, customer) for customer in customers]
    wait(futures)  # all of them, as a pool per chunk did, before any failure is raised
    return [future.result() for future in futures]


def mirror_chunk(
    svc: Services, customers: Sequence[Mapping[str, Any]], *, threads: int = CHUNK_THREADS
) -> int:
    """A chunk of customers: their account lists fetched concurrently on the process's fetch
    pool of ``threads`` (one request each, unless a customer holds over 100 accounts), then all
    written in one transaction of bulk upserts. Returns how many accounts they hold."""
    if not customers:
        return 0
    began = mirror.read_mark(svc.engine)  # before the list calls: see mirror.read_mark
    lists = _fetch_all(svc, customers, threads)
    listed = list(zip(customers, lists, strict=True))
    accounts, _ = mirror.mirror_customers(svc.engine, listed, read_began=began)
    return accounts


def _newest_event_created(svc: Services) -> int:
    """When the newest account or customer event happened (one request: lists are newest first).

    Read *before* a full walk, so anything that changes during the walk is replayed next time.
    """
    for event in svc.gateway.iter_events(types=mirror.SYNC_EVENTS):
        return int(event["created"])
    return svc.now()


def _walk(svc: Services, report: Progress, began: int) -> tuple[int, int, int, int]:
    """Every customer and each one's accounts: one request per customer, so only when needed.

    A walk that reached the end has seen every customer Stripe has, so the mirror's customers
    it did not see were deleted in Stripe (while nobody replayed their ``customer.deleted``)
    and are forgotten as that event would. Returns (customers, accounts, snapshots, customers
    removed).
    """
    customers = accounts = snapshots = 0
    seen: set[str] = set()
    report(0, None, "Reading customers from Stripe…")
    for customer in svc.gateway.iter_customers():
        n_accounts, n_snapshots = mirror.mirror_customer_accounts(svc, customer)
        seen.add(str(customer["id"]))
        customers += 1
        accounts += n_accounts
        snapshots += n_snapshots
        report(customers, None, f"{customers:,} customers, {accounts:,} accounts")
    removed = mirror.forget_customers_except(svc.engine, seen, created_by=began)
    return customers, accounts, snapshots, removed


def _missing_holders(svc: Services, changes: mirror.Changes, retry: Backoff | None) -> None:
    """Fetch the customers of changed accounts that neither the mirror nor the events hold."""
    holders = {flatten_account(a)["customer_id"] for a in changes.accounts.values()}
    wanted = {h for h in holders if h and h not in changes.customers and h not in changes.deleted}
    if not wanted:
        return
    known = mirror.known_customers(svc.engine, wanted)
    for customer_id in sorted(wanted - known):
        try:
            customer = patiently(partial(svc.gateway.retrieve_customer, customer_id), retry)
        except NotFound:
            continue
        if not customer.get("deleted"):
            changes.customers[customer_id] = customer


def reread(svc: Services, changes: mirror.Changes, retry: Backoff | None = REQUEST_RETRY) -> None:
    """Read again what events rendered in another API version named (``Changes.reread``): their
    copies may lack fields this version has, the object as Stripe has it now does not. The
    accounts read are written only over rows no event changed since (``changes.read_began``)."""
    if "account" in changes.reread.values() and changes.read_began is None:
        changes.read_began = mirror.read_mark(svc.engine)  # before the first account is read
    for oid, kind in sorted(changes.reread.items()):
        fetch = svc.gateway.retrieve_customer if kind == "customer" else svc.gateway.retrieve_account
        try:
            obj = patiently(partial(fetch, oid), retry)
        except NotFound:
            continue
        if kind == "customer" and obj.get("deleted"):
            changes.customers.pop(oid, None)
            changes.deleted.add(oid)
        elif kind == "customer":
            changes.customers[oid] = obj
        else:  # as Stripe has it now: newer than any event's copy, so no event stamp
            changes.accounts[oid] = obj
            changes.stamps.pop(oid, None)
            if obj.get("balance"):
                changes.balances.append((oid, obj["balance"]))


def _replay(
    svc: Services, cursor: int, report: Progress, retry: Backoff | None
) -> tuple[int, int, int, int, int]:
    """Upsert what the events since ``cursor`` name; (customers, accounts, snapshots, events, newest)."""
    report(0, None, "Reading changes from Stripe…")
    events = list(
        svc.gateway.iter_events(types=mirror.SYNC_EVENTS, created_gte=cursor, page_retry=retry)
    )
    report(0, None, f"{len(events):,} changes to apply")
    changes = mirror.changes_in(events)
    reread(svc, changes, retry)
    _missing_holders(svc, changes, retry)
    customers, n_accounts, snapshots = mirror.apply_changes(svc.engine, changes)
    newest = max((int(e["created"]) for e in events), default=cursor)
    return customers, n_accounts, snapshots, len(events), newest


def sync_accounts(
    svc: Services,
    actor: Actor,
    *,
    progress: Progress | None = None,
    full: bool = False,
    patient: bool = False,
) -> SyncResult:
    """Bring the mirror of customers and their FC accounts up to date; re-running only upserts.

    ``progress(done, total, message)`` is called as work is done; Stripe gives no total count
    for lists, so ``total`` is None until it is known. ``patient`` (the job's changes-only
    sync) asks again for an events page or customer Stripe failed to answer, as the intent
    sync's job does.
    """
    report = progress or (lambda done, total, message: None)
    retry = REQUEST_RETRY if patient else None
    with audit.audited(
        svc.engine, actor=actor, action="accounts.sync", params={"full": full}
    ) as ctx:
        require(actor, "accounts.sync")
        started = datetime.now(UTC)
        mirror.ensure_indexes(svc.engine)
        mark_sync(svc.engine, SYNC_NAME, last_started_at=utcnow())
        cursor = None if full else read_sync_cursor(svc.engine, SYNC_NAME)
        walk = needs_walk(svc, cursor)
        events = removed = 0
        if walk:
            cursor_after = _newest_event_created(svc)
            customers, accounts, snapshots, removed = _walk(svc, report, cursor_after)
        else:
            assert cursor is not None
            customers, accounts, snapshots, events, cursor_after = _replay(
                svc, cursor, report, retry
            )
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
        mark_finished(svc.engine, SYNC_NAME, str(cursor_after), details, seconds)
        ctx.request_id = svc.gateway.last_request_id
        ctx.params.update(details)
        ctx.message = sync_message(result)
        report(customers, customers, ctx.message)
    return result


def needs_walk(svc: Services, cursor: int | None) -> bool:
    """Whether a sync from ``cursor`` must walk every customer: there is none, or it is older
    than the events Stripe keeps (the changes since it can no longer all be read)."""
    return cursor is None or cursor < svc.now() - CURSOR_MAX_AGE_SECONDS


def sync_message(result: SyncResult) -> str:
    if result.full:
        gone = (
            f" {counted(result.removed, 'customer')} deleted in Stripe "
            f"{'was' if result.removed == 1 else 'were'} removed from the list; "
            f"{'its' if result.removed == 1 else 'their'} accounts are kept."
            if result.removed
            else ""
        )
        return (
            f"Synced {counted(result.customers, 'customer')} and "
            f"{counted(result.accounts, 'account')} "
            f"in {result.seconds} s.{gone}"
        )
    return (
        f"Applied {counted(result.events, 'change')} from Stripe: "
        f"{counted(result.customers, 'customer')} and {counted(result.accounts, 'account')} "
        f"updated in {result.seconds} s."
    )


def needs_first_sync(svc: Services, actor: Actor) -> bool:
    """True when the store holds no account yet and this actor may fill it (first run of a page)."""
    return signed_in(actor).can("accounts.sync") and mirror.mirrored_account_count(svc.engine) == 0


def sync_info(svc: Services, actor: Actor) -> SyncInfo:
    require(actor, "accounts.view")
    with session_scope(svc.engine) as session:
        state = session.get(SyncState, SYNC_NAME)
        last = as_utc(state.last_finished_at) if state else None
        details = dict(state.details) if state else {}
    return SyncInfo(
        accounts=mirror.mirrored_account_count(svc.engine),
        customers=mirror.mirrored_customer_count(svc.engine),
        last_finished_at=last,
        details=details,
    )
