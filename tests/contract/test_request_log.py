"""The benchmarks' control hooks (``/_sandbox/requests``, ``rate_limit`` on ``/_sandbox/faults``),
reached over HTTP as a bench reaches a sandbox running in another process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.client import SimulationError, Simulator
from sandbox.server import SandboxHandle, start_background
from tests.contract.conftest import TEST_KEY, raw


@pytest.fixture()
def own() -> Iterator[SandboxHandle]:
    """A sandbox of this test's own: these tests change its rate limit and its log."""
    handle = start_background(
        port=0, seed=5, customers=3, refresh_delay=0, search_lag=0, slow_seconds=0.01
    )
    yield handle
    handle.stop()


def test_recorded_requests_are_the_v1_requests_in_order_with_the_headers_a_replay_needs(
    own: SandboxHandle,
) -> None:
    sim = Simulator(own.base_url)
    raw(own.base_url, "GET", "/v1/customers", {"limit": 1})  # before recording: not kept
    assert sim.record_requests() == {"ok": True, "recording": True, "count": 0, "refused": 0}
    raw(own.base_url, "GET", "/v1/customers", {"limit": 2, "email": "a@example.com"})
    sim.health()  # a hook, not /v1: not kept
    raw(own.base_url, "POST", "/v1/customers", {"name": "Logged"}, headers={"X-Other": "no"})
    raw(own.base_url, "GET", "/v1/customers/cus_missing")  # a 404 is a request all the same
    log = sim.recorded_requests()
    assert log["recording"] is True and log["count"] == 3 and log["refused"] == 0
    assert [(e["method"], e["path"], e["query"]) for e in log["data"]] == [
        ("GET", "/v1/customers", "limit=2&email=a%40example.com"),
        ("POST", "/v1/customers", ""),
        ("GET", "/v1/customers/cus_missing", ""),
    ]
    assert all(e["headers"] == {"authorization": f"Bearer {TEST_KEY}"} for e in log["data"])

    # a replay of the recorded GETs is answered like the originals
    first = log["data"][0]
    path = f"{first['path']}?{first['query']}"
    status, body, _ = raw(own.base_url, "GET", path, headers=first["headers"], auth=False)
    assert status == 200 and body["object"] == "list"

    stopped = sim.record_requests(on=False)
    assert stopped["recording"] is False and stopped["count"] == 4  # the replay too
    raw(own.base_url, "GET", "/v1/customers")
    assert sim.recorded_requests()["count"] == 4  # stopped: nothing more kept
    assert sim.record_requests()["count"] == 0  # a new recording forgets the old one


def test_a_rate_limit_set_through_the_hook_refuses_a_burst_and_the_log_counts_the_429s(
    own: SandboxHandle,
) -> None:
    sim = Simulator(own.base_url)
    assert sim.set_rate_limit(3)["rate_limit"] == 3
    sim.record_requests()
    statuses = [raw(own.base_url, "GET", "/v1/customers")[0] for _ in range(10)]
    assert statuses[:3] == [200, 200, 200]  # the bucket starts full: a burst of 3
    refused = statuses.count(429)
    assert refused >= 1 and set(statuses) == {200, 429}
    log = sim.recorded_requests()
    assert log["count"] == 10 and log["refused"] == refused

    assert sim.set_rate_limit(0)["rate_limit"] == 0  # off again
    assert {raw(own.base_url, "GET", "/v1/customers")[0] for _ in range(10)} == {200}


def test_the_fault_rate_set_through_the_client_fails_requests_until_set_back(
    own: SandboxHandle,
) -> None:
    sim = Simulator(own.base_url)
    assert sim.set_fault_rate(1)["fault_rate"] == 1
    # every request fails: 429, 500, or a slow answer (0.01 s here, then 200), seeded
    statuses = [raw(own.base_url, "GET", "/v1/customers")[0] for _ in range(6)]
    assert {429, 500} & set(statuses) and set(statuses) <= {200, 429, 500}
    sim.set_fault_rate(0)
    assert {raw(own.base_url, "GET", "/v1/customers")[0] for _ in range(5)} == {200}


def test_bad_control_values_are_refused_with_the_parameter_named(own: SandboxHandle) -> None:
    sim = Simulator(own.base_url)
    with pytest.raises(SimulationError, match="rate_limit must be a number 0 or more"):
        sim.set_rate_limit(-1)
    with pytest.raises(SimulationError, match="rate must be a number between 0 and 1"):
        sim.set_fault_rate(1.5)
    status, body, _ = raw(own.base_url, "POST", "/_sandbox/requests", auth=False)
    assert status == 400 and body["error"]["param"] == "record"
    assert own.state.config.rate_limit == 0 and own.state.config.fault_rate == 0
