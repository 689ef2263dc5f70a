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

from services.adapters.backoff import NO_BACKOFF, Backoff, SpentKeys, patiently, tell_retry
from services.adapters.gateway import pacing, sdk
from services.adapters.gateway.financial_connections import FinancialConnectionsCalls
from services.adapters.gateway.intents import IntentCalls
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


class StripeGateway(FinancialConnectionsCalls, IntentCalls, WebhookEndpointCalls):
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
            except RateLimited as err:
                self._local.rate_limited = self.rate_limited + 1
                if attempt >= backoff.retries:
                    raise
                tell_retry(err, attempt + 2, backoff.retries + 1)
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
            key = getattr(self._local, "key", None)
            domain = translate_error(err, waited=time.monotonic() - started, keyed=bool(key))
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
