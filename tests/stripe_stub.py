"""A tiny local HTTP server that answers the real ``stripe`` SDK with canned JSON per path.

Not the sandbox: it knows nothing about Stripe. A test says what each ``METHOD /v1/path``
answers (a JSON body, a status, headers; a list of replies is served in order, the last one
repeating) and reads back what the SDK sent. It exists to feed the product shapes our sandbox
never makes — Stripe's own fixtures and variants built from the pinned types — through the
same gateway, SDK and HTTP code that production uses (issue 7, §C).

    with StripeStub() as stub:
        stub.on("GET", "/v1/financial_connections/accounts/fca_1", account)
        gateway = stub.gateway()
        ...
        assert stub.calls("POST", "/v1/financial_connections/accounts/fca_1/refresh") == 1

It speaks HTTP/1.1 with keep-alive, as Stripe does, and counts the connections it accepted
(``connections``); a reply can ``drop`` the connection instead of answering, or ``hang_up``
after answering without saying so (a server closing an idle connection). With ``tls`` (a
certificate and key file) it serves HTTPS.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from services.adapters.flow_requests import form_pairs
from services.adapters.gateway import StripeGateway

STUB_KEY = "sk_test_stub"


@dataclass(frozen=True)
class Reply:
    body: Mapping[str, Any]
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering
    hang_up: bool = False  # answer, then close the connection without a "Connection: close"


DROP = Reply({}, drop=True)


@dataclass(frozen=True)
class Seen:
    """One request as the stub received it (form and query pairs kept flat, as sent)."""

    method: str
    path: str
    params: list[tuple[str, str]]
    headers: Mapping[str, str]

    def value(self, name: str) -> str | None:
        return next((v for k, v in self.params if k == name), None)

    def values(self, prefix: str) -> list[str]:
        return [v for k, v in self.params if k.startswith(prefix)]


Answer = Reply | Callable[[Seen], Reply]


def list_of(items: Sequence[Mapping[str, Any]], url: str, *, has_more: bool = False) -> dict:
    return {"object": "list", "data": list(items), "has_more": has_more, "url": url}


def error(
    status: int, message: str, *, code: str | None = None, type: str = "invalid_request_error"
) -> Reply:
    err: dict[str, Any] = {"type": type, "message": message}
    if code:
        err["code"] = code
    return Reply({"error": err}, status)


class StripeStub:
    def __init__(self, *, tls: tuple[str, str] | None = None) -> None:
        self._answers: dict[tuple[str, str], list[Answer]] = {}
        self.seen: list[Seen] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._scheme = "https" if tls else "http"
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with stub._lock:
                    stub.connections += 1

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                pairs = parse_qsl(split.query, keep_blank_values=True)
                pairs += parse_qsl(body, keep_blank_values=True)
                seen = Seen(
                    self.command, split.path, pairs, {k.lower(): v for k, v in self.headers.items()}
                )
                reply = stub._reply(seen)
                if reply.drop:
                    self.close_connection = True
                    return
                data = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_stub{len(stub.seen)}")
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
                if reply.hang_up:
                    self.close_connection = True

            do_GET = do_POST = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- set-up ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self._scheme}://{host!s}:{port}"

    def on(
        self,
        method: str,
        path: str,
        *replies: Mapping[str, Any] | Reply | Callable[[Seen], Reply],
    ) -> None:
        """Answer ``method path`` with these replies in order; the last one repeats."""
        answers: list[Answer] = [
            r if isinstance(r, Reply) or callable(r) else Reply(r) for r in replies
        ]
        with self._lock:
            self._answers[(method.upper(), path)] = answers

    def gateway(self, **kwargs: Any) -> StripeGateway:
        kwargs.setdefault("max_network_retries", 0)
        return StripeGateway(STUB_KEY, base_url=self.base_url, **kwargs)

    # -- reading back ------------------------------------------------------------------------

    def requests(self, method: str, path: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.method == method.upper() and s.path == path]

    def calls(self, method: str, path: str) -> int:
        return len(self.requests(method, path))

    # -- serving -----------------------------------------------------------------------------

    def _reply(self, seen: Seen) -> Reply:
        with self._lock:
            self.seen.append(seen)
            answers = self._answers.get((seen.method, seen.path))
            if not answers:
                return error(404, f"The stub has no answer for {seen.method} {seen.path}")
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return answer(seen) if callable(answer) and not isinstance(answer, Reply) else answer

    def __enter__(self) -> StripeStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class InstantClock:
    """The batch's and the debit check's clock seam: sleeps return at once and move time on."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def serve() -> Iterator[StripeStub]:
    """For a pytest fixture: ``yield from serve()``."""
    with StripeStub() as stub:
        yield stub


def form_body(params: Mapping[str, Any]) -> str:
    """The request body as Stripe's SDK would send it: brackets raw, values percent-encoded."""
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in form_pairs(params))
