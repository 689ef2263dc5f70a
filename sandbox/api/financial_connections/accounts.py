"""Financial Connections accounts (reference §2.1, §3.1, §4): list (by account holder or
session), retrieve, refresh, subscribe and unsubscribe to transactions, disconnect."""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.api.financial_connections import (
    ACCOUNT,
    ACCOUNTS_URL,
    CODE_INACTIVE,
    FEATURE_PERMISSION,
    FEATURES,
    REFRESH_FIELD,
    Obj,
    account_of,
    refreshes,
    sessions,
)
from sandbox.api.params import each_one_of
from sandbox.core import Request, State, StripeError, invalid, missing, register_index, route

# Lists filtered by these fields read an index instead of scanning every object (core.indexes).
register_index(ACCOUNT, "customer", "account_holder.customer")
register_index(ACCOUNT, "holder_account", "account_holder.account")


def _features(req: Request, *, allowed: Iterable[str] = FEATURES) -> list[str]:
    values = req.list("features")
    if not values:
        raise missing("features")
    return each_one_of(values, allowed, param="features")


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
    state.get(sessions.SESSION, session, param="session")
    items = sessions.linked_accounts(state, session)
    for name, path in (("customer", "customer"), ("holder_account", "account")):
        if name in where:
            items = [a for a in items if (a.get("account_holder") or {}).get(path) == where[name]]
    return state.list_response(items, req, ACCOUNTS_URL)


@route("GET", "/v1/financial_connections/accounts/{id}")
def retrieve_account(req: Request, state: State) -> Obj:
    return account_of(state, req.path_args["id"], param="id")


@route("POST", "/v1/financial_connections/accounts/{id}/refresh")
def refresh_account(req: Request, state: State) -> Obj:
    account = account_of(state, req.path_args["id"], param="id")
    features = _features(req)
    now = state.now()
    for feature in features:  # refuse the whole call before starting anything
        refusal = _refusal(account, feature)
        if refusal:
            raise refusal
    for feature in features:
        if not _refresh_waits(account, feature, now):
            refreshes.start_refresh(state, account, feature)
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
    account = account_of(state, req.path_args["id"], param="id")
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
        refreshes.schedule_daily(state, account["id"])
    if not refreshes.is_pending(state, account["id"], "transactions"):
        refreshes.start_refresh(state, account, "transactions")
    return account


@route("POST", "/v1/financial_connections/accounts/{id}/unsubscribe")
def unsubscribe_account(req: Request, state: State) -> Obj:
    account = account_of(state, req.path_args["id"], param="id")
    _features(req, allowed=("transactions",))
    _check_subscribable(account)
    account["subscriptions"] = [s for s in account["subscriptions"] if s != "transactions"]
    refreshes.stop_daily(state, account["id"])
    return account


@route("POST", "/v1/financial_connections/accounts/{id}/disconnect")
def disconnect_account(req: Request, state: State) -> Obj:
    account = account_of(state, req.path_args["id"], param="id")
    if account["status"] == "disconnected":
        return account
    refreshes.fail_pending(state, account)
    account["status"] = "disconnected"
    account["balance"] = None  # see README: balance goes, transactions and owners stay
    account["subscriptions"] = []
    refreshes.stop_daily(state, account["id"])
    for name in REFRESH_FIELD.values():
        if account.get(name):
            account[name]["next_refresh_available_at"] = None
    state.emit("financial_connections.account.disconnected", account, request=req)
    return account
