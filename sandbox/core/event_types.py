"""The event types the sandbox emits (``State.emit`` refuses any other).

Each must be a value of the pinned SDK's ``Event.type`` enum (``tests/contract/test_spec.py``)
and happen in the contract test's driven world (``tests/contract/test_world_conformance.py``),
whose objects are all checked against the spec. Declare a new event type here when you add it.
"""

from __future__ import annotations

EVENT_TYPES = frozenset(
    {
        "charge.dispute.created",
        "charge.failed",
        "charge.pending",
        "charge.succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.completed",
        "checkout.session.expired",
        "customer.created",
        "customer.deleted",
        "customer.updated",
        "financial_connections.account.created",
        "financial_connections.account.deactivated",
        "financial_connections.account.disconnected",
        "financial_connections.account.expected_deactivation_date_updated",
        "financial_connections.account.reactivated",
        "financial_connections.account.refreshed_balance",
        "financial_connections.account.refreshed_ownership",
        "financial_connections.account.refreshed_transactions",
        "financial_connections.account.upcoming_deactivation",
        "mandate.updated",
        "payment_intent.canceled",
        "payment_intent.created",
        "payment_intent.payment_failed",
        "payment_intent.processing",
        "payment_intent.requires_action",
        "payment_intent.succeeded",
        "payment_method.attached",
        "payment_method.detached",
        "payment_method.updated",
        "setup_intent.canceled",
        "setup_intent.created",
        "setup_intent.requires_action",
        "setup_intent.setup_failed",
        "setup_intent.succeeded",
    }
)
