"""The webhook endpoint: ``POST /webhooks/stripe`` on a small Starlette app served by uvicorn.

``bin/run`` serves the route on the dashboard's own port (``streamlit_app.py``); a process
started otherwise (``streamlit run dashboard.py``, tests) serves it from a daemon thread on its
own port (:func:`serve_in_background`).

Answers: 200 when the event is stored (new or a redelivery) and its processing is queued;
400 when the signature does not verify (nothing is stored); 503 while no signing secret is set.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.adapters.gateway.webhooks import BadSignature

log = logging.getLogger("fcops.webhooks")
PATH = "/webhooks/stripe"


Receive = Callable[[bytes, "str | None", str], Any]  # (raw body, signature, secret) -> receipt


def webhook_route(secret: Callable[[], str], receive: Receive) -> Route:
    """``POST /webhooks/stripe``; ``secret()`` is read per request (set once registration is
    done); ``receive`` is the use case (``services.usecases.webhooks.receive``, passed in by the
    composition root). Mounted on the dashboard's server by ``streamlit_app.py``, or alone."""

    async def stripe_webhook(request: Request) -> JSONResponse:
        payload = await request.body()  # the raw body: the signature covers these exact bytes
        signing_secret = secret()
        if not signing_secret:
            return JSONResponse({"error": "The webhook signing secret is not set."}, 503)
        try:
            receipt = await run_in_threadpool(
                receive, payload, request.headers.get("stripe-signature"), signing_secret
            )
        except BadSignature as err:
            return JSONResponse({"error": str(err)}, 400)
        except Exception:
            log.exception("webhook could not be stored")
            return JSONResponse({"error": "The event could not be stored; retry later."}, 500)
        return JSONResponse({"received": True, "id": receipt.event_id, "duplicate": receipt.duplicate})

    return Route(PATH, stripe_webhook, methods=["POST"])


def build_asgi(secret: Callable[[], str], receive: Receive) -> Starlette:
    """A small ASGI app with only the webhook endpoint (and a health check)."""

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            webhook_route(secret, receive),
            Route("/webhooks/health", health, methods=["GET"]),
        ]
    )


@dataclass
class WebhookServer:
    host: str
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{PATH}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def serve_in_background(
    secret: Callable[[], str], receive: Receive, *, host: str, port: int
) -> WebhookServer:
    """Start uvicorn on ``host:port`` (0: a free port) in a daemon thread; wait until it listens."""
    port = port or _free_port(host)
    config = uvicorn.Config(
        build_asgi(secret, receive), host=host, port=port, log_level="warning", lifespan="off",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fcops-webhooks", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        raise RuntimeError(f"The webhook endpoint could not listen on {host}:{port}.")
    return WebhookServer(host=host, port=port, server=server, thread=thread)
