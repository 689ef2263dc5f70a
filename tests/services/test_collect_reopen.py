"""A collection request opened again from the ID the Collect page keeps in its address: the
same request as the creation returned, as Stripe has it now, through the real SDK on the
sandbox; on SQLite and PostgreSQL (the FC session's creation is read from the audit log)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select

from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.context import Services
from services.errors import NotFound, ValidationError
from services.usecases import collection_requests
from services.usecases.collect_reopen import reopen_request
from tests.services.test_hosted_link import _customer, _key


def _made(create: Any, svc: Services, ops: Any) -> Any:
    """A request ``create`` makes for a new customer, as the Collect page makes it."""
    return create(svc, ops, customer_id=_customer(svc, ops), idempotency_key=_key())


def _audit_rows(svc: Services) -> int:
    with session_scope(svc.engine) as session:
        return int(session.exec(select(func.count()).select_from(AuditEntry)).one())


def test_a_hosted_link_opens_again_by_its_checkout_session_with_the_same_link(
    store_svc: Services, ops: Any
) -> None:
    made = _made(collection_requests.create_hosted_link, store_svc, ops)
    assert made.checkout_session_id and made.hosted_url
    rows = _audit_rows(store_svc)
    again = reopen_request(store_svc, ops, made.checkout_session_id)
    assert asdict(again) == {**asdict(made), "replayed": False}
    assert again.client_secret == made.client_secret
    assert _audit_rows(store_svc) == rows  # reading writes no audit row


def test_a_setup_intent_opens_again_with_its_flow_version_and_its_state_now(
    store_svc: Services, ops: Any, simulator: Any
) -> None:
    made = _made(collection_requests.create_setup_intent, store_svc, ops)
    again = reopen_request(store_svc, ops, made.id)
    assert asdict(again) == {**asdict(made), "replayed": False}
    simulator.link_bank(made.id, institution="Test Institution")
    assert reopen_request(store_svc, ops, made.id).status == "succeeded"


def test_an_fc_session_made_here_opens_again_with_when_and_for_whom(
    store_svc: Services, ops: Any, simulator: Any
) -> None:
    made = _made(collection_requests.create_fc_session, store_svc, ops)
    again = reopen_request(store_svc, ops, made.id)
    assert again.status == "open" and again.customer_id.startswith("cus_")
    # all of it as made, but when: Stripe's session has none; the audit row's time is used
    assert asdict(again) == {**asdict(made), "replayed": False, "created": again.created}
    assert abs(again.created - made.created) <= 5
    assert again.client_secret == made.client_secret
    simulator.complete_session(made.id, institution="Test Institution")
    linked = reopen_request(store_svc, ops, made.id)
    assert linked.status == "linked" and linked.linked_accounts


def test_an_fc_session_not_made_here_is_refused_with_a_sentence(
    store_svc: Services, gateway: Any, ops: Any
) -> None:
    customer = _customer(store_svc, ops)
    elsewhere = gateway.create_fc_session(
        {
            "account_holder": {"type": "customer", "customer": customer},
            "permissions": ["payment_method"],
        },
        idempotency_key=None,
    )
    with pytest.raises(NotFound, match="not made on this page"):
        reopen_request(store_svc, ops, str(elsewhere["id"]))


@pytest.mark.parametrize(
    "ref", ["seti_00000000000000missing", "cs_test_000000000000missing", "fcsess_000000missing"]
)
def test_an_id_stripe_does_not_know_gets_a_sentence(
    store_svc: Services, ops: Any, ref: str
) -> None:
    if ref.startswith("fcsess_"):  # refused before Stripe: no creation of it on record
        with pytest.raises(NotFound, match="not made on this page"):
            reopen_request(store_svc, ops, ref)
        return
    with pytest.raises(NotFound, match=f"Stripe has no request {ref} in this mode"):
        reopen_request(store_svc, ops, ref)


@pytest.mark.parametrize(
    "ref",
    ["", "cus_123", "pi_123", "seti_<script>", "seti_" + "x" * 300, "seti_1 OR 1=1", "seti_é1"],
)
def test_an_address_naming_no_request_is_refused_before_stripe(
    services_ctx: Services, ops: Any, ref: str
) -> None:
    with pytest.raises(ValidationError, match="this page cannot open"):
        reopen_request(services_ctx, ops, ref)
