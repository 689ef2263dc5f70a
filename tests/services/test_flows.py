"""Per-flow FC configuration: validation, versioned storage with conflicts, previews on the sandbox."""

from __future__ import annotations

import base64
import json
import shlex
import threading
import urllib.request
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest
from sqlalchemy.engine import Engine

from services import audit
from services.adapters import flow_requests
from services.auth import Actor
from services.errors import Conflict, Forbidden, NotFound, ValidationError
from services.rules import flow_config
from services.rules.stripe_api import API_VERSION
from services.usecases import edit_flows as flows
from tests.stripe_stub import form_body

ANN = Actor(username="ann", role="admin", name="Ann")
BOB = Actor(username="bob", role="admin", name="Bob")


def save(
    engine: Engine, actor: Actor, flow: str, *, expected: int, **changes: Any
) -> flow_config.FlowConfig:
    values: dict[str, Any] = {
        "permissions": ["payment_method"],
        "prefetch": [],
        "verification_method": "automatic",
    }
    values.update(changes)
    return flows.save_flow(engine, actor, flow, expected_version=expected, **values)


def audit_rows(engine: Engine, action: str) -> list[Any]:
    return audit.query(engine, actor=ANN, actions=[action], limit=500).rows


# -- validation -------------------------------------------------------------------------------------


def check(flow: str = "setup_intent", **kw: Any) -> flow_config.ValidationResult:
    args: dict[str, Any] = {
        "permissions": ["payment_method"],
        "prefetch": [],
        "verification_method": "automatic",
    }
    args.update(kw)
    return flow_config.validate(flow, **args)


def test_the_default_configuration_is_valid_for_every_flow() -> None:
    for flow in flow_config.FLOWS:
        config = flow_config.default_config(flow)
        result = flow_config.validate(
            flow,
            permissions=config.permissions,
            prefetch=config.prefetch,
            verification_method=config.verification_method,
        )
        assert result.ok and not result.warnings, (flow, result)


def test_missing_payment_method_permission_is_refused_with_the_reason() -> None:
    result = check(permissions=["balances"])
    assert len(result.errors) == 1
    assert "payment_method permission is always required" in result.errors[0]
    assert "account and routing numbers" in result.errors[0]


def test_prefetch_outside_the_permissions_is_refused_naming_the_missing_permission() -> None:
    result = check(permissions=["payment_method", "balances"], prefetch=["balances", "ownership"])
    assert result.errors == (
        "Prefetching ownership needs the ownership permission: Stripe can only prefetch data it "
        "may read. Add ownership to permissions or remove it from prefetch.",
    )


def test_payment_method_cannot_be_prefetched() -> None:
    result = check(prefetch=["payment_method"])
    assert any("'payment_method' cannot be prefetched" in e for e in result.errors)


def test_unknown_permission_and_method_are_refused() -> None:
    result = check(permissions=["payment_method", "wallets"], verification_method="magic")
    assert any("Unknown permission 'wallets'" in e for e in result.errors)
    assert any("Unknown verification method 'magic'" in e for e in result.errors)


def test_checkout_refuses_microdeposits_and_says_what_it_accepts() -> None:
    result = check("checkout_session", verification_method="microdeposits")
    assert result.errors == (
        "Checkout Session does not support microdeposits verification; Stripe accepts only "
        "automatic or instant there.",
    )
    for flow in set(flow_config.FLOWS) - {"checkout_session"}:
        assert check(flow, verification_method="microdeposits").ok, flow


def test_microdeposits_with_data_permissions_warns_that_no_data_will_be_shared() -> None:
    result = check(
        permissions=["payment_method", "balances", "ownership"], verification_method="microdeposits"
    )
    assert result.ok
    assert len(result.warnings) == 1
    assert "no Financial Connections account" in result.warnings[0]
    assert "balances, ownership" in result.warnings[0]
    assert not check(verification_method="microdeposits").warnings


def test_every_problem_is_reported_at_once() -> None:
    result = check(
        "checkout_session",
        permissions=["balances"],
        prefetch=["transactions"],
        verification_method="microdeposits",
    )
    assert len(result.errors) == 3


def test_unknown_flow_is_an_error_not_an_exception() -> None:
    assert "Unknown flow 'fax'" in check("fax").errors[0]
    with pytest.raises(ValidationError):
        flow_config.default_config("fax")


# -- storage ----------------------------------------------------------------------------------------


def test_a_flow_never_saved_loads_stripe_defaults_as_version_zero(engine: Engine) -> None:
    config = flows.load_flow(engine, "invoice")
    assert (config.permissions, config.prefetch, config.verification_method) == (
        ("payment_method",),
        (),
        "automatic",
    )
    assert config.version == 0 and config.updated_by is None
    assert set(flows.load_all(engine)) == set(flow_config.FLOWS)
    assert flows.history(engine, "invoice") == []


def test_save_stores_a_canonical_new_version_with_history_and_audit(engine: Engine) -> None:
    saved = save(
        engine,
        ANN,
        "setup_intent",
        expected=0,
        permissions=["transactions", "payment_method", "balances", "balances"],
        prefetch=["balances"],
        verification_method="instant",
        note="we need balances",
    )
    loaded = flows.load_flow(engine, "setup_intent")
    assert loaded == saved
    assert loaded.version == 1 and loaded.updated_by == "ann"
    assert loaded.permissions == ("balances", "payment_method", "transactions")
    [v1] = flows.history(engine, "setup_intent")
    assert (v1.version, v1.updated_by, v1.note) == (1, "ann", "we need balances")
    [row] = audit_rows(engine, "flow.save")
    assert row.outcome == "ok" and row.target == "flow:setup_intent"
    changed = {d["field"]: d for d in row.params["diff"]}
    assert changed["permissions"]["added"] == ["balances", "transactions"]
    assert changed["verification_method"]["after"] == "instant"
    assert flows.load_flow(engine, "payment_intent").version == 0  # other flows untouched


def test_invalid_save_is_refused_with_all_errors_and_nothing_stored(engine: Engine) -> None:
    with pytest.raises(ValidationError) as err:
        save(
            engine,
            ANN,
            "checkout_session",
            expected=0,
            permissions=["balances"],
            verification_method="microdeposits",
        )
    assert "payment_method permission" in str(err.value) and "Checkout Session" in str(err.value)
    assert flows.load_flow(engine, "checkout_session").version == 0
    [row] = audit_rows(engine, "flow.save")
    assert row.outcome == "error"


def test_a_role_without_flows_edit_is_refused_and_the_attempt_audited(
    engine: Engine, ops: Actor
) -> None:
    with pytest.raises(Forbidden):
        save(engine, ops, "invoice", expected=0, permissions=["payment_method", "balances"])
    assert flows.load_flow(engine, "invoice").version == 0
    [row] = audit_rows(engine, "flow.save")
    assert (row.outcome, row.actor, row.role) == ("refused", ops.username, "ops")


def test_second_save_from_the_same_version_is_refused_and_the_first_kept(engine: Engine) -> None:
    save(engine, ANN, "invoice", expected=0)
    first = save(engine, ANN, "invoice", expected=1, permissions=["payment_method", "balances"])
    with pytest.raises(Conflict) as err:
        save(engine, BOB, "invoice", expected=1, permissions=["payment_method", "ownership"])
    message = str(err.value)
    assert message.startswith("ann saved version 2 at ")
    assert "your changes were not saved" in message and "on top of their version" in message
    # Drafts keep the edits over a reload: the sentence said a reload would lose them.
    assert "a reload shows them again" in message and "would lose" not in message
    assert flows.load_flow(engine, "invoice") == first
    assert [v.version for v in flows.history(engine, "invoice")] == [2, 1]
    outcomes = [r.outcome for r in audit_rows(engine, "flow.save")]
    assert outcomes == ["error", "ok", "ok"]


def test_two_first_saves_of_a_flow_conflict_too(engine: Engine) -> None:
    save(engine, ANN, "subscription", expected=0, verification_method="instant")
    with pytest.raises(Conflict, match="ann saved version 1"):
        save(engine, BOB, "subscription", expected=0, verification_method="microdeposits")
    assert flows.load_flow(engine, "subscription").verification_method == "instant"


def test_simultaneous_saves_from_one_version_let_exactly_one_through(engine: Engine) -> None:
    save(engine, ANN, "payment_intent", expected=0)
    admins = [Actor(username=f"admin{i}", role="admin") for i in range(4)]
    barrier = threading.Barrier(len(admins))
    results: dict[str, str] = {}

    # each admin makes a different change (identical ones are a repeated submit, not a conflict)
    extra = {"admin0": "balances", "admin1": "ownership", "admin2": "transactions"}

    def attempt(actor: Actor) -> None:
        barrier.wait()
        try:
            save(
                engine,
                actor,
                "payment_intent",
                expected=1,
                permissions=["payment_method", extra.get(actor.username, "balances")]
                + (["ownership"] if actor.username == "admin3" else []),
                note=actor.username,
            )
            results[actor.username] = "saved"
        except Conflict:
            results[actor.username] = "conflict"

    threads = [threading.Thread(target=attempt, args=(a,)) for a in admins]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    winners = [name for name, outcome in results.items() if outcome == "saved"]
    assert len(results) == 4 and len(winners) == 1
    current = flows.load_flow(engine, "payment_intent")
    assert (current.version, current.updated_by) == (2, winners[0])
    assert [(v.version, v.note) for v in flows.history(engine, "payment_intent")] == [
        (2, winners[0]),
        (1, None),
    ]


def test_saving_an_unchanged_configuration_adds_no_version(engine: Engine) -> None:
    save(engine, ANN, "invoice", expected=0, verification_method="instant")
    again = save(engine, BOB, "invoice", expected=1, verification_method="instant")
    assert again.version == 1 and again.updated_by == "ann"
    assert len(flows.history(engine, "invoice")) == 1


def test_revert_saves_a_new_version_equal_to_the_old_one(engine: Engine) -> None:
    v1 = save(
        engine,
        ANN,
        "setup_intent",
        expected=0,
        permissions=["payment_method", "ownership"],
        prefetch=["ownership"],
    )
    save(engine, BOB, "setup_intent", expected=1, verification_method="microdeposits")
    reverted = flows.revert(engine, BOB, "setup_intent", to_version=1, expected_version=2)
    assert reverted.version == 3 and reverted.updated_by == "bob"
    assert reverted.value() == v1.value()
    assert flows.load_flow(engine, "setup_intent") == reverted
    newest = flows.history(engine, "setup_intent")[0]
    assert (newest.version, newest.note) == (3, "Reverted to version 1")
    [row] = audit_rows(engine, "flow.revert")
    assert row.outcome == "ok" and row.params["to_version"] == 1


def test_revert_from_a_stale_version_or_to_a_missing_one_is_refused(
    engine: Engine, finance: Actor
) -> None:
    save(engine, ANN, "invoice", expected=0)
    save(engine, ANN, "invoice", expected=1, verification_method="instant")
    with pytest.raises(Conflict):
        flows.revert(engine, BOB, "invoice", to_version=1, expected_version=1)
    with pytest.raises(NotFound, match="no saved version 9"):
        flows.revert(engine, BOB, "invoice", to_version=9, expected_version=2)
    with pytest.raises(Forbidden):
        flows.revert(engine, finance, "invoice", to_version=1, expected_version=2)
    assert flows.load_flow(engine, "invoice").version == 2
    assert [r.outcome for r in audit_rows(engine, "flow.revert")] == ["refused", "error", "error"]


def test_diff_lists_added_and_removed_items_and_changed_scalars() -> None:
    a = {
        "permissions": ["balances", "payment_method"],
        "prefetch": ["balances"],
        "verification_method": "automatic",
    }
    b = {
        "permissions": ["ownership", "payment_method"],
        "prefetch": ["balances"],
        "verification_method": "instant",
    }
    lines = {line.field: line for line in flow_config.diff(a, b)}
    assert set(lines) == {"permissions", "verification_method"}
    assert (lines["permissions"].added, lines["permissions"].removed) == (
        ("ownership",),
        ("balances",),
    )
    assert lines["permissions"].describe() == "permissions: +ownership −balances"
    assert lines["verification_method"].describe() == "verification_method: automatic → instant"
    assert flow_config.diff(a, a) == []


# -- Stripe params and previews ------------------------------------------------------------------------

RICH = flow_config.FlowConfig(
    flow="setup_intent",
    permissions=("balances", "ownership", "payment_method"),
    prefetch=("balances",),
    verification_method="instant",
)


def with_flow(config: flow_config.FlowConfig, flow: str) -> flow_config.FlowConfig:
    return flow_config.FlowConfig(flow, config.permissions, config.prefetch, config.verification_method)


def test_setup_intent_params_use_payment_method_options_and_omit_empty_prefetch() -> None:
    assert flow_requests.fragment(RICH) == {
        "allowed_payment_method_types": ["us_bank_account"],
        "payment_method_options": {
            "us_bank_account": {
                "verification_method": "instant",
                "financial_connections": {
                    "permissions": ["balances", "ownership", "payment_method"],
                    "prefetch": ["balances"],
                },
            }
        },
    }
    plain = flow_requests.fragment(flow_config.default_config("setup_intent"))
    assert (
        "prefetch"
        not in plain["payment_method_options"]["us_bank_account"]["financial_connections"]
    )


def test_intent_and_checkout_flows_never_send_the_payment_method_types_endive_removed() -> None:
    """§9: payment_method_types is refused on PI/SI/Checkout create; the Payment Element uses
    dynamic payment methods (automatic_payment_methods, exclusive with the allowed list)."""
    for flow in ("setup_intent", "payment_intent", "checkout_session", "payment_element"):
        _m, _p, params = flow_requests.preview_request(with_flow(RICH, flow))
        assert "payment_method_types" not in params, flow
        if flow == "payment_element":
            assert params["automatic_payment_methods"] == {"enabled": True}
            assert "allowed_payment_method_types" not in params
        else:
            assert params["allowed_payment_method_types"] == ["us_bank_account"]
            assert "automatic_payment_methods" not in params


def test_invoice_and_subscription_params_live_under_payment_settings() -> None:
    for flow in ("invoice", "subscription"):
        params = flow_requests.fragment(with_flow(RICH, flow))
        assert list(params) == ["payment_settings"]
        settings = params["payment_settings"]
        assert settings["payment_method_types"] == ["us_bank_account"]
        assert (
            settings["payment_method_options"]
            == flow_requests.fragment(RICH)["payment_method_options"]
        )


def test_subscription_preview_keeps_its_own_payment_settings_next_to_the_flow_options() -> None:
    method, path, params = flow_requests.preview_request(with_flow(RICH, "subscription"), customer="cus_9")
    assert (method, path, params["customer"]) == ("POST", "/v1/subscriptions", "cus_9")
    assert params["payment_settings"]["save_default_payment_method"] == "on_subscription"
    assert "us_bank_account" in params["payment_settings"]["payment_method_options"]


def test_every_flow_previews_its_own_create_endpoint() -> None:
    paths = {flow: flow_requests.preview_request(flow_config.default_config(flow))[1] for flow in flow_config.FLOWS}
    assert paths == {
        "payment_intent": "/v1/payment_intents",
        "setup_intent": "/v1/setup_intents",
        "checkout_session": "/v1/checkout/sessions",
        "invoice": "/v1/invoices",
        "subscription": "/v1/subscriptions",
        "payment_element": "/v1/payment_intents",
    }


def first_customer(gateway: Any) -> str:
    return str(next(iter(gateway.iter_customers()))["id"])


def create_on_sandbox(gateway: Any, path: str, params: dict[str, Any]) -> dict[str, Any]:
    create = {
        "/v1/setup_intents": gateway.create_setup_intent,
        "/v1/payment_intents": gateway.create_payment_intent,
        "/v1/checkout/sessions": gateway.create_checkout_session,
    }[path]
    return dict(create(params, idempotency_key=None))


@pytest.mark.parametrize(
    "flow", ["setup_intent", "payment_intent", "payment_element", "checkout_session"]
)
def test_preview_params_create_an_object_whose_bank_options_equal_the_config(
    gateway: Any, flow: str
) -> None:
    config = with_flow(RICH, flow)
    _method, path, params = flow_requests.preview_request(config, customer=first_customer(gateway))
    created = create_on_sandbox(gateway, path, params)
    options = created["payment_method_options"]["us_bank_account"]
    assert options["verification_method"] == config.verification_method
    fc = options["financial_connections"]
    assert tuple(fc["permissions"]) == config.permissions
    assert tuple(fc.get("prefetch") or ()) == config.prefetch
    assert "us_bank_account" in created["payment_method_types"]


def test_the_sandbox_refuses_what_validation_refuses(gateway: Any) -> None:
    """Our rule for Checkout mirrors Stripe's: microdeposits there is rejected by the API too."""
    config = flow_config.FlowConfig("checkout_session", ("payment_method",), (), "microdeposits")
    _m, path, params = flow_requests.preview_request(config, customer=first_customer(gateway))
    with pytest.raises(Exception) as err:
        create_on_sandbox(gateway, path, params)
    assert "verification_method" in str(err.value)


def curl_parts(command: str) -> tuple[str, list[str], list[tuple[str, str]], list[str]]:
    """(url, -u values, decoded form pairs, -H headers) read back the way a shell would."""
    words = shlex.split(command.replace("\\\n", " "))
    assert words[0] == "curl"
    url, user, pairs, headers = words[1], [], [], []
    i = 2
    while i < len(words):
        flag, arg = words[i], words[i + 1]
        if flag == "-u":
            user.append(arg)
        elif flag == "-H":
            headers.append(arg)
        else:
            assert flag in ("-d", "--data-urlencode"), flag
            key, _, value = arg.partition("=")
            pairs.append((key, value))
        i += 2
    return url, user, pairs, headers


def test_curl_command_sends_every_param_once_with_brackets_and_no_key() -> None:
    config = with_flow(RICH, "checkout_session")
    command = flow_requests.curl_command(config, customer="cus_42")
    url, user, pairs, headers = curl_parts(command)
    assert url == "https://api.stripe.com/v1/checkout/sessions"
    assert user == ["$STRIPE_SECRET_KEY:"] and "sk_" not in command
    assert headers == [f"Stripe-Version: {API_VERSION}"]
    assert pairs == flow_requests.form_pairs(flow_requests.preview_request(config, customer="cus_42")[2])
    assert (
        "payment_method_options[us_bank_account][financial_connections][permissions][]",
        "ownership",
    ) in pairs
    assert ("customer", "cus_42") in pairs
    assert len(command.splitlines()) == 3 + len(pairs)  # one param per line


def test_form_pairs_index_lists_of_objects_and_write_booleans_as_words() -> None:
    _m, _p, params = flow_requests.preview_request(with_flow(RICH, "subscription"))
    assert ("items[0][price]", "price_123") in flow_requests.form_pairs(params)
    element = flow_requests.form_pairs(flow_requests.fragment(with_flow(RICH, "payment_element")))
    assert ("automatic_payment_methods[enabled]", "true") in element


def test_the_curl_body_creates_the_same_setup_intent_on_the_sandbox(
    gateway: Any, sandbox_handle: Any
) -> None:
    """Send exactly what curl would send (url-encoding the --data-urlencode values)."""
    command = flow_requests.curl_command(RICH, customer=first_customer(gateway))
    url, _user, _pairs, curl_headers = curl_parts(command)
    words = shlex.split(command.replace("\\\n", " "))
    parts = []
    for flag, arg in zip(words[2::2], words[3::2], strict=True):
        if flag == "-d":
            parts.append(arg)
        elif flag == "--data-urlencode":
            key, _, value = arg.partition("=")
            parts.append(f"{key}={quote(value, safe='')}")
    body = "&".join(parts).encode()
    assert sorted(parse_qsl(body.decode())) == sorted(_pairs)
    from bootstrap import SANDBOX_KEY

    request = urllib.request.Request(
        url.replace(flow_requests.API_BASE, sandbox_handle.base_url),
        data=body,
        method="POST",
        headers={
            "Authorization": "Basic " + base64.b64encode(f"{SANDBOX_KEY}:".encode()).decode(),
            "Content-Type": "application/x-www-form-urlencoded",
            **dict(h.split(": ", 1) for h in curl_headers),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        created = json.loads(response.read())
    assert created["object"] == "setup_intent"
    assert created["payment_method_options"]["us_bank_account"]["financial_connections"][
        "permissions"
    ] == list(RICH.permissions)


@pytest.mark.parametrize("flow", flow_config.FLOWS)
def test_every_flow_preview_passes_the_pinned_types_of_its_endpoint(flow: str) -> None:
    """What the page shows (and the product sends) is accepted by the type-derived validation,
    also for Invoice and Subscription, which the sandbox does not serve (preview-only spec)."""
    from sandbox.core import parse_params
    from sandbox.spec.params import check_request

    for config in (with_flow(RICH, flow), flow_config.default_config(flow)):
        method, path, params = flow_requests.preview_request(config, customer="cus_42")
        served = path not in ("/v1/invoices", "/v1/subscriptions")
        wire = parse_params(form_body(params))
        assert check_request(method, path, wire, served=served) is None, (flow, params)
    broken = dict(params, payment_method_types=["us_bank_account"])
    refusal = check_request(method, path, parse_params(form_body(broken)), served=served)
    assert refusal is not None and refusal.param == "payment_method_types"
