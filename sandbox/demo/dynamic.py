"""Dynamic payment methods in the demo world: intents that offer card, Link and a bank account.

With Stripe's dynamic payment methods an intent may offer several types; a customer who pays
by card or Link never links or enters a bank account, so the ACH conversion funnel must count
such intents apart (issue 7, B2). This pass runs after the rest of a customer is generated, on
its own random stream, so every other part of the world stays exactly as it was.
"""

from __future__ import annotations

import random

from sandbox.demo.model import DYNAMIC_TYPES, DemoCustomer, DemoIntent

MINUTE = 60
DAY = 86_400
OFFER_SHARE = 0.3  # existing intents that offered card and Link too (paid as planned)
OTHER_METHOD_SHARE = 0.12  # customers with one intent paid by card or Link instead


def add_dynamic_payment_methods(
    rng: random.Random, customer: DemoCustomer, *, now: int, window_start: int
) -> None:
    """Mark some intents as dynamic offers and add, for some customers, one paid by another
    method (card 70 %, Link 30 %; PaymentIntents 80 %, SetupIntents 20 %)."""
    for intent in customer.intents:
        if rng.random() < OFFER_SHARE and intent.verification_method != "microdeposits":
            intent.offered = list(DYNAMIC_TYPES)
    if rng.random() >= OTHER_METHOD_SHARE or now - 10 * MINUTE <= window_start:
        return
    created = rng.randrange(window_start, now - 10 * MINUTE)
    kind = "payment_intent" if rng.random() < 0.8 else "setup_intent"
    intent = DemoIntent(
        kind=kind,  # type: ignore[arg-type]
        verification_method="automatic",
        outcome="other_method",
        created=created,
        permissions=["payment_method"],
        finished_at=created + rng.randrange(MINUTE, 5 * MINUTE),
        offered=list(DYNAMIC_TYPES),
        paid_with="card" if rng.random() < 0.7 else "link",
    )
    if kind == "payment_intent":
        intent.amount = rng.randrange(10, 400) * 100 + rng.choice((0, 0, 50, 99))
    customer.intents.append(intent)
    customer.intents.sort(key=lambda it: it.created)
