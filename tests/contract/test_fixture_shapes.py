"""Every object the sandbox serves has the shape of Stripe's own example (house style #11).

For each type: every field of the fixture is present, and where the fixture's value is not null
the sandbox's has the same JSON type, recursively. The sandbox may answer null only where Stripe
documents the field as nullable (``objects.NULLABLE``). Variant hashes follow ``type`` (a card
example's ``card`` ↔ our ``us_bank_account``); currency maps and metadata compare value types.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import stripe

from sandbox import objects
from sandbox.core import State
from sandbox.server import SandboxHandle
from tests.contract.conftest import linked_accounts


def _fixtures_path() -> Path:
    """Stripe's examples: FCOPS_STRIPE_FIXTURES, else ../shared/stripe beside the project."""
    configured = os.environ.get("FCOPS_STRIPE_FIXTURES")
    path = (
        Path(configured)
        if configured
        else (Path(__file__).resolve().parents[3] / "shared" / "stripe" / "fixtures-fc.json")
    )
    if not path.exists():
        reason = f"Stripe's example objects not found at {path} (set FCOPS_STRIPE_FIXTURES)"
        if os.environ.get("CI", "").lower() == "true":
            raise RuntimeError(f"{reason}; CI must compare the sandbox with them.")
        pytest.skip(reason, allow_module_level=True)
    return path


FIXTURES = json.loads(_fixtures_path().read_text())["resources"]
MAP_FIELDS = {"metadata"}
# event.data.object is another type's object, checked under that type
OPAQUE = {("event", "data.object")}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def shape_problems(object_name: str, fixture: Any, actual: Any, path: str = "") -> list[str]:
    """Where ``actual`` departs from the fixture's shape (empty when it matches)."""
    problems: list[str] = []
    nullable = objects.NULLABLE.get(object_name, frozenset())
    for key, expected in fixture.items():
        here = f"{path}.{key}" if path else key
        if (object_name, here) in OPAQUE:
            continue
        if (
            isinstance(fixture.get("type"), str)
            and key == fixture["type"]
            and actual.get("type") != key
        ):
            if not isinstance(actual.get(actual.get("type")), dict):
                problems.append(f"{here}: variant hash for type {actual.get('type')!r} missing")
            continue
        if key not in actual:
            problems.append(f"{here}: missing")
            continue
        value = actual[key]
        if expected is None:
            continue
        if value is None:
            if here not in nullable:
                problems.append(f"{here}: null, but the fixture has {_json_type(expected)}")
            continue
        if _json_type(value) != _json_type(expected):
            problems.append(f"{here}: {_json_type(value)}, fixture has {_json_type(expected)}")
            continue
        if isinstance(expected, dict):
            if key in MAP_FIELDS or "undefined" in expected:
                sample = next(iter(expected.values()), None)
                problems += [
                    f"{here}.{k}: {_json_type(v)}"
                    for k, v in value.items()
                    if sample is not None and _json_type(v) != _json_type(sample)
                ]
            else:
                problems += shape_problems(object_name, expected, value, here)
        elif isinstance(expected, list) and expected and isinstance(expected[0], dict):
            for i, item in enumerate(value):
                problems += shape_problems(object_name, expected[0], item, f"{here}[{i}]")
    return problems


def test_the_shape_check_notices_a_missing_field_and_a_wrong_type() -> None:
    fixture = FIXTURES["financial_connections.transaction"]
    broken = dict(fixture, amount="300")
    del broken["description"]
    assert sorted(shape_problems("financial_connections.transaction", fixture, broken)) == [
        "amount: str, fixture has number",
        "description: missing",
    ]


def test_the_shape_check_refuses_null_where_stripe_never_has_null() -> None:
    fixture = FIXTURES["financial_connections.transaction"]
    assert shape_problems(
        "financial_connections.transaction", fixture, dict(fixture, currency=None)
    ) == ["currency: null, but the fixture has str"]


@pytest.fixture(scope="module")
def served(client: stripe.StripeClient, sandbox: SandboxHandle) -> dict[str, dict]:
    """One of each FC object, fetched through the SDK after every refresh has run."""
    [fca] = linked_accounts(
        client, sandbox, prefetch=["balances", "ownership", "transactions"], name="Shape Shifter"
    )
    fc = client.v1.financial_connections
    account = fc.accounts.retrieve(fca.id)
    ownership = fc.accounts.retrieve(fca.id, params={"expand": ["ownership"]}).ownership
    owners = fc.accounts.owners.list(fca.id, params={"ownership": ownership.id})
    txn = fc.transactions.list(params={"account": fca.id, "limit": 1}).data[0]
    session = fc.sessions.create(
        params={
            "account_holder": {"type": "customer", "customer": account.account_holder.customer},
            "permissions": ["balances", "payment_method"],
        }
    )
    event = client.v1.events.list(
        params={"type": "financial_connections.account.refreshed_balance", "limit": 1}
    ).data[0]
    customer = client.v1.customers.retrieve(account.account_holder.customer)
    return {
        "financial_connections.account": account.to_dict(),
        "financial_connections.account_ownership": ownership.to_dict(),
        "financial_connections.account_owner": owners.data[0].to_dict(),
        "financial_connections.transaction": txn.to_dict(),
        "financial_connections.session": session.to_dict(),
        "event": event.to_dict(),
        "customer": customer.to_dict(),
    }


SERVED = [
    "financial_connections.account",
    "financial_connections.account_ownership",
    "financial_connections.account_owner",
    "financial_connections.transaction",
    "financial_connections.session",
    "event",
    "customer",
]


@pytest.mark.parametrize("object_name", SERVED)
def test_served_objects_have_every_fixture_field_with_its_type(
    served: dict[str, dict], object_name: str
) -> None:
    actual = served[object_name]
    assert actual["object"] == object_name
    if "livemode" in FIXTURES[object_name]:
        assert actual["livemode"] is False
    assert shape_problems(object_name, FIXTURES[object_name], actual) == []


def _built(object_name: str) -> dict:
    state = State()
    builders = {
        "setup_intent": lambda: objects.setup_intent(state, customer="cus_1"),
        "payment_intent": lambda: objects.payment_intent(state, amount=1099),
        "payment_method": lambda: objects.payment_method(
            state, billing_details={**objects.template("payment_method")["billing_details"]}
        ),
        "mandate": lambda: objects.mandate(state, payment_method="pm_1"),
        "checkout.session": lambda: objects.checkout_session(state, mode="setup"),
    }
    return builders[object_name]()


@pytest.mark.parametrize(
    "object_name",
    ["setup_intent", "payment_intent", "payment_method", "mandate", "checkout.session"],
)
def test_payment_object_builders_have_every_fixture_field_with_its_type(object_name: str) -> None:
    built = json.loads(json.dumps(_built(object_name)))
    assert built["object"] == object_name
    assert built["livemode"] is False
    assert shape_problems(object_name, FIXTURES[object_name], built) == []


def test_an_ach_payment_method_carries_a_us_bank_account_hash_not_a_card() -> None:
    pm = objects.payment_method(State())
    assert "card" not in pm
    assert pm["type"] == "us_bank_account"
    assert set(pm["us_bank_account"]) >= {
        "account_holder_type",
        "account_type",
        "bank_name",
        "financial_connections_account",
        "fingerprint",
        "last4",
        "networks",
        "routing_number",
        "status_details",
    }


def test_the_sandbox_templates_are_stripes_examples_unchanged() -> None:
    """sandbox/stripe_templates.json (read by the builders and the spec generator) is a copy."""
    assert objects._templates() == FIXTURES
