"""``sandbox.demo.seed.load_world``: a demo world becomes consistent Stripe objects with a history."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
import stripe

from sandbox import demo
from sandbox.api.financial_connections.transactions import account_transactions
from sandbox.api.institutions import install_default_institutions
from sandbox.core import SandboxConfig, State
from sandbox.demo import seed
from sandbox.demo.model import (
    DemoAccount,
    DemoCustomer,
    DemoInstitution,
    DemoIntent,
    DemoOwner,
    DemoTransaction,
    DemoWorld,
)
from sandbox.server import SandboxHandle
from services.rules.flow_config import FLOWS
from services.rules.intent_fields import UNKNOWN_FLOW
from services.rules.intents import view_of

NOW = 1_790_000_000
DAY = 86_400


def fresh_state(now: int = NOW) -> State:
    state = State(SandboxConfig(now=now, refresh_delay=0, seed=3))
    install_default_institutions(state)
    return state


def account(permissions: list[str], **fields: Any) -> DemoAccount:
    values: dict[str, Any] = {
        "institution": "Chase",
        "display_name": "Everyday Checking",
        "last4": "1234",
        "category": "cash",
        "subcategory": "checking",
        "status": "active",
        "permissions": permissions,
        "subscriptions": [],
        "created": NOW - 90 * DAY,
        "balance": {
            "as_of": NOW - 3600,
            "type": "cash",
            "current": {"usd": 250_000},
            "cash": {"available": {"usd": 240_000}},
        },
        "owners": [DemoOwner("Ann Lee", "ann@example.com")],
        "transactions": [
            DemoTransaction(-500, "Coffee", NOW - DAY, posted_at=NOW - DAY + 3600),
        ],
    }
    values.update(fields)
    return DemoAccount(**values)


def intent(kind: str, outcome: str, days_ago: int, **fields: Any) -> DemoIntent:
    return DemoIntent(
        kind=kind,  # type: ignore[arg-type]
        verification_method="automatic",
        outcome=outcome,  # type: ignore[arg-type]
        created=NOW - days_ago * DAY,
        permissions=["payment_method", "balances"],
        **fields,
    )


def small_world() -> DemoWorld:
    """One customer with one intent per outcome, and a second with a disconnected account."""
    intents = [
        intent(
            "setup_intent", "instant_success", 90, account_index=0, finished_at=NOW - 90 * DAY + 90
        ),
        intent("setup_intent", "instant_failed", 50, institution="Down Bank (Error)"),
        intent(
            "setup_intent",
            "manual_verified",
            40,
            manual_last4="4321",
            microdeposit_type="amounts",
            finished_at=NOW - 38 * DAY,
        ),
        intent("setup_intent", "manual_pending", 1, manual_last4="9999"),
        intent(
            "setup_intent",
            "manual_failed",
            30,
            manual_last4="5555",
            finished_at=NOW - 20 * DAY,
            failure_code="payment_method_microdeposit_verification_timeout",
        ),
        intent("setup_intent", "abandoned", 10),
        intent("setup_intent", "canceled", 9, finished_at=NOW - 8 * DAY),
        intent(
            "payment_intent",
            "instant_success",
            20,
            account_index=0,
            amount=12_000,
            finished_at=NOW - 16 * DAY,
        ),
        intent(
            "payment_intent",
            "instant_failed",
            6,
            account_index=2,
            amount=9_000,
            finished_at=NOW - 2 * DAY,
            failure_code="account_closed",
        ),
        intent("payment_intent", "processing", 1, account_index=0, amount=3_000),
    ]
    ann = DemoCustomer(
        name="Ann Lee",
        email="ann@example.com",
        phone="+15555550100",
        address={
            "line1": "1 Main St",
            "city": "Austin",
            "state": "TX",
            "postal_code": "78701",
            "country": "US",
        },
        created=NOW - 100 * DAY,
        accounts=[
            account(
                ["payment_method", "balances", "ownership", "transactions"],
                subscriptions=["transactions"],
                balance_refreshed_at=NOW - 7200,
                next_refresh_available_at=NOW + 3600,
            ),
            account(["balances"], institution="Flaky CU", status="inactive"),
            account(["payment_method"], last4="7777", created=NOW - 10 * DAY),
        ],
        intents=intents,
    )
    bo = DemoCustomer(
        name="Bo Li",
        email="bo@example.com",
        phone=None,
        address={},
        created=NOW - 5 * DAY,
        accounts=[account(["payment_method", "balances"], status="disconnected")],
        intents=[],
    )
    banks = [
        DemoInstitution("Chase", "021000021"),
        DemoInstitution("Flaky CU", "110000000", refresh_fails=True),
        DemoInstitution("Down Bank (Error)", "110000000", link_fails=True),
    ]
    return DemoWorld(seed=1, now=NOW, institutions=banks, customers=[ann, bo])


@pytest.fixture(scope="module")
def small() -> State:
    state = fresh_state()
    seed.load_world(state, small_world())
    return state


def by_created(state: State, object_name: str) -> list[dict]:
    return sorted(state.find(object_name), key=lambda o: o["created"])


# --------------------------------------------------------------------------- hand-made world


def test_each_setup_outcome_becomes_the_matching_stripe_state(small: State) -> None:
    intents = by_created(small, "setup_intent")
    statuses = [si["status"] for si in intents]
    assert statuses == [
        "succeeded",
        "requires_payment_method",
        "succeeded",
        "requires_payment_method",
        "requires_payment_method",
        "canceled",
        "requires_action",
    ]
    linked, down, manual, failed, abandoned, canceled, pending = intents
    assert small.get("mandate", linked["mandate"])["status"] == "active"
    assert down["last_setup_error"]["code"] == "payment_method_not_available"
    manual_pm = small.get("payment_method", manual["payment_method"])
    assert manual_pm["us_bank_account"]["financial_connections_account"] is None
    assert manual_pm["us_bank_account"]["last4"] == "4321"
    assert failed["last_setup_error"]["code"] == "payment_method_microdeposit_verification_timeout"
    assert abandoned["payment_method"] is None and abandoned["last_setup_error"] is None
    assert canceled["cancellation_reason"] is not None
    assert pending["next_action"]["type"] == "verify_with_microdeposits"


def test_a_linked_setup_uses_a_pm_that_points_at_the_customers_fc_account(small: State) -> None:
    linked = by_created(small, "setup_intent")[0]
    pm = small.get("payment_method", linked["payment_method"])
    fca = small.get(
        "financial_connections.account", pm["us_bank_account"]["financial_connections_account"]
    )
    assert fca["account_holder"]["customer"] == linked["customer"] == pm["customer"]
    assert pm["us_bank_account"]["routing_number"] == "021000021"


def test_payment_outcomes_include_success_a_blocking_return_and_one_in_flight(small: State) -> None:
    paid, returned, in_flight = by_created(small, "payment_intent")
    assert (paid["status"], paid["amount_received"]) == ("succeeded", 12_000)
    assert returned["last_payment_error"]["code"] == "account_closed"
    blocked_pm = returned["last_payment_error"]["payment_method"]["id"]
    assert (
        small.get("payment_method", blocked_pm)["us_bank_account"]["status_details"]["blocked"][
            "network_code"
        ]
        == "R02"
    )
    assert in_flight["status"] == "processing"
    assert small.get("charge", in_flight["latest_charge"])["status"] == "pending"


def test_a_seeded_debit_in_flight_settles_when_its_time_comes() -> None:
    state = fresh_state()
    seed.load_world(state, small_world())
    in_flight = by_created(state, "payment_intent")[-1]
    state.clock.advance(5 * DAY)
    state.run_due()
    assert in_flight["status"] == "succeeded"


def test_events_replay_each_intents_history_in_the_past(small: State) -> None:
    events = by_created(small, "event")
    assert all(e["created"] <= NOW for e in events)
    history: dict[str, list[str]] = {}
    for e in events:
        history.setdefault(e["data"]["object"]["id"], []).append(e["type"])
    manual = by_created(small, "setup_intent")[2]
    assert history[manual["id"]] == [
        "setup_intent.created",
        "setup_intent.requires_action",
        "setup_intent.succeeded",
    ]
    snapshots = [
        e["data"]["object"]["status"] for e in events if e["data"]["object"]["id"] == manual["id"]
    ]
    assert snapshots == ["requires_payment_method", "requires_action", "succeeded"]
    paid = by_created(small, "payment_intent")[0]
    assert history[paid["id"]] == [
        "payment_intent.created",
        "payment_intent.processing",
        "payment_intent.succeeded",
    ]


def test_refresh_fields_follow_the_accounts_history(small: State) -> None:
    active, inactive, disconnected = by_created(small, "financial_connections.account")[:3]
    assert active["balance_refresh"]["next_refresh_available_at"] == NOW + 3600
    assert active["transaction_refresh"]["id"].startswith("fctxnref_")
    assert active["ownership"].startswith("fcaowns_")
    assert inactive["balance_refresh"] is None  # never refreshed
    assert inactive["ownership_refresh"] is None and inactive["transaction_refresh"] is None
    assert disconnected["balance"] is None


def test_transactions_appear_on_first_read(small: State) -> None:
    active = by_created(small, "financial_connections.account")[0]
    assert not [
        t for t in small.find("financial_connections.transaction") if t["account"] == active["id"]
    ]
    rows = account_transactions(small, active["id"])
    assert [(t["amount"], t["description"]) for t in rows] == [(-500, "Coffee")]


# --------------------------------------------------------------------------- generated world


@pytest.fixture(scope="module")
def generated() -> tuple[State, DemoWorld, float]:
    now = int(time.time())
    state = fresh_state(now)
    started = time.perf_counter()
    world = demo.generate(seed=11, customers=200, now=now)
    seed.load_world(state, world)
    return state, world, time.perf_counter() - started


def test_two_hundred_customers_load_with_all_their_accounts(
    generated: tuple[State, DemoWorld, float],
) -> None:
    state, world, _ = generated  # how long it took: bench/bench_sandbox.py prints it
    assert len(list(state.find("customer"))) == len(world.customers) == 200
    accounts = sum(len(c.accounts) for c in world.customers)
    assert len(list(state.find("financial_connections.account"))) == accounts


def test_every_reference_in_the_generated_world_resolves(
    generated: tuple[State, DemoWorld, float],
) -> None:
    state, _, _ = generated
    customers = {c["id"] for c in state.find("customer")}
    for fca in state.find("financial_connections.account"):
        assert fca["account_holder"]["customer"] in customers
    for pm in state.find("payment_method"):
        if pm["type"] != "us_bank_account":  # paid by card or Link (dynamic payment methods)
            assert pm["type"] in ("card", "link") and pm[pm["type"]]
            assert pm["customer"] in customers and "us_bank_account" not in pm
            continue
        fca_id = pm["us_bank_account"]["financial_connections_account"]
        if fca_id is not None:
            fca = state.get("financial_connections.account", fca_id)
            assert "payment_method" in fca["permissions"]
            if pm["customer"]:
                assert fca["account_holder"]["customer"] == pm["customer"]
    for mandate in state.find("mandate"):
        state.get("payment_method", mandate["payment_method"])
    for si in state.find("setup_intent"):
        assert si["customer"] in customers
        if si["status"] != "succeeded":
            continue
        if state.get("payment_method", si["payment_method"])["type"] == "us_bank_account":
            assert state.get("mandate", si["mandate"])["payment_method"] == si["payment_method"]
        else:  # a card or Link saved instead: no ACH mandate, and it was offered
            assert si["mandate"] is None and len(si["payment_method_types"]) > 1


def test_the_generated_world_has_a_mix_of_outcomes(
    generated: tuple[State, DemoWorld, float],
) -> None:
    state, _, _ = generated
    si_statuses = Counter(si["status"] for si in state.find("setup_intent"))
    pi_statuses = Counter(pi["status"] for pi in state.find("payment_intent"))
    assert {"succeeded", "requires_action", "requires_payment_method"} <= set(si_statuses)
    assert {"succeeded", "processing"} <= set(pi_statuses)
    banks = [pm for pm in state.find("payment_method") if pm["type"] == "us_bank_account"]
    manual = [pm for pm in banks if pm["us_bank_account"]["financial_connections_account"] is None]
    assert manual, "manual-entry payment methods are part of the mix"
    others = Counter(pm["type"] for pm in state.find("payment_method")) - Counter(
        {"us_bank_account": len(banks)}
    )
    assert set(others) == {"card", "link"}, "some intents were paid by card or Link (B2)"
    offered = [i for i in [*state.find("payment_intent"), *state.find("setup_intent")]
               if i["payment_method_types"] == ["card", "link", "us_bank_account"]]  # fmt: skip
    paid_by_bank = [i for i in offered if i["status"] in ("succeeded", "processing")
                    and state.get("payment_method", i["payment_method"])["type"] == "us_bank_account"]  # fmt: skip
    assert paid_by_bank, "dynamic offers paid by bank account are part of the mix too"
    refreshes = [
        fca["balance_refresh"]["next_refresh_available_at"]
        for fca in state.find("financial_connections.account")
        if fca["balance_refresh"] and fca["balance_refresh"]["next_refresh_available_at"]
    ]
    now = state.now()
    assert any(t <= now for t in refreshes) and any(t > now for t in refreshes)


def test_a_share_of_the_seeded_intents_was_made_by_each_of_fcops_flows(
    generated: tuple[State, DemoWorld, float],
) -> None:
    """Seen on Conversion: the Flow box offered only 'not made by fcops', because no demo intent
    carried the metadata fcops writes when it creates one (fcops_flow, fcops_flow_version). Read
    as fcops reads it, most intents name one of the six flows (every flow has its share, and
    Checkout never verifies by microdeposits), and the rest were made elsewhere."""
    state, _, _ = generated
    intents = [*state.find("setup_intent"), *state.find("payment_intent")]
    views = [view_of(i) for i in intents]
    flows = Counter(v.flow for v in views)
    assert set(flows) == {*FLOWS, UNKNOWN_FLOW}, flows
    made = len(intents) - flows[UNKNOWN_FLOW]
    assert 0.5 <= made / len(intents) <= 0.8, flows
    assert all(flows[f] >= 0.04 * made for f in FLOWS), flows
    assert all(v.flow_version == 0 for v in views if v.flow != UNKNOWN_FLOW)
    assert not [v for v in views if v.flow == "checkout_session" and v.verification_method == "microdeposits"]
    kinds = {(v.kind, v.flow) for v in views}
    assert ("payment_intent", "setup_intent") not in kinds and ("setup_intent", "invoice") not in kinds


# --------------------------------------------------------------------------- through the SDK


def test_a_seeded_customers_payment_method_expands_to_its_fc_account(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    succeeded = [
        si
        for si in client.v1.setup_intents.list(params={"limit": 100}).auto_paging_iter()
        if si.status == "succeeded" and si.created < sandbox.state.now() - 60
    ]
    assert succeeded, "the seeded world has saved bank accounts"
    linked = 0
    for si in succeeded:
        full = client.v1.setup_intents.retrieve(si.id, params={"expand": ["payment_method"]})
        if full.payment_method.type != "us_bank_account":
            continue  # saved a card or Link instead (dynamic payment methods)
        fca = full.payment_method.us_bank_account.financial_connections_account
        if fca is not None:
            account = client.v1.financial_connections.accounts.retrieve(fca)
            assert account.account_holder.customer == si.customer
            linked += 1
    assert linked > 0
