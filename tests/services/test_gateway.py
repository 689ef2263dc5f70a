"""The gateway turns every Stripe failure into a domain error with an actionable sentence."""

from __future__ import annotations

import pytest

from bootstrap import SANDBOX_KEY
from services.adapters.backoff import Backoff
from services.adapters.gateway import StripeGateway
from services.errors import (
    NotFound,
    RateLimited,
    StripeAuthError,
    StripeUnavailable,
    ValidationError,
)
from services.usecases.resolve_account import resolve
from tests.conftest import quick_backoff


def test_a_rejected_key_becomes_an_authentication_error(sandbox_handle) -> None:  # type: ignore[no-untyped-def]
    gw = StripeGateway("sk_live_" + "x" * 24, base_url=sandbox_handle.base_url, max_network_retries=0)
    with pytest.raises(StripeAuthError, match="STRIPE_API_KEY"):
        gw.retrieve_customer("cus_anything")


def test_an_unknown_id_becomes_not_found_naming_it(gateway) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFound, match="fca_doesnotexist"):
        gateway.retrieve_account("fca_doesnotexist")
    assert gateway.last_request_id and gateway.last_request_id.startswith("req_")


def test_rate_limiting_that_outlasts_the_backoff_becomes_a_wait_and_retry_message(gateway, simulator) -> None:  # type: ignore[no-untyped-def]
    simulator.force_faults("429", count=gateway.backoff.retries + 1)
    with pytest.raises(RateLimited, match="Wait a few seconds"):
        gateway.iter_customers().__next__()


def test_a_lock_timeout_says_another_change_held_the_object_not_rate_limiting(gateway, simulator) -> None:  # type: ignore[no-untyped-def]
    """Stripe's 429 ``lock_timeout``: another request was working on the same object."""
    simulator.force_faults("lock_timeout", count=gateway.backoff.retries + 1)
    with pytest.raises(RateLimited) as caught:
        gateway.iter_customers().__next__()
    said = str(caught.value)
    assert said.startswith(
        "Stripe was busy with another change to the same object; try again in a moment."
    )
    assert "rate-limiting" not in said


def test_a_server_error_says_try_again(gateway, simulator) -> None:  # type: ignore[no-untyped-def]
    simulator.force_faults("500", count=1)
    with pytest.raises(StripeUnavailable, match="Try again"):
        gateway.retrieve_customer("cus_x")


def test_a_read_that_timed_out_says_nothing_was_changed(sandbox_handle, simulator) -> None:  # type: ignore[no-untyped-def]
    gw = StripeGateway(SANDBOX_KEY, base_url=sandbox_handle.base_url, timeout_seconds=0.5,
                       max_network_retries=0)
    simulator.force_faults("slow", count=1, seconds=2)
    with pytest.raises(StripeUnavailable, match=r"in 1 s .*nothing was changed\. Try again"):
        gw.retrieve_customer("cus_x")


def test_the_gateway_backs_off_on_rate_limits_even_without_sdk_retries(sandbox_handle, simulator) -> None:  # type: ignore[no-untyped-def]
    """A real 429 carries no Stripe-Should-Retry: true, so the SDK never retries it; the
    gateway waits (exponentially, with jitter, bounded) and asks again on every call."""
    backoff, slept = quick_backoff()
    gw = StripeGateway(
        SANDBOX_KEY, base_url=sandbox_handle.base_url, max_network_retries=2, backoff=backoff
    )
    customer = next(gw.iter_customers())
    simulator.force_faults("429", count=3)
    assert gw.retrieve_customer(customer["id"])["id"] == customer["id"]
    assert gw.rate_limited == 3
    assert len(slept) == 3
    for attempt, seconds in enumerate(slept):
        cap = min(backoff.max_seconds, backoff.base_seconds * 2**attempt)
        assert cap / 2 <= seconds <= cap


def test_pages_of_a_list_are_each_backed_off(sandbox_handle, simulator) -> None:  # type: ignore[no-untyped-def]
    backoff, slept = quick_backoff()
    gw = StripeGateway(SANDBOX_KEY, base_url=sandbox_handle.base_url, max_network_retries=0,
                       backoff=backoff)
    everything = [e["id"] for e in gw.iter_events()]
    assert len(everything) > 100  # more than one page of 100
    listing = gw.iter_events()
    first_page = [next(listing)["id"] for _ in range(100)]
    simulator.force_faults("429", count=1)  # hits the request for the second page
    rest = [e["id"] for e in listing]
    assert len(slept) == 1
    assert first_page + rest == everything  # nothing lost or repeated across the wait


def test_with_a_page_retry_a_failed_page_is_asked_again_with_its_cursor(gateway, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A list read with ``page_retry`` (a job's sync) asks again for the page Stripe failed to
    answer, with the same cursor; the pages before it are not read again. Without, it fails."""
    pages = {None: ["evt_a", "evt_b"], "evt_b": ["evt_c", "evt_d"], "evt_d": ["evt_e"]}
    asked: list[str | None] = []
    fail = {"evt_b": 2}  # the second page fails twice

    def page(path, params):  # type: ignore[no-untyped-def]
        after = params.get("starting_after")
        asked.append(after)
        if fail.get(after, 0):
            fail[after] -= 1
            raise StripeUnavailable("Stripe had a temporary problem (HTTP 500).")
        return {"data": [{"id": i} for i in pages[after]], "has_more": after != "evt_d"}

    monkeypatch.setattr(gateway, "_list_page", page)
    retry = Backoff(retries=2, base_seconds=0.0, sleep=lambda _: None)
    assert [e["id"] for e in gateway.iter_events(page_retry=retry)] == [
        "evt_a", "evt_b", "evt_c", "evt_d", "evt_e",
    ]
    assert asked == [None, "evt_b", "evt_b", "evt_b", "evt_d"]

    asked.clear()
    fail["evt_b"] = 1
    read: list[str] = []
    with pytest.raises(StripeUnavailable):
        read.extend(e["id"] for e in gateway.iter_events())
    assert (read, asked) == (["evt_a", "evt_b"], [None, "evt_b"])


def test_a_timeout_leaves_the_key_usable_and_a_saved_500_spends_it(sandbox_handle, simulator) -> None:  # type: ignore[no-untyped-def]
    from services.errors import OutcomeUnknown

    gw = StripeGateway(SANDBOX_KEY, base_url=sandbox_handle.base_url, timeout_seconds=0.5,
                       max_network_retries=0)
    simulator.force_faults("slow", count=1, seconds=1)
    with pytest.raises(OutcomeUnknown) as unknown:
        gw.create_customer({"name": "Slow"}, idempotency_key="gw-key-slow")
    assert unknown.value.outcome_unknown
    assert gw.fresh_key("gw-key-slow") == "gw-key-slow"  # the retry must reuse it
    simulator.force_faults("500", count=1)
    with pytest.raises(StripeUnavailable) as failed:
        gw.create_customer({"name": "Five"}, idempotency_key="gw-key-500")
    assert not failed.value.outcome_unknown
    assert gw.fresh_key("gw-key-500") == "gw-key-500~2"  # Stripe would replay the 500
    again = gw.create_customer({"name": "Five"}, idempotency_key=gw.fresh_key("gw-key-500"))
    assert again["name"] == "Five"


@pytest.mark.parametrize("text", ["", "   ", "hello", "tok_123", "pi_", "pi_ 123"])
def test_lookup_refuses_malformed_ids_before_calling_stripe(gateway, text: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        resolve(gateway, text)


def test_lookup_of_an_fc_account_finds_itself(gateway) -> None:  # type: ignore[no-untyped-def]
    customer = next(c for c in gateway.iter_customers() if gateway.list_accounts(customer=c["id"]))
    account = gateway.list_accounts(customer=customer["id"])[0]
    found = resolve(gateway, f"  '{account['id']}' ")
    assert found.account is not None and found.account["id"] == account["id"]
    assert found.customer_id == customer["id"]


def test_the_pinned_api_version_is_the_sdks_own() -> None:
    import stripe

    from services.rules.stripe_api import API_VERSION

    assert stripe.api_version == API_VERSION


def test_every_call_sends_the_pinned_stripe_version_header() -> None:
    """Captured by a loopback stub, not the sandbox, so the header itself is what is checked."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from services.rules.stripe_api import API_VERSION

    seen: list[str | None] = []

    class Stub(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Stripe-Version"))
            body = json.dumps({"id": "cus_1", "object": "customer", "deleted": True}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        gw = StripeGateway(
            SANDBOX_KEY, base_url=f"http://127.0.0.1:{server.server_port}", max_network_retries=0
        )
        gw.retrieve_customer("cus_1")
    finally:
        server.shutdown()
    assert seen == [API_VERSION]


def test_a_deleted_customer_is_found_as_deleted_not_as_a_customer(gateway, services_ctx, finance) -> None:  # type: ignore[no-untyped-def]
    """Stripe answers a deleted customer with 200 {id, object, deleted: true} (§2.9); lookup and
    the pre-debit check say it was deleted instead of treating it as a customer without accounts."""
    from services.usecases import check_debit
    customer = gateway.create_customer({"email": "gone@example.com"}, idempotency_key=None)
    gateway.v1.customers.delete(customer["id"])
    assert gateway.retrieve_customer(customer["id"]) == {
        "id": customer["id"], "object": "customer", "deleted": True
    }
    with pytest.raises(NotFound, match="was deleted in Stripe"):
        resolve(gateway, customer["id"])
    with pytest.raises(NotFound, match="was deleted in Stripe"):
        check_debit.check_debit(services_ctx, finance, customer["id"], 1_000, "usd")


@pytest.mark.parametrize(
    ("unknown", "label"),
    [
        ("fca_doesnotexist123", "Financial Connections account"),
        ("pi_doesnotexist123", "PaymentIntent"),
        ("seti_doesnotexist123", "SetupIntent"),
        ("cus_doesnotexist123", "customer"),
        ("pm_doesnotexist123", "PaymentMethod"),
    ],
)
def test_a_well_formed_unknown_id_is_fcops_sentence_not_stripes_no_such(  # type: ignore[no-untyped-def]
    services_ctx, unknown: str, label: str
) -> None:
    """The Balance check showed Stripe's own "No such financial_connections.account: 'fca_…'"
    for an ID Stripe does not know; now it is what was not found, as typed, and what to check."""
    from services.auth import Actor
    from services.usecases import check_debit

    finance = Actor(username="finance", role="finance")
    with pytest.raises(NotFound) as info:
        check_debit.check_debit(services_ctx, finance, unknown, 1_000, "usd")
    said = str(info.value)
    assert said.startswith(f"Stripe has no {label} `{unknown}`. ")
    assert "No such" not in said
    assert "whole ID" in said and "(test or live)" in said and "another one" in said
    rid = services_ctx.gateway.last_request_id
    assert rid and rid.startswith("req_") and said.endswith(f"(Stripe request {rid})")
    assert info.value.request_id == rid


def test_stripes_other_mode_hint_becomes_which_mode_the_id_is_from() -> None:
    from services.rules.ids import unknown_id_from_stripe

    said = unknown_id_from_stripe(
        "No such customer: 'cus_Abc123'; a similar object exists in test mode, but a live mode "
        "key was used to make this request."
    )
    assert said is not None and said.startswith("Stripe has no customer `cus_Abc123` in live mode")
    assert "test-mode ID" in said
    assert unknown_id_from_stripe("Unrecognized request URL (GET: /v1/nothing)") is None
    # Stripe's text is someone's input echoed back: it stays a code span, whatever it holds.
    said = unknown_id_from_stripe("No such customer: 'cus_[x](https://evil.example)'")
    assert said is not None and "`cus_[x](https://evil.example)`" in said
