"""Wire conventions (§1 of the Stripe reference): auth, errors, lists, expand, idempotency, faults."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from typing import Any

import pytest
import stripe

from sandbox.core import parse_params
from sandbox.server import SandboxHandle, start_background
from tests.contract.conftest import TEST_KEY, hook, linked_accounts, raw

# --------------------------------------------------------------------------- auth and errors


def test_a_made_up_key_is_refused_with_401(sandbox: SandboxHandle) -> None:
    bad = stripe.StripeClient("not_a_key_1234", base_addresses={"api": sandbox.base_url})
    with pytest.raises(stripe.AuthenticationError) as err:
        bad.v1.customers.list()
    assert err.value.http_status == 401
    assert err.value.request_id and err.value.request_id.startswith("req_")


def test_a_live_key_is_refused_with_its_tail_masked(sandbox: SandboxHandle) -> None:
    live = stripe.StripeClient("sk_live_abcdefgh1234", base_addresses={"api": sandbox.base_url})
    with pytest.raises(stripe.AuthenticationError) as err:
        live.v1.customers.list()
    assert err.value.user_message == "Invalid API Key provided: sk_live_****1234"


def test_a_request_without_a_key_is_refused(sandbox: SandboxHandle) -> None:
    status, body, _ = raw(sandbox.base_url, "GET", "/v1/customers", auth=False)
    assert status == 401
    assert "did not provide an API key" in body["error"]["message"]


def test_basic_auth_with_a_test_key_as_username_is_accepted(sandbox: SandboxHandle) -> None:
    token = base64.b64encode(f"{TEST_KEY}:".encode()).decode()
    status, body, headers = raw(
        sandbox.base_url,
        "GET",
        "/v1/customers",
        {"limit": 1},
        auth=False,
        headers={"Authorization": f"Basic {token}"},
    )
    assert status == 200
    assert body["object"] == "list"
    assert headers["Request-Id"].startswith("req_")


def test_an_unknown_url_is_a_404_naming_method_and_path(sandbox: SandboxHandle) -> None:
    status, body, headers = raw(sandbox.base_url, "GET", "/v1/foo")
    assert status == 404
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith("Unrecognized request URL (GET: /v1/foo)")
    assert headers["Request-Id"].startswith("req_")


def test_a_missing_object_is_a_404_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.retrieve("cus_doesnotexist")
    assert err.value.http_status == 404
    assert err.value.code == "resource_missing"
    assert err.value.user_message == "No such customer: 'cus_doesnotexist'"


def test_an_unknown_parameter_is_a_400_naming_it(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.list(params={"colour": "blue"})  # type: ignore[typeddict-unknown-key]
    assert err.value.http_status == 400
    assert err.value.code == "parameter_unknown"
    assert err.value.param == "colour"


def test_a_missing_required_parameter_is_a_400_naming_it(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.financial_connections.transactions.list(params={})  # type: ignore[typeddict-item]
    assert err.value.code == "parameter_missing"
    assert err.value.param == "account"
    assert err.value.json_body["error"]["doc_url"].endswith("/parameter-missing")


def test_a_non_integer_limit_is_a_400(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.list(params={"limit": 500})
    assert err.value.param == "limit"


def test_brackets_parse_into_nested_values_ordered_by_index() -> None:
    parsed = parse_params(
        "a[b][1]=y&a[b][0]=x&features[]=balance&features[]=ownership&t[gte]=5&q=a+b%26c"
    )
    assert parsed == {
        "a": {"b": ["x", "y"]},
        "features": ["balance", "ownership"],
        "t": {"gte": "5"},
        "q": "a b&c",
    }


# --------------------------------------------------------------------------- lists


@pytest.fixture(scope="module")
def seven_accounts(client: stripe.StripeClient, sandbox: SandboxHandle) -> list[Any]:
    return linked_accounts(client, sandbox, accounts=7)


def _page(client: stripe.StripeClient, customer: str, **extra: Any) -> Any:
    params = {"account_holder": {"customer": customer}, "limit": 3, **extra}
    return client.v1.financial_connections.accounts.list(params=params)


def test_pages_forward_with_starting_after_cover_everything_once(
    client: stripe.StripeClient, seven_accounts: list[Any]
) -> None:
    customer = seven_accounts[0].account_holder.customer
    seen: list[str] = []
    page = _page(client, customer)
    while True:
        seen += [a.id for a in page.data]
        if not page.has_more:
            break
        page = _page(client, customer, starting_after=page.data[-1].id)
    assert seen == [a.id for a in seven_accounts]
    assert len(set(seen)) == 7
    assert page.url == "/v1/financial_connections/accounts"


def test_pages_backward_with_ending_before_return_the_items_just_before(
    client: stripe.StripeClient, seven_accounts: list[Any]
) -> None:
    customer = seven_accounts[0].account_holder.customer
    ids = [a.id for a in seven_accounts]
    page = _page(client, customer, ending_before=ids[5])
    assert [a.id for a in page.data] == ids[2:5]
    assert page.has_more is True
    first = _page(client, customer, ending_before=ids[2])
    assert [a.id for a in first.data] == ids[0:2]
    assert first.has_more is False


def test_lists_are_newest_first(seven_accounts: list[Any]) -> None:
    created = [a.created for a in seven_accounts]
    assert created == sorted(created, reverse=True)


def test_auto_paging_iter_walks_every_page(
    client: stripe.StripeClient, seven_accounts: list[Any]
) -> None:
    customer = seven_accounts[0].account_holder.customer
    every = [a.id for a in _page(client, customer).auto_paging_iter()]
    assert every == [a.id for a in seven_accounts]


# --------------------------------------------------------------------------- expand


def test_expand_replaces_an_id_with_the_object(
    client: stripe.StripeClient, seven_accounts: list[Any]
) -> None:
    fca = seven_accounts[0]
    got = client.v1.financial_connections.accounts.retrieve(
        fca.id, params={"expand": ["account_holder.customer"]}
    )
    assert got.account_holder.customer.object == "customer"
    assert got.account_holder.customer.name == "Casey Contract"


def test_expand_on_a_list_uses_data_paths(
    client: stripe.StripeClient, seven_accounts: list[Any]
) -> None:
    customer = seven_accounts[0].account_holder.customer
    page = client.v1.financial_connections.accounts.list(
        params={
            "account_holder": {"customer": customer},
            "expand": ["data.account_holder.customer"],
        }
    )
    assert {a.account_holder.customer.id for a in page.data} == {customer}


def test_expand_deeper_than_four_levels_is_refused(
    client: stripe.StripeClient, seven_accounts: list[Any]
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.financial_connections.accounts.retrieve(
            seven_accounts[0].id, params={"expand": ["a.b.c.d.e"]}
        )
    assert err.value.param == "expand"


def test_expand_of_a_field_that_is_not_an_id_is_refused(
    client: stripe.StripeClient, seven_accounts: list[Any]
) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.financial_connections.accounts.retrieve(
            seven_accounts[0].id, params={"expand": ["institution_name"]}
        )


# --------------------------------------------------------------------------- idempotency


def test_the_same_key_and_params_replay_the_first_reply(client: stripe.StripeClient) -> None:
    key = f"k-{uuid.uuid4()}"
    first = client.v1.customers.create(params={"name": "Idem"}, options={"idempotency_key": key})
    again = client.v1.customers.create(params={"name": "Idem"}, options={"idempotency_key": key})
    assert again.id == first.id
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    found = client.v1.customers.list(params={"limit": 100}).auto_paging_iter()
    assert sum(1 for c in found if c.id == first.id) == 1


def test_the_same_key_with_other_params_is_an_idempotency_error(
    client: stripe.StripeClient,
) -> None:
    key = f"k-{uuid.uuid4()}"
    client.v1.customers.create(params={"name": "One"}, options={"idempotency_key": key})
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create(params={"name": "Two"}, options={"idempotency_key": key})


def test_an_error_from_an_executed_request_is_replayed(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    [fca] = linked_accounts(client, sandbox, permissions=["payment_method"])
    key = f"k-{uuid.uuid4()}"
    refresh = client.v1.financial_connections.accounts.refresh
    with pytest.raises(stripe.InvalidRequestError) as first:
        refresh(fca.id, params={"features": ["balance"]}, options={"idempotency_key": key})
    with pytest.raises(stripe.InvalidRequestError) as again:
        refresh(fca.id, params={"features": ["balance"]}, options={"idempotency_key": key})
    assert again.value.json_body == first.value.json_body
    assert again.value.headers.get("Idempotent-Replayed") == "true"


def test_a_validation_failure_is_not_saved_under_the_key(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    [fca] = linked_accounts(client, sandbox)
    key = f"k-{uuid.uuid4()}"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.financial_connections.accounts.refresh(
            fca.id, params={"features": ["colour"]}, options={"idempotency_key": key}
        )
    ok = client.v1.financial_connections.accounts.refresh(
        fca.id, params={"features": ["balance"]}, options={"idempotency_key": key}
    )
    assert ok.balance_refresh.status == "pending"


def test_a_concurrent_request_with_the_same_key_gets_409(sandbox: SandboxHandle) -> None:
    key = f"k-{uuid.uuid4()}"
    hook(sandbox, "faults", mode="slow", count=1, seconds=3)
    results: list[int] = []

    def first() -> None:
        results.append(
            raw(
                sandbox.base_url,
                "POST",
                "/v1/customers",
                {"name": "Slow"},
                headers={"Idempotency-Key": key},
            )[0]
        )

    thread = threading.Thread(target=first)
    thread.start()
    # Once the slow fault is taken, the first request holds the key for 3 s (however busy the
    # machine is, it has claimed the key microseconds after taking the fault).
    deadline = time.monotonic() + 10
    while hook(sandbox, "faults")["forced_pending"] and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    status, body, _ = raw(
        sandbox.base_url,
        "POST",
        "/v1/customers",
        {"name": "Slow"},
        headers={"Idempotency-Key": key},
    )
    thread.join()
    assert status == 409
    assert body["error"]["code"] == "idempotency_key_in_use"
    assert results == [200]


def test_keys_expire_after_24_hours_of_sandbox_time() -> None:
    handle = start_background(port=0, customers=0, refresh_delay=0)
    try:
        client = stripe.StripeClient(TEST_KEY, base_addresses={"api": handle.base_url})
        key = f"k-{uuid.uuid4()}"
        first = client.v1.customers.create(params={"name": "A"}, options={"idempotency_key": key})
        hook(handle, "clock/advance", seconds=24 * 3600)
        later = client.v1.customers.create(params={"name": "B"}, options={"idempotency_key": key})
        assert later.id != first.id
        assert later.name == "B"
    finally:
        handle.stop()


# --------------------------------------------------------------------------- faults and limits


def test_a_rate_limit_429_does_not_ask_for_a_retry_so_the_sdk_gives_up(
    sandbox: SandboxHandle,
) -> None:
    hook(sandbox, "faults", mode="429", count=1)
    status, body, headers = raw(sandbox.base_url, "GET", "/v1/customers")
    assert status == 429
    assert body["error"]["code"] == "rate_limit"
    assert "Stripe-Should-Retry" not in headers  # Stripe asks no retry of a real rate limit
    hook(sandbox, "faults", mode="429", count=1)
    retrying = stripe.StripeClient(
        TEST_KEY, base_addresses={"api": sandbox.base_url}, max_network_retries=2
    )
    with pytest.raises(stripe.RateLimitError):  # even with retries on, the SDK does not retry
        retrying.v1.customers.list(params={"limit": 1})
    assert hook(sandbox, "faults")["forced_pending"] == 0


def test_a_lock_timeout_429_asks_for_a_retry_and_the_sdk_retries_it(
    sandbox: SandboxHandle,
) -> None:
    hook(sandbox, "faults", mode="lock_timeout", count=1)
    status, body, headers = raw(sandbox.base_url, "GET", "/v1/customers")
    assert (status, body["error"]["code"]) == (429, "lock_timeout")
    assert headers["Stripe-Should-Retry"] == "true"
    hook(sandbox, "faults", mode="lock_timeout", count=1)
    retrying = stripe.StripeClient(
        TEST_KEY, base_addresses={"api": sandbox.base_url}, max_network_retries=2
    )
    assert retrying.v1.customers.list(params={"limit": 1}).object == "list"


def test_a_forced_429_without_retries_raises_rate_limit_error(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    hook(sandbox, "faults", mode="429", count=1)
    with pytest.raises(stripe.RateLimitError) as err:
        client.v1.customers.list()
    assert err.value.json_body["error"]["code"] == "rate_limit"  # the SDK drops `code` on 429


def test_a_forced_500_is_an_api_error_that_asks_for_no_retry(sandbox: SandboxHandle) -> None:
    hook(sandbox, "faults", mode="500", count=1)
    status, body, headers = raw(sandbox.base_url, "GET", "/v1/customers")
    assert (status, body["error"]["type"]) == (500, "api_error")
    assert headers["Stripe-Should-Retry"] == "false"
    hook(sandbox, "faults", mode="500", count=1)
    retrying = stripe.StripeClient(
        TEST_KEY, base_addresses={"api": sandbox.base_url}, max_network_retries=2
    )
    with pytest.raises(stripe.APIError) as err:  # the header stops the SDK's own retries
        retrying.v1.customers.list()
    assert err.value.http_status == 500
    assert retrying.v1.customers.list(params={"limit": 1}).object == "list"


def test_a_500_after_execution_started_is_saved_and_replayed_for_the_same_key(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    key = f"k-{uuid.uuid4()}"
    before = sandbox.state.count("customer")
    hook(sandbox, "faults", mode="500", count=1)
    for _ in range(2):  # the retry with the same key gets the saved 500 back
        with pytest.raises(stripe.APIError) as err:
            client.v1.customers.create(params={"name": "Five"}, options={"idempotency_key": key})
        assert err.value.http_status == 500
    status, _, headers = raw(
        sandbox.base_url,
        "POST",
        "/v1/customers",
        {"name": "Five"},
        headers={"Idempotency-Key": key},
    )
    assert status == 500 and headers.get("Idempotent-Replayed") == "true"
    assert sandbox.state.count("customer") == before  # nothing was created
    fresh = client.v1.customers.create(
        params={"name": "Five"}, options={"idempotency_key": f"k-{uuid.uuid4()}"}
    )
    assert fresh.name == "Five"  # a new request (new key) goes through


def test_a_500_done_fault_makes_the_object_yet_answers_and_replays_500(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    """The test-only ``500_done`` mode: the request went through, the client hears a 500 (saved
    under the key, replayed to a retry), and only a read of Stripe shows what was made."""
    key = f"k-{uuid.uuid4()}"
    name = f"Done-{uuid.uuid4().hex[:8]}"
    before = sandbox.state.count("customer")
    hook(sandbox, "faults", mode="500_done", count=1)
    for _ in range(2):
        with pytest.raises(stripe.APIError) as err:
            client.v1.customers.create(params={"name": name}, options={"idempotency_key": key})
        assert err.value.http_status == 500
    assert sandbox.state.count("customer") == before + 1  # made once, though answered 500
    made = [c for c in client.v1.customers.list(params={"limit": 100}).data if c.name == name]
    assert len(made) == 1


def test_a_slow_answer_trips_a_short_client_timeout(sandbox: SandboxHandle) -> None:
    hook(sandbox, "faults", mode="slow", count=1)  # slow_seconds=1.5 in this sandbox
    impatient = stripe.StripeClient(
        TEST_KEY,
        base_addresses={"api": sandbox.base_url},
        http_client=stripe.RequestsClient(timeout=0.5),
    )
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.customers.list()


def _statuses(fault_rate: float, seed: int, n: int) -> list[int]:
    handle = start_background(
        port=0, seed=seed, customers=0, fault_rate=fault_rate, slow_seconds=0.01
    )
    try:
        return [raw(handle.base_url, "GET", "/v1/customers")[0] for _ in range(n)]
    finally:
        handle.stop()


def test_the_fault_rate_picks_the_same_requests_for_the_same_seed() -> None:
    first = _statuses(0.5, seed=3, n=30)
    assert first == _statuses(0.5, seed=3, n=30)
    assert {429, 500} & set(first)
    assert 200 in first


def test_a_rate_limit_refuses_a_burst_beyond_it() -> None:
    handle = start_background(port=0, customers=0, rate_limit=3)
    try:
        statuses = [raw(handle.base_url, "GET", "/v1/customers")[0] for _ in range(8)]
    finally:
        handle.stop()
    assert statuses[:3] == [200, 200, 200]
    assert 429 in statuses


def test_health_reports_seed_and_time(sandbox: SandboxHandle) -> None:
    status, body, _ = raw(sandbox.base_url, "GET", "/_sandbox/health", auth=False)
    assert status == 200
    assert body["ok"] is True
    assert body["seed"] == 7
    assert abs(body["now"] - sandbox.state.now()) <= 1


def test_a_request_for_another_api_version_is_refused_not_answered_in_the_wrong_shape(
    sandbox: SandboxHandle,
) -> None:
    from services.rules.stripe_api import API_VERSION

    ok, _, headers = raw(sandbox.base_url, "GET", "/v1/customers", headers={"Stripe-Version": API_VERSION})
    assert ok == 200 and headers["Stripe-Version"] == API_VERSION
    status, body, _ = raw(
        sandbox.base_url, "GET", "/v1/customers", headers={"Stripe-Version": "2026-08-26.dahlia"}
    )
    assert status == 400
    assert API_VERSION in body["error"]["message"] and "2026-08-26.dahlia" in body["error"]["message"]
