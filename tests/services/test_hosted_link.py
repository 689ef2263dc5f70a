"""A link to send the customer: a Checkout Session in setup mode with the flow's configuration,
created through the one path (role check, idempotency key, Stripe call, audit row)."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from sqlmodel import select

from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.context import Services
from services.errors import Forbidden, ValidationError
from services.usecases import collect_customers, collection_requests
from services.usecases import edit_flows as flows


def _customer(svc: Services, ops: Any) -> str:
    email = f"link-{secrets.token_hex(4)}@example.com"
    return collect_customers.create_customer(
        svc, ops, email=email, name="Link Test", idempotency_key=f"cus-{email}"
    ).id


def _key() -> str:
    return f"test-{secrets.token_hex(8)}"


def _audit(svc: Services) -> list[AuditEntry]:
    with session_scope(svc.engine) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.action == "collect.create"))
        return list(rows.all())


def _sessions(gateway: Any, customer: str) -> list[dict[str, Any]]:
    page = gateway.v1.checkout.sessions.list(params={"customer": customer, "limit": 100})
    return [s.to_dict() for s in page.data]


def test_the_link_is_a_setup_mode_checkout_session_with_the_flows_configuration(
    services_ctx: Services, gateway: Any, admin: Any, ops: Any
) -> None:
    flows.save_flow(
        services_ctx,
        admin,
        "setup_intent",
        permissions=["payment_method", "balances", "ownership"],
        prefetch=["balances"],
        verification_method="instant",
        expected_version=0,
    )
    customer = _customer(services_ctx, ops)
    now = services_ctx.now()
    request = collection_requests.create_hosted_link(
        services_ctx, ops, customer_id=customer, idempotency_key=_key()
    )
    (session,) = _sessions(gateway, customer)
    assert session["mode"] == "setup" and session["status"] == "open"
    assert request.checkout_session_id == session["id"]
    assert request.hosted_url == session["url"] and request.hosted_url
    assert request.expires_at == session["expires_at"]
    assert now + 1800 <= (request.expires_at or 0) <= now + 24 * 3600 + 5
    options = session["payment_method_options"]["us_bank_account"]
    assert options["verification_method"] == "instant"
    assert sorted(options["financial_connections"]["permissions"]) == [
        "balances",
        "ownership",
        "payment_method",
    ]
    assert options["financial_connections"]["prefetch"] == ["balances"]
    intent = gateway.retrieve_setup_intent(request.id)
    assert request.id == session["setup_intent"]
    assert request.client_secret == intent["client_secret"]
    assert intent["metadata"]["fcops_flow"] == "setup_intent"
    assert intent["metadata"]["fcops_created_by"] == ops.username
    assert sorted(request.permissions) == ["balances", "ownership", "payment_method"]


def test_the_create_call_sends_no_payment_method_types(services_ctx: Services, ops: Any) -> None:
    config = flows.load_flow(services_ctx.engine, "setup_intent")
    params = collection_requests.checkout_params(
        config, customer_id="cus_1", actor=ops, return_url="https://example.com/done"
    )
    assert "payment_method_types" not in params
    assert params["allowed_payment_method_types"] == ["us_bank_account"]
    assert params["mode"] == "setup"


def test_the_same_key_twice_makes_one_link_and_two_audit_rows_without_the_secret(
    services_ctx: Services, gateway: Any, ops: Any
) -> None:
    customer = _customer(services_ctx, ops)
    key = _key()
    first = collection_requests.create_hosted_link(
        services_ctx, ops, customer_id=customer, idempotency_key=key
    )
    second = collection_requests.create_hosted_link(
        services_ctx, ops, customer_id=customer, idempotency_key=key
    )
    assert (second.id, second.hosted_url) == (first.id, first.hosted_url)
    assert not first.replayed and second.replayed
    assert len(_sessions(gateway, customer)) == 1
    rows = [r for r in _audit(services_ctx) if r.idempotency_key == key]
    assert len(rows) == 2 and {r.target for r in rows} == {first.id}
    assert all(r.params["kind"] == "checkout_session" for r in rows)
    assert all(r.params["checkout_session"] == first.checkout_session_id for r in rows)
    dumped = json.dumps([r.model_dump() for r in rows], default=str)
    assert first.client_secret not in dumped


def test_other_roles_cannot_create_a_link_and_nothing_is_created(
    services_ctx: Services, gateway: Any, ops: Any, finance: Any
) -> None:
    customer = _customer(services_ctx, ops)
    with pytest.raises(Forbidden):
        collection_requests.create_hosted_link(
            services_ctx, finance, customer_id=customer, idempotency_key=_key()
        )
    assert _sessions(gateway, customer) == []
    assert any(r.outcome != "ok" and r.actor == finance.username for r in _audit(services_ctx))


def test_a_microdeposits_only_flow_gets_a_sentence_and_no_link(
    services_ctx: Services, gateway: Any, admin: Any, ops: Any
) -> None:
    flows.save_flow(
        services_ctx,
        admin,
        "setup_intent",
        permissions=["payment_method"],
        prefetch=[],
        verification_method="microdeposits",
        expected_version=0,
    )
    customer = _customer(services_ctx, ops)
    with pytest.raises(ValidationError, match="cannot verify by microdeposits only"):
        collection_requests.create_hosted_link(
            services_ctx, ops, customer_id=customer, idempotency_key=_key()
        )
    assert _sessions(gateway, customer) == []


def test_outside_the_sandbox_the_return_address_must_be_set(
    gateway: Any, sqlite_engine: Any, ops: Any
) -> None:
    svc = Services(gateway=gateway, engine=sqlite_engine, mode="test")
    with pytest.raises(ValidationError, match="FCOPS_CHECKOUT_RETURN_URL"):
        collection_requests.create_hosted_link(
            svc, ops, customer_id="cus_anything1", idempotency_key=_key()
        )


def test_when_the_customer_finishes_the_request_and_the_link_say_so(
    services_ctx: Services, gateway: Any, simulator: Any, ops: Any
) -> None:
    customer = _customer(services_ctx, ops)
    request = collection_requests.create_hosted_link(
        services_ctx, ops, customer_id=customer, idempotency_key=_key()
    )
    simulator.link_bank(request.id, institution="Test Institution")
    view = collection_requests.intent_view(services_ctx, ops, request.id)
    assert view.status == "succeeded" and view.financial_connections_account
    (session,) = _sessions(gateway, customer)
    assert (session["status"], session["url"]) == ("complete", None)


def test_an_fc_session_reads_as_linked_with_its_accounts_once_the_customer_linked(
    services_ctx: Services, simulator: Any, ops: Any, finance: Any
) -> None:
    customer = _customer(services_ctx, ops)
    request = collection_requests.create_fc_session(
        services_ctx, ops, customer_id=customer, idempotency_key=_key()
    )
    before = collection_requests.session_progress(services_ctx, ops, request)
    assert (before.status, before.linked_accounts) == ("open", ())
    simulator.complete_session(request.id, institution="Test Institution")
    after = collection_requests.session_progress(services_ctx, ops, request)
    assert after.status == "linked"
    assert after.linked_accounts and all(a.startswith("fca_") for a in after.linked_accounts)
    with pytest.raises(Forbidden):
        collection_requests.session_progress(services_ctx, finance, request)


def test_a_link_stripe_answers_without_a_setup_intent_is_a_sentence_not_a_lookup_of_none(
    services_ctx: Services, ops: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK's checkout.Session has ``setup_intent: Optional[...]``: a null was read as the
    ID "None" and looked up ("no such SetupIntent None")."""
    from services.errors import StripeUnavailable

    customer = _customer(services_ctx, ops)
    real = services_ctx.gateway.create_checkout_session
    asked: list[str] = []

    def without_intent(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {**real(*args, **kwargs), "setup_intent": None}

    monkeypatch.setattr(services_ctx.gateway, "create_checkout_session", without_intent)
    monkeypatch.setattr(services_ctx.gateway, "retrieve_setup_intent", lambda i, **k: asked.append(i))
    with pytest.raises(StripeUnavailable, match="gave it no SetupIntent"):
        collection_requests.create_hosted_link(
            services_ctx, ops, customer_id=customer, idempotency_key=_key()
        )
    assert asked == []
    assert _audit(services_ctx)[-1].outcome == "error"


def test_a_link_stripe_answers_with_a_server_error_is_looked_for_before_creating_again(
    services_ctx: Services, ops: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a 500 the advice was "trying again sends a new request; if the first one went
    through after all, you will see both": read as "try again", and a second link. fcops now
    looks at the customer's SetupIntents at Stripe itself: none is from this attempt, so it says
    Create again is safe (collect_lookup; tests/services/test_collect_lookup.py has the rest)."""
    from services.errors import StripeUnavailable

    customer = _customer(services_ctx, ops)

    def server_error(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise StripeUnavailable("Stripe had a temporary problem (HTTP 500).", request_id="req_5")

    monkeypatch.setattr(services_ctx.gateway, "create_checkout_session", server_error)
    with pytest.raises(StripeUnavailable) as err:
        collection_requests.create_hosted_link(
            services_ctx, ops, customer_id=customer, idempotency_key=_key()
        )
    said = str(err.value)
    assert said.startswith("Stripe did not confirm the new link: it had a server error"), said
    assert "Stripe did not make it: Create again is safe, and sends a new request" in said
    assert "you will see both" not in said
