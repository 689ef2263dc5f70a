"""Financial Connections (reference §2.1-2.4, §4): the vocabulary its modules share.

| module | what |
|---|---|
| ``accounts`` | ``/v1/financial_connections/accounts``: list, retrieve, refresh, subscribe, disconnect |
| ``refreshes`` | refresh jobs (pending → succeeded/failed, cooldown, event), daily subscriptions |
| ``owners`` | ownership snapshots made by a refresh, ``…/accounts/{id}/owners`` |
| ``transactions`` | ``/v1/financial_connections/transactions``, lazily loaded history |
| ``sessions`` | ``/v1/financial_connections/sessions``, linking an account (what Stripe.js does) |
| ``deactivation`` | inactive/active, deactivation announced ahead of time, their hooks |
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.core import State

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
ACCOUNTS_URL = "/v1/financial_connections/accounts"
ACCOUNT = "financial_connections.account"
TRANSACTION = "financial_connections.transaction"

# Stripe's only FC error codes are those in the pinned SDK's enum (reference §10); a refresh
# that cannot start for another reason gets a code-less invalid_request_error or, when pending
# or throttled, the unchanged account (README, "Choices where Stripe is unconfirmed").
CODE_INACTIVE = "financial_connections_account_inactive"
CODE_NO_TRANSACTION_REFRESH = "financial_connections_no_successful_transaction_refresh"


def account_of(state: State, id: str, *, param: str = "account") -> Obj:
    """The ``fca_`` account ``id``, or 404 naming ``param``."""
    return state.get(ACCOUNT, id, param=param)
