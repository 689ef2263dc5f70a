"""Collecting bank accounts on the sandbox: flow config on the created object, idempotency, audit."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from sandbox.client import SimulationError
from services.adapters.models import AuditEntry, IntentRecord
from services.adapters.store import session_scope
from services.context import Services
from services.errors import Conflict, Forbidden, NotFound, StripeRequestError, ValidationError
from services.rules import intents
from services.usecases import (
    collect_cancel,
    collect_customers,
    collection_requests,
    microdeposits,
    play_customer,
)
from services.usecases import edit_flows as flows


def _audit(engine, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def _customer(svc: Services, ops) -> str:  # type: ignore[no-untyped-def]
    email = f"collect-{secrets.token_hex(4)}@example.com"
    return collect_customers.create_customer(
        svc, ops, email=email, name="Collect Test", idempotency_key=f"cus-{email}"
    ).id


def _key() -> str:
    return f"test-{secrets.token_hex(8)}"


def _new_request(svc: Services, ops):  # type: ignore[no-untyped-def]
    """A new customer and a SetupIntent created for them with the setup_intent flow."""
    customer = _customer(svc, ops)
    return customer, collection_requests.create_setup_intent(
        svc, ops, customer_id=customer, idempotency_key=_key()
    )


def test_created_setup_intent_carries_exactly_the_saved_flow_configuration(
    services_ctx, gateway, admin, ops
) -> None:  # type: ignore[no-untyped-def]
    saved = flows.save_flow(
        services_ctx,
        admin,
        "setup_intent",
        permissions=["payment_method", "balances", "ownership"],
        prefetch=["balances"],
        verification_method="instant",
        expected_version=0,
    )
    customer = _customer(services_ctx, ops)

    request = collection_requests.create_setup_intent(
        services_ctx, ops, customer_id=customer, idempotency_key=_key()
    )

    stripe_side = gateway.retrieve_setup_intent(request.id)
    options = stripe_side["payment_method_options"]["us_bank_account"]
    assert options["verification_method"] == "instant"
    assert sorted(options["financial_connections"]["permissions"]) == sorted(saved.permissions)
    assert options["financial_connections"]["prefetch"] == ["balances"]
    assert stripe_side["payment_method_types"] == ["us_bank_account"]
    assert stripe_side["customer"] == customer
    assert stripe_side["metadata"]["fcops_flow"] == "setup_intent"
    assert stripe_side["metadata"]["fcops_created_by"] == ops.username
    assert request.flow_version == saved.version == 1
    assert request.client_secret == stripe_side["client_secret"]


def test_same_idempotency_key_twice_creates_one_setup_intent(services_ctx, gateway, ops) -> None:  # type: ignore[no-untyped-def]
    customer = _customer(services_ctx, ops)
    key = _key()

    first = collection_requests.create_setup_intent(
        services_ctx, ops, customer_id=customer, idempotency_key=key
    )
    second = collection_requests.create_setup_intent(
        services_ctx, ops, customer_id=customer, idempotency_key=key
    )

    assert second.id == first.id
    assert not first.replayed and second.replayed
    assert [si["id"] for si in gateway.iter_setup_intents(customer=customer)] == [first.id]
    rows = [r for r in _audit(services_ctx.engine, "collect.create") if r.idempotency_key == key]
    assert len(rows) == 2 and {r.target for r in rows} == {first.id}
    assert "Same request as before" in (rows[-1].message or "")


def test_a_new_key_creates_a_second_setup_intent(services_ctx, gateway, ops) -> None:  # type: ignore[no-untyped-def]
    customer = _customer(services_ctx, ops)
    a = collection_requests.create_setup_intent(
        services_ctx, ops, customer_id=customer, idempotency_key=_key()
    )
    b = collection_requests.create_setup_intent(
        services_ctx, ops, customer_id=customer, idempotency_key=_key()
    )
    assert a.id != b.id
    assert len(list(gateway.iter_setup_intents(customer=customer))) == 2


def test_creation_is_audited_without_the_client_secret_anywhere_in_the_store(
    services_ctx, ops
) -> None:  # type: ignore[no-untyped-def]
    customer, request = _new_request(services_ctx, ops)

    (row,) = [r for r in _audit(services_ctx.engine, "collect.create") if r.target == request.id]
    assert row.outcome == "ok" and row.actor == ops.username
    assert row.params["customer"] == customer and row.params["flow_version"] == request.flow_version
    assert request.client_secret and "_secret_" in request.client_secret
    blob = json.dumps({"params": row.params, "message": row.message})
    assert request.client_secret not in blob
    with session_scope(services_ctx.engine) as session:
        stored = session.get(IntentRecord, request.id)
    assert stored is not None and stored.flow == "setup_intent"
    assert request.client_secret not in json.dumps(stored.raw)
    assert request.client_secret not in repr(request)


def test_a_role_without_collect_permission_is_refused_and_the_attempt_audited(
    services_ctx, gateway, finance
) -> None:  # type: ignore[no-untyped-def]
    customer = gateway.create_customer({"email": "refused@example.com"}, idempotency_key=None)
    with pytest.raises(Forbidden):
        collection_requests.create_setup_intent(
            services_ctx, finance, customer_id=customer["id"], idempotency_key=_key()
        )
    assert list(gateway.iter_setup_intents(customer=customer["id"])) == []
    assert [r.outcome for r in _audit(services_ctx.engine, "collect.create")] == ["refused"]


def test_malformed_customer_id_is_a_sentence_and_creates_nothing(services_ctx, ops) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="cus_"):
        collection_requests.create_setup_intent(
            services_ctx, ops, customer_id="pi_123", idempotency_key=_key()
        )
    (row,) = _audit(services_ctx.engine, "collect.create")
    assert row.outcome == "error"


def test_create_customer_reuses_an_existing_customer_with_that_email(services_ctx, ops) -> None:  # type: ignore[no-untyped-def]
    email = f"reuse-{secrets.token_hex(4)}@example.com"
    first = collect_customers.create_customer(services_ctx, ops, email=email, idempotency_key=_key())
    again = collect_customers.create_customer(services_ctx, ops, email=email, idempotency_key=_key())
    assert not first.reused and again.reused
    assert again.id == first.id and "already exists" in again.message


def test_create_customer_refuses_an_incomplete_email(services_ctx, ops) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="not a complete email"):
        collect_customers.create_customer(services_ctx, ops, email="nobody@", idempotency_key=_key())


@pytest.mark.parametrize(
    ("email", "name", "field", "limit"),
    [
        ("a" * 501 + "@example.com", None, "email", 512),  # 513 characters
        ("fits@example.com", "N" * 257, "name", 256),
    ],
)
def test_create_customer_refuses_fields_longer_than_stripe_allows_before_calling_it(  # type: ignore[no-untyped-def]
    services_ctx, gateway, ops, email: str, name: str | None, field: str, limit: int
) -> None:
    with pytest.raises(ValidationError, match=f"{field} is .* at most {limit}"):
        collect_customers.create_customer(
            services_ctx, ops, email=email, name=name, idempotency_key=_key()
        )
    (row,) = _audit(services_ctx.engine, "collect.customer")
    assert row.outcome == "error"
    assert row.stripe_request_id is None  # refused before any call reached Stripe


def test_reusing_a_customer_by_email_does_not_depend_on_search_catching_up(ops, sqlite_engine) -> None:  # type: ignore[no-untyped-def]
    """Search lags writes (here by an hour); the duplicate check reads the list, which does not."""
    from bootstrap import SANDBOX_KEY
    from sandbox.server import start_background
    from services.adapters.gateway import StripeGateway

    handle = start_background(port=0, seed=5, customers=0, refresh_delay=0, search_lag=3600)
    try:
        gw = StripeGateway(SANDBOX_KEY, base_url=handle.base_url, max_network_retries=0)
        svc = Services(gateway=gw, engine=sqlite_engine, mode="sandbox")
        first = collect_customers.create_customer(svc, ops, email="lag@example.com", idempotency_key=_key())
        assert gw.search_customers("email:'lag@example.com'") == []  # not indexed yet
        again = collect_customers.create_customer(svc, ops, email="lag@example.com", idempotency_key=_key())
        assert (first.reused, again.reused, again.id) == (False, True, first.id)
    finally:
        handle.stop()


def test_fc_session_uses_the_flow_permissions_unless_others_are_chosen(
    services_ctx, gateway, ops
) -> None:  # type: ignore[no-untyped-def]
    customer = _customer(services_ctx, ops)
    default = collection_requests.create_fc_session(
        services_ctx, ops, customer_id=customer, idempotency_key=_key()
    )
    chosen = collection_requests.create_fc_session(
        services_ctx,
        ops,
        customer_id=customer,
        idempotency_key=_key(),
        permissions=["balances", "payment_method"],
        prefetch=["balances"],
    )
    config = flows.load_flow(services_ctx, "setup_intent")
    assert list(gateway.retrieve_fc_session(default.id)["permissions"]) == list(config.permissions)
    stored = gateway.retrieve_fc_session(chosen.id)
    assert sorted(stored["permissions"]) == ["balances", "payment_method"]
    assert stored["prefetch"] == ["balances"]
    assert chosen.client_secret.startswith("fcsess_")


def test_fc_session_prefetch_without_its_permission_is_refused(services_ctx, ops) -> None:  # type: ignore[no-untyped-def]
    customer = _customer(services_ctx, ops)
    with pytest.raises(ValidationError):
        collection_requests.create_fc_session(
            services_ctx,
            ops,
            customer_id=customer,
            idempotency_key=_key(),
            permissions=["payment_method"],
            prefetch=["transactions"],
        )


def test_cancel_closes_the_request_and_drops_it_from_open_requests(
    services_ctx, gateway, ops
) -> None:  # type: ignore[no-untyped-def]
    customer, request = _new_request(services_ctx, ops)
    assert [r.id for r in collection_requests.open_requests(services_ctx, ops, customer_id=customer)] == [
        request.id
    ]

    view = collect_cancel.cancel_request(
        services_ctx, ops, request.id, reason="requested_by_customer", idempotency_key=_key()
    )

    assert view.status == "canceled"
    assert gateway.retrieve_setup_intent(request.id)["status"] == "canceled"
    assert collection_requests.open_requests(services_ctx, ops, customer_id=customer) == []
    (row,) = _audit(services_ctx.engine, "collect.cancel")
    assert row.target == request.id and row.outcome == "ok"


def test_cancel_with_an_unknown_reason_changes_nothing(services_ctx, gateway, ops) -> None:  # type: ignore[no-untyped-def]
    customer, request = _new_request(services_ctx, ops)
    with pytest.raises(ValidationError, match="cancellation reason"):
        collect_cancel.cancel_request(
            services_ctx, ops, request.id, reason="bored", idempotency_key=_key()
        )
    assert gateway.retrieve_setup_intent(request.id)["status"] == "requires_payment_method"


def test_manual_entry_puts_the_intent_in_the_microdeposit_queue_with_its_link(
    services_ctx, simulator, ops
) -> None:  # type: ignore[no-untyped-def]
    customer, request = _new_request(services_ctx, ops)
    view = play_customer.simulate(
        services_ctx,
        ops,
        intent_id=request.id,
        step="manual_entry",
        params={"account_number": "000123456789"},
        run_step=lambda: simulator.manual_entry(request.id, microdeposit_type="amounts"),
    )
    assert view is not None and view.status == "requires_action"

    queue = microdeposits.microdeposit_queue(services_ctx, ops, customer_id=customer)

    (item,) = queue
    assert item.id == request.id and item.microdeposit_type == "amounts"
    assert item.hosted_verification_url and item.hosted_verification_url.startswith("https://")
    assert item.arrival_date is not None and item.arrival_date > item.created
    assert not item.stuck
    assert [r.outcome for r in _audit(services_ctx.engine, "collect.simulate")] == ["ok"]


def test_microdeposits_far_past_arrival_are_flagged_stuck(
    services_ctx, simulator, gateway, ops
) -> None:  # type: ignore[no-untyped-def]
    customer, request = _new_request(services_ctx, ops)
    simulator.manual_entry(request.id)
    arrival = gateway.retrieve_setup_intent(request.id)["next_action"]["verify_with_microdeposits"][
        "arrival_date"
    ]
    later = Services(
        gateway=gateway,
        engine=services_ctx.engine,
        mode="sandbox",
        now=lambda: arrival + 8 * 86_400,
    )
    # manual_entry ran on Stripe's side with no webhook here: the queue sees it once synced.
    assert microdeposits.microdeposit_queue(later, ops, customer_id=customer) == []
    (item,) = microdeposits.microdeposit_queue(later, ops, customer_id=customer, from_stripe=True)
    assert item.business_days_late >= 5 and item.stuck
    (again,) = microdeposits.microdeposit_queue(later, ops, customer_id=customer)
    assert again == item


class _NoStripe:
    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"a list read called Stripe ({name})")


def test_the_collect_lists_read_the_store_and_never_call_stripe(
    services_ctx, simulator, ops
) -> None:  # type: ignore[no-untyped-def]
    """Issue 13: reruns of Collect make no Stripe call; the lists come from the store."""
    customer, request = _new_request(services_ctx, ops)
    play_customer.simulate(
        services_ctx,
        ops,
        intent_id=request.id,
        step="manual_entry",
        params={"account_number": "000123456789"},
        run_step=lambda: simulator.manual_entry(request.id, microdeposit_type="amounts"),
    )
    offline = Services(gateway=_NoStripe(), engine=services_ctx.engine, mode="sandbox")  # type: ignore[arg-type]

    (item,) = microdeposits.microdeposit_queue(offline, ops, customer_id=customer)
    assert item.id == request.id
    assert collection_requests.open_requests(offline, ops, customer_id=customer)[0].id == request.id


def test_business_days_late_skips_weekends() -> None:
    friday = int(datetime(2026, 11, 20, 15, tzinfo=UTC).timestamp())
    monday = int(datetime(2026, 11, 23, 9, tzinfo=UTC).timestamp())
    wednesday = int(datetime(2026, 11, 25, 9, tzinfo=UTC).timestamp())
    assert intents.business_days_late(friday, now=friday) == 0
    assert intents.business_days_late(friday, now=monday) == 1
    assert intents.business_days_late(friday, now=wednesday) == 3
    assert intents.business_days_late(wednesday, now=friday) == 0


def test_linking_at_a_bank_succeeds_the_intent_with_an_fc_account(
    services_ctx, simulator, ops
) -> None:  # type: ignore[no-untyped-def]
    customer, request = _new_request(services_ctx, ops)
    view = play_customer.simulate(
        services_ctx,
        ops,
        intent_id=request.id,
        step="link",
        params={"institution": "Test Institution"},
        run_step=lambda: simulator.link_bank(request.id, institution="Test Institution"),
    )
    assert view is not None and view.status == "succeeded"
    assert view.financial_connections_account and view.financial_connections_account.startswith(
        "fca_"
    )


def test_a_refused_simulation_step_is_a_sentence_and_audited_as_error(
    services_ctx, simulator, ops
) -> None:  # type: ignore[no-untyped-def]
    customer, request = _new_request(services_ctx, ops)
    with pytest.raises(StripeRequestError, match="sandbox refused"):
        play_customer.simulate(
            services_ctx,
            ops,
            intent_id=request.id,
            step="microdeposits_arrive",
            params={},
            run_step=lambda: simulator.microdeposits_arrive(request.id),
        )
    assert [r.outcome for r in _audit(services_ctx.engine, "collect.simulate")] == ["error"]


def test_simulation_is_refused_outside_sandbox_mode(services_ctx, ops) -> None:  # type: ignore[no-untyped-def]
    live = Services(gateway=services_ctx.gateway, engine=services_ctx.engine, mode="live")
    calls: list[Any] = []
    with pytest.raises(ValidationError, match="only possible on the sandbox"):
        play_customer.simulate(
            live,
            ops,
            intent_id="seti_123456",
            step="link",
            params={},
            run_step=lambda: calls.append(1),
        )
    assert calls == []


# --------------------------------------------------------------------------- verification


def _waiting_for_microdeposits(svc: Services, simulator, ops, *, kind: str) -> str:  # type: ignore[no-untyped-def]
    """A SetupIntent whose manually entered account got its microdeposits (sandbox hooks)."""
    request = collection_requests.create_setup_intent(
        svc, ops, customer_id=_customer(svc, ops), idempotency_key=_key()
    )
    simulator.manual_entry(request.id, microdeposit_type=kind)
    simulator.microdeposits_arrive(request.id)
    return request.id


def test_a_wrong_descriptor_code_says_how_many_attempts_are_left_and_changes_nothing(
    services_ctx, simulator, gateway, ops
) -> None:  # type: ignore[no-untyped-def]
    intent_id = _waiting_for_microdeposits(services_ctx, simulator, ops, kind="descriptor_code")

    with pytest.raises(StripeRequestError, match="9 of 10 attempts left") as caught:
        microdeposits.verify_microdeposits(
            services_ctx, ops, intent_id, descriptor_code="SM99ZZ", idempotency_key=_key()
        )

    assert "did not match" in str(caught.value)
    assert gateway.retrieve_setup_intent(intent_id)["status"] == "requires_action"
    (row,) = _audit(services_ctx.engine, "collect.verify")
    assert row.outcome == "error" and row.target == intent_id and row.stripe_request_id
    assert "SM99ZZ" not in json.dumps({"params": row.params, "message": row.message})


def test_the_right_descriptor_code_verifies_and_is_audited_once(
    services_ctx, simulator, gateway, ops
) -> None:  # type: ignore[no-untyped-def]
    intent_id = _waiting_for_microdeposits(services_ctx, simulator, ops, kind="descriptor_code")

    view = microdeposits.verify_microdeposits(
        services_ctx, ops, intent_id, descriptor_code=" sm11aa ", idempotency_key=_key()
    )

    assert view.status == "succeeded" == gateway.retrieve_setup_intent(intent_id)["status"]
    (row,) = _audit(services_ctx.engine, "collect.verify")
    assert row.outcome == "ok" and row.params == {
        "kind": "setup_intent",
        "method": "descriptor_code",
    }
    with session_scope(services_ctx.engine) as session:
        stored = session.get(IntentRecord, intent_id)
    assert stored is not None and stored.status == "succeeded"


def test_the_same_key_twice_sends_one_verification_attempt(services_ctx, simulator, ops) -> None:  # type: ignore[no-untyped-def]
    intent_id = _waiting_for_microdeposits(services_ctx, simulator, ops, kind="descriptor_code")
    key = _key()
    for _ in range(2):  # a double click: Stripe replays the first answer
        with pytest.raises(StripeRequestError, match="9 of 10 attempts left"):
            microdeposits.verify_microdeposits(
                services_ctx, ops, intent_id, descriptor_code="SM99ZZ", idempotency_key=key
            )
    with pytest.raises(StripeRequestError, match="8 of 10 attempts left"):
        microdeposits.verify_microdeposits(
            services_ctx, ops, intent_id, descriptor_code="SM99ZY", idempotency_key=_key()
        )


def test_three_wrong_amount_pairs_end_the_verification_with_what_to_do_next(
    services_ctx, simulator, gateway, ops
) -> None:  # type: ignore[no-untyped-def]
    intent_id = _waiting_for_microdeposits(services_ctx, simulator, ops, kind="amounts")
    messages = []
    for pair in ([1, 2], [3, 4], [5, 6]):
        with pytest.raises(StripeRequestError) as caught:
            microdeposits.verify_microdeposits(
                services_ctx, ops, intent_id, amounts=pair, idempotency_key=_key()
            )
        messages.append(str(caught.value))

    assert "2 of 3 attempts left" in messages[0] and "1 of 3 attempts left" in messages[1]
    assert "Too many wrong attempts" in messages[2] and "new bank account" in messages[2]
    assert gateway.retrieve_setup_intent(intent_id)["status"] == "requires_payment_method"
    assert [r.outcome for r in _audit(services_ctx.engine, "collect.verify")] == ["error"] * 3


@pytest.mark.parametrize(
    ("amounts", "code", "expected"),
    [
        (None, "SM11A", "not a descriptor code"),
        (None, "XX11AA", "not a descriptor code"),
        (None, "  ", "6-character descriptor code"),
        ([32], None, "exactly two deposit amounts"),
        ([32, 145], None, "exactly two deposit amounts"),
        ([32, 45], "SM11AA", "not both"),
    ],
)
def test_malformed_verification_input_is_refused_before_stripe_sees_it(
    services_ctx, simulator, gateway, ops, amounts, code, expected
) -> None:  # type: ignore[no-untyped-def]
    intent_id = _waiting_for_microdeposits(services_ctx, simulator, ops, kind="descriptor_code")
    with pytest.raises(ValidationError, match=expected):
        microdeposits.verify_microdeposits(
            services_ctx,
            ops,
            intent_id,
            amounts=amounts,
            descriptor_code=code,
            idempotency_key=_key(),
        )
    (row,) = _audit(services_ctx.engine, "collect.verify")
    assert row.outcome == "error" and row.stripe_request_id is None
    # No attempt was used up: the first wrong code still leaves 9.
    with pytest.raises(StripeRequestError, match="9 of 10"):
        microdeposits.verify_microdeposits(
            services_ctx, ops, intent_id, descriptor_code="SM99ZZ", idempotency_key=_key()
        )


def test_verifying_needs_the_collect_permission_and_the_refusal_is_audited(
    services_ctx, simulator, gateway, ops, finance
) -> None:  # type: ignore[no-untyped-def]
    intent_id = _waiting_for_microdeposits(services_ctx, simulator, ops, kind="descriptor_code")
    with pytest.raises(Forbidden):
        microdeposits.verify_microdeposits(
            services_ctx, finance, intent_id, descriptor_code="SM11AA", idempotency_key=_key()
        )
    assert gateway.retrieve_setup_intent(intent_id)["status"] == "requires_action"
    assert [r.outcome for r in _audit(services_ctx.engine, "collect.verify")] == ["refused"]


def test_verifying_an_unknown_intent_is_a_sentence(services_ctx, ops) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFound, match="no SetupIntent `seti_doesnotexist`. Check that the whole ID"):
        microdeposits.verify_microdeposits(
            services_ctx,
            ops,
            "seti_doesnotexist",
            descriptor_code="SM11AA",
            idempotency_key=_key(),
        )
    (row,) = _audit(services_ctx.engine, "collect.verify")
    assert row.outcome == "error"


def test_verifying_needs_an_idempotency_key(services_ctx, ops) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="idempotency key"):
        microdeposits.verify_microdeposits(
            services_ctx, ops, "seti_123456", descriptor_code="SM11AA", idempotency_key=" "
        )


def test_verifying_before_the_deposits_arrive_says_when_they_are_expected(
    services_ctx, simulator, gateway, ops
) -> None:  # type: ignore[no-untyped-def]
    request = collection_requests.create_setup_intent(
        services_ctx, ops, customer_id=_customer(services_ctx, ops), idempotency_key=_key()
    )
    simulator.manual_entry(request.id)
    arrival = gateway.retrieve_setup_intent(request.id)["next_action"]["verify_with_microdeposits"][
        "arrival_date"
    ]
    with pytest.raises(StripeRequestError, match="have not arrived yet") as caught:
        microdeposits.verify_microdeposits(
            services_ctx, ops, request.id, descriptor_code="SM11AA", idempotency_key=_key()
        )
    expected_day = datetime.fromtimestamp(arrival, UTC).strftime("%d %b %Y")
    assert expected_day in str(caught.value) and str(arrival) not in str(caught.value)
    assert "_sandbox" not in str(caught.value)


CONFIGS = [
    (("payment_method",), (), "automatic"),
    (("balances", "ownership", "payment_method", "transactions"), ("balances", "transactions"), "instant"),
    (("balances", "payment_method"), (), "microdeposits"),
]


@pytest.mark.parametrize(("permissions", "prefetch", "method"), CONFIGS)
def test_each_flow_configuration_creates_a_setup_intent_fc_session_and_checkout_session(  # type: ignore[no-untyped-def]
    services_ctx, gateway, admin, ops, permissions, prefetch, method
) -> None:
    """The done-when of issue 7: what the product builds from a saved configuration is accepted
    by the sandbox's type-derived validation (mypy checks the same builders in bin/test; every
    configuration's params: tests/services/test_every_flow_configuration.py)."""
    current = flows.load_flow(services_ctx, "setup_intent").version
    saved = flows.save_flow(
        services_ctx,
        admin,
        "setup_intent",
        permissions=permissions,
        prefetch=prefetch,
        verification_method=method,
        expected_version=current,
    )
    customer = _customer(services_ctx, ops)
    si = collection_requests.create_setup_intent(services_ctx, ops, customer_id=customer, idempotency_key=_key())
    assert si.permissions == saved.permissions and si.verification_method == method
    session = collection_requests.create_fc_session(
        services_ctx, ops, customer_id=customer, idempotency_key=_key()
    )
    assert session.permissions == saved.permissions
    if method == "microdeposits":  # Checkout verifies automatically or instantly only
        with pytest.raises(ValidationError, match="cannot verify by microdeposits"):
            collection_requests.create_hosted_link(
                services_ctx, ops, customer_id=customer, idempotency_key=_key()
            )
        return
    link = collection_requests.create_hosted_link(
        services_ctx, ops, customer_id=customer, idempotency_key=_key()
    )
    assert link.permissions == saved.permissions and link.prefetch == saved.prefetch
    created = gateway.retrieve_setup_intent(link.id)
    assert created["payment_method_types"] == ["us_bank_account"]
    assert link.checkout_session_id and link.verification_method == method


# --------------------------------------------------------------------------- FC sessions on endive


def test_a_session_for_accounts_to_debit_asks_for_checking_savings_and_payment_support(
    services_ctx, gateway, simulator, ops
) -> None:  # type: ignore[no-untyped-def]
    """Endive's defaults would let the customer link credit cards and mortgages that cannot be
    debited; a session with the payment_method permission asks for what it needs (B6)."""
    customer = _customer(services_ctx, ops)
    request = collection_requests.create_fc_session(
        services_ctx, ops, customer_id=customer, idempotency_key=_key(),
        permissions=["payment_method", "balances"], prefetch=[],
    )
    assert request.session_filters is not None
    assert request.session_filters["account_subcategories"] == ["checking", "savings"]
    assert request.session_filters["require_payment_method_support"] == "all"
    stored = gateway.retrieve_fc_session(request.id)
    assert stored["filters"]["account_subcategories"] == ["checking", "savings"]
    # The customer cannot link a credit card into it, nor accounts that cannot pay.
    with pytest.raises(SimulationError, match="do not allow linking a credit card"):
        simulator.complete_session(
            request.id, institution="Test Institution", subcategories=("credit_card",)
        )
    with pytest.raises(SimulationError, match="require_payment_method_support"):
        simulator.complete_session(request.id, institution="Invalid Payment Accounts")
    simulator.complete_session(request.id, institution="Test Institution")
    [linked] = gateway.list_accounts(session=request.id)
    assert linked["category"] == "cash" and linked["supported_payment_method_types"]


def test_a_session_without_filters_gets_endives_defaults_in_the_sandbox(
    services_ctx, gateway, simulator, ops
) -> None:  # type: ignore[no-untyped-def]
    """Every session the product creates carries payment_method (so it filters); one made
    without filters shows what endive's defaults let a customer link: a credit card too."""
    customer = _customer(services_ctx, ops)
    session = gateway.create_fc_session(
        {"account_holder": {"type": "customer", "customer": customer}, "permissions": ["balances"]},
        idempotency_key=None,
    )
    assert session["filters"] is None
    simulator.complete_session(
        session["id"], institution="Test Institution", subcategories=("credit_card",)
    )
    [linked] = gateway.list_accounts(session=session["id"])
    assert (linked["category"], linked["subcategory"]) == ("credit", "credit_card")
    assert linked["supported_payment_method_types"] == []  # ACH cannot debit a credit card


def test_cancelling_a_request_a_colleague_just_canceled_says_so_and_drops_it(
    services_ctx, gateway, ops
) -> None:  # type: ignore[no-untyped-def]
    """Two ops tabs on Open requests: the second Cancel showed Stripe's "You cannot cancel this
    SetupIntent because it has a status of canceled. Only a SetupIntent with one of the
    following statuses …" and kept listing the request."""
    customer, request = _new_request(services_ctx, ops)
    collect_cancel.cancel_request(
        services_ctx, ops, request.id, reason="abandoned", idempotency_key=_key()
    )
    # The second tab's store still lists it open (its copy is from before the first cancel)
    from services.usecases.sync_intents import store_intent

    store_intent(services_ctx.engine, {**gateway.retrieve_setup_intent(request.id),
                                       "status": "requires_payment_method"})
    with pytest.raises(Conflict) as refused:
        collect_cancel.cancel_request(
            services_ctx, ops, request.id, reason="duplicate", idempotency_key=_key()
        )
    assert str(refused.value) == (
        f"{request.id} was already canceled (reason: abandoned), so it is no longer open. "
        "Nothing was changed."
    )
    assert gateway.retrieve_setup_intent(request.id)["cancellation_reason"] == "abandoned"
    assert collection_requests.open_requests(services_ctx, ops, customer_id=customer) == []


def test_cancelling_a_processing_setup_intent_says_stripe_waits_for_it_to_end(
    services_ctx, gateway, ops, sandbox_handle
) -> None:  # type: ignore[no-untyped-def]
    """Stripe cancels a SetupIntent only in requires_payment_method, requires_confirmation or
    requires_action (the pinned SDK's cancel); Open requests lists processing ones too, and
    Cancel showed Stripe's list of statuses."""
    _, request = _new_request(services_ctx, ops)
    state = sandbox_handle.state
    with state.lock:
        state.lookup(request.id)["status"] = "processing"  # as the bank verifies it
    with pytest.raises(Conflict) as refused:
        collect_cancel.cancel_request(
            services_ctx, ops, request.id, reason="abandoned", idempotency_key=_key()
        )
    assert str(refused.value).startswith(f"{request.id} is processing at Stripe")
    assert gateway.retrieve_setup_intent(request.id)["status"] == "processing"
    with state.lock:
        state.lookup(request.id)["status"] = "requires_payment_method"  # the shared sandbox
