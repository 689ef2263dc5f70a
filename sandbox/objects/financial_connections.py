"""Financial Connections objects: accounts, balances, refresh states, ownership and owners,
transactions, sessions (reference §2.1-2.4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.templates import build
from sandbox.objects.common import empty_list, with_client_secret

if TYPE_CHECKING:
    from sandbox.core import State


def refresh_state(status: str, *, last_attempted_at: int, next_at: int | None = None) -> dict:
    """A ``balance_refresh``/``ownership_refresh`` value (§4)."""
    return {
        "last_attempted_at": last_attempted_at,
        "next_refresh_available_at": next_at,
        "status": status,
    }


def fc_account(state: State, **fields: Any) -> dict:
    """``financial_connections.account``; pass ``account_holder={"type": "customer", "customer": id}``."""
    base: dict[str, Any] = {
        "account_holder": None,
        "account_numbers": None,
        "balance": None,
        "balance_refresh": None,
        "category": "cash",
        "display_name": "Sample Checking Account",
        "institution_name": "StripeBank",
        "last4": "6789",
        "ownership": None,
        "ownership_refresh": None,
        "permissions": [],
        "status": "active",
        "status_details": None,
        "subcategory": "checking",
        "subscriptions": [],
        "supported_payment_method_types": ["us_bank_account"],
        "transaction_refresh": None,
    }
    return build(state, "financial_connections.account", "fca_", base, fields)


def balance(
    *,
    as_of: int,
    current: int,
    available: int | None = None,
    currency: str = "usd",
    type: str = "cash",
) -> dict:
    """A Stripe balance hash: only the sub-hash matching ``type`` is filled (§2.1)."""
    bal: dict[str, Any] = {"as_of": as_of, "type": type, "current": {currency: current}}
    if type == "cash":
        bal["cash"] = {"available": None if available is None else {currency: available}}
    else:
        bal["credit"] = {"used": None if available is None else {currency: available}}
    return bal


def ownership(
    state: State, *, account: str, owners: list[dict] | None = None, **fields: Any
) -> dict:
    """``…account_ownership`` with its owners inline (a list envelope)."""
    base: dict[str, Any] = {
        "owners": {
            "object": "list",
            "data": list(owners or []),
            "has_more": False,
            "url": f"/v1/financial_connections/accounts/{account}/owners",
        }
    }
    return build(state, "financial_connections.account_ownership", "fcaowns_", base, fields)


def owner(state: State, *, ownership: str, name: str, **fields: Any) -> dict:
    base: dict[str, Any] = {
        "email": None,
        "name": name,
        "ownership": ownership,
        "phone": None,
        "raw_address": None,
        "refreshed_at": None,
    }
    return build(state, "financial_connections.account_owner", "fcaown_", base, fields)


def transaction(state: State, *, account: str, amount: int, **fields: Any) -> dict:
    now = state.now()
    base: dict[str, Any] = {
        "account": account,
        "amount": amount,
        "currency": "usd",
        "description": "",
        "status": "posted",
        "status_transitions": {"posted_at": now, "void_at": None},
        "transacted_at": now,
        "transaction_refresh": None,
        "updated": now,
    }
    return build(state, "financial_connections.transaction", "fctxn_", base, fields)


def fc_session(state: State, **fields: Any) -> dict:
    base: dict[str, Any] = {
        "account_holder": None,
        "accounts": empty_list("/v1/financial_connections/accounts"),
        "client_secret": None,
        "filters": None,
        "limits": None,
        "manual_entry": None,
        "permissions": [],
        "prefetch": [],
        "return_url": None,
    }
    obj = build(state, "financial_connections.session", "fcsess_", base, fields)
    return with_client_secret(state, obj)
