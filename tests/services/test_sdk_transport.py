"""The gateway's SDK transport and raw lists (issue 11): cheaper calls, the same behaviour.

``sdk.KeepAliveClient`` replaces ``stripe.RequestsClient`` under the official SDK, and the
syncs' lists are read as JSON through ``StripeClient.raw_request``. These tests hold both to
what the SDK path did before: one kept-open connection, the SDK's own retries (429 lock
timeouts, retryable 500s, dropped connections, timeouts) still working through it, the same
domain errors, the same headers, and the same dicts as the StripeObject path.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from bootstrap import SANDBOX_KEY
from services.adapters.gateway import StripeGateway, sdk
from services.errors import NotFound, OutcomeUnknown, StripeUnavailable
from services.rules.stripe_api import API_VERSION
from tests.conftest import quick_backoff
from tests.stripe_stub import DROP, Reply, StripeStub, list_of

CUSTOMER = {"id": "cus_t", "object": "customer", "email": "t@example.com"}
CUSTOMER_PATH = "/v1/customers/cus_t"


@pytest.fixture
def stub() -> Iterator[StripeStub]:
    with StripeStub() as served:
        served.on("GET", CUSTOMER_PATH, CUSTOMER)
        yield served


def no_sdk_sleep(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The SDK's retry waits (0.5 s and up) recorded instead of slept."""
    waits: list[int] = []

    def record(self: Any, num_retries: int) -> float:
        waits.append(num_retries)
        return 0.0

    monkeypatch.setattr(stripe.HTTPClient, "_sleep_time_seconds", record)
    return waits


# -- one kept-open connection -------------------------------------------------------------


def test_consecutive_calls_share_one_connection(stub: StripeStub) -> None:
    stub.on("GET", "/v1/customers", list_of([CUSTOMER], "/v1/customers"))
    gw = stub.gateway()
    for _ in range(5):
        assert gw.retrieve_customer("cus_t")["id"] == "cus_t"
        assert [c["id"] for c in gw.iter_customers()] == ["cus_t"]
    assert stub.calls("GET", CUSTOMER_PATH) == 5
    assert stub.connections == 1


def test_each_thread_keeps_its_own_connection(stub: StripeStub) -> None:
    import threading

    gw = stub.gateway()
    errors: list[BaseException] = []

    def calls() -> None:
        try:
            for _ in range(3):
                gw.retrieve_customer("cus_t")
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=calls) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert stub.calls("GET", CUSTOMER_PATH) == 9
    assert stub.connections == 3


def test_a_connection_the_server_announced_closing_is_replaced(stub: StripeStub) -> None:
    stub.on("GET", CUSTOMER_PATH, Reply(CUSTOMER, headers={"Connection": "close"}), CUSTOMER)
    gw = stub.gateway()  # max_network_retries=0: nothing but the transport can recover
    assert gw.retrieve_customer("cus_t")["id"] == "cus_t"
    assert gw.retrieve_customer("cus_t")["id"] == "cus_t"
    assert gw.retrieve_customer("cus_t")["id"] == "cus_t"
    assert stub.connections == 2  # reopened once after the announced close, then kept


def test_a_connection_the_server_closed_while_idle_is_replaced(stub: StripeStub) -> None:
    stub.on("GET", CUSTOMER_PATH, Reply(CUSTOMER, hang_up=True), CUSTOMER)
    gw = stub.gateway()
    assert gw.retrieve_customer("cus_t")["id"] == "cus_t"
    time.sleep(0.05)  # the server's close reaches the client's socket
    assert gw.retrieve_customer("cus_t")["id"] == "cus_t"
    assert stub.calls("GET", CUSTOMER_PATH) == 2  # nothing sent twice
    assert stub.connections == 2


# -- the SDK's retries through the transport ----------------------------------------------


def test_a_dropped_connection_is_retried_by_the_sdk_with_the_same_idempotency_key(
    stub: StripeStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits = no_sdk_sleep(monkeypatch)
    stub.on("POST", "/v1/customers", DROP, CUSTOMER)
    gw = stub.gateway(max_network_retries=2)
    created = gw.create_customer({"email": "t@example.com"}, idempotency_key="create-t")
    assert created["id"] == "cus_t"
    sent = stub.requests("POST", "/v1/customers")
    assert [s.headers.get("idempotency-key") for s in sent] == ["create-t", "create-t"]
    assert waits == [1]


def test_a_dropped_connection_without_retries_left_is_an_unknown_outcome(
    stub: StripeStub,
) -> None:
    stub.on("POST", "/v1/customers", DROP)
    gw = stub.gateway(max_network_retries=0)
    with pytest.raises(OutcomeUnknown, match="Stripe did not answer"):
        gw.create_customer({"email": "t@example.com"}, idempotency_key="create-t")
    assert stub.calls("POST", "/v1/customers") == 1
    assert gw.retrieve_customer("cus_t")["id"] == "cus_t"  # and the next call reconnects


def test_a_change_that_timed_out_does_not_say_stripe_was_not_reached_or_nothing_changed(
    sandbox_handle: Any, simulator: Any
) -> None:
    """A POST that timed out was sent: Stripe may have done it (here it did). The sentence
    must not be a read's ("Could not reach Stripe … nothing was changed"); it says what is
    known, and the retry it promises sends the same key, which Stripe answers once."""
    gw = StripeGateway(SANDBOX_KEY, base_url=sandbox_handle.base_url, timeout_seconds=0.3,
                       max_network_retries=0)
    email = f"timed-out-{time.time_ns()}@example.com"
    simulator.force_faults("slow", count=1, seconds=0.8)
    with pytest.raises(OutcomeUnknown) as caught:
        gw.create_customer({"email": email}, idempotency_key=f"create-{email}")
    assert str(caught.value) == (
        "Stripe did not answer in 1 s (the connection failed or timed out). The request may "
        "still have reached Stripe; fcops sends it with the same idempotency key if you try "
        "again, so it will not happen twice."
    )
    time.sleep(0.8)  # the slow request finishes at Stripe: it did reach it
    again = gw.create_customer({"email": email}, idempotency_key=f"create-{email}")
    assert [c["id"] for c in gw.customers_by_email(email)] == [again["id"]]  # made once


def test_a_change_sent_without_a_key_that_got_no_answer_says_to_look_before_trying_again(
    stub: StripeStub,
) -> None:
    stub.on("POST", "/v1/webhook_endpoints", DROP)
    gw = stub.gateway(max_network_retries=0)
    with pytest.raises(OutcomeUnknown) as caught:
        gw.create_webhook_endpoint("https://example.com/hook", ["account.updated"])
    said = str(caught.value)
    assert said.startswith("Stripe did not answer")
    assert "check whether it took effect before trying again" in said
    assert "idempotency key" not in said and "nothing was changed" not in said


def test_a_retryable_500_is_retried_by_the_sdk(
    stub: StripeStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 500 without ``Stripe-Should-Retry: false`` is one the SDK retries itself."""
    waits = no_sdk_sleep(monkeypatch)
    failure = Reply({"error": {"type": "api_error", "message": "boom"}}, 500)
    stub.on("GET", CUSTOMER_PATH, failure, CUSTOMER)
    gw = stub.gateway(max_network_retries=1)
    assert gw.retrieve_customer("cus_t")["id"] == "cus_t"
    assert stub.calls("GET", CUSTOMER_PATH) == 2
    assert waits == [1]
    assert stub.connections == 1  # an error answer keeps the connection


def test_a_500_stripe_says_not_to_retry_is_answered_once(stub: StripeStub) -> None:
    failure = Reply(
        {"error": {"type": "api_error", "message": "boom"}}, 500, {"Stripe-Should-Retry": "false"}
    )
    stub.on("GET", CUSTOMER_PATH, failure)
    gw = stub.gateway(max_network_retries=2)
    with pytest.raises(StripeUnavailable, match="temporary problem"):
        gw.retrieve_customer("cus_t")
    assert stub.calls("GET", CUSTOMER_PATH) == 1


def test_a_sandbox_lock_timeout_429_is_retried_by_the_sdk(
    sandbox_handle: Any, simulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits = no_sdk_sleep(monkeypatch)
    gw = StripeGateway(SANDBOX_KEY, base_url=sandbox_handle.base_url, max_network_retries=1,
                       backoff=quick_backoff()[0])
    customers = list(gw.iter_customers())
    simulator.force_faults("lock_timeout", count=1)
    assert list(gw.iter_customers()) == customers
    assert waits == [1]  # the SDK's retry, not the gateway's back-off
    assert gw.rate_limited == 0


def test_a_sandbox_500_on_a_list_is_the_same_domain_error(gateway: Any, simulator: Any) -> None:
    simulator.force_faults("500", count=1)
    with pytest.raises(StripeUnavailable, match="temporary problem"):
        list(gateway.iter_customers())


def test_a_timeout_is_retried_by_the_sdk_and_never_reads_the_late_answer(
    sandbox_handle: Any, simulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits = no_sdk_sleep(monkeypatch)
    gw = StripeGateway(SANDBOX_KEY, base_url=sandbox_handle.base_url, timeout_seconds=0.3,
                       max_network_retries=1)
    first, second = list(gw.iter_customers())[:2]
    simulator.force_faults("slow", count=1, seconds=0.8)
    assert gw.retrieve_customer(first["id"])["id"] == first["id"]
    assert waits == [1]
    time.sleep(0.8)  # the slow answer arrives on the abandoned connection meanwhile
    assert gw.retrieve_customer(second["id"])["id"] == second["id"]


def test_a_timeout_without_retries_is_the_unknown_outcome_it_was(
    sandbox_handle: Any, simulator: Any
) -> None:
    gw = StripeGateway(SANDBOX_KEY, base_url=sandbox_handle.base_url, timeout_seconds=0.3,
                       max_network_retries=0)
    simulator.force_faults("slow", count=1, seconds=0.8)
    began = time.monotonic()
    with pytest.raises(OutcomeUnknown, match="nothing was changed"):
        list(gw.iter_customers())
    assert time.monotonic() - began < 0.75  # gave up at the timeout, did not wait it out


def test_a_read_a_person_waits_on_gives_up_at_its_budget_and_says_nothing_changed(
    sandbox_handle: Any, simulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page's read does not sit through every SDK retry (3 × 20 s by default): it gives up
    at the interactive budget, and says a read changed nothing (not "may still have reached Stripe",
    which is about changes). Another thread (a background job) keeps the full retries."""
    import threading

    import services.adapters.gateway as gateway_module

    waits = no_sdk_sleep(monkeypatch)
    monkeypatch.setattr(gateway_module, "INTERACTIVE_READ_SECONDS", 0.4)
    gw = StripeGateway(SANDBOX_KEY, base_url=sandbox_handle.base_url, timeout_seconds=1.0,
                       max_network_retries=2)
    first = next(iter(gw.iter_customers()))
    gw.serve_a_person()
    simulator.force_faults("slow", count=1, seconds=1.5)
    began = time.monotonic()
    with pytest.raises(OutcomeUnknown) as caught:
        gw.retrieve_customer(first["id"])
    assert time.monotonic() - began < 0.9  # the 0.4 s budget, not the 1 s timeout, no retry
    assert waits == []
    assert str(caught.value) == (
        "Could not reach Stripe in 1 s (the connection failed or timed out); nothing was "
        "changed. Try again in a minute."
    )

    answers: list[str] = []
    simulator.force_faults("slow", count=1, seconds=1.5)
    job = threading.Thread(target=lambda: answers.append(gw.retrieve_customer(first["id"])["id"]))
    job.start()
    job.join()
    assert answers == [first["id"]]  # timed out after 1 s, retried by the SDK, answered
    assert waits == [1]


def test_a_change_that_got_no_answer_keeps_its_retries_and_its_sentence(
    stub: StripeStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    import services.adapters.gateway as gateway_module

    waits = no_sdk_sleep(monkeypatch)
    monkeypatch.setattr(gateway_module, "INTERACTIVE_READ_SECONDS", 0.0001)
    stub.on("POST", "/v1/customers", DROP, DROP)
    gw = stub.gateway(max_network_retries=1)
    gw.serve_a_person()  # the budget is for reads: a change is retried with its key
    with pytest.raises(OutcomeUnknown, match="sends it with the same idempotency key if you"):
        gw.create_customer({"email": "t@example.com"}, idempotency_key="create-t")
    assert stub.calls("POST", "/v1/customers") == 2
    assert waits == [1]


def test_a_refused_connection_is_an_unknown_outcome() -> None:
    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    gw = StripeGateway("sk_test_x", base_url=f"http://127.0.0.1:{port}", max_network_retries=0)
    with pytest.raises(OutcomeUnknown, match="Could not reach Stripe"):
        gw.retrieve_customer("cus_t")


# -- HTTPS -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return str(cert), str(key)


def test_https_keeps_one_connection_when_the_certificate_is_trusted(
    certificate: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stripe, "ca_bundle_path", certificate[0])  # trust our test certificate
    with StripeStub(tls=certificate) as tls_stub:
        tls_stub.on("GET", CUSTOMER_PATH, CUSTOMER)
        gw = tls_stub.gateway()
        assert tls_stub.base_url.startswith("https://")
        for _ in range(3):
            assert gw.retrieve_customer("cus_t")["id"] == "cus_t"
        assert tls_stub.connections == 1


def test_https_with_an_untrusted_certificate_is_refused_and_not_retried(
    certificate: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    waits = no_sdk_sleep(monkeypatch)
    with StripeStub(tls=certificate) as tls_stub:
        tls_stub.on("GET", CUSTOMER_PATH, CUSTOMER)
        gw = tls_stub.gateway(max_network_retries=2)  # Stripe's CA bundle: ours is not in it
        with pytest.raises(OutcomeUnknown, match="Could not reach Stripe"):
            gw.retrieve_customer("cus_t")
        assert tls_stub.calls("GET", CUSTOMER_PATH) == 0
        assert waits == []  # a certificate problem is not retried


# -- raw lists: the same requests, answers and errors as the StripeObject path ------------------


def test_a_list_sends_the_pinned_version_and_the_key_and_records_the_request_id(
    stub: StripeStub,
) -> None:
    stub.on("GET", "/v1/financial_connections/accounts",
            list_of([], "/v1/financial_connections/accounts"))
    gw = stub.gateway()
    assert gw.list_accounts(customer="cus_t") == []
    (seen,) = stub.requests("GET", "/v1/financial_connections/accounts")
    assert seen.headers["stripe-version"] == API_VERSION
    assert seen.headers["authorization"] == "Bearer sk_test_stub"
    assert seen.params == [("limit", "100"), ("account_holder[customer]", "cus_t")]
    assert gw.last_request_id and gw.last_request_id.startswith("req_stub")


def test_a_list_follows_has_more_after_the_last_id(stub: StripeStub) -> None:
    pages = [
        list_of([{"id": "seti_3"}, {"id": "seti_2"}], "/v1/setup_intents", has_more=True),
        list_of([{"id": "seti_1"}], "/v1/setup_intents"),
    ]
    stub.on("GET", "/v1/setup_intents", *pages)
    gw = stub.gateway()
    assert [s["id"] for s in gw.iter_setup_intents(expand=["payment_method"])] == [
        "seti_3", "seti_2", "seti_1"
    ]
    first, second = stub.requests("GET", "/v1/setup_intents")
    assert first.value("starting_after") is None
    assert second.value("starting_after") == "seti_2"
    assert second.values("expand") == ["data.payment_method"]  # the filters go on every page


def test_a_missing_account_on_a_list_is_not_found(gateway: Any) -> None:
    with pytest.raises(NotFound, match="fca_missing"):
        gateway.list_owners("fca_missing", "fcaowns_missing")


def objects(client: stripe.StripeClient, listing: Any) -> list[dict[str, Any]]:
    return [item.to_dict() for item in listing.auto_paging_iter()]


@pytest.fixture
def object_client(sandbox_handle: Any) -> stripe.StripeClient:
    return stripe.StripeClient(
        SANDBOX_KEY, stripe_version=API_VERSION, base_addresses={"api": sandbox_handle.base_url}
    )


def test_customer_lists_equal_the_object_path(gateway: Any, object_client: Any) -> None:
    by_objects = objects(object_client, object_client.v1.customers.list(params={"limit": 100}))
    assert by_objects and list(gateway.iter_customers()) == by_objects
    page, more = gateway.list_customers_page(limit=10)
    assert (page, more) == (by_objects[:10], len(by_objects) > 10)
    rest, _ = gateway.list_customers_page(limit=100, starting_after=page[-1]["id"])
    assert rest == by_objects[10:110]  # the session's sandbox may hold more than 110 by now


def test_fc_account_lists_equal_the_object_path(gateway: Any, object_client: Any) -> None:
    fc = object_client.v1.financial_connections
    compared = 0
    for customer in list(gateway.iter_customers())[:8]:
        params = {"limit": 100, "account_holder": {"customer": customer["id"]}}
        expected = objects(object_client, fc.accounts.list(params=params))
        assert gateway.list_accounts(customer=customer["id"]) == expected
        compared += len(expected)
    assert compared > 0


def test_intent_lists_equal_the_object_path(gateway: Any, object_client: Any) -> None:
    params = {"limit": 100, "expand": ["data.payment_method"]}
    si = objects(object_client, object_client.v1.setup_intents.list(params=params))
    pi = objects(object_client, object_client.v1.payment_intents.list(params=params))
    assert si and any(isinstance(s.get("payment_method"), dict) for s in si)
    assert list(gateway.iter_setup_intents(expand=["payment_method"])) == si
    assert list(gateway.iter_payment_intents(expand=["payment_method"])) == pi


def test_event_lists_equal_the_object_path_across_pages(gateway: Any, object_client: Any) -> None:
    expected = objects(object_client, object_client.v1.events.list(params={"limit": 100}))
    assert len(expected) > 100  # more than one page
    assert list(gateway.iter_events()) == expected


def test_transaction_and_payment_method_lists_equal_the_object_path(
    gateway: Any, object_client: Any
) -> None:
    fc = object_client.v1.financial_connections
    accounts = [a for c in gateway.iter_customers() for a in gateway.list_accounts(customer=c["id"])]
    with_transactions = [
        a for a in accounts if (a.get("transaction_refresh") or {}).get("status") == "succeeded"
    ]
    assert with_transactions
    account = with_transactions[0]["id"]
    expected = objects(
        object_client, fc.transactions.list(params={"account": account, "limit": 100})
    )
    assert expected and list(gateway.iter_transactions(account)) == expected
    customer = str(with_transactions[0]["account_holder"]["customer"])
    methods = objects(
        object_client,
        object_client.v1.payment_methods.list(
            params={"customer": customer, "type": "us_bank_account", "limit": 100}
        ),
    )
    assert gateway.list_payment_methods(customer) == methods


def test_the_transport_is_the_clients(tmp_path: Path) -> None:
    """The gateway's SDK client runs on the keep-alive transport (not the SDK's default)."""
    client = sdk.new_client("sk_test_x", base_url=None, timeout_seconds=7, max_network_retries=1)
    transport = client._requestor._client
    assert isinstance(transport, sdk.KeepAliveClient)
    assert transport._timeout == 7


# -- proxies from the environment (what requests did) ---------------------------------------


def test_plain_http_goes_through_the_environments_proxy(
    stub: StripeStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", stub.base_url)  # the stub plays the proxy
    gw = StripeGateway("sk_test_stub", base_url="http://api.stripe.invalid", max_network_retries=0)
    for _ in range(2):
        assert gw.retrieve_customer("cus_t")["id"] == "cus_t"
    first, second = stub.requests("GET", CUSTOMER_PATH)
    assert first.headers["host"] == "api.stripe.invalid"
    assert stub.connections == 1


class ConnectProxy:
    """A CONNECT-only proxy that relays bytes and counts the tunnels it opened."""

    def __init__(self) -> None:
        import socketserver

        proxy = self
        self.tunnels: list[str] = []

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                import socket
                import threading

                target = self.rfile.readline().decode().split()[1]
                while self.rfile.readline() not in (b"\r\n", b""):
                    pass
                proxy.tunnels.append(target)
                host, port = target.rsplit(":", 1)
                upstream = socket.create_connection((host, int(port)))
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

                def pump(src: Any, dst: Any) -> None:
                    try:
                        while data := src.recv(65536):
                            dst.sendall(data)
                    except OSError:
                        pass
                    finally:
                        dst.close()

                back = threading.Thread(target=pump, args=(upstream, self.connection))
                back.start()
                pump(self.connection, upstream)
                back.join()

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    def __enter__(self) -> ConnectProxy:
        import threading

        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def test_https_is_tunnelled_through_the_environments_proxy(
    certificate: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stripe, "ca_bundle_path", certificate[0])
    for name in ("NO_PROXY", "no_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    with StripeStub(tls=certificate) as tls_stub, ConnectProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        tls_stub.on("GET", CUSTOMER_PATH, CUSTOMER)
        gw = tls_stub.gateway()
        for _ in range(3):
            assert gw.retrieve_customer("cus_t")["id"] == "cus_t"
        port = tls_stub.base_url.rsplit(":", 1)[1]
        assert proxy.tunnels == [f"127.0.0.1:{port}"]  # one tunnel, kept alive
        assert tls_stub.calls("GET", CUSTOMER_PATH) == 3
