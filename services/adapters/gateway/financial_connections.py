"""Financial Connections through the gateway: accounts (refresh, subscribe, disconnect), their
owners and transactions, and FC sessions; part of
:class:`~services.adapters.gateway.StripeGateway`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import quote_plus

from services.adapters.gateway import sdk
from services.adapters.gateway.sdk import FcSessionCreateParams


class _Calls(Protocol):
    """What these calls use of :class:`~services.adapters.gateway.StripeGateway` (and of
    :class:`FinancialConnectionsCalls` itself)."""

    @property
    def v1(self) -> sdk.V1Services: ...

    def _one(self, fn: Callable[[], Any]) -> dict[str, Any]: ...

    def _iter(self, path: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]: ...

    def _page(self, path: str, params: Mapping[str, Any]) -> tuple[list[dict[str, Any]], bool]: ...

    def _opts(self, idempotency_key: str | None) -> sdk.RequestOptions: ...

    @staticmethod
    def _transaction_params(
        account_id: str, after_refresh: str | None, limit: int
    ) -> sdk.TransactionListParams: ...


class FinancialConnectionsCalls:
    """Stripe's ``financial_connections`` API (accounts, owners, transactions, sessions), as
    part of the gateway."""

    def list_accounts(
        self: _Calls, *, customer: str | None = None, session: str | None = None
    ) -> list[dict[str, Any]]:
        params: sdk.AccountListParams = {"limit": 100}
        if customer:
            params["account_holder"] = {"customer": customer}
        if session:
            params["session"] = session
        return list(self._iter("/v1/financial_connections/accounts", params))

    def retrieve_account(
        self: _Calls, account_id: str, *, expand_ownership: bool = False
    ) -> dict[str, Any]:
        params: sdk.AccountRetrieveParams = {"expand": ["ownership"]} if expand_ownership else {}
        fc = self.v1.financial_connections
        return self._one(lambda: fc.accounts.retrieve(account_id, params=params))

    def refresh_account(
        self: _Calls, account_id: str, features: Sequence[str], *, idempotency_key: str | None
    ) -> dict[str, Any]:
        fc = self.v1.financial_connections
        return self._one(
            lambda: fc.accounts.refresh(
                account_id, params={"features": list(features)}, options=self._opts(idempotency_key)
            )
        )

    def subscribe_transactions(
        self: _Calls, account_id: str, *, idempotency_key: str | None
    ) -> dict[str, Any]:
        fc = self.v1.financial_connections
        return self._one(
            lambda: fc.accounts.subscribe(
                account_id,
                params={"features": ["transactions"]},
                options=self._opts(idempotency_key),
            )
        )

    def unsubscribe_transactions(
        self: _Calls, account_id: str, *, idempotency_key: str | None
    ) -> dict[str, Any]:
        fc = self.v1.financial_connections
        return self._one(
            lambda: fc.accounts.unsubscribe(
                account_id,
                params={"features": ["transactions"]},
                options=self._opts(idempotency_key),
            )
        )

    def disconnect_account(
        self: _Calls, account_id: str, *, idempotency_key: str | None
    ) -> dict[str, Any]:
        fc = self.v1.financial_connections
        return self._one(
            lambda: fc.accounts.disconnect(account_id, options=self._opts(idempotency_key))
        )

    def list_owners(self: _Calls, account_id: str, ownership_id: str) -> list[dict[str, Any]]:
        params: sdk.AccountOwnerListParams = {"ownership": ownership_id, "limit": 100}
        path = f"/v1/financial_connections/accounts/{quote_plus(account_id)}/owners"
        return list(self._iter(path, params))

    def iter_transactions(
        self: _Calls, account_id: str, *, after_refresh: str | None = None
    ) -> Iterator[dict[str, Any]]:
        params = self._transaction_params(account_id, after_refresh, 100)
        return self._iter("/v1/financial_connections/transactions", params)

    def transactions_page(
        self: _Calls, account_id: str, *, after_refresh: str | None = None,
        starting_after: str | None = None, limit: int = 100,
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of an account's transactions, after ``starting_after``: for a job that
        reads an account's pages in separate steps, each counted by the rate limiter."""
        params = self._transaction_params(account_id, after_refresh, limit)
        if starting_after:
            params["starting_after"] = starting_after
        return self._page("/v1/financial_connections/transactions", params)

    @staticmethod
    def _transaction_params(
        account_id: str, after_refresh: str | None, limit: int
    ) -> sdk.TransactionListParams:
        params: sdk.TransactionListParams = {"account": account_id, "limit": limit}
        if after_refresh:
            params["transaction_refresh"] = {"after": after_refresh}
        return params

    def create_fc_session(
        self: _Calls, params: FcSessionCreateParams, *, idempotency_key: str | None
    ) -> dict[str, Any]:
        fc = self.v1.financial_connections
        return self._one(
            lambda: fc.sessions.create(params=params, options=self._opts(idempotency_key))
        )

    def retrieve_fc_session(self: _Calls, session_id: str) -> dict[str, Any]:
        fc = self.v1.financial_connections
        return self._one(lambda: fc.sessions.retrieve(session_id))
