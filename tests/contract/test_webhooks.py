"""Signed webhook delivery (§5.2, §8.4): a tiny loopback receiver checks what the sandbox POSTs."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

from sandbox.server import SandboxHandle, start_background
from sandbox.webhooks import WebhookConfigError
from tests.contract.conftest import TEST_KEY, linked_accounts, raw

SECRET = "whsec_contract_test_secret"
FAST_RETRIES = (0.05, 0.1, 0.2)


@dataclass
class Receiver:
    """Records every POST; answers an event type's ``failures`` statuses in turn, then 200."""

    failures: dict[str, list[int]] = field(default_factory=dict)
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    url: str = ""
    lock: threading.RLock = field(default_factory=threading.RLock)

    def wait_for(self, pred: Callable[[list[tuple[bytes, dict[str, str]]]], bool]) -> bool:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with self.lock:
                if pred(list(self.received)):
                    return True
            time.sleep(0.02)
        return False


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with rec.lock:
                rec.received.append((body, {k.lower(): v for k, v in self.headers.items()}))
                queued = rec.failures.get(json.loads(body)["type"]) or [200]
                status = queued.pop(0)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/stripe"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


def _sandbox(url: str, secret: str | None = SECRET) -> SandboxHandle:
    return start_background(
        port=0,
        seed=3,
        customers=2,
        refresh_delay=0,
        webhook_url=url,
        webhook_secret=secret,
        webhook_retry_delays=FAST_RETRIES,
    )


def _events_of(rec: Receiver, type: str) -> list[tuple[bytes, dict[str, str]]]:
    with rec.lock:
        return [(b, h) for b, h in rec.received if f'"type": "{type}"'.encode() in b]


def _refresh_balance(handle: SandboxHandle) -> str:
    client = stripe.StripeClient(TEST_KEY, base_addresses={"api": handle.base_url})
    [fca] = linked_accounts(client, handle, permissions=["balances"])
    client.v1.financial_connections.accounts.refresh(
        fca.id,
        params={"features": ["balance"]},  # type: ignore[typeddict-item]
    )
    client.v1.financial_connections.accounts.retrieve(fca.id)  # runs the due completion
    return str(fca.id)


def test_a_refreshed_balance_event_arrives_signed_and_only_the_right_secret_accepts_it(
    receiver: Receiver,
) -> None:
    handle = _sandbox(receiver.url)
    try:
        seeded = handle.state.count("event")
        assert seeded > 0
        fca_id = _refresh_balance(handle)
        kind = "financial_connections.account.refreshed_balance"
        assert receiver.wait_for(lambda _: len(_events_of(receiver, kind)) == 1)
        [(payload, headers)] = _events_of(receiver, kind)
        assert headers["content-type"].startswith("application/json")
        event = stripe.Webhook.construct_event(
            payload.decode(), headers["stripe-signature"], SECRET
        )
        assert event.type == kind
        assert event.data.object.id == fca_id
        assert event.data.object.balance_refresh.status == "succeeded"
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(
                payload.decode(), headers["stripe-signature"], "whsec_wrong"
            )
        # Only events from after start-up are delivered, never the seeded history.
        assert handle.webhooks is not None and handle.webhooks.wait_idle()
        assert len(receiver.received) == handle.state.count("event") - seeded
        stored = handle.state.get("event", event.id)
        assert stored["pending_webhooks"] == 0
    finally:
        handle.stop()


def test_a_failing_receiver_gets_the_event_once_accepted_after_recorded_retries(
    receiver: Receiver,
) -> None:
    handle = _sandbox(receiver.url)
    try:
        kind = "financial_connections.account.created"
        receiver.failures[kind] = [500, 503]
        client = stripe.StripeClient(TEST_KEY, base_addresses={"api": handle.base_url})
        [fca] = linked_accounts(client, handle, permissions=["balances"])
        assert handle.webhooks is not None and handle.webhooks.wait_idle()
        posts = _events_of(receiver, kind)
        assert len(posts) == 3
        accepted = {
            stripe.Webhook.construct_event(b.decode(), h["stripe-signature"], SECRET).id
            for b, h in posts
        }
        assert len(accepted) == 1  # the same event each time: dedupe on event.id
        status, body, _ = raw(handle.base_url, "GET", "/_sandbox/webhooks", auth=False)
        assert status == 200 and body["enabled"] is True
        [row] = [d for d in body["data"] if d["event"] in accepted]
        assert row["status"] == "delivered" and row["status_code"] == 200
        assert [a["status_code"] for a in row["attempts"]] == [500, 503, 200]
        assert row["attempt_count"] == 3
        event = client.v1.events.retrieve(row["event"])
        assert event.data.object.id == fca.id and event.pending_webhooks == 0
    finally:
        handle.stop()


def test_a_receiver_that_never_answers_2xx_is_given_up_after_bounded_retries(
    receiver: Receiver,
) -> None:
    handle = _sandbox(receiver.url)
    try:
        receiver.failures["customer.updated"] = [500] * 50
        with handle.state.lock:
            customer = handle.state.find("customer")[0]
            handle.state.emit("customer.updated", customer)
        assert handle.webhooks is not None and handle.webhooks.wait_idle()
        [row] = handle.webhooks.deliveries()
        assert row["status"] == "failed"
        assert row["attempt_count"] == len(FAST_RETRIES) + 1
        assert handle.state.get("event", row["event"])["pending_webhooks"] == 1
    finally:
        handle.stop()


def test_a_closed_port_is_recorded_as_a_connection_error_and_retried() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handle = _sandbox(f"http://127.0.0.1:{port}/x")
    try:
        with handle.state.lock:
            handle.state.emit("customer.updated", handle.state.find("customer")[0])
        assert handle.webhooks is not None and handle.webhooks.wait_idle()
        [row] = handle.webhooks.deliveries()
        assert row["status"] == "failed" and row["status_code"] is None
        assert row["error"] and row["attempt_count"] == len(FAST_RETRIES) + 1
    finally:
        handle.stop()


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.5/hook", "https://example.com/hook", "http://8.8.8.8:80/", "ftp://127.0.0.1/"],
)
def test_a_non_loopback_webhook_url_is_refused_at_start(url: str) -> None:
    with pytest.raises(WebhookConfigError, match="loopback|http"):
        start_background(port=0, customers=0, webhook_url=url)


def test_without_a_secret_one_is_generated_and_the_hook_is_off_without_a_url(
    receiver: Receiver,
) -> None:
    handle = _sandbox(receiver.url, secret=None)
    plain = start_background(port=0, customers=0)
    try:
        assert handle.webhook_secret is not None and handle.webhook_secret.startswith("whsec_")
        assert handle.state.config.webhook_secret == handle.webhook_secret
        status, body, _ = raw(plain.base_url, "GET", "/_sandbox/webhooks", auth=False)
        assert status == 200 and body["enabled"] is False and body["data"] == []
    finally:
        handle.stop()
        plain.stop()


def test_the_cli_refuses_a_non_loopback_webhook_url() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "--webhook-url", "http://192.168.1.2/x"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "loopback" in done.stderr


def test_registered_webhook_endpoints_receive_their_events_signed_with_their_own_secret(
    receiver: Receiver,
) -> None:
    handle = start_background(port=0, seed=3, customers=2, refresh_delay=0,
                              webhook_retry_delays=FAST_RETRIES)
    client = stripe.StripeClient(TEST_KEY, base_addresses={"api": handle.base_url})
    try:
        endpoint = client.v1.webhook_endpoints.create(
            params={"url": receiver.url, "enabled_events": ["customer.created"]}
        )
        assert endpoint.secret and endpoint.secret.startswith("whsec_")
        assert endpoint.status == "enabled" and endpoint.enabled_events == ["customer.created"]
        listed = client.v1.webhook_endpoints.list()
        assert [e.id for e in listed.data] == [endpoint.id]
        assert getattr(listed.data[0], "secret", None) is None  # only the create answer has it
        customer = client.v1.customers.create(params={"name": "Hooked"})
        client.v1.customers.update(customer.id, params={"name": "Not enabled"})
        assert receiver.wait_for(lambda got: len(got) >= 1)
        time.sleep(0.3)  # a customer.updated delivery, were it sent, would have arrived
        [(payload, headers)] = receiver.received
        event = stripe.Webhook.construct_event(
            payload.decode(), headers["stripe-signature"], endpoint.secret
        )
        assert (event.type, event.data.object.id) == ("customer.created", customer.id)
        deleted = client.v1.webhook_endpoints.delete(endpoint.id)
        assert deleted.deleted is True
        client.v1.customers.create(params={"name": "After delete"})
        time.sleep(0.3)
        assert len(receiver.received) == 1
        with pytest.raises(stripe.InvalidRequestError) as refused:
            client.v1.webhook_endpoints.create(
                params={"url": "https://example.com/hook", "enabled_events": ["*"]}
            )
        assert refused.value.param == "url"
    finally:
        handle.stop()


@pytest.mark.parametrize("concurrency", [1, 4])
def test_an_endpoints_deliveries_run_up_to_its_concurrency_at_once(concurrency: int) -> None:
    """Stripe delivers an endpoint's events concurrently; the sandbox's dispatcher runs up to
    ``concurrency`` POSTs at once (1: one at a time, in order), and every event arrives once."""
    from sandbox.webhooks import WebhookDispatcher

    lock, in_flight, most, got = threading.Lock(), [0], [0], []

    class Slow(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                in_flight[0] += 1
                most[0] = max(most[0], in_flight[0])
            time.sleep(0.2)
            with lock:
                in_flight[0] -= 1
                got.append(json.loads(body)["id"])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks/stripe"
    dispatcher = WebhookDispatcher(url, SECRET, retry_delays=FAST_RETRIES, concurrency=concurrency)
    dispatcher.start()
    try:
        sent = [f"evt_{n}" for n in range(8)]
        for ident in sent:
            dispatcher.enqueue({"id": ident, "object": "event", "type": "ping"})
        assert dispatcher.wait_idle(timeout=10)
    finally:
        dispatcher.stop()
        server.shutdown()
        server.server_close()
    assert sorted(got) == sorted(sent)  # each once
    assert most[0] == concurrency
    if concurrency == 1:
        assert got == sent  # one at a time keeps the order they were emitted in
