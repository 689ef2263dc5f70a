"""The sandbox scales to big worlds: start-up stays fast and a request's work stays flat.

Timing a request is too noisy on a shared 2-core machine, so the flatness tests count the
Python bytecode instructions a request executes (``sys.settrace`` opcode events) in a world
of 200 customers and in one of 2,000: a linear scan (a comprehension over every setup intent,
a sort key called for every event) shows up as ~10x more instructions. Each request is about
an object made the same way in both worlds, so the two counts should match closely.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any
from urllib.parse import urlencode

import pytest

from sandbox import core
from sandbox.core import SandboxConfig, State
from sandbox.server import build_state

SMALL, BIG = 200, 2_000
HEADERS = {"Authorization": "Bearer sk_test_scale"}


def call(state: State, method: str, path: str, **params: Any) -> dict[str, Any]:
    """One request through the whole pipeline (no HTTP), failing the test on an error."""
    encoded = urlencode(params, doseq=True)
    query, body = (encoded, "") if method == "GET" else ("", encoded)
    resp = core.handle(state, method, path, query=query, body=body, headers=HEADERS)
    assert resp.status == 200, resp.body
    return resp.body


def instructions(run: Callable[[], object]) -> int:
    """How many bytecode instructions ``run`` executes in Python code (deterministic)."""
    count = 0

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        frame.f_trace_opcodes = True
        if event == "opcode":
            count += 1
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        run()
    finally:
        sys.settrace(previous)
    return count


class World:
    """A seeded sandbox plus one customer made the same way in every world."""

    def __init__(self, customers: int) -> None:
        started = time.perf_counter()
        self.state = build_state(SandboxConfig(seed=5, customers=customers, refresh_delay=0))
        self.seconds = time.perf_counter() - started
        self.customer = call(self.state, "POST", "/v1/customers", name="Sam Scale")["id"]
        fc_options = "payment_method_options[us_bank_account][financial_connections]"
        si = call(
            self.state,
            "POST",
            "/v1/setup_intents",
            customer=self.customer,
            **{f"{fc_options}[permissions][]": ["payment_method", "transactions"]},
        )["id"]
        call(self.state, "POST", f"/_sandbox/setup_intents/{si}/link", institution="StripeBank")
        self.setup_intent = si
        linked = call(self.state, "GET", f"/v1/setup_intents/{si}")
        self.payment_method = linked["payment_method"]
        pm = call(self.state, "GET", f"/v1/payment_methods/{self.payment_method}")
        self.account = pm["us_bank_account"]["financial_connections_account"]
        refresh = f"/v1/financial_connections/accounts/{self.account}/refresh"
        call(self.state, "POST", refresh, **{"features[]": "transactions"})  # 1-3 new rows
        call(
            self.state,
            "POST",
            "/v1/payment_intents",
            amount=1500,
            currency="usd",
            customer=self.customer,
            payment_method=self.payment_method,
            confirm="true",
        )
        first = call(self.state, "GET", "/v1/customers", limit=3)["data"]
        self.some_customer = first[-1]["id"]
        events = call(self.state, "GET", "/v1/events", type="customer.created", limit=3)
        self.some_event = events["data"][-1]["id"]

    def requests(self) -> dict[str, Callable[[], dict[str, Any]]]:
        s, cus = self.state, self.customer
        return {
            "accounts of a customer": lambda: call(
                s, "GET", "/v1/financial_connections/accounts", **{"account_holder[customer]": cus}
            ),
            "retrieve an account with ownership": lambda: call(
                s, "GET", f"/v1/financial_connections/accounts/{self.account}"
            ),
            "transactions of an account": lambda: call(
                s, "GET", "/v1/financial_connections/transactions", account=self.account
            ),
            "setup intents of a customer": lambda: call(
                s, "GET", "/v1/setup_intents", customer=cus
            ),
            "payment intents of a customer": lambda: call(
                s, "GET", "/v1/payment_intents", customer=cus
            ),
            "payment methods of a customer": lambda: call(
                s, "GET", "/v1/payment_methods", customer=cus
            ),
            "a customer's payment methods": lambda: call(
                s, "GET", f"/v1/customers/{cus}/payment_methods"
            ),
            "setup attempts of an intent": lambda: call(
                s, "GET", "/v1/setup_attempts", setup_intent=self.setup_intent
            ),
            "a page of customers": lambda: call(
                s, "GET", "/v1/customers", limit=10, starting_after=self.some_customer
            ),
            "a page of events of one type": lambda: call(
                s, "GET", "/v1/events", type="customer.created", starting_after=self.some_event
            ),
            "a page of events by wildcard": lambda: call(
                s, "GET", "/v1/events", type="setup_intent.*", limit=5
            ),
            "events of the last day": lambda: call(
                s, "GET", "/v1/events", **{"created[gte]": s.now() - 86_400, "limit": 5}
            ),
        }


@pytest.fixture(scope="module")
def worlds() -> Iterator[tuple[World, World]]:
    yield World(SMALL), World(BIG)


def test_a_two_thousand_customer_world_starts_in_a_few_seconds(
    worlds: tuple[World, World],
) -> None:
    small, big = worlds
    assert len(big.state.find("customer")) == BIG + 1
    assert big.seconds < 15  # ~1.5 s on an idle 2-core machine; was ~7 s before indexing
    assert big.seconds < 40 * max(small.seconds, 0.05)  # roughly linear in the world's size


@pytest.mark.parametrize(
    "name",
    [
        "accounts of a customer",
        "retrieve an account with ownership",
        "transactions of an account",
        "setup intents of a customer",
        "payment intents of a customer",
        "payment methods of a customer",
        "a customer's payment methods",
        "setup attempts of an intent",
        "a page of customers",
        "a page of events of one type",
        "a page of events by wildcard",
        "events of the last day",
    ],
)
def test_a_requests_work_does_not_grow_with_the_world(
    worlds: tuple[World, World], name: str
) -> None:
    counts = []
    for world in worlds:
        request = world.requests()[name]
        request()  # due jobs and lazy work (transactions, index sorting) happen once
        counts.append(instructions(request))
    small, big = counts
    assert small > 0
    # Equal today; a scan over the 10x bigger world would be several times more.
    assert big < 1.25 * small + 500, f"{name}: {small} instructions at {SMALL}, {big} at {BIG}"


def test_the_instruction_count_notices_a_linear_scan(worlds: tuple[World, World]) -> None:
    """The measure itself can fail: scanning every setup intent grows with the world."""

    def scanner(state: State) -> Callable[[], object]:
        return lambda: [si for si in state.find("setup_intent") if si["customer"]]

    small, big = (instructions(scanner(world.state)) for world in worlds)
    assert big > 5 * small
