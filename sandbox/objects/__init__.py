"""Builders for every Stripe object the sandbox serves, field-for-field like Stripe's examples.

Each builder deep-copies Stripe's own example object (``stripe_templates.json``, from
stripe/openapi, MIT), replaces the example values with sandbox defaults (nulls where a fresh
object has nulls), gives it a fresh id and ``created``, then applies the caller's overrides
(top-level keys, replaced wholesale). Builders do NOT store the object: call
``state.add(objects.customer(state, email=...))``. They are the public way to make an object
for the route modules (``sandbox.api``) and the demo world (``sandbox.demo``) alike.

Starting from the template means a field Stripe adds to its examples shows up here too, and
``tests/contract/test_fixture_shapes.py`` checks the result against the fixture.
"""

from sandbox.core.events import event
from sandbox.core.templates import examples, template
from sandbox.objects.checkout import checkout_session
from sandbox.objects.common import address, empty_list, fingerprint
from sandbox.objects.customers import customer, deleted_customer
from sandbox.objects.financial_connections import (
    balance,
    fc_account,
    fc_session,
    owner,
    ownership,
    refresh_state,
    transaction,
)
from sandbox.objects.nullable import NULLABLE
from sandbox.objects.payments import (
    charge,
    dispute,
    mandate,
    payment_intent,
    payment_method,
    setup_attempt,
    setup_intent,
    us_bank_account_details,
)


def _templates() -> dict[str, dict]:
    """Stripe's example objects as loaded (``tests/contract/test_fixture_shapes.py`` compares
    them with the fixtures under this name)."""
    return examples()


__all__ = [
    "NULLABLE",
    "address",
    "balance",
    "charge",
    "checkout_session",
    "customer",
    "deleted_customer",
    "dispute",
    "empty_list",
    "event",
    "fc_account",
    "fc_session",
    "fingerprint",
    "mandate",
    "owner",
    "ownership",
    "payment_intent",
    "payment_method",
    "refresh_state",
    "setup_attempt",
    "setup_intent",
    "template",
    "transaction",
    "us_bank_account_details",
]
