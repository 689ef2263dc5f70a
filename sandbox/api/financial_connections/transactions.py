"""Transactions (reference §2.3, §4): listed only after a transaction refresh succeeded; each
refresh posts older pending rows and brings a few new ones under its ``fctxnref_`` id, so
``transaction_refresh[after]`` returns exactly what changed. Big seeded worlds load an
account's history lazily, on first read (:func:`register_transaction_loader`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sandbox import objects
from sandbox.api.financial_connections import (
    CODE_NO_TRANSACTION_REFRESH,
    DAY,
    TRANSACTION,
    Obj,
    account_of,
)
from sandbox.core import (
    Request,
    State,
    StripeError,
    missing,
    not_found,
    range_filter,
    register_index,
    route,
)

# Builds an account's stored history, given the id of the refresh that brought it.
Loader = Callable[[str | None], Iterable[Obj]]
register_index(TRANSACTION, "account")


@dataclass
class _Transactions:
    # fctxnref_ id → sequence number (order of refreshes, for transaction_refresh[after])
    refresh_seq: dict[str, int] = field(default_factory=dict)
    loaders: dict[str, Loader] = field(default_factory=dict)  # fca id → its lazy history
    # accounts with at least one succeeded transaction refresh: only those list transactions
    ready: set[str] = field(default_factory=set)


def _private(state: State) -> _Transactions:
    return state.private("fc_transactions", _Transactions)


def new_refresh_id(state: State) -> str:
    """A new ``fctxnref_`` id, later in the refresh order than every earlier one."""
    refresh_seq = _private(state).refresh_seq
    ref = state.new_id("fctxnref_")
    refresh_seq[ref] = len(refresh_seq) + 1
    return ref


def register_transaction_loader(state: State, account_id: str, loader: Loader) -> None:
    """Defer an account's transactions until first read (keeps big worlds fast to start).

    ``loader(ref)`` yields transaction objects made under ``ref``, the account's
    ``transaction_refresh.id`` when they are first read (lazily: each is stored before the
    next is made). The transactions came from a refresh, so the account counts as having had
    a successful one.
    """
    priv = _private(state)
    priv.loaders[account_id] = loader
    priv.ready.add(account_id)


def account_transactions(state: State, account_id: str) -> list[Obj]:
    """The account's transactions in the order they were stored (refreshes walk them so)."""
    _materialize(state, account_id)
    found = state.view(TRANSACTION, where={"account": account_id}).all()
    return state.insertion_order(found)


def refresh_transactions(state: State, account: Obj, now: int, ref: str, n: int) -> None:
    """Post older pending rows and add a few new ones, all under the new refresh ``ref``."""
    rng = state.rng("transactions", account["id"], n)
    for txn in account_transactions(state, account["id"]):
        if txn["status"] == "pending" and (now - txn["transacted_at"] > DAY or rng.random() < 0.5):
            txn["status"] = "posted"
            txn["status_transitions"]["posted_at"] = now
            txn["transaction_refresh"] = ref
            txn["updated"] = now
    merchants = ["Coffee Shop", "Grocery Mart", "Gas Station", "Online Store", "Pharmacy"]
    for _ in range(rng.randint(1, 3)):
        pending = rng.random() < 0.4
        txn = objects.transaction(
            state,
            account=account["id"],
            amount=-rng.randint(300, 12_000),
            description=rng.choice(merchants),
            status="pending" if pending else "posted",
            status_transitions={"posted_at": None if pending else now, "void_at": None},
            transacted_at=now - rng.randint(0, 3600),
            transaction_refresh=ref,
            updated=now,
        )
        state.add(txn)
    _private(state).ready.add(account["id"])


def _require_transaction_refresh(state: State, account_id: str) -> None:
    """Stripe lists an account's transactions only after a transaction refresh succeeded
    (the SDK's error enum has ``financial_connections_no_successful_transaction_refresh``)."""
    if account_id in _private(state).ready:
        return
    raise StripeError(
        400,
        f"No transaction refresh has succeeded for the account {account_id} yet, so there are "
        "no transactions to list. Refresh its transactions (features[]=transactions) or "
        "subscribe to them, and list them once the refresh has succeeded.",
        code=CODE_NO_TRANSACTION_REFRESH,
        param="account",
    )


def _materialize(state: State, account_id: str) -> None:
    loader = _private(state).loaders.pop(account_id, None)
    if loader is None:
        return
    account = state.lookup(account_id) or {}
    ref = (account.get("transaction_refresh") or {}).get("id")
    for item in loader(ref):
        if item["id"] not in state.by_id:
            state.add(item)


@route("GET", "/v1/financial_connections/transactions")
def list_transactions(req: Request, state: State) -> Obj:
    account_id = req.str("account")
    if not account_id:
        raise missing("account")
    account_of(state, account_id, param="account")
    _require_transaction_refresh(state, account_id)
    items = account_transactions(state, account_id)
    if req.has("transacted_at"):
        keep = range_filter(req.params["transacted_at"], "transacted_at")
        items = [t for t in items if keep(t["transacted_at"])]
    after = req.dict("transaction_refresh").get("after") if req.has("transaction_refresh") else None
    if after:
        seq = _private(state).refresh_seq
        known = after in seq or any(t.get("transaction_refresh") == after for t in items)
        if not known:
            raise StripeError(
                404,
                f"No such transaction refresh: '{after}'",
                code="resource_missing",
                param="transaction_refresh[after]",
            )
        floor = seq.get(after, 0)
        items = [t for t in items if seq.get(t.get("transaction_refresh") or "", 0) > floor]
    items = sorted(
        items,
        # A transaction has no `created` (not in the pinned type): ties go by storage order.
        key=lambda t: (t["transacted_at"], state.sort_key_of(t["id"]) or 0, t["id"]),
        reverse=True,
    )
    return state.list_response(items, req, "/v1/financial_connections/transactions", presorted=True)


@route("GET", "/v1/financial_connections/transactions/{id}")
def retrieve_transaction(req: Request, state: State) -> Obj:
    txn_id = req.path_args["id"]
    found = state.lookup(txn_id)
    if found is None:
        for account_id in list(_private(state).loaders):
            _materialize(state, account_id)
            found = state.lookup(txn_id)
            if found:
                break
    if found is None or found.get("object") != TRANSACTION:
        raise not_found(TRANSACTION, txn_id)
    return found
