"""The Stripe SDK, and the only module that imports it (the architecture test checks).

What the rest of the gateway needs from the pinned SDK: its client, its request and parameter
types, its exceptions turned into fcops' domain errors, and its webhook signature check. Above
the gateway nobody sees a ``stripe`` type or exception.
"""

from __future__ import annotations

import http.client
import io
import select
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

import stripe
from stripe import RequestOptions, StripeClient, StripeError, V1Services
from stripe.params import (
    CustomerCreateParams,
    CustomerListParams,
    CustomerSearchParams,
    EventListParams,
    InvoiceCreateParams,
    PaymentIntentCancelParams,
    PaymentIntentCreateParams,
    PaymentIntentListParams,
    PaymentIntentRetrieveParams,
    PaymentIntentVerifyMicrodepositsParams,
    PaymentMethodListParams,
    SetupIntentCancelParams,
    SetupIntentCreateParams,
    SetupIntentListParams,
    SetupIntentRetrieveParams,
    SetupIntentVerifyMicrodepositsParams,
    SubscriptionCreateParams,
    WebhookEndpointCreateParams,
    WebhookEndpointListParams,
)
from stripe.params.checkout import SessionCreateParams as CheckoutSessionCreateParams
from stripe.params.checkout import SessionExpireParams as CheckoutSessionExpireParams
from stripe.params.checkout import SessionListParams as CheckoutSessionListParams
from stripe.params.checkout import SessionRetrieveParams as CheckoutSessionRetrieveParams
from stripe.params.financial_connections import (
    AccountListParams,
    AccountOwnerListParams,
    AccountRetrieveParams,
    TransactionListParams,
)
from stripe.params.financial_connections import SessionCreateParams as FcSessionCreateParams

from services.adapters.gateway import pacing
from services.errors import (
    Conflict,
    FcopsError,
    NotFound,
    NoTransactionRefresh,
    OutcomeUnknown,
    RateLimited,
    RefreshNotAllowed,
    StripeAuthError,
    StripeRequestError,
    StripeUnavailable,
)
from services.rules import ids, no_answer
from services.rules.stripe_api import API_VERSION

# Stripe's FC error codes for a refresh that cannot start are only these (reference §10); other
# refusals carry no code and are judged by the account (services.rules.refresh_rule).
_REFRESH_CODES = {"financial_connections_account_inactive"}


__all__ = [
    "AccountListParams",
    "AccountOwnerListParams",
    "AccountRetrieveParams",
    "CheckoutSessionCreateParams",
    "CheckoutSessionExpireParams",
    "CheckoutSessionListParams",
    "CheckoutSessionRetrieveParams",
    "CustomerCreateParams",
    "CustomerListParams",
    "CustomerSearchParams",
    "EventListParams",
    "FcSessionCreateParams",
    "InvoiceCreateParams",
    "JsonAnswer",
    "PaymentIntentCancelParams",
    "PaymentIntentCreateParams",
    "PaymentIntentListParams",
    "PaymentIntentRetrieveParams",
    "PaymentIntentVerifyMicrodepositsParams",
    "PaymentMethodListParams",
    "RequestOptions",
    "SetupIntentCancelParams",
    "SetupIntentCreateParams",
    "SetupIntentListParams",
    "SetupIntentRetrieveParams",
    "SetupIntentVerifyMicrodepositsParams",
    "KeepAliveClient",
    "StripeError",
    "SubscriptionCreateParams",
    "TransactionListParams",
    "V1Services",
    "WebhookEndpointCreateParams",
    "WebhookEndpointListParams",
    "get_json",
    "new_client",
    "obj_to_dict",
    "signature_problem",
    "translate_error",
]


class _Headers(dict[str, str]):
    """Response headers keyed in lower case and found in any case, like ``requests``' headers:
    the SDK reads ``stripe-should-retry`` and ``request-id`` (and ``Request-Id`` to log)."""

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(name.lower(), default)


_Key = tuple[str, str, int | None]

class NoAnswer(stripe.APIConnectionError):
    """The SDK's connection error, knowing the request's method (a GET changed nothing)."""

    def __init__(self, message: str, *, verb: str, should_retry: bool) -> None:
        super().__init__(message, should_retry=should_retry)
        self.verb = verb


class KeepAliveClient(stripe.HTTPClient):
    """The SDK's transport over one keep-alive ``http.client`` connection per thread and host.

    ``stripe.RequestsClient`` spends over a millisecond of CPU a call in ``requests`` (sessions,
    adapters, cookie jars, header merging: ``bench/bench_sdk.py``); this sends the same bytes on
    a kept-open socket. Failures are
    what the SDK's retry loop (``max_network_retries``) expects from its own clients: an
    ``APIConnectionError`` with ``should_retry`` (True for timeouts and dropped or refused
    connections, False for a certificate that does not verify); the SDK then retries, with
    Stripe's back-off and the same idempotency key. 429/5xx answers are returned as answers,
    and the SDK decides (``Stripe-Should-Retry``, 409, 5xx). A connection the server closed
    while idle is noticed before it is reused and replaced; after any failure the connection is
    dropped, so the next request opens a new one. Proxies come from the environment, as
    ``requests`` took them (``HTTPS_PROXY``/``HTTP_PROXY``, ``NO_PROXY``): HTTPS is tunnelled
    through the proxy (CONNECT), plain HTTP is sent to it.
    """

    name = "http.client"

    def __init__(self, timeout: float = 80, *, verify_ssl_certs: bool = True) -> None:
        super().__init__(verify_ssl_certs=verify_ssl_certs)
        self._timeout = timeout
        self._context: ssl.SSLContext | None = None
        self._context_lock = threading.Lock()

    # -- connections -----------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        with self._context_lock:
            if self._context is None:
                if self._verify_ssl_certs:
                    self._context = ssl.create_default_context(cafile=stripe.ca_bundle_path)
                else:
                    self._context = ssl._create_unverified_context()
            return self._context

    def _connections(self) -> dict[_Key, http.client.HTTPConnection]:
        conns = getattr(self._thread_local, "connections", None)
        if conns is None:
            conns = self._thread_local.connections = {}
        return conns

    def _connection(self, key: _Key) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection to ``key`` and whether it is an open one being reused."""
        conns = self._connections()
        conn = conns.get(key)
        if conn is not None and conn.sock is not None and not _dropped(conn.sock):
            return conn, True
        if conn is not None:
            conn.close()
        scheme, host, port = key
        proxy = _proxy_for(scheme, host)
        if scheme == "https":
            conn = http.client.HTTPSConnection(
                proxy.hostname or "" if proxy else host,
                proxy.port if proxy else port,
                timeout=self._timeout,
                context=self._ssl_context(),
            )
            if proxy:
                conn.set_tunnel(host, port)
        elif proxy:
            origin = f"http://{host}" + (f":{port}" if port else "")
            conn = _ProxiedHTTPConnection(proxy, origin, timeout=self._timeout)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self._timeout)
        conns[key] = conn
        return conn, False

    def _drop(self, key: _Key) -> None:
        conn = self._connections().pop(key, None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        """Close this thread's connections (the next request opens new ones)."""
        for key in list(self._connections()):
            self._drop(key)

    # -- requests --------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        """One request: (body bytes, status, headers); connection failures raise the SDK's
        ``APIConnectionError``."""
        pacing.wait_turn()  # a job's sequential step: its turn under the deployment's rate
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise stripe.APIConnectionError(f"Unsupported URL scheme in {url!r}.")
        key: _Key = (scheme, parts.hostname or "", parts.port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = post_data.encode("utf-8") if isinstance(post_data, str) else post_data
        verb = method.upper()
        sent = dict(headers or {})
        deadline = pacing.read_deadline_at() if verb == "GET" else None
        while True:
            timeout = self._timeout
            if deadline is not None:
                timeout = min(timeout, deadline - time.monotonic())
                if timeout <= 0:
                    raise NoAnswer(
                        "The request to Stripe timed out.", verb=verb, should_retry=False
                    )
            conn, reused = self._connection(key)
            conn.timeout = timeout  # this request's: a kept socket may carry another's
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            try:
                conn.request(verb, target, body=body, headers=sent)
                response = conn.getresponse()
                content = response.read()
            except Exception as err:
                self._drop(key)
                # A kept-open socket the server closed just as we sent: a GET is safe to send
                # once more on a new connection; anything else goes to the SDK's retry loop.
                if reused and verb == "GET" and isinstance(err, _CLOSED_UNDER_US):
                    continue
                raise _connection_error(err, verb, deadline) from err
            if response.will_close:
                self._drop(key)
            found = _Headers()
            for name, value in response.getheaders():
                name = name.lower()
                found[name] = f"{found[name]}, {value}" if name in found else value
            return content, response.status, found

    def request_stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        content, status, found = self.request(method, url, headers, post_data)
        return io.BytesIO(content), status, found


def _proxy_for(scheme: str, host: str) -> SplitResult | None:
    """The environment's proxy for ``scheme`` unless ``NO_PROXY`` exempts ``host``."""
    url = urllib.request.getproxies().get(scheme)
    if not url or urllib.request.proxy_bypass(host):
        return None
    return urlsplit(url if "://" in url else f"http://{url}")


class _ProxiedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP through a proxy: each request line carries the absolute URL."""

    def __init__(self, proxy: SplitResult, origin: str, *, timeout: float) -> None:
        super().__init__(proxy.hostname or "", proxy.port, timeout=timeout)
        self._origin = origin

    def putrequest(
        self, method: str, url: str, skip_host: bool = False, skip_accept_encoding: bool = False
    ) -> None:
        super().putrequest(method, self._origin + url, skip_host, skip_accept_encoding)


_CLOSED_UNDER_US = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def _dropped(sock: socket.socket) -> bool:
    """True when an idle kept-open socket is readable: the server closed it (or sent junk)."""
    try:
        if hasattr(select, "poll"):  # no FD_SETSIZE limit (a busy process has many fds)
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _connection_error(err: Exception, verb: str, deadline: float | None) -> NoAnswer:
    """The SDK's connection error for ``err``: retried by the SDK unless a certificate failed
    or the read's ``deadline`` has passed."""
    if isinstance(err, ssl.SSLCertVerificationError):
        message, retry = "Could not verify Stripe's SSL certificate.", False
    elif isinstance(err, (TimeoutError, socket.timeout)):
        message, retry = "The request to Stripe timed out.", True
    elif isinstance(err, (OSError, http.client.HTTPException)):
        message, retry = "Unexpected error communicating with Stripe.", True
    else:
        message, retry = "Unexpected error communicating with Stripe (a local problem).", False
    detail = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    if deadline is not None and time.monotonic() >= deadline:
        retry = False
    return NoAnswer(f"{message}\n\n(Network error: {detail})", verb=verb, should_retry=retry)


def new_client(
    api_key: str, *, base_url: str | None, timeout_seconds: float, max_network_retries: int
) -> StripeClient:
    """The SDK client at the pinned API version; ``base_url`` points it at the sandbox."""
    return StripeClient(
        api_key,
        stripe_version=API_VERSION,
        base_addresses={"api": base_url} if base_url else None,
        max_network_retries=max_network_retries,
        http_client=KeepAliveClient(timeout=timeout_seconds),
    )


@dataclass(frozen=True)
class JsonAnswer:
    """A GET's answer as Stripe's JSON (plain dicts) and its Request-Id."""

    data: dict[str, Any]
    request_id: str | None


def get_json(client: StripeClient, path: str, params: Mapping[str, Any]) -> JsonAnswer:
    """GET ``path`` through the SDK's public ``StripeClient.raw_request``, answered as Stripe's
    JSON.

    The request is the SDK's in every respect (parameter encoding, headers, Stripe-Version,
    ``max_network_retries``) and so are its failures (the same exceptions, from the same
    ``_interpret_response``, as its typed services). Only the answer differs: no
    ``StripeObject`` per item, which the gateway used to build and convert straight back to a
    dict. (The SDK's private streaming request would save ~2 ms of CPU per page of 100 expanded
    SetupIntents, ``bench/bench_sdk.py``; the public call is kept so an SDK upgrade cannot
    break it silently.) tests/services/test_sdk_transport.py checks that every list equals
    what the typed services return.
    """
    response = client.raw_request("get", path, **dict(params))
    data: dict[str, Any] = response.data
    return JsonAnswer(data, response.request_id)


def signature_problem(payload: bytes, signature: str, secret: str, tolerance: int) -> str | None:
    """Why ``signature`` does not sign this exact raw body with ``secret`` within ``tolerance``
    seconds (the SDK's check), or None when it does."""
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance)
    except stripe.SignatureVerificationError as err:
        return str(err.user_message or err)
    return None


# SDK errors that mean one thing whatever Stripe's message: the domain error and its sentence.
_FIXED_SENTENCES: tuple[tuple[type[StripeError], type[FcopsError], str], ...] = (
    (
        stripe.AuthenticationError,
        StripeAuthError,
        "Stripe rejected the API key. Check STRIPE_API_KEY in the settings.",
    ),
    (
        stripe.RateLimitError,
        RateLimited,
        "Stripe is rate-limiting requests. Wait a few seconds and try again.",
    ),
    (
        stripe.IdempotencyError,
        Conflict,
        "This request was already sent with different details; reload the page and try again.",
    ),
)


def obj_to_dict(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _body_code(err: StripeError) -> str | None:
    """Stripe's ``error.code`` from the answer's body: the SDK leaves ``err.code`` unset on a
    429 (``RateLimitError`` is built from the message alone), so ``lock_timeout`` is only here."""
    body = getattr(err, "json_body", None)
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def translate_error(
    err: StripeError, waited: float | None = None, *, keyed: bool = False
) -> FcopsError:
    """Turn an SDK exception into a domain error with a sentence a person can act on;
    ``waited``: the seconds the call took, retries included (said when nothing came back);
    ``keyed``: the call carried fcops' own idempotency key (a person's retry sends it again)."""
    rid = getattr(err, "request_id", None)
    message = (
        getattr(err, "user_message", None) or str(getattr(err, "_message", "") or err)
    ).strip()
    code = getattr(err, "code", None) or _body_code(err)
    param = getattr(err, "param", None)
    suffix = f" (Stripe request {rid})" if rid else ""
    if isinstance(err, stripe.RateLimitError) and code == "lock_timeout":
        # Not a rate limit: another request held the object (the SDK and _call retried it)
        return RateLimited(
            f"Stripe was busy with another change to the same object; try again in a moment."
            f"{suffix}",
            request_id=rid,
        )
    for kind, domain, sentence in _FIXED_SENTENCES:
        if isinstance(err, kind):
            return domain(f"{sentence}{suffix}", request_id=rid)
    if isinstance(err, NoAnswer) and err.verb == "GET":  # a read: nothing can have changed
        return OutcomeUnknown(no_answer.read_sentence(waited), request_id=rid)
    if isinstance(err, stripe.APIConnectionError):  # a change: it may have reached Stripe
        return OutcomeUnknown(no_answer.change_sentence(waited, keyed=keyed), request_id=rid)
    if getattr(err, "http_status", None) == 409 or code == "idempotency_key_in_use":
        return OutcomeUnknown(
            "Stripe is still working on the same request (sent twice?). Wait a moment and try "
            f"again: the retry repeats the same request, so it happens at most once.{suffix}",
            request_id=rid,
        )
    if isinstance(err, stripe.InvalidRequestError):
        if getattr(err, "http_status", None) == 404 or code == "resource_missing":
            sentence = ids.unknown_id_from_stripe(message) or message  # not Stripe's "No such"
            return NotFound(f"{sentence}{suffix}", request_id=rid)
        if code in _REFRESH_CODES:
            return RefreshNotAllowed(f"{message}{suffix}", request_id=rid)
        if code == "financial_connections_no_successful_transaction_refresh":
            return NoTransactionRefresh(
                "No transaction refresh has succeeded yet for this account, so Stripe has no "
                "transactions to list. Press Refresh transactions on the Transactions page; it "
                "syncs the account by itself when the refresh finishes. Stripe said: "
                f"{message}{suffix}",
                request_id=rid,
            )
        return StripeRequestError(f"{message}{suffix}", request_id=rid, code=code, param=param)
    if isinstance(err, stripe.PermissionError):
        return StripeRequestError(
            f"The Stripe key may not do this (restricted key scope): {message}{suffix}",
            request_id=rid,
            code=code,
        )
    if isinstance(err, stripe.CardError):
        return StripeRequestError(f"{message}{suffix}", request_id=rid, code=code, param=param)
    if isinstance(err, stripe.APIError):
        return StripeUnavailable(
            f"Stripe had a temporary problem (HTTP {getattr(err, 'http_status', '5xx')}). "
            f"Try again in a minute.{suffix}",
            request_id=rid,
        )
    return StripeUnavailable(
        f"Stripe returned an unexpected error: {message}{suffix}", request_id=rid
    )
