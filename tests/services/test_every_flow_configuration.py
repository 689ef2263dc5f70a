"""Issue 7's first "done when", for every configuration an admin can save, not a sample.

Every valid (permissions, prefetch, verification method) of every flow is enumerated; the
create calls the product builds from it are encoded by the SDK's own encoder and checked by the
sandbox's type-derived validation (``sandbox/spec``, generated from the pinned SDK's params
TypedDicts): the SetupIntent, the Checkout Session (hosted link) and the FC Session of the
collection use cases, and each flow's own create call that the Flow page previews. The same
params with the removed ``payment_method_types`` are refused with Stripe's code. mypy checks the
same builders against the SDK's types (``tests/unit/test_param_types.py`` shows it bites); the
sandbox round trip of a few configurations is ``tests/services/test_collection.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import combinations
from typing import Any
from urllib.parse import urlencode

import pytest
from stripe._encode import _api_encode

from sandbox.core import parse_params
from sandbox.spec.params import Refusal, check_request
from services.adapters import flow_requests
from services.auth import Actor
from services.rules import flow_config
from services.usecases import collection_requests

OPS = Actor(username="ops", role="ops")
CUSTOMER = "cus_42"
REMOVED_CODE = "payment_method_types_no_longer_supported"


def _subsets(items: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    for size in range(len(items) + 1):
        yield from combinations(items, size)


def every_config(flow: str) -> list[flow_config.FlowConfig]:
    """Every configuration of ``flow`` that validation lets an admin save."""
    configs = []
    for data in _subsets(flow_config.DATA_PERMISSIONS):
        permissions = flow_config.canonical(
            ("payment_method", *data), flow_config.PERMISSIONS
        )
        for prefetch in _subsets(data):
            for method in flow_config.SUPPORTED_METHODS[flow]:
                result = flow_config.validate(
                    flow, permissions=permissions, prefetch=prefetch, verification_method=method
                )
                assert result.ok, (flow, permissions, prefetch, method, result.errors)
                configs.append(flow_config.FlowConfig(flow, permissions, prefetch, method, version=3))
    return configs


def refusal(path: str, params: Mapping[str, Any], *, served: bool = True) -> Refusal | None:
    """What the sandbox would answer to ``POST path`` with ``params`` as the SDK sends them."""
    wire = parse_params(urlencode(list(_api_encode(dict(params)))))
    return check_request("POST", path, wire, served=served)


def assert_conforms(path: str, params: Mapping[str, Any], *, served: bool = True) -> None:
    assert refusal(path, params, served=served) is None, (path, params)
    removed = refusal(path, {**params, "payment_method_types": ["us_bank_account"]}, served=served)
    assert removed is not None and removed.param == "payment_method_types"
    if path in ("/v1/setup_intents", "/v1/payment_intents", "/v1/checkout/sessions"):
        assert removed.code == REMOVED_CODE, removed
    else:  # FC Sessions never had it; Invoices and Subscriptions keep it under payment_settings
        assert removed.code == "parameter_unknown", removed


def test_every_configuration_is_enumerated() -> None:
    # payment_method always; any subset of the 3 data permissions; prefetch within it (27
    # combinations), times the methods the flow supports
    assert len(every_config("setup_intent")) == 27 * 3
    assert len(every_config("checkout_session")) == 27 * 2


@pytest.mark.parametrize("config", every_config("setup_intent"), ids=str)
def test_the_collection_requests_built_from_each_configuration_pass_the_pinned_types(
    config: flow_config.FlowConfig,
) -> None:
    setup = collection_requests.setup_intent_params(config, customer_id=CUSTOMER, actor=OPS)
    assert setup["allowed_payment_method_types"] == ["us_bank_account"]
    assert_conforms("/v1/setup_intents", setup)

    permissions, prefetch = flow_config.session_choice(config, None, None)
    session = collection_requests.fc_session_params(CUSTOMER, permissions, prefetch)
    assert session["filters"] == {
        "account_subcategories": ["checking", "savings"],
        "require_payment_method_support": "all",
    }
    assert_conforms("/v1/financial_connections/sessions", session)

    if config.verification_method in collection_requests.CHECKOUT_METHODS:
        checkout = collection_requests.checkout_params(
            config, customer_id=CUSTOMER, actor=OPS, return_url="https://example.com/done"
        )
        assert_conforms("/v1/checkout/sessions", checkout)
    else:  # Stripe refuses microdeposits on Checkout, and so does the type (only 2 values)
        checkout = flow_requests.checkout_session_create(config, customer=CUSTOMER)
        refused = refusal("/v1/checkout/sessions", checkout)
        assert refused is not None and refused.code == "parameter_invalid", refused
        assert refused.param == (
            "payment_method_options[us_bank_account][verification_method]"
        )


@pytest.mark.parametrize(
    "config",
    [config for flow in flow_config.FLOWS for config in every_config(flow)],
    ids=lambda c: f"{c.flow}-{c}",
)
def test_each_flows_create_call_from_each_configuration_passes_the_pinned_types(
    config: flow_config.FlowConfig,
) -> None:
    method, path, params = flow_requests.preview_request(config, customer=CUSTOMER)
    assert method == "POST"
    assert_conforms(path, params, served=path not in ("/v1/invoices", "/v1/subscriptions"))
