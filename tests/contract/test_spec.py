"""The API spec the sandbox checks against is the pinned SDK's, and cannot drift from it.

``sandbox/spec/stripe_spec.json`` is generated from the ``stripe`` package in this virtualenv
(``python -m sandbox.spec.generate``). These tests regenerate it and compare, check that it
covers every ``/v1`` route the sandbox serves, and that Stripe's own example objects pass the
object checker built on it (so the presence rule agrees with what Stripe sends).
"""

from __future__ import annotations

import json

import pytest
import stripe

from sandbox import core
from sandbox.spec import generate, shapes, spec
from sandbox.spec.params import REMOVED


def test_the_checked_in_spec_is_what_the_pinned_sdk_generates() -> None:
    fresh = generate.render(generate.build())
    assert fresh == generate.SPEC_PATH.read_text(), (
        "sandbox/spec/stripe_spec.json is out of date: run `python -m sandbox.spec.generate`"
    )


def test_the_spec_is_for_the_pinned_sdk_and_its_api_version() -> None:
    loaded = spec()
    assert (loaded["sdk_version"], loaded["api_version"]) == (stripe.VERSION, stripe.api_version)


def test_every_v1_route_has_its_endpoint_in_the_spec_and_nothing_else() -> None:
    routes = {f"{r.method} {r.pattern}" for r in core.ROUTES if r.pattern.startswith("/v1/")}
    assert routes == set(spec()["endpoints"])
    assert all(r.params is None for r in core.ROUTES if r.pattern.startswith("/v1/"))


def test_removed_parameters_are_really_absent_from_the_pinned_types() -> None:
    for key, removed in REMOVED.items():
        props = spec()["endpoints"][key]["params"]["properties"]
        assert not set(removed) & set(props), key
        assert "allowed_payment_method_types" in props, key


def test_a_route_under_v1_cannot_declare_its_own_parameter_list() -> None:
    with pytest.raises(ValueError, match="sandbox.spec"):
        core.route("GET", "/v1/made_up", params={"x"})


def _examples() -> dict[str, dict]:
    loaded: dict[str, dict] = json.loads(generate.TEMPLATES_PATH.read_text())["resources"]
    return loaded


# Resources Stripe's examples embed that the sandbox never returns (so not in the spec).
NOT_SERVED = {"discount", "plan", "account", "financial_connections.authorization"}


@pytest.mark.parametrize("object_name", sorted(_examples()))
def test_stripes_own_example_objects_pass_the_checker(object_name: str) -> None:
    found = shapes.problems(_examples()[object_name])
    unmodelled = [p for p in found if any(f"'{name}' is not in the spec" in p for name in NOT_SERVED)]
    assert [p for p in found if p not in unmodelled] == []


def test_the_checker_names_each_kind_of_departure() -> None:
    account = dict(_examples()["financial_connections.account"])
    account.update(sandbox_note="x", status="weird", created="1")
    del account["last4"]
    account["balance"] = dict(account["balance"], credit={"used": None})
    assert sorted(shapes.problems(account)) == [
        "$.balance.credit: variant hash for type 'cash'",
        "$.created: string, the type is integer",
        "$.last4: missing",
        "$.sandbox_note: not a field of the pinned type",
        "$.status: 'weird' is not one of the type's values",
    ]
    assert shapes.problems({"id": "cus_1", "object": "customer", "deleted": True}) == []
    assert shapes.problems({"id": "cus_1", "object": "customer", "deleted": True, "email": None})
    transaction = dict(_examples()["financial_connections.transaction"], currency=None)
    assert shapes.problems(transaction) == ["$.currency: null, but the type is not Optional"]


def test_every_event_type_the_sandbox_emits_is_one_of_the_pinned_versions() -> None:
    enum = set(spec()["resources"]["event"]["fields"]["type"]["enum"])
    assert enum >= core.EVENT_TYPES, sorted(core.EVENT_TYPES - enum)


def test_emitting_an_undeclared_event_type_is_a_programming_error() -> None:
    state = core.State()
    with pytest.raises(ValueError, match="EVENT_TYPES"):
        state.emit("financial_connections.account.invented", {"id": "fca_1", "object": "x"})
