"""Optional signed webhook delivery (reference §5.2, §8.4): POST each new event to one URL.

Why a separate thread and queue: ``State.emit`` runs inside request handlers and background
jobs with ``state.lock`` held, so the event hook only files a delivery; a daemon thread
signs and POSTs it without ever taking the state lock, and a slow or failing receiver never
stalls the API. Delivery is at-least-once like Stripe's: a non-2xx answer or a connection
error is retried after ``retry_delays`` (bounded), then the delivery is marked ``failed``.

Only loopback receivers are allowed (``127.0.0.0/8``, ``::1``, ``localhost``): the sandbox
must never send traffic off the machine, so any other URL is refused when the sandbox starts.
"""

from __future__ import annotations

import heapq
import http.client
import ipaddress
import json
import secrets
import ssl
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import stripe

from sandbox.core import Request, State, route

RETRY_DELAYS: tuple[float, ...] = (0.2, 1.0, 5.0, 15.0)  # 5 attempts in ~21 s, then give up
POST_TIMEOUT_SECONDS = 5.0
LOG_SIZE = 200
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks) fcops-sandbox"


class WebhookConfigError(ValueError):
    """The webhook URL cannot be used (not http(s), or not a loopback address)."""


def generate_secret() -> str:
    """A fresh ``whsec_`` endpoint secret (random, not seeded: it is a secret)."""
    return "whsec_" + secrets.token_hex(16)


def check_loopback_url(url: str) -> str:
    """Return ``url`` if it is an http(s) URL on a loopback address, else raise why not.

    Host names other than ``localhost`` are refused without resolving them: a DNS answer
    could change between the check and the POST.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookConfigError(f"webhook URL must be http(s)://host[:port]/path, got {url!r}")
    host = parts.hostname
    if host.lower() != "localhost":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise WebhookConfigError(
                f"webhook URL {url!r} is not a loopback address: the sandbox only delivers "
                "to 127.0.0.1, ::1 or localhost (it must not send traffic off this machine)"
            )
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError as exc:
        raise WebhookConfigError(f"webhook URL {url!r} has an invalid port") from exc
    return url


@dataclass
class Delivery:
    """One event's delivery to the endpoint, with every attempt made so far."""

    id: str
    event: dict
    created: float
    status: str = "pending"  # pending | delivered | failed
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        last = self.attempts[-1] if self.attempts else {}
        return {
            "id": self.id,
            "event": self.event["id"],
            "type": self.event["type"],
            "status": self.status,
            "status_code": last.get("status_code"),
            "error": last.get("error"),
            "attempt_count": len(self.attempts),
            "attempts": [dict(a) for a in self.attempts],
            "created": int(self.created),
        }


class WebhookDispatcher:
    """Queues events (from ``state.emit``) and delivers them from ``concurrency`` daemon threads."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        timeout: float = POST_TIMEOUT_SECONDS,
        concurrency: int = 1,
    ) -> None:
        self.url = check_loopback_url(url)
        self.secret = secret
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self._cond = threading.Condition()
        self._due: list[tuple[float, int, Delivery]] = []  # heap of (when, seq, delivery)
        self._seq = 0
        self._log: deque[Delivery] = deque(maxlen=LOG_SIZE)
        self._stopping = False
        # Stripe does not guarantee the order of events (its webhook docs) and documents no
        # one-at-a-time delivery; ``concurrency`` threads model overlapping deliveries
        # (1, the default, delivers them one at a time, in order).
        self._threads = [
            threading.Thread(target=self._run, name=f"sandbox-webhooks-{n}", daemon=True)
            for n in range(max(1, concurrency))
        ]

    # ---- wiring

    def install(self, state: State) -> None:
        """Deliver every event ``state`` emits from now on (the seeded history is not sent)."""
        state.extras["webhooks"] = self
        state.event_hooks.append(self.enqueue)
        self.start()

    def start(self) -> None:
        """Start the delivery threads without hooking into a state (see :class:`EndpointRouter`)."""
        for thread in self._threads:
            thread.start()

    def stop(self, *, timeout: float = 2.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=timeout)

    def enqueue(self, event: dict) -> None:
        """Called by ``state.emit`` with the state lock held: file it and return at once."""
        event["pending_webhooks"] = 1
        with self._cond:
            self._seq += 1
            delivery = Delivery(id=f"whdel_{self._seq:08d}", event=event, created=time.time())
            self._log.append(delivery)
            heapq.heappush(self._due, (time.monotonic(), self._seq, delivery))
            self._cond.notify_all()

    # ---- inspection

    def deliveries(self) -> list[dict[str, Any]]:
        """Recent deliveries, newest first."""
        with self._cond:
            return [d.summary() for d in reversed(self._log)]

    def pending(self) -> int:
        with self._cond:
            return sum(1 for d in self._log if d.status == "pending")

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until nothing is queued or being retried (for tests and demos)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._due or any(d.status == "pending" for d in self._log):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    # ---- the delivery thread

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (not self._due or self._due[0][0] > time.monotonic()):
                    wait = self._due[0][0] - time.monotonic() if self._due else None
                    self._cond.wait(wait)
                if self._stopping:
                    return
                _, _, delivery = heapq.heappop(self._due)
            self._attempt(delivery)

    def _attempt(self, delivery: Delivery) -> None:
        """POST once (no lock held), record the outcome, and schedule a retry if one is left."""
        # The event's snapshot is never mutated after emit, so it serialises safely here.
        payload = json.dumps(delivery.event, indent=2)
        header = stripe.WebhookSignature.generate_signature_header(payload, self.secret)
        started = time.time()
        status_code, error = self._post(payload, header)
        ok = status_code is not None and 200 <= status_code < 300
        with self._cond:
            delivery.attempts.append(
                {"at": int(started), "status_code": status_code, "error": error}
            )
            tried = len(delivery.attempts)
            if ok:
                delivery.status = "delivered"
                delivery.event["pending_webhooks"] = 0
            elif tried <= len(self.retry_delays):
                when = time.monotonic() + self.retry_delays[tried - 1]
                self._seq += 1
                heapq.heappush(self._due, (when, self._seq, delivery))
            else:
                delivery.status = "failed"  # pending_webhooks stays 1: never delivered
            self._cond.notify_all()

    def _post(self, payload: str, signature: str) -> tuple[int | None, str | None]:
        parts = urlsplit(self.url)
        host = parts.hostname or "127.0.0.1"
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(
                host, parts.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            conn = http.client.HTTPConnection(host, parts.port, timeout=self.timeout)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        body = payload.encode("utf-8")
        try:
            conn.request(
                "POST",
                path,
                body=body,
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": signature,
                    "User-Agent": USER_AGENT,
                    "Content-Length": str(len(body)),
                },
            )
            resp = conn.getresponse()
            resp.read()
            return resp.status, None
        except (OSError, http.client.HTTPException) as exc:
            return None, f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()


class EndpointRouter:
    """Delivery for ``/v1/webhook_endpoints``: one dispatcher per registered endpoint, fed the
    events whose type it enabled (``*``: all). Plugged in as ``state.extras["webhook_connector"]``;
    ``connect``/``disconnect`` run in request handlers (state lock held), ``on_event`` in
    ``state.emit`` (lock held), so each only files work for the dispatcher threads."""

    def __init__(self, retry_delays: Sequence[float] = RETRY_DELAYS, concurrency: int = 1) -> None:
        self.retry_delays = tuple(retry_delays)
        self.concurrency = concurrency
        self._endpoints: dict[str, tuple[WebhookDispatcher, frozenset[str]]] = {}

    def install(self, state: State) -> None:
        state.extras["webhook_connector"] = self
        state.event_hooks.append(self.on_event)

    def connect(self, endpoint: dict) -> None:
        dispatcher = WebhookDispatcher(
            endpoint["url"], endpoint["secret"], retry_delays=self.retry_delays,
            concurrency=self.concurrency,
        )  # raises WebhookConfigError (a ValueError) for a non-loopback URL
        dispatcher.start()
        self._endpoints[endpoint["id"]] = (dispatcher, frozenset(endpoint["enabled_events"]))

    def disconnect(self, endpoint_id: str) -> None:
        found = self._endpoints.pop(endpoint_id, None)
        if found is not None:
            found[0].stop(timeout=0)

    def on_event(self, event: dict) -> None:
        for dispatcher, types in list(self._endpoints.values()):
            if "*" in types or event.get("type") in types:
                dispatcher.enqueue(dict(event))

    def dispatchers(self) -> list[WebhookDispatcher]:
        return [d for d, _ in self._endpoints.values()]

    def stop(self) -> None:
        for dispatcher, _ in self._endpoints.values():
            dispatcher.stop(timeout=0.5)
        self._endpoints.clear()


# --------------------------------------------------------------------------- hook


@route("GET", "/_sandbox/webhooks", params=set())
def _webhooks(req: Request, state: State) -> dict:
    dispatcher = state.extras.get("webhooks")
    if not isinstance(dispatcher, WebhookDispatcher):
        return {"object": "list", "enabled": False, "url": None, "pending": 0, "data": []}
    return {
        "object": "list",
        "enabled": True,
        "url": dispatcher.url,
        "pending": dispatcher.pending(),
        "data": dispatcher.deliveries(),
    }
