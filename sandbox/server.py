"""The sandbox's HTTP face: a stdlib ``ThreadingHTTPServer`` in front of :func:`sandbox.core.handle`.

The app and the tests run it in-process with :func:`start_background`; ``python -m sandbox``
runs it in the foreground. The official ``stripe`` SDK reaches it exactly like Stripe:
``StripeClient("sk_test_x", base_addresses={"api": handle.base_url})``.
"""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import sandbox.api  # noqa: F401  (route modules register themselves on import)
from sandbox import core, webhooks
from sandbox.api.institutions import install_default_institutions
from sandbox.core import SandboxConfig, State
from sandbox.demo import generate
from sandbox.demo.seed import load_world

JOB_TICK_SECONDS = 0.05


class _Handler(BaseHTTPRequestHandler):
    server_version = "fcops-sandbox/1.0"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus the client's
    # delayed ACK adds ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True

    @property
    def state(self) -> State:
        server: Any = self.server
        state: State = server.state
        return state

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet by default: the SDK is chatty and tests read their own output."""

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        resp = core.handle(
            self.state,
            self.command,
            parts.path,
            query=parts.query,
            body=body,
            headers={k: v for k, v in self.headers.items()},
        )
        payload = json.dumps(resp.body, indent=2).encode()
        try:
            self.send_response(resp.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Stripe-Version", core.API_VERSION)
            for name, value in resp.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (SDK timeout)
            self.close_connection = True

    do_GET = do_POST = do_DELETE = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: State) -> None:
        super().__init__(address, _Handler)
        self.state = state


@dataclass
class SandboxHandle:
    """A running sandbox: where it listens and its state (for tests and hooks)."""

    base_url: str
    state: State
    port: int
    _server: _Server
    _threads: list[threading.Thread]
    _stop: threading.Event
    webhooks: webhooks.WebhookDispatcher | None = None

    @property
    def webhook_secret(self) -> str | None:
        """The ``whsec_`` secret deliveries are signed with (generated when none was given)."""
        return self.webhooks.secret if self.webhooks else None

    def stop(self) -> None:
        self._stop.set()
        if self.webhooks is not None:
            self.webhooks.stop()
        router = self.state.extras.get("webhook_connector")
        if router is not None:
            router.stop()
        self._server.shutdown()
        self._server.server_close()
        for t in self._threads:
            t.join(timeout=2)
        gc.unfreeze()  # let a stopped sandbox's objects be collected


def build_state(config: SandboxConfig) -> State:
    """A state seeded with the demo world (``customers=0`` → empty world, default banks)."""
    state = State(config)
    install_default_institutions(state)
    if config.customers > 0:
        _load_demo_world(state, config)
    return state


def _load_demo_world(state: State, config: SandboxConfig) -> None:
    # Seeding allocates millions of long-lived objects and no garbage cycles worth finding:
    # with the collector on, its full passes over the growing heap made start-up quadratic.
    collecting = gc.isenabled()
    gc.disable()
    try:
        world = generate(seed=config.seed, customers=config.customers, now=state.now())
        with state.lock:
            load_world(state, world)
            state.prepare_indexes()
        del world
    finally:
        if collecting:
            gc.enable()


def _tick(state: State, stop: threading.Event) -> None:
    """Finish background jobs (refreshes, settlements) as their time comes."""
    while not stop.wait(JOB_TICK_SECONDS):
        state.run_due()


def start_background(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 42,
    customers: int = 200,
    refresh_delay: float = 2.0,
    refresh_cooldown: int = 120,
    fault_rate: float = 0.0,
    rate_limit: float = 0,
    now: int | None = None,
    slow_seconds: float = 3.0,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    webhook_retry_delays: Sequence[float] = webhooks.RETRY_DELAYS,
    webhook_concurrency: int = 1,
    search_lag: float = 2.0,
    check_responses: bool = False,
    ach_mode: str = "test",
) -> SandboxHandle:
    """Serve a fresh sandbox from daemon threads; ``port=0`` picks a free port.

    With ``webhook_url`` (loopback only, else :class:`webhooks.WebhookConfigError` before
    anything starts) every event emitted after start-up is POSTed there, signed with
    ``webhook_secret`` (a ``whsec_`` one is generated when omitted: ``handle.webhook_secret``).
    ``webhook_concurrency`` deliveries run at once per endpoint (Stripe documents no order
    and no one-at-a-time delivery; 1 delivers in order).
    """
    dispatcher = None
    if webhook_url is not None:
        dispatcher = webhooks.WebhookDispatcher(
            webhook_url,
            webhook_secret or webhooks.generate_secret(),
            retry_delays=webhook_retry_delays,
            concurrency=webhook_concurrency,
        )
    config = SandboxConfig(
        seed=seed,
        customers=customers,
        refresh_delay=refresh_delay,
        refresh_cooldown=refresh_cooldown,
        fault_rate=fault_rate,
        rate_limit=rate_limit,
        now=now,
        host=host,
        port=port,
        slow_seconds=slow_seconds,
        search_lag=search_lag,
        check_responses=check_responses,
        ach_mode=ach_mode,
        webhook_url=webhook_url,
        webhook_secret=dispatcher.secret if dispatcher else None,
    )
    state = build_state(config)
    router = webhooks.EndpointRouter(webhook_retry_delays, webhook_concurrency)
    with state.lock:  # after seeding: the seeded history is not delivered
        if dispatcher is not None:
            dispatcher.install(state)
        router.install(state)  # endpoints registered through /v1/webhook_endpoints
    if customers > 0:
        # Keep the collector's full passes off the seeded world (a 20,000-customer world is
        # ~1 GB of dicts; one pass stalls a request for seconds). ``stop`` undoes it. No
        # collection first: it would cost as much, and seeding leaves next to no cyclic garbage.
        gc.freeze()
    server = _Server((host, port), state)
    actual_port = server.server_address[1]
    stop = threading.Event()
    threads = [
        threading.Thread(target=server.serve_forever, name="sandbox-http", daemon=True),
        threading.Thread(target=_tick, args=(state, stop), name="sandbox-jobs", daemon=True),
    ]
    for t in threads:
        t.start()
    return SandboxHandle(
        base_url=f"http://{host}:{actual_port}",
        state=state,
        port=actual_port,
        _server=server,
        _threads=threads,
        _stop=stop,
        webhooks=dispatcher,
    )


def wait_until_ready(base_url: str, *, timeout: float = 5.0) -> bool:
    """Poll ``/_sandbox/health`` (for callers that start the CLI in a subprocess)."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/_sandbox/health", timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.05)
    return False
