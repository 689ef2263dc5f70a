"""Every endpoint's parameters, one at a time, as the pinned version has them; and some it has not.

The samples come from the spec generated from the SDK's params TypedDicts (a valid value of
each parameter's type, nested required keys filled in), so a parameter the SDK has and the
sandbox refuses (or the other way round) fails here. Path ids are made up: parameter checks
run before the handler looks anything up, so a 404 still means "the parameters were fine".
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

import pytest

from sandbox.core import parse_params
from sandbox.server import SandboxHandle
from sandbox.spec import deref, spec
from sandbox.spec.params import REMOVED, check_request
from tests.contract.conftest import TEST_KEY
from tests.stripe_stub import form_body

ENDPOINTS = sorted(spec()["endpoints"])


def sample(node: dict[str, Any]) -> Any:
    """A valid value of a spec node, in the SDK's Python shape (ints, bools, lists, dicts)."""
    node = deref(node)
    if "anyOf" in node:
        return sample(node["anyOf"][0])
    kind = node.get("type")
    if kind == "string":
        return node["enum"][0] if node.get("enum") else "sample"
    if kind == "integer":
        return 1
    if kind in ("number", "decimal"):
        return "1.5"
    if kind == "boolean":
        return True
    if kind == "array":
        return [sample(node["items"])]
    if kind == "map":
        return {"key": sample(node["values"])}
    if kind == "object":
        props = node.get("properties", {})
        keys = list(node.get("required", ())) or list(props)[:1]
        return {k: sample(props[k]) for k in keys}
    return "sample"


def call(base_url: str, key: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    method, pattern = key.split(" ", 1)
    path = re.sub(r"\{\w+\}", "xx_sample", pattern)
    encoded = form_body(params)
    url = f"{base_url}{path}" + (f"?{encoded}" if method != "POST" and encoded else "")
    data = encoded.encode() if method == "POST" else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Authorization": f"Bearer {TEST_KEY}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _params(key: str) -> dict[str, Any]:
    return deref(spec()["endpoints"][key]["params"])


def _required(key: str) -> dict[str, Any]:
    props = _params(key)["properties"]
    return {name: sample(props[name]) for name in _params(key).get("required", ())}


def test_the_sample_of_every_parameter_passes_the_spec_check() -> None:
    checked = 0
    for key in ENDPOINTS:
        method, pattern = key.split(" ", 1)
        for name, node in _params(key)["properties"].items():
            params = parse_params(form_body({**_required(key), name: sample(node)}))
            assert check_request(method, pattern, params) is None, (key, name, params)
            checked += 1
    assert checked > 400


@pytest.mark.parametrize("key", ENDPOINTS)
def test_each_parameter_of_the_pinned_version_is_accepted(sandbox: SandboxHandle, key: str) -> None:
    refused: list[tuple[str, Any]] = []
    props = _params(key)["properties"]
    for name, node in props.items():
        if name == "expand":
            continue  # expanding needs a real object; expansion is tested on its own
        status, body = call(sandbox.base_url, key, {**_required(key), name: sample(node)})
        error = body.get("error", {})
        if status == 500 or error.get("code") == "parameter_unknown":
            refused.append((name, error))
    assert refused == []


@pytest.mark.parametrize("key", ENDPOINTS)
def test_a_parameter_the_version_lacks_is_unknown_with_its_bracketed_path(
    sandbox: SandboxHandle, key: str
) -> None:
    status, body = call(sandbox.base_url, key, {**_required(key), "not_in_endive": "x"})
    assert (status, body["error"]["code"], body["error"]["param"]) == (
        400,
        "parameter_unknown",
        "not_in_endive",
    )
    nested = [
        name
        for name, node in _params(key)["properties"].items()
        if deref(node).get("type") == "object"
    ]
    for name in nested:
        value = {**sample(_params(key)["properties"][name]), "bogus": "x"}
        status, body = call(sandbox.base_url, key, {**_required(key), name: value})
        assert body["error"]["code"] == "parameter_unknown", (name, body)
        assert body["error"]["param"] == f"{name}[bogus]"


@pytest.mark.parametrize(("key", "name"), [(k, n) for k, names in REMOVED.items() for n in names])
def test_parameters_the_version_removed_get_stripes_own_code(
    sandbox: SandboxHandle, key: str, name: str
) -> None:
    base = {**_required(key), "amount": 1000, "currency": "usd"} if "payment_intents" in key else {}
    status, body = call(sandbox.base_url, key, {**base, name: ["us_bank_account"]})
    assert status == 400
    assert body["error"]["code"] == "payment_method_types_no_longer_supported"
    assert body["error"]["param"] == name
    assert "allowed_payment_method_types" in body["error"]["message"]


def test_the_15x_fc_session_filters_are_refused(sandbox: SandboxHandle) -> None:
    """Changelog endive 2026-09-30: `filters.countries` became `filters.country` (a string);
    the old name or an array "results in an error" with no documented code."""
    key = "POST /v1/financial_connections/sessions"
    holder = {"account_holder": {"type": "customer", "customer": "cus_x"}, "permissions": ["balances"]}
    status, body = call(sandbox.base_url, key, {**holder, "filters": {"countries": ["US"]}})
    assert (status, body["error"]["code"], body["error"]["param"]) == (
        400,
        "parameter_unknown",
        "filters[countries]",
    )
    status, body = call(sandbox.base_url, key, {**holder, "filters": {"country": ["US"]}})
    assert (status, body["error"]["code"], body["error"]["param"]) == (
        400,
        "parameter_invalid",
        "filters[country]",
    )


def test_an_enum_value_from_an_older_version_is_refused_naming_the_allowed_ones(
    sandbox: SandboxHandle,
) -> None:
    """§9: Checkout's ui_mode `hosted` became `hosted_page` in 16.x."""
    status, body = call(sandbox.base_url, "POST /v1/checkout/sessions", {"ui_mode": "hosted"})
    assert (status, body["error"]["code"], body["error"]["param"]) == (
        400,
        "parameter_invalid",
        "ui_mode",
    )
    assert body["error"]["message"] == (
        "Invalid ui_mode: must be one of elements, embedded_page, form, hosted_page"
    )


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"limit": "ten"}, "parameter_invalid_integer", "limit"),
        ({"created": {"gte": "soon"}}, "parameter_invalid_integer", "created[gte]"),
        ({"email": {"a": "b"}}, "parameter_invalid", "email"),
        ({"email": ""}, "parameter_invalid_empty", "email"),
    ],
)
def test_wrong_types_get_stripes_parameter_codes(
    sandbox: SandboxHandle, params: dict[str, Any], code: str, param: str
) -> None:
    status, body = call(sandbox.base_url, "GET /v1/customers", params)
    assert (status, body["error"]["code"], body["error"]["param"]) == (400, code, param)


def test_a_refused_parameter_is_not_saved_under_the_idempotency_key(sandbox: SandboxHandle) -> None:
    """§1.6: validation failures are not saved, so a corrected retry with the same key runs."""
    key = "POST /v1/setup_intents"
    headers = {"Authorization": f"Bearer {TEST_KEY}", "Idempotency-Key": "wire-idem-1"}

    def post(params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            f"{sandbox.base_url}/v1/setup_intents",
            data=form_body(params).encode(),
            method="POST",
            headers=headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    assert key in spec()["endpoints"]
    status, body = post({"payment_method_types": ["us_bank_account"]})
    assert (status, body["error"]["code"]) == (400, "payment_method_types_no_longer_supported")
    status, body = post({"allowed_payment_method_types": ["us_bank_account"]})
    assert (status, body["object"]) == (200, "setup_intent")


@pytest.mark.parametrize(
    ("key", "base"),
    [
        ("POST /v1/setup_intents", {}),
        ("POST /v1/payment_intents", {"amount": 1000, "currency": "usd"}),
    ],
)
@pytest.mark.parametrize(
    "other",
    [{"automatic_payment_methods": {"enabled": True}}, {"excluded_payment_method_types": ["card"]}],
)
def test_the_allowed_list_excludes_dynamic_and_excluded_payment_methods(
    sandbox: SandboxHandle, key: str, base: dict[str, Any], other: dict[str, Any]
) -> None:
    """§9: allowed_payment_method_types is mutually exclusive with automatic_payment_methods and
    excluded_payment_method_types (each alone is accepted)."""
    allowed = {"allowed_payment_method_types": ["us_bank_account"]}
    status, body = call(sandbox.base_url, key, {**base, **allowed, **other})
    assert (status, body["error"]["code"]) == (400, "parameters_exclusive")
    assert body["error"]["param"] == next(iter(other))
    for alone in (allowed, other):
        status, body = call(sandbox.base_url, key, {**base, **alone})
        assert status == 200, body
