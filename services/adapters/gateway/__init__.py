"""The one place that talks to Stripe (or the offline sandbox) through the official SDK.

Everything above this module sees plain dicts shaped like Stripe's JSON and our own domain
errors; no ``stripe`` type or exception leaves here. Live Stripe and the sandbox are the same
code path: only the base address differs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote_plus

from services.adapters.backoff import NO_BACKOFF, Backoff, SpentKeys, patiently
from services.adapters.gateway import pacing, sdk
from services.adapters.gateway.sdk import (
    CheckoutSessionCreateParams,
    CustomerCreateParams,
    FcSessionCreateParams,
    InvoiceCreateParams,
    PaymentIntentCreateParams,
    SetupIntentCreateParams,
    SubscriptionCreateParams,
    translate_error,
)
from services.adapters.gateway.webhooks import WebhookEndpointCalls
from services.errors import RateLimited

T = TypeVar("T")
# How long a page's read may keep a person waiting, retries included (was 3 × 20 s + back-off).
INTERACTIVE_READ_SECONDS = 15.0
_IntentList = TypeVar("_IntentList", sdk.SetupIntentListParams, sdk.PaymentIntentListParams)

# The pinned SDK's own request types, for the services that build create calls: a parameter
# this API version does not accept is a mypy error there, not a 400 in production. Re-exported
# from :mod:`.sdk`, the only module that imports `stripe`.
__all__ = [
    "CheckoutSessionCreateParams",
    "CustomerCreateParams",
    "FcSessionCreateParams",
    "InvoiceCreateParams",
    "PaymentIntentCreateParams",
    "SetupIntentCreateParams",
    "StripeGateway",
    "SubscriptionCreateParams",
    "translate_error",
]


def _intent_list(
    params: _IntentList, created_gte: int | None, customer: str | None, expand: Sequence[str]
) -> _IntentList:
    """The list parameters SetupIntents and PaymentIntents share (mypy checks both SDK types)."""
    params["limit"] = 100
    if created_gte is not None:
        params["created"] = {"gte": created_gte}
    if customer:
        params["customer"] = customer
    if expand:
        params["expand"] = [f"data.{e}" for e in expand]
    return params


class StripeGateway(WebhookEndpointCalls):
    """Typed calls over ``StripeClient``; returns Stripe-shaped dicts.

    ``last_request_id`` (per thread) is the Request-Id of the last call, for the audit log.
    Every call backs off on a 429 (``backoff``: bounded, exponential, jittered), because Stripe
    does not ask the SDK to retry real rate limits; ``rate_limited`` counts them per thread.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        timeout_seconds: float = 20.0,
        max_network_retries: int = 2,
        backoff: Backoff | None = None,
    ) -> None:
        self.base_url = base_url
        self._client = sdk.new_client(
            api_key,
            base_url=base_url,
            timeout_seconds=timeout_seconds,
            max_network_retries=max_network_retries,
        )
        self._local = threading.local()
        self.backoff = backoff or Backoff()
        self.spent_keys = SpentKeys()

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def last_request_id(self) -> str | None:
        return getattr(self._local, "request_id", None)

    @property
    def rate_limited(self) -> int:
        """How many 429s this thread's calls met (the batch reports them)."""
        return int(getattr(self._local, "rate_limited", 0))

    @contextmanager
    def without_backoff(self) -> Iterator[None]:
        """Calls in this block raise RateLimited at once (a caller with its own back-off)."""
        self._local.backoff = NO_BACKOFF
        try:
            yield
        finally:
            self._local.backoff = None

    def serve_a_person(self) -> None:
        """This thread is a page's run: its reads give up after ``INTERACTIVE_READ_SECONDS`` in
        all. Other threads (jobs, fetchers) and every write keep the full timeout and retries."""
        self._local.read_seconds = INTERACTIVE_READ_SECONDS

    def fresh_key(self, key: str) -> str:
        """The key to send for a request derived as ``key``: itself, or the next variant when
        Stripe already answered ``key`` with a definite failure (it would replay it)."""
        return self.spent_keys.fresh(key)

    def _call(self, fn: Callable[[], Any]) -> Any:
        backoff = getattr(self._local, "backoff", None) or self.backoff
        attempt = 0
        while True:
            try:
                return self._call_once(fn)
            except RateLimited:
                self._local.rate_limited = self.rate_limited + 1
                if attempt >= backoff.retries:
                    raise
                backoff.sleep(backoff.delay(attempt))
                attempt += 1

    def _call_once(self, fn: Callable[[], Any]) -> Any:
        self._local.request_id = None
        self._local.key = None
        started = time.monotonic()
        try:
            with pacing.read_deadline(getattr(self._local, "read_seconds", None)):
                result = fn()
        except sdk.StripeError as err:
            self._local.request_id = getattr(err, "request_id", None)
            domain = translate_error(err, waited=time.monotonic() - started)
            key = getattr(self._local, "key", None)
            if key and not domain.outcome_unknown and getattr(err, "http_status", None):
                self.spent_keys.spend(key)  # Stripe saved this answer for the key
            raise domain from None
        if isinstance(result, sdk.JsonAnswer):
            self._local.request_id = result.request_id
        else:
            response = getattr(result, "last_response", None)
            self._local.request_id = getattr(response, "request_id", None)
        return result

    def _one(self, fn: Callable[[], Any]) -> dict[str, Any]:
        return sdk.obj_to_dict(self._call(fn))

    # Lists are read as Stripe's JSON (``sdk.get_json``: the SDK's request path), not as
    # StripeObjects converted back to dicts: the syncs' hot paths, and the same dicts. The
    # params stay the SDK's TypedDicts, so mypy still checks every list call's parameters.

    def _list_page(self, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """One page of a list (``data``, ``has_more``), through ``_call`` (back-off, errors)."""
        page: dict[str, Any] = self._call(lambda: sdk.get_json(self._client, path, params)).data
        return page

    def _iter(
        self, path: str, params: Mapping[str, Any], retry: Backoff | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of a list, page by page, each page after the last one's last id (as the
        SDK's ``next_page`` does). With ``retry``, a page Stripe fails to answer is asked for
        again on its own (:func:`~services.adapters.backoff.patiently`), not the list anew."""
        page = patiently(partial(self._list_page, path, params), retry)
        while True:
            items = page["data"]
            yield from items
            if not page.get("has_more") or not items:
                return
            after = {**params, "starting_after": items[-1]["id"]}
            page = patiently(partial(self._list_page, path, after), retry)

    def _page(self, path: str, params: Mapping[str, Any]) -> tuple[list[dict[str, Any]], bool]:
        page = self._list_page(path, params)
        return list(page["data"]), bool(page.get("has_more"))

    def _opts(self, idempotency_key: str | None) -> sdk.RequestOptions:
        self._local.key = idempotency_key  # evaluated inside the call: see _call_once
        return {"idempotency_key": idempotency_key} if idempotency_key else {}

    @property
    def v1(self) -> sdk.V1Services:
        return self._client.v1

    # -- customers --------------------------------------------------------------------------

    def retrieve_customer(self, customer_id: str) -> dict[str, Any]:
        return self._one(lambda: self.v1.customers.retrieve(customer_id))

    def list_customers_page(
        self, *, limit: int = 100, starting_after: str | None = None, created_gte: int | None = None
    ) -> tuple[list[dict[str, Any]], bool]:
        params: sdk.CustomerListParams = {"limit": limit}
        if starting_after:
            params["starting_after"] = starting_after
        if created_gte is not None:
            params["created"] = {"gte": created_gte}
        return self._page("/v1/customers", params)

    def iter_customers(self, *, created_gte: int | None = None) -> Iterator[dict[str, Any]]:
        params: sdk.CustomerListParams = {"limit": 100}
        if created_gte is not None:
            params["created"] = {"gte": created_gte}
        return self._iter("/v1/customers", params)

    def customers_by_email(self, email: str) -> list[dict[str, Any]]:
        params: sdk.CustomerListParams = {"email": email, "limit": 100}
        return list(self._iter("/v1/customers", params))

    def search_customers(self, query: str, *, limit: int = 20) -> list[dict[str, Any]]:
        params: sdk.CustomerSearchParams = {"query": query, "limit": limit}
        result = self._call(lambda: self.v1.customers.search(params=params))
        return [sdk.obj_to_dict(x) for x in result.data]

    def create_customer(
        self, params: CustomerCreateParams, *, idempotency_key: str | None
    ) -> dict[str, Any]:
        return self._one(
            lambda: self.v1.customers.create(params=params, options=self._opts(idempotency_key))
        )

    # -- Financial Connections accounts --------------------------------------------------------

    def list_accounts(
        self, *, customer: str | None = None, session: str | None = None
    ) -> list[dict[str, Any]]:
        params: sdk.AccountListParams = {"limit": 100}
        if customer:
            params["account_holder"] = {"customer": customer}
        if session:
            params["session"] = session
        return list(self._iter("/v1/financial_connections/accounts", params))

    def retrieve_account(
        self, account_id: str, *, expand_ownership: bool = False
    ) -> dict[str, Any]:
        params: sdk.AccountRetrieveParams = {"expand": ["ownership"]} if expand_ownership else {}
        fc = self.v1.financial_connections
        return self._one(lambda: fc.accounts.retrieve(account_id, params=params))

    def refresh_account(
        self, account_id: str, features: Sequence[str], *, idempotency_key: str | None
    ) -> dict[str, Any]:
        fc = self.v1.financial_connections
        return self._one(
            lambda: fc.accounts.refresh(
                account_id, params={"features": list(features)}, options=self._opts(idempotency_key)
            )
        )

    def subscribe_transactions(
        self, account_id: str, *, idempotency_key: str | None
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
        self, account_id: str, *, idempotency_key: str | None
    ) -> dict[str, Any]:
        fc = self.v1.financial_connections
        return self._one(
            lambda: fc.accounts.unsubscribe(
                account_id,
                params={"features": ["transactions"]},
                options=self._opts(idempotency_key),
            )
        )

    def disconnect_account(self, account_id: str, *, idempotency_key: str | None) -> dict[str, Any]:
        fc = self.v1.financial_connections
        return self._one(
            lambda: fc.accounts.disconnect(account_id, options=self._opts(idempotency_key))
        )

    def list_owners(self, account_id: str, ownership_id: str) -> list[dict[str, Any]]:
        params: sdk.AccountOwnerListParams = {"ownership": ownership_id, "limit": 100}
        path = f"/v1/financial_connections/accounts/{quote_plus(account_id)}/owners"
        return list(self._iter(path, params))

    def iter_transactions(
        self, account_id: str, *, after_refresh: str | None = None
    ) -> Iterator[dict[str, Any]]:
        params = self._transaction_params(account_id, after_refresh, 100)
        return self._iter("/v1/financial_connections/transactions", params)

    def transactions_page(
        self, account_id: str, *, after_refresh: str | None = None,
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
        self, params: FcSessionCreateParams, *, idempotency_key: str | None
    ) -> dict[str, Any]:
        fc = self.v1.financial_connections
        return self._one(
            lambda: fc.sessions.create(params=params, options=self._opts(idempotency_key))
        )

    def retrieve_fc_session(self, session_id: str) -> dict[str, Any]:
        fc = self.v1.financial_connections
        return self._one(lambda: fc.sessions.retrieve(session_id))

    # -- intents, payment methods, mandates ------------------------------------------------------
    # SetupIntents and PaymentIntents share their call shapes, and an id's prefix says which one
    # it is; each branch builds its own SDK params type, so mypy checks both.

    def create_setup_intent(
        self, params: SetupIntentCreateParams, *, idempotency_key: str | None
    ) -> dict[str, Any]:
        return self._one(
            lambda: self.v1.setup_intents.create(params=params, options=self._opts(idempotency_key))
        )

    def create_payment_intent(
        self, params: PaymentIntentCreateParams, *, idempotency_key: str | None
    ) -> dict[str, Any]:
        return self._one(
            lambda: self.v1.payment_intents.create(
                params=params, options=self._opts(idempotency_key)
            )
        )

    def _retrieve_intent(self, intent_id: str, expand: Sequence[str]) -> dict[str, Any]:
        if intent_id.startswith("pi_"):
            pi: sdk.PaymentIntentRetrieveParams = {"expand": list(expand)} if expand else {}
            return self._one(lambda: self.v1.payment_intents.retrieve(intent_id, params=pi))
        si: sdk.SetupIntentRetrieveParams = {"expand": list(expand)} if expand else {}
        return self._one(lambda: self.v1.setup_intents.retrieve(intent_id, params=si))

    def _cancel_intent(
        self, intent_id: str, reason: str | None, idempotency_key: str | None
    ) -> dict[str, Any]:
        options = self._opts(idempotency_key)
        if intent_id.startswith("pi_"):
            pi: sdk.PaymentIntentCancelParams = {"cancellation_reason": reason} if reason else {}
            return self._one(
                lambda: self.v1.payment_intents.cancel(intent_id, params=pi, options=options)
            )
        si: sdk.SetupIntentCancelParams = {"cancellation_reason": reason} if reason else {}
        return self._one(
            lambda: self.v1.setup_intents.cancel(intent_id, params=si, options=options)
        )

    def retrieve_setup_intent(
        self, intent_id: str, *, expand: Sequence[str] = ()
    ) -> dict[str, Any]:
        return self._retrieve_intent(intent_id, expand)

    def retrieve_payment_intent(
        self, intent_id: str, *, expand: Sequence[str] = ()
    ) -> dict[str, Any]:
        return self._retrieve_intent(intent_id, expand)

    def cancel_setup_intent(
        self, intent_id: str, *, reason: str | None, idempotency_key: str | None
    ) -> dict[str, Any]:
        return self._cancel_intent(intent_id, reason, idempotency_key)

    def cancel_payment_intent(
        self, intent_id: str, *, reason: str | None, idempotency_key: str | None
    ) -> dict[str, Any]:
        return self._cancel_intent(intent_id, reason, idempotency_key)

    def iter_setup_intents(
        self,
        *,
        created_gte: int | None = None,
        customer: str | None = None,
        expand: Sequence[str] = (),
        page_retry: Backoff | None = None,
    ) -> Iterator[dict[str, Any]]:
        params = _intent_list(sdk.SetupIntentListParams(), created_gte, customer, expand)
        return self._iter("/v1/setup_intents", params, page_retry)

    def iter_payment_intents(
        self,
        *,
        created_gte: int | None = None,
        customer: str | None = None,
        expand: Sequence[str] = (),
        page_retry: Backoff | None = None,
    ) -> Iterator[dict[str, Any]]:
        params = _intent_list(sdk.PaymentIntentListParams(), created_gte, customer, expand)
        return self._iter("/v1/payment_intents", params, page_retry)

    def verify_microdeposits(
        self,
        intent_id: str,
        *,
        amounts: Sequence[int] | None = None,
        descriptor_code: str | None = None,
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        """Verify a manually entered account: exactly one of ``amounts`` or ``descriptor_code``."""
        options = self._opts(idempotency_key)
        if intent_id.startswith("pi_"):
            pi: sdk.PaymentIntentVerifyMicrodepositsParams = (
                {"amounts": list(amounts)}
                if amounts is not None
                else {"descriptor_code": str(descriptor_code)}
            )
            return self._one(
                lambda: self.v1.payment_intents.verify_microdeposits(
                    intent_id, params=pi, options=options
                )
            )
        si: sdk.SetupIntentVerifyMicrodepositsParams = (
            {"amounts": list(amounts)}
            if amounts is not None
            else {"descriptor_code": str(descriptor_code)}
        )
        return self._one(
            lambda: self.v1.setup_intents.verify_microdeposits(
                intent_id, params=si, options=options
            )
        )

    def retrieve_payment_method(self, pm_id: str) -> dict[str, Any]:
        return self._one(lambda: self.v1.payment_methods.retrieve(pm_id))

    def list_payment_methods(self, customer_id: str) -> list[dict[str, Any]]:
        params: sdk.PaymentMethodListParams = {
            "customer": customer_id,
            "type": "us_bank_account",
            "limit": 100,
        }
        return list(self._iter("/v1/payment_methods", params))

    def retrieve_charge(self, charge_id: str) -> dict[str, Any]:
        """A payment (``py_…`` for bank debits, ``ch_…``): what its PaymentIntent is."""
        return self._one(lambda: self.v1.charges.retrieve(charge_id))

    def retrieve_mandate(self, mandate_id: str) -> dict[str, Any]:
        return self._one(lambda: self.v1.mandates.retrieve(mandate_id))

    def create_checkout_session(
        self, params: CheckoutSessionCreateParams, *, idempotency_key: str | None
    ) -> dict[str, Any]:
        return self._one(
            lambda: self.v1.checkout.sessions.create(
                params=params, options=self._opts(idempotency_key)
            )
        )

    def retrieve_checkout_session(
        self, session_id: str, *, expand: Sequence[str] = ()
    ) -> dict[str, Any]:
        params: sdk.CheckoutSessionRetrieveParams = {"expand": list(expand)} if expand else {}
        return self._one(lambda: self.v1.checkout.sessions.retrieve(session_id, params=params))

    # -- events -------------------------------------------------------------------------------

    def iter_events(
        self,
        *,
        types: Sequence[str] = (),
        created_gte: int | None = None,
        page_retry: Backoff | None = None,
    ) -> Iterator[dict[str, Any]]:
        params: sdk.EventListParams = {"limit": 100}
        if types:
            params["types"] = list(types)
        if created_gte is not None:
            params["created"] = {"gte": created_gte}
        return self._iter("/v1/events", params, page_retry)
