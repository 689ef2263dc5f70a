"""Which of fcops' flows made a demo intent: the ``fcops_flow`` metadata fcops writes on create.

fcops marks every intent it creates with ``metadata.fcops_flow`` (the flow, e.g.
``setup_intent``) and ``metadata.fcops_flow_version`` (the saved configuration's version, "0"
for the built-in defaults; see ``services.usecases.collection_requests``). A real account holds
both kinds: intents made through fcops' six flows and intents made elsewhere (another app, the
Dashboard), which the Conversion page calls "not made by fcops". So a manager can compare flows,
:data:`FLOW_SHARE` of the demo intents carry a flow, spread over the flows that can make them.

Like :mod:`sandbox.demo.dynamic` this pass runs on its own random stream after the rest of a
customer is generated, so every other part of the world stays exactly as it was.
"""

from __future__ import annotations

import random

from sandbox.demo.model import DemoCustomer, DemoIntent
from sandbox.demo.seeds import weighted

FLOW_SHARE = 0.65  # of the intents: made through one of fcops' flows (the rest: elsewhere)
FLOW_VERSION = "0"  # fcops' built-in configuration: nothing saved in a fresh data directory
# (flow, weight) by what the flow creates: a SetupIntent or a PaymentIntent
_SETUP_FLOWS: tuple[tuple[str, float], ...] = (
    ("setup_intent", 40), ("checkout_session", 25), ("payment_element", 20), ("subscription", 15),
)  # fmt: skip
_PAYMENT_FLOWS: tuple[tuple[str, float], ...] = (
    ("payment_intent", 30), ("checkout_session", 20), ("invoice", 20),
    ("payment_element", 15), ("subscription", 15),
)  # fmt: skip
# Checkout takes only automatic or instant verification (as services.rules.flow_config says).
_METHODS_OF: dict[str, tuple[str, ...]] = {"checkout_session": ("automatic", "instant")}


def flow_of(rng: random.Random, intent: DemoIntent) -> str | None:
    """The flow that made ``intent``, or None (made outside fcops)."""
    if rng.random() >= FLOW_SHARE:
        return None
    choices = _SETUP_FLOWS if intent.kind == "setup_intent" else _PAYMENT_FLOWS
    fitting = tuple(
        (flow, weight)
        for flow, weight in choices
        if intent.verification_method in _METHODS_OF.get(flow, (intent.verification_method,))
    )
    return weighted(rng, fitting)


def mark_flows(rng: random.Random, customer: DemoCustomer) -> None:
    """Give a share of the customer's intents the flow that made them (in creation order)."""
    for intent in customer.intents:
        intent.flow = flow_of(rng, intent)


def flow_metadata(intent: DemoIntent) -> dict[str, str]:
    """The metadata fcops writes on an intent it creates; none for one made elsewhere."""
    if intent.flow is None:
        return {}
    return {"fcops_flow": intent.flow, "fcops_flow_version": FLOW_VERSION}
