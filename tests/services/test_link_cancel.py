"""Cancelling the request behind a hosted link expires the link: Stripe refuses to cancel a
Checkout Session's SetupIntent ("Expire the Checkout Session instead."), and expiring the
session cancels it. Role check, idempotency key and the ``collect.cancel`` audit row stay."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from sqlmodel import select

from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.context import Services
from services.errors import Conflict, Forbidden, NothingChanged
from services.usecases import collect_cancel, collection_requests
from tests.services.test_hosted_link import _customer
from tests.services.test_unknown_outcomes import _late, _svc, patient_reads  # noqa: F401


def _key() -> str:
    return f"test-{secrets.token_hex(8)}"


def _cancels(svc: Services, target: str) -> list[AuditEntry]:
    with session_scope(svc.engine) as session:
        rows = session.exec(
            select(AuditEntry).where(
                AuditEntry.action == "collect.cancel", AuditEntry.target == target
            )
        )
        return list(rows.all())


def _link(svc: Services, ops: Any) -> Any:
    customer = _customer(svc, ops)
    return collection_requests.create_hosted_link(
        svc, ops, customer_id=customer, idempotency_key=_key()
    )


def test_cancelling_a_links_request_expires_its_checkout_session(
    services_ctx: Services, gateway: Any, ops: Any
) -> None:
    link = _link(services_ctx, ops)
    key = _key()
    view = collect_cancel.cancel_request(
        services_ctx, ops, link.id, reason="requested_by_customer", idempotency_key=key
    )
    assert view.id == link.id and view.status == "canceled"
    assert view.expired_link == link.checkout_session_id
    session = gateway.retrieve_checkout_session(link.checkout_session_id)
    assert (session["status"], session["url"]) == ("expired", None)
    assert gateway.retrieve_setup_intent(link.id)["status"] == "canceled"
    assert collection_requests.open_requests(services_ctx, ops, customer_id=link.customer_id) == []
    (row,) = _cancels(services_ctx, link.id)
    assert row.outcome == "ok" and row.idempotency_key == key
    assert row.params["checkout_session"] == link.checkout_session_id
    assert link.checkout_session_id in (row.message or "")
    # the same click again (same key) replays Stripe's answer: still one expiry, no error
    again = collect_cancel.cancel_request(
        services_ctx, ops, link.id, reason="requested_by_customer", idempotency_key=key
    )
    assert again.status == "canceled"


def test_an_already_expired_link_gets_a_sentence(
    services_ctx: Services, gateway: Any, ops: Any
) -> None:
    link = _link(services_ctx, ops)
    gateway.expire_checkout_session(link.checkout_session_id, idempotency_key=None)
    with pytest.raises(Conflict, match="had already expired") as err:
        collect_cancel.cancel_request(
            services_ctx, ops, link.id, reason=None, idempotency_key=_key()
        )
    assert link.checkout_session_id in str(err.value)
    assert isinstance(err.value, NothingChanged) and err.value.as_asked  # a notice, as asked
    (row,) = _cancels(services_ctx, link.id)
    assert row.outcome != "ok"


def test_a_completed_link_gets_a_sentence_and_stays_complete(
    services_ctx: Services, gateway: Any, simulator: Any, ops: Any
) -> None:
    link = _link(services_ctx, ops)
    simulator.link_bank(link.id, institution="Test Institution")
    with pytest.raises(Conflict, match="already completed") as err:
        collect_cancel.cancel_request(
            services_ctx, ops, link.id, reason=None, idempotency_key=_key()
        )
    assert isinstance(err.value, NothingChanged) and not err.value.as_asked  # a warning
    assert gateway.retrieve_checkout_session(link.checkout_session_id)["status"] == "complete"
    assert gateway.retrieve_setup_intent(link.id)["status"] == "succeeded"


def test_other_roles_cannot_expire_a_link(
    services_ctx: Services, gateway: Any, ops: Any, finance: Any
) -> None:
    link = _link(services_ctx, ops)
    with pytest.raises(Forbidden):
        collect_cancel.cancel_request(
            services_ctx, finance, link.id, reason=None, idempotency_key=_key()
        )
    assert gateway.retrieve_checkout_session(link.checkout_session_id)["status"] == "open"
    (row,) = _cancels(services_ctx, link.id)
    assert row.outcome != "ok" and row.actor == finance.username


@pytest.mark.usefixtures("patient_reads")
def test_a_late_expiry_is_read_back_from_the_link(
    sandbox_handle: Any, engine: Any, simulator: Any, ops: Any
) -> None:
    """No answer in time: the link is read back until it shows expired (as a late cancel is)."""
    svc = _svc(sandbox_handle, engine)
    link = _link(svc, ops)
    _late(svc, simulator, "expire_checkout_session")
    view = collect_cancel.cancel_request(svc, ops, link.id, reason=None, idempotency_key=_key())
    assert view.status == "canceled" and view.expired_link == link.checkout_session_id
    assert svc.gateway.retrieve_checkout_session(link.checkout_session_id)["status"] == "expired"
    assert [r.outcome for r in _cancels(svc, link.id)] == ["ok"]


def _outside_link(gateway: Any, customer: str) -> Any:
    """A hosted link made without fcops (as on Stripe's Dashboard): straight through the SDK,
    so no audit row of its creation."""
    return gateway.v1.checkout.sessions.create(
        params={
            "mode": "setup",
            "currency": "usd",
            "customer": customer,
            "success_url": "https://example.com/saved",
            "allowed_payment_method_types": ["us_bank_account"],
        }
    )


def test_a_link_made_outside_fcops_is_found_in_stripe_and_expired(
    services_ctx: Services, gateway: Any, ops: Any
) -> None:
    customer = _customer(services_ctx, ops)
    older = _outside_link(gateway, customer)  # another open link of the same customer
    made = _outside_link(gateway, customer)
    intent = str(made.setup_intent)
    key = _key()
    view = collect_cancel.cancel_request(
        services_ctx, ops, intent, reason="abandoned", idempotency_key=key
    )
    assert view.status == "canceled" and view.expired_link == made.id
    assert gateway.retrieve_checkout_session(made.id)["status"] == "expired"
    assert gateway.retrieve_setup_intent(intent)["status"] == "canceled"
    assert gateway.retrieve_checkout_session(older.id)["status"] == "open"  # only its own link
    (row,) = _cancels(services_ctx, intent)
    assert row.outcome == "ok" and row.idempotency_key == key
    assert row.params["checkout_session"] == made.id


def test_a_setup_intent_made_outside_fcops_without_a_link_is_canceled_directly(
    services_ctx: Services, gateway: Any, ops: Any
) -> None:
    customer = _customer(services_ctx, ops)
    link = _outside_link(gateway, customer)  # the customer's open link is not this request's
    intent = gateway.v1.setup_intents.create(
        params={"customer": customer, "allowed_payment_method_types": ["us_bank_account"]}
    )
    view = collect_cancel.cancel_request(
        services_ctx, ops, intent.id, reason="duplicate", idempotency_key=_key()
    )
    assert view.status == "canceled" and view.expired_link is None
    assert gateway.retrieve_checkout_session(link.id)["status"] == "open"
    (row,) = _cancels(services_ctx, intent.id)
    assert row.outcome == "ok" and "checkout_session" not in row.params


def test_a_completed_links_request_waiting_on_microdeposits_says_no_one_can_cancel_it(
    services_ctx: Services, gateway: Any, simulator: Any, ops: Any
) -> None:
    """The customer completed the link by typing the account: its SetupIntent waits on
    microdeposits, the link can no longer be expired and Stripe refuses to cancel a Checkout
    Session's SetupIntent (the pinned SDK's ``SetupIntentService.cancel``)."""
    link = _link(services_ctx, ops)
    simulator.manual_entry(link.id)
    assert gateway.retrieve_checkout_session(link.checkout_session_id)["status"] == "complete"
    with pytest.raises(Exception, match="Checkout Session"):  # Stripe itself refuses it
        gateway.cancel_setup_intent(link.id, reason=None, idempotency_key=_key())
    with pytest.raises(Conflict) as err:
        collect_cancel.cancel_request(
            services_ctx, ops, link.id, reason=None, idempotency_key=_key()
        )
    said = str(err.value)
    assert f"{link.id} was made by a Checkout link the customer completed" in said
    assert "Stripe lets no one cancel it" in said and "after 10 days" in said
    assert "no longer open" not in said  # it is still open: waiting on the customer
    assert gateway.retrieve_setup_intent(link.id)["status"] == "requires_action"
    (row,) = _cancels(services_ctx, link.id)
    assert row.outcome != "ok"
    # the open list knows it before anyone presses Cancel
    locked = collect_cancel.uncancelable(services_ctx, ops, {link.id: "requires_action"})
    assert locked == {link.id: said.removesuffix(" Nothing was changed.")}


def test_a_completed_link_made_elsewhere_waiting_on_microdeposits_gets_the_same_sentence(
    services_ctx: Services, gateway: Any, simulator: Any, ops: Any
) -> None:
    """A link this app did not make (no creation row: made on Stripe's Dashboard) is found
    among the customer's open links only; once completed, Stripe's own refusal names the
    Checkout Session, and it is said as for one made here, not as Stripe's raw error."""
    link = _link(services_ctx, ops)
    simulator.manual_entry(link.id)
    with session_scope(services_ctx.engine) as session:
        for row in session.exec(select(AuditEntry).where(AuditEntry.target == link.id)).all():
            session.delete(row)
    with pytest.raises(Conflict) as err:
        collect_cancel.cancel_request(
            services_ctx, ops, link.id, reason=None, idempotency_key=_key()
        )
    assert f"{link.id} was made by a Checkout link the customer completed" in str(err.value)
    assert "after 10 days" in str(err.value)
    assert gateway.retrieve_setup_intent(link.id)["status"] == "requires_action"
