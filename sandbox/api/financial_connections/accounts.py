"""Customers, Financial Connections and events: routes, refresh jobs and FC test hooks.

Behaviour follows ``../shared/docs/stripe-fc-reference.md``: §2.1-2.4 (objects), §3.1 (endpoints),
§4 (refreshes are asynchronous jobs: pending → succeeded|failed, then a cooldown and an event),
§5.1 (events). Where Stripe's behaviour is unconfirmed the choice is documented in
``sandbox/README.md`` ("Choices where Stripe is unconfirmed").

Public helpers for other sandbox modules (``payments.py``'s link hook, ``seed.py``):
:func:`institution`, :func:`install_institutions`, :func:`link_account`, :func:`start_refresh`,
:func:`register_transaction_loader`, :func:`schedule_subscriptions`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sandbox import objects
from sandbox.api import search
from sandbox.core import (
    Request,
    State,
    StripeError,
    clone,
    invalid,
    missing,
    not_found,
    range_bounds,
    range_filter,
    register_index,
    route,
    to_int,
)
from sandbox.demo_model import DemoInstitution, DemoTransaction

Obj = dict[str, Any]

FEATURES = ("balance", "ownership", "transactions")
PERMISSIONS = ("balances", "ownership", "payment_method", "transactions")
PREFETCH = ("balances", "ownership", "transactions")
# A refresh of a feature needs this permission (§4).
FEATURE_PERMISSION = {
    "balance": "balances",
    "ownership": "ownership",
    "transactions": "transactions",
}
PREFETCH_FEATURE = {"balances": "balance", "ownership": "ownership", "transactions": "transactions"}
REFRESH_FIELD = {
    "balance": "balance_refresh",
    "ownership": "ownership_refresh",
    "transactions": "transaction_refresh",
}
REFRESH_EVENT = {
    "balance": "financial_connections.account.refreshed_balance",
    "ownership": "financial_connections.account.refreshed_ownership",
    "transactions": "financial_connections.account.refreshed_transactions",
}
SUBCATEGORIES = ("checking", "savings", "mortgage", "line_of_credit", "credit_card")
SUBCATEGORY_CATEGORY = {
    "checking": "cash",
    "savings": "cash",
    "mortgage": "credit",
    "line_of_credit": "credit",
    "credit_card": "credit",
}
DAY = 86400
EVENT_RETENTION = 30 * DAY
ACCOUNTS_URL = "/v1/financial_connections/accounts"
ACCOUNT = "financial_connections.account"
TRANSACTION = "financial_connections.transaction"

# Lists filtered by these fields read an index instead of scanning every object (core.View).
register_index(ACCOUNT, "customer", "account_holder.customer")
register_index(ACCOUNT, "holder_account", "account_holder.account")
register_index(TRANSACTION, "account")
register_index("event", "type")
register_index("customer", "email")

# Stripe's only FC error codes are those in the pinned SDK's enum (reference §10); a refresh
# that cannot start for another reason gets a code-less invalid_request_error or, when pending
# or throttled, the unchanged account (README, "Choices where Stripe is unconfirmed").
CODE_INACTIVE = "financial_connections_account_inactive"
CODE_NO_TRANSACTION_REFRESH = "financial_connections_no_successful_transaction_refresh"

DEFAULT_INSTITUTIONS = [
    DemoInstitution("StripeBank", "110000000"),
    DemoInstitution("Test Institution", "110000000"),
    DemoInstitution("Test OAuth Institution", "110000000"),
    DemoInstitution("Ownership Accounts", "110000000"),
    DemoInstitution("Sandbox Bank (OAuth)", "110000000"),
    DemoInstitution("Sandbox Bank (Non-OAuth)", "110000000"),
    DemoInstitution("Invalid Payment Accounts", "110000000", supports_payments=False),
    DemoInstitution("Down Bank (Scheduled)", "110000000", link_fails=True),
    DemoInstitution("Down Bank (Unscheduled)", "110000000", link_fails=True),
    DemoInstitution("Down Bank (Error)", "110000000", link_fails=True),
    # sandbox-only: links fine, every data refresh ends `failed` (for testing failure paths)
    DemoInstitution("Refresh Errors Bank", "110000000", refresh_fails=True),
]


# --------------------------------------------------------------------------- private state


@dataclass
class _FcPrivate:
    """What Stripe knows but never returns; kept per State in ``state.extras["fc"]``."""

    institutions: dict[str, DemoInstitution] = field(default_factory=dict)
    # fctxnref_ id → sequence number (order of refreshes, for transaction_refresh[after])
    refresh_seq: dict[str, int] = field(default_factory=dict)
    # (fca id, feature) → token of the refresh job that may complete it
    pending: dict[tuple[str, str], int] = field(default_factory=dict)
    tokens: int = 0
    session_accounts: dict[str, list[str]] = field(default_factory=dict)
    completed_sessions: set[str] = field(default_factory=set)
    loaders: dict[str, Callable[[], Iterable[Any]]] = field(default_factory=dict)
    subscription_gen: dict[str, int] = field(default_factory=dict)
    refresh_counts: dict[str, int] = field(default_factory=dict)
    # accounts with at least one succeeded transaction refresh: only those list transactions
    transactions_ready: set[str] = field(default_factory=set)


def _private(state: State) -> _FcPrivate:
    found = state.extras.get("fc")
    if found is None:
        found = state.extras["fc"] = _FcPrivate()
    assert isinstance(found, _FcPrivate)
    return found


# --------------------------------------------------------------------------- institutions


def install_default_institutions(state: State) -> None:
    install_institutions(state, DEFAULT_INSTITUTIONS)


def install_institutions(state: State, institutions: Iterable[DemoInstitution]) -> None:
    """Add (or replace by name) the banks the sandbox knows and how each behaves."""
    known = _private(state).institutions
    for inst in institutions:
        known[inst.name] = inst


def institution(state: State, name: str) -> DemoInstitution:
    """The bank called ``name``; unknown names behave like a plain working bank."""
    return _private(state).institutions.get(name) or DemoInstitution(name, "110000000")


# --------------------------------------------------------------------------- helpers


def _fca(state: State, id: str, *, param: str = "account") -> Obj:
    return state.get("financial_connections.account", id, param=param)


def _features(req: Request, *, allowed: Iterable[str] = FEATURES) -> list[str]:
    values = [str(v) for v in req.list("features")]
    if not values:
        raise missing("features")
    allowed = tuple(allowed)
    for i, value in enumerate(values):
        if value not in allowed:
            raise invalid(
                f"Invalid features[{i}]: must be one of {', '.join(allowed)}",
                param=f"features[{i}]",
                code="parameter_invalid",
            )
    return list(dict.fromkeys(values))


def _check_values(values: list[Any], allowed: Iterable[str], param: str) -> list[str]:
    allowed = tuple(allowed)
    for i, value in enumerate(values):
        if value not in allowed:
            raise invalid(
                f"Invalid {param}[{i}]: must be one of {', '.join(allowed)}",
                param=f"{param}[{i}]",
            )
    return [str(v) for v in dict.fromkeys(values)]


def _refusal(account: Obj, feature: str) -> StripeError | None:
    """The error Stripe answers when a refresh of ``feature`` cannot start at all (§4, §10)."""
    if account["status"] == "disconnected":
        return StripeError(
            400,
            f"The account {account['id']} has been disconnected, so its data can no longer be "
            "refreshed. Collect a new account through a Financial Connections session.",
        )
    if account["status"] == "inactive":
        return invalid(
            f"The account {account['id']} is inactive, so its data cannot be refreshed.",
            code=CODE_INACTIVE,
        )
    perm = FEATURE_PERMISSION[feature]
    if perm not in (account.get("permissions") or []):
        return StripeError(
            400,
            f"You cannot refresh {feature} for {account['id']} because the `{perm}` permission "
            "was not granted when the account was linked.",
            param="features",
        )
    return None


def _refresh_waits(account: Obj, feature: str, now: int) -> bool:
    """A refresh already pending, or asked for before ``next_refresh_available_at``: Stripe
    does not start one and answers with the account unchanged (the sandbox's choice, §10)."""
    current = account.get(REFRESH_FIELD[feature])
    if not current:
        return False
    if current["status"] == "pending":
        return True
    next_at = current.get("next_refresh_available_at")
    return next_at is not None and next_at > now


# --------------------------------------------------------------------------- refresh jobs


def start_refresh(state: State, account: Obj, feature: str) -> None:
    """Mark ``feature`` pending now and schedule its completion after ``refresh_delay``."""
    priv = _private(state)
    now = state.now()
    refresh = objects.refresh_state("pending", last_attempted_at=now)
    if feature == "transactions":
        ref = state.new_id("fctxnref_")
        priv.refresh_seq[ref] = len(priv.refresh_seq) + 1
        refresh = {"id": ref, **refresh}
    account[REFRESH_FIELD[feature]] = refresh
    priv.tokens += 1
    token = priv.tokens
    priv.pending[(account["id"], feature)] = token
    state.schedule(
        state.config.refresh_delay,
        lambda: complete_refresh(state, account["id"], feature, token=token),
    )


def complete_refresh(
    state: State, account_id: str, feature: str, *, token: int | None = None
) -> bool:
    """Finish a pending refresh (succeeded, or failed at a failing bank) and emit its event."""
    priv = _private(state)
    key = (account_id, feature)
    if key not in priv.pending or (token is not None and priv.pending[key] != token):
        return False
    del priv.pending[key]
    account = state.lookup(account_id)
    if account is None:
        return False
    now = state.now()
    refresh = account[REFRESH_FIELD[feature]]
    bank = institution(state, account["institution_name"])
    failed = bank.refresh_fails or account["status"] != "active"
    if not failed:
        _apply_refresh_data(state, account, feature, now, refresh.get("id"))
        if feature == "transactions":
            priv.transactions_ready.add(account_id)
    refresh["status"] = "failed" if failed else "succeeded"
    refresh["next_refresh_available_at"] = (
        now + int(state.config.refresh_cooldown) if account["status"] == "active" else None
    )
    state.emit(REFRESH_EVENT[feature], account)
    return True


def complete_all_refreshes(state: State) -> int:
    done = 0
    for account_id, feature in list(_private(state).pending):
        done += complete_refresh(state, account_id, feature)
    return done


def _apply_refresh_data(
    state: State, account: Obj, feature: str, now: int, ref: str | None
) -> None:
    priv = _private(state)
    count = priv.refresh_counts.get(account["id"], 0) + 1
    priv.refresh_counts[account["id"]] = count
    if feature == "balance":
        account["balance"] = _drifted_balance(state, account, now, count)
    elif feature == "ownership":
        _new_ownership(state, account, now)
    else:
        assert ref is not None
        _refresh_transactions(state, account, now, ref, count)


def _drifted_balance(state: State, account: Obj, now: int, n: int) -> Obj:
    """Move ``as_of`` to now and drift the figures by up to ±3 % (deterministic per seed)."""
    rng = state.rng("balance", account["id"], n)
    old = account.get("balance")
    if not old:
        credit = account.get("category") == "credit"
        start = rng.randint(50_000, 2_500_000)
        return objects.balance(
            as_of=now,
            current=-start if credit else start,
            available=None if credit else start - rng.randint(0, start // 10),
            type="credit" if credit else "cash",
        )
    bal = clone(old)
    factor = 1 + rng.uniform(-0.03, 0.03)

    def drift(amounts: dict | None) -> dict | None:
        if amounts is None:
            return None
        return {cur: int(round(v * factor)) for cur, v in amounts.items()}

    bal["as_of"] = now
    bal["current"] = drift(bal.get("current"))
    for sub, key in (("cash", "available"), ("credit", "used")):
        if isinstance(bal.get(sub), dict):
            bal[sub][key] = drift(bal[sub].get(key))
    return bal


def _new_ownership(state: State, account: Obj, now: int) -> None:
    """A new ``fcaowns_`` snapshot with new ``fcaown_`` owners for the same people (§2.2)."""
    old_id = account.get("ownership")
    old = state.lookup(old_id) if isinstance(old_id, str) else None
    people = [
        {k: o.get(k) for k in ("name", "email", "phone", "raw_address")}
        for o in (old["owners"]["data"] if old else [])
    ]
    if not people:
        people = [{"name": _holder_name(state, account)}]
    snap = objects.ownership(state, account=account["id"])
    for person in people:
        owner = objects.owner(state, ownership=snap["id"], refreshed_at=now, **person)
        snap["owners"]["data"].append(owner)
        state.add(owner)
    snap["created"] = now
    state.add(snap)
    account["ownership"] = snap["id"]


def _holder_name(state: State, account: Obj) -> str:
    holder = account.get("account_holder") or {}
    cus = state.lookup(holder.get("customer") or "")
    return (cus or {}).get("name") or "Jenny Rosen"


def _account_transactions(state: State, account_id: str) -> list[Obj]:
    """The account's transactions in the order they were stored (refreshes walk them so)."""
    _materialize(state, account_id)
    found = state.view(TRANSACTION, where={"account": account_id}).all()
    return state.insertion_order(found)


def _refresh_transactions(state: State, account: Obj, now: int, ref: str, n: int) -> None:
    """Post older pending rows and add a few new ones, all under the new refresh ``ref``."""
    rng = state.rng("transactions", account["id"], n)
    for txn in _account_transactions(state, account["id"]):
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


# --------------------------------------------------------------------------- lazy transactions


def register_transaction_loader(
    state: State, account_id: str, loader: Callable[[], Iterable[Any]]
) -> None:
    """Defer an account's transactions until first read (keeps big worlds fast to start).

    ``loader()`` returns transaction objects (dicts) or ``DemoTransaction``s; the latter are
    converted under the account's current ``transaction_refresh.id``. The transactions came
    from a refresh, so the account counts as having had a successful one.
    """
    priv = _private(state)
    priv.loaders[account_id] = loader
    priv.transactions_ready.add(account_id)


def _require_transaction_refresh(state: State, account_id: str) -> None:
    """Stripe lists an account's transactions only after a transaction refresh succeeded
    (the SDK's error enum has ``financial_connections_no_successful_transaction_refresh``)."""
    if account_id in _private(state).transactions_ready:
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
    for item in loader():
        if isinstance(item, DemoTransaction):
            item = transaction_from_demo(state, account_id, item, ref=ref)
        if item["id"] not in state.by_id:
            state.add(item)


def transaction_from_demo(
    state: State, account_id: str, t: DemoTransaction, *, ref: str | None
) -> Obj:
    updated = max(x for x in (t.transacted_at, t.posted_at, t.void_at) if x is not None)
    return objects.transaction(
        state,
        account=account_id,
        amount=t.amount,
        description=t.description,
        status=t.status,
        status_transitions={"posted_at": t.posted_at, "void_at": t.void_at},
        transacted_at=t.transacted_at,
        transaction_refresh=ref,
        updated=updated,
    )


# --------------------------------------------------------------------------- subscriptions


def schedule_subscriptions(state: State) -> None:
    """Start the daily transaction refresh for every subscribed account (after seeding)."""
    for account in state.find("financial_connections.account"):
        if "transactions" in (account.get("subscriptions") or []):
            _schedule_daily(state, account["id"])


def _schedule_daily(state: State, account_id: str) -> None:
    priv = _private(state)
    gen = priv.subscription_gen.get(account_id, 0) + 1
    priv.subscription_gen[account_id] = gen

    def tick() -> None:
        if priv.subscription_gen.get(account_id) != gen:
            return
        account = state.lookup(account_id)
        if not account or "transactions" not in (account.get("subscriptions") or []):
            return
        if account["status"] == "active" and (account["id"], "transactions") not in priv.pending:
            start_refresh(state, account, "transactions")
        _schedule_daily(state, account_id)

    state.schedule(DAY, tick)


# --------------------------------------------------------------------------- linking


def link_account(
    state: State,
    *,
    customer: str | None,
    institution_name: str,
    permissions: list[str],
    prefetch: Iterable[str] = (),
    subcategory: str = "checking",
    account_holder: Obj | None = None,
    index: int = 0,
) -> Obj:
    """Create a linked ``fca_`` as Stripe.js would, emit ``…account.created``, start prefetches."""
    bank = institution(state, institution_name)
    rng = state.rng(
        "link", institution_name, customer, state.count("financial_connections.account")
    )
    account = objects.fc_account(
        state,
        account_holder=account_holder or {"customer": customer, "type": "customer"},
        category=SUBCATEGORY_CATEGORY.get(subcategory, "cash"),
        subcategory=subcategory,
        display_name=f"{institution_name} {subcategory.replace('_', ' ').title()}"
        + (f" {index + 1}" if index else ""),
        institution_name=institution_name,
        last4=f"{rng.randint(0, 9999):04d}",
        permissions=list(permissions),
        # Only cash accounts (checking, savings) can be debited by ACH.
        supported_payment_method_types=["us_bank_account"]
        if bank.supports_payments and SUBCATEGORY_CATEGORY.get(subcategory, "cash") == "cash"
        else [],
    )
    state.add(account)
    state.emit("financial_connections.account.created", account)
    for feature in dict.fromkeys(PREFETCH_FEATURE[p] for p in prefetch if p in PREFETCH_FEATURE):
        if FEATURE_PERMISSION[feature] in account["permissions"]:
            start_refresh(state, account, feature)
    return account


# --------------------------------------------------------------------------- customers


CUSTOMER_FIELDS = (
    "address",
    "balance",
    "description",
    "email",
    "invoice_settings",
    "metadata",
    "name",
    "phone",
    "preferred_locales",
    "shipping",
    "tax_exempt",
)


def _customer_fields(req: Request) -> Obj:
    out: Obj = {}
    for name in CUSTOMER_FIELDS:
        if not req.has(name):
            continue
        value = req.params[name]
        if name == "balance":
            value = to_int(value, name)
        elif name == "address" and isinstance(value, dict):
            value = objects.address(**value)  # Stripe answers every address line, null if unset
        elif name == "shipping" and isinstance(value, dict):
            value = {
                **dict.fromkeys(("carrier", "name", "phone", "tracking_number")),
                **value,
                "address": objects.address(**(value.get("address") or {})),
            }
        elif name == "metadata":
            continue
        elif name == "preferred_locales":
            value = req.list(name)
        elif name == "invoice_settings":
            value = {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
                **req.dict(name),
            }
        elif value == "":
            value = None
        out[name] = value
    return out


def _apply_metadata(obj: Obj, req: Request) -> None:
    """Stripe's metadata update: keys merge, ``""`` unsets a key, ``metadata=""`` clears all."""
    if not req.has("metadata"):
        return
    raw = req.params["metadata"]
    if raw == "":
        obj["metadata"] = {}
        return
    for key, value in req.dict("metadata").items():
        if "[" in key or "]" in key or len(key) > 40:
            raise invalid(f"Invalid metadata key: {key}", param=f"metadata[{key}]")
        if value == "":
            obj["metadata"].pop(key, None)
        else:
            obj["metadata"][key] = str(value)
    if len(obj["metadata"]) > 50:
        raise invalid("Metadata can have at most 50 keys.", param="metadata")


@route("POST", "/v1/customers")
def create_customer(req: Request, state: State) -> Obj:
    cus = objects.customer(state, **_customer_fields(req))
    _apply_metadata(cus, req)
    pm = req.str("payment_method")
    if pm:
        method = state.get("payment_method", pm, param="payment_method")
        method["customer"] = cus["id"]
        state.reindex(method)
    state.add(cus)
    state.emit("customer.created", cus, request=req)
    return cus


@route("GET", "/v1/customers/search")
def search_customers(req: Request, state: State) -> Obj:
    return search.search(state, req, "customer", search.CUSTOMER_FIELDS, "/v1/customers/search")


@route("GET", "/v1/customers/{id}")
def retrieve_customer(req: Request, state: State) -> Obj:
    """A deleted customer is still found: ``200 {id, object, deleted: true}`` (§2.9)."""
    cid = req.path_args["id"]
    if state.lookup(cid) is None and cid in _deleted_customers(state):
        return objects.deleted_customer(cid)
    return state.get("customer", cid)


def _deleted_customers(state: State) -> set[str]:
    found: set[str] = state.extras.setdefault("deleted_customers", set())
    return found


@route("POST", "/v1/customers/{id}")
def update_customer(req: Request, state: State) -> Obj:
    cus = state.get("customer", req.path_args["id"])
    before = clone(cus)
    cus.update(_customer_fields(req))
    _apply_metadata(cus, req)
    previous = {k: before[k] for k in cus if before.get(k) != cus.get(k)}
    if previous:
        state.emit("customer.updated", cus, previous_attributes=previous, request=req)
    return cus


@route("DELETE", "/v1/customers/{id}")
def delete_customer(req: Request, state: State) -> Obj:
    cus = state.get("customer", req.path_args["id"])
    state.remove(cus)
    _deleted_customers(state).add(cus["id"])
    state.emit("customer.deleted", cus, request=req)
    return objects.deleted_customer(cus["id"])


@route("GET", "/v1/customers")
def list_customers(req: Request, state: State) -> Obj:
    email = req.str("email")
    where = None if email is None else {"email": email}  # exact, case-sensitive
    created = range_bounds(req.params["created"], "created") if req.has("created") else None
    view = state.view("customer", where=where, created=created or (None, None))
    return state.list_response(view, req, "/v1/customers")


# --------------------------------------------------------------------------- FC accounts


@route("GET", "/v1/financial_connections/accounts")
def list_accounts(req: Request, state: State) -> Obj:
    holder = req.dict("account_holder")
    session = req.str("session")
    if not holder and not session:
        raise missing("account_holder")
    if holder.get("customer") and holder.get("account"):
        raise invalid(
            "You may only specify one of these parameters: account_holder[account], "
            "account_holder[customer].",
            param="account_holder",
            code="parameters_exclusive",
        )
    where = {}
    if holder.get("customer"):
        where["customer"] = holder["customer"]
    if holder.get("account"):
        where["holder_account"] = holder["account"]
    if not session:
        return state.list_response(state.view(ACCOUNT, where=where or None), req, ACCOUNTS_URL)
    state.get("financial_connections.session", session, param="session")
    ids = _private(state).session_accounts.get(session, [])
    items = [a for a in (state.lookup(i) for i in dict.fromkeys(ids)) if a is not None]
    for name, path in (("customer", "customer"), ("holder_account", "account")):
        if name in where:
            items = [a for a in items if (a.get("account_holder") or {}).get(path) == where[name]]
    return state.list_response(items, req, ACCOUNTS_URL)


@route("GET", "/v1/financial_connections/accounts/{id}")
def retrieve_account(req: Request, state: State) -> Obj:
    return _fca(state, req.path_args["id"], param="id")


@route("POST", "/v1/financial_connections/accounts/{id}/refresh")
def refresh_account(req: Request, state: State) -> Obj:
    account = _fca(state, req.path_args["id"], param="id")
    features = _features(req)
    now = state.now()
    for feature in features:  # refuse the whole call before starting anything
        refusal = _refusal(account, feature)
        if refusal:
            raise refusal
    for feature in features:
        if not _refresh_waits(account, feature, now):
            start_refresh(state, account, feature)
    return account


def _check_subscribable(account: Obj) -> None:
    if account["status"] == "disconnected":
        raise StripeError(400, f"The account {account['id']} has been disconnected.")
    if account["status"] == "inactive":
        raise invalid(
            f"The account {account['id']} is inactive; subscriptions cannot be changed.",
            code=CODE_INACTIVE,
        )


@route("POST", "/v1/financial_connections/accounts/{id}/subscribe")
def subscribe_account(req: Request, state: State) -> Obj:
    account = _fca(state, req.path_args["id"], param="id")
    _features(req, allowed=("transactions",))
    _check_subscribable(account)
    if "transactions" not in (account.get("permissions") or []):
        raise StripeError(
            400,
            f"You cannot subscribe to transactions for {account['id']} because the "
            "`transactions` permission was not granted when the account was linked.",
            param="features",
        )
    if "transactions" not in account["subscriptions"]:
        account["subscriptions"] = [*account["subscriptions"], "transactions"]
        _schedule_daily(state, account["id"])
    if (account["id"], "transactions") not in _private(state).pending:
        start_refresh(state, account, "transactions")
    return account


@route("POST", "/v1/financial_connections/accounts/{id}/unsubscribe")
def unsubscribe_account(req: Request, state: State) -> Obj:
    account = _fca(state, req.path_args["id"], param="id")
    _features(req, allowed=("transactions",))
    _check_subscribable(account)
    account["subscriptions"] = [s for s in account["subscriptions"] if s != "transactions"]
    _private(state).subscription_gen.pop(account["id"], None)
    return account


@route("POST", "/v1/financial_connections/accounts/{id}/disconnect")
def disconnect_account(req: Request, state: State) -> Obj:
    account = _fca(state, req.path_args["id"], param="id")
    if account["status"] == "disconnected":
        return account
    priv = _private(state)
    for feature in FEATURES:  # nothing in flight survives a disconnect
        if priv.pending.pop((account["id"], feature), None) is not None:
            account[REFRESH_FIELD[feature]]["status"] = "failed"
    account["status"] = "disconnected"
    account["balance"] = None  # see README: balance goes, transactions and owners stay
    account["subscriptions"] = []
    priv.subscription_gen.pop(account["id"], None)
    for name in REFRESH_FIELD.values():
        if account.get(name):
            account[name]["next_refresh_available_at"] = None
    state.emit("financial_connections.account.disconnected", account, request=req)
    return account


@route("GET", "/v1/financial_connections/accounts/{id}/owners")
def list_owners(req: Request, state: State) -> Obj:
    account = _fca(state, req.path_args["id"], param="account")
    own_id = req.str("ownership")
    if not own_id:
        raise missing("ownership")
    snap = state.get("financial_connections.account_ownership", own_id, param="ownership")
    owners = snap["owners"]["data"]
    url = f"{ACCOUNTS_URL}/{account['id']}/owners"
    return state.list_response(owners, req, url, presorted=True)


# --------------------------------------------------------------------------- transactions


@route("GET", "/v1/financial_connections/transactions")
def list_transactions(req: Request, state: State) -> Obj:
    account_id = req.str("account")
    if not account_id:
        raise missing("account")
    _fca(state, account_id, param="account")
    _require_transaction_refresh(state, account_id)
    items = _account_transactions(state, account_id)
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
    if found is None or found.get("object") != "financial_connections.transaction":
        raise not_found("financial_connections.transaction", txn_id)
    return found


# --------------------------------------------------------------------------- sessions


@route("POST", "/v1/financial_connections/sessions")
def create_session(req: Request, state: State) -> Obj:
    holder = req.dict("account_holder")
    if not holder.get("type"):
        raise missing("account_holder[type]")
    kind = holder["type"]
    if kind not in ("customer", "account"):
        raise invalid(
            "Invalid account_holder[type]: must be one of customer, account",
            param="account_holder[type]",
        )
    if not holder.get(kind):
        raise missing(f"account_holder[{kind}]")
    if kind == "customer":
        state.get("customer", holder["customer"], param="account_holder[customer]")
    permissions = _check_values(req.list("permissions"), PERMISSIONS, "permissions")
    if not permissions:
        raise missing("permissions")
    prefetch = _check_values(req.list("prefetch"), PREFETCH, "prefetch")
    session = objects.fc_session(
        state,
        account_holder={"type": kind, kind: holder[kind]},
        permissions=permissions,
        prefetch=prefetch,
        filters=_session_filters(req),
        limits=_session_limits(req),
        manual_entry=_manual_entry(req),
        return_url=req.str("return_url"),
    )
    state.add(session)
    return session


def _session_filters(req: Request) -> Obj | None:
    if not req.has("filters"):
        return None
    raw = req.dict("filters")
    subs = _check_values(
        list(raw.get("account_subcategories") or []),
        SUBCATEGORIES,
        "filters[account_subcategories]",
    )
    countries = raw.get("countries")  # 15.x spelling; 16.x sends filters[country]
    country = raw.get("country") or (
        countries[0] if isinstance(countries, list) and countries else None
    )
    support = raw.get("require_payment_method_support")
    if support not in (None, "all", "at_least_one", "none"):
        raise invalid(
            "Invalid filters[require_payment_method_support]",
            param="filters[require_payment_method_support]",
        )
    return {
        "account_subcategories": subs or None,
        "country": country,
        "require_payment_method_support": support,
    }


def _session_limits(req: Request) -> Obj | None:
    if not req.has("limits"):
        return None
    n = to_int(req.dict("limits").get("accounts"), "limits[accounts]")
    if not 1 <= n <= 100:
        raise invalid("limits[accounts] must be between 1 and 100", param="limits[accounts]")
    return {"accounts": n}


def _manual_entry(req: Request) -> Obj | None:
    if not req.has("manual_entry"):
        return None
    mode = req.dict("manual_entry").get("mode")
    if mode not in ("automatic", "custom", "disabled", None):
        raise invalid("Invalid manual_entry[mode]", param="manual_entry[mode]")
    return {"mode": mode}


def _session_view(state: State, session: Obj) -> Obj:
    ids = _private(state).session_accounts.get(session["id"], [])
    accounts = [a for a in (state.lookup(i) for i in ids) if a]
    session["accounts"] = {
        "object": "list",
        "data": accounts,
        "has_more": False,
        "url": ACCOUNTS_URL,
    }
    return session


@route("GET", "/v1/financial_connections/sessions/{id}")
def retrieve_session(req: Request, state: State) -> Obj:
    return _session_view(state, state.get("financial_connections.session", req.path_args["id"]))


# --------------------------------------------------------------------------- events


@route("GET", "/v1/events")
def list_events(req: Request, state: State) -> Obj:
    oldest = state.now() - EVENT_RETENTION
    if req.has("type") and req.has("types"):
        raise invalid(
            "You may only specify one of these parameters: type, types.",
            param="types",
            code="parameters_exclusive",
        )
    # `type` takes one name or a `*` wildcard group; `types` exact names only (Stripe's API
    # reference for GET /v1/events), so a wildcard there is refused rather than matching nothing.
    patterns = [str(t) for t in req.list("types")] or (
        [req.str("type") or ""] if req.has("type") else []
    )
    if len(patterns) > 20:
        raise invalid("types can contain at most 20 values", param="types")
    for i, name in enumerate(req.list("types")):
        if "*" in str(name):
            raise invalid(
                f"Invalid types[{i}]: types takes exact event names ({name!r} has a wildcard); "
                "use type for a wildcard such as 'financial_connections.account.*'.",
                param=f"types[{i}]",
            )
    low, high = (
        range_bounds(req.params["created"], "created") if req.has("created") else (None, None)
    )
    where = None
    if patterns:  # the matching types, each a sorted run of the event index
        known = state.index_values("event", "type")
        where = {"type": frozenset(t for t in known if any(_type_matches(p, t) for p in patterns))}
    view = state.view("event", where=where, created=(max(oldest, low or oldest), high))
    return state.list_response(view, req, "/v1/events")


def _type_matches(pattern: str, type: str) -> bool:
    """Stripe lets ``type`` end in ``*``: ``financial_connections.account.*``."""
    if pattern.endswith("*"):
        return type.startswith(pattern[:-1])
    return type == pattern


@route("GET", "/v1/events/{id}")
def retrieve_event(req: Request, state: State) -> Obj:
    evt = state.get("event", req.path_args["id"])
    if evt["created"] < state.now() - EVENT_RETENTION:
        raise not_found("event", evt["id"])
    return evt


# --------------------------------------------------------------------------- hooks


@route(
    "POST",
    "/_sandbox/financial_connections/sessions/{id}/complete",
    params={"institution", "accounts", "cancel", "subcategories"},
)
def complete_session_hook(req: Request, state: State) -> Obj:
    """What Stripe.js does when the user finishes (or cancels) the FC flow (§2.4)."""
    session = state.get("financial_connections.session", req.path_args["id"])
    priv = _private(state)
    if session["id"] in priv.completed_sessions:
        raise invalid(f"The session {session['id']} has already been completed.")
    if req.bool("cancel"):
        priv.completed_sessions.add(session["id"])
        return _session_view(state, session)
    name = req.str("institution") or "Test Institution"
    bank = institution(state, name)
    if bank.link_fails:
        raise StripeError(
            400,
            f"{name} is not available right now; the account could not be linked.",
            code="institution_down",
            param="institution",
        )
    count = req.int("accounts", 1) or 1
    limit = (session.get("limits") or {}).get("accounts")
    if limit is not None and count > limit:
        raise invalid(f"This session allows at most {limit} accounts.", param="accounts")
    subs = _linkable_subcategories(session, [str(s) for s in req.list("subcategories")])
    payable = bank.supports_payments and all(SUBCATEGORY_CATEGORY[s] == "cash" for s in subs)
    if _payment_support_required(session) and not payable:
        raise invalid(
            f"These accounts at {name} cannot be used for payments, and this session requires "
            "payment method support (filters[require_payment_method_support]).",
            param="institution",
        )
    holder = session["account_holder"] or {}
    for i in range(count):
        account = link_account(
            state,
            customer=holder.get("customer"),
            account_holder=clone(holder),
            institution_name=name,
            permissions=session["permissions"],
            prefetch=session.get("prefetch") or [],
            subcategory=subs[i % len(subs)],
            index=i,
        )
        priv.session_accounts.setdefault(session["id"], []).append(account["id"])
    priv.completed_sessions.add(session["id"])
    return _session_view(state, session)


def _linkable_subcategories(session: Obj, asked: list[str]) -> list[str]:
    """What the customer links: ``asked`` (the hook's ``subcategories[]``) if the session's
    filters allow them, else the filtered subcategories, else checking and savings.

    Endive's defaults apply when the session has no ``filters[account_subcategories]``: every
    subcategory may be linked, credit cards, mortgages and lines of credit included (§9).
    """
    allowed = (session.get("filters") or {}).get("account_subcategories") or list(SUBCATEGORIES)
    for value in asked:
        if value not in SUBCATEGORIES:
            raise invalid(
                f"Invalid subcategories: must be one of {', '.join(SUBCATEGORIES)}",
                param="subcategories",
            )
        if value not in allowed:
            raise invalid(
                f"This session's filters[account_subcategories] ({', '.join(allowed)}) do not "
                f"allow linking a {value.replace('_', ' ')} account.",
                param="subcategories",
            )
    if asked:
        return asked
    chosen = [s for s in ("checking", "savings") if s in allowed]
    return chosen or list(allowed)


def _payment_support_required(session: Obj) -> bool:
    """Endive requires no payment method support unless the session asks for it (§9)."""
    support = (session.get("filters") or {}).get("require_payment_method_support")
    return support in ("all", "at_least_one")


@route("POST", "/_sandbox/refreshes/complete", params=set())
def complete_refreshes_hook(req: Request, state: State) -> Obj:
    return {"ok": True, "completed": complete_all_refreshes(state)}


def _set_active(state: State, account: Obj, *, active: bool) -> Obj:
    want, was = ("active", "inactive") if active else ("inactive", "active")
    if account["status"] != was:
        raise invalid(f"The account {account['id']} is {account['status']}, not {was}.")
    account["status"] = want
    account["status_details"] = None  # inactive: no longer "active"; relinked: nothing pending
    now = state.now()
    for feature, name in REFRESH_FIELD.items():
        refresh = account.get(name)
        if refresh and (account["id"], feature) not in _private(state).pending:
            refresh["next_refresh_available_at"] = now if active else None
    event = "reactivated" if active else "deactivated"
    state.emit(
        f"financial_connections.account.{event}", account, previous_attributes={"status": was}
    )
    return account


@route("POST", "/_sandbox/financial_connections/accounts/{id}/deactivate", params=set())
def deactivate_hook(req: Request, state: State) -> Obj:
    return _set_active(state, _fca(state, req.path_args["id"], param="id"), active=False)


@route("POST", "/_sandbox/financial_connections/accounts/{id}/reactivate", params=set())
def reactivate_hook(req: Request, state: State) -> Obj:
    return _set_active(state, _fca(state, req.path_args["id"], param="id"), active=True)


@route("GET", "/_sandbox/institutions")
def institutions_hook(req: Request, state: State) -> Obj:
    banks = _private(state).institutions.values()
    return {
        "object": "list",
        "data": [
            {
                "name": b.name,
                "routing_number": b.routing_number,
                "refresh_fails": b.refresh_fails,
                "link_fails": b.link_fails,
                "supports_payments": b.supports_payments,
            }
            for b in banks
        ],
    }
