"""A demo customer and the whole demo world (:func:`generate`)."""

from __future__ import annotations

import random

from sandbox.demo.accounts import account_kind, make_account
from sandbox.demo.banks import BANKS, institutions
from sandbox.demo.dynamic import add_dynamic_payment_methods
from sandbox.demo.flows import mark_flows
from sandbox.demo.intents import IntentContext, plan_intents
from sandbox.demo.model import DemoCustomer, DemoWorld
from sandbox.demo.names import EMAIL_DOMAINS
from sandbox.demo.people import (
    business_identity,
    customer_phone,
    email_local,
    new_person,
    random_address,
    unique_email,
)
from sandbox.demo.seeds import DAY, HOUR, INTENT_WINDOW_DAYS, MINUTE, sub_seed, weighted


def _customer(seed: int, index: int, *, now: int, used_emails: set[str]) -> DemoCustomer:
    rng = random.Random(sub_seed(seed, "customer", index))
    business = rng.random() < 0.05
    person = new_person(rng)
    if business:
        name, email = business_identity(rng, person, used_emails)
        description: str | None = f"Contact: {person.first} {person.last}"
    else:
        name = person.name
        email = unique_email(
            rng, email_local(rng, person), weighted(rng, EMAIL_DOMAINS), used_emails
        )
        description = None
    if rng.random() < 0.6:
        created = now - rng.randrange(DAY, INTENT_WINDOW_DAYS * DAY)
    else:
        created = now - rng.randrange(INTENT_WINDOW_DAYS * DAY, 730 * DAY)
    customer = DemoCustomer(
        name=name,
        email=email,
        phone=customer_phone(rng),
        address=random_address(rng, business=business),
        created=created,
        accounts=[],
        intents=[],
        description=description,
        is_business=business,
    )
    window_start = max(created + MINUTE, now - INTENT_WINDOW_DAYS * DAY)
    manual_only = rng.random() < 0.04
    count = 0 if manual_only else weighted(rng, ((1, 55), (2, 32), (3, 13)))
    links: list[tuple[int, int]] = []
    for i in range(count):
        kind = account_kind(rng, i, business=business)
        bank = weighted(rng, tuple((b, b.weight) for b in BANKS))
        payable = (
            kind != "credit_card"
            and bank.institution.supports_payments
            and not bank.institution.link_fails
        )
        if payable and rng.random() < 0.8 and now - 20 * MINUTE > window_start:
            started = rng.randrange(window_start, now - 20 * MINUTE)
            acct_created = started + rng.randrange(MINUTE, 10 * MINUTE)
            links.append((i, started))
        else:
            acct_created = rng.randrange(created + MINUTE, max(now - HOUR, created + 2 * MINUTE))
        txn_seed = sub_seed(seed, "customer", index, "account", i)
        customer.accounts.append(
            make_account(
                rng, customer=customer, person=person, index=i, created=acct_created,
                kind=kind, bank=bank, txn_seed=txn_seed, now=now,
            )
        )  # fmt: skip
    ctx = IntentContext(rng=rng, customer=customer, now=now, window_start=window_start)
    customer.intents = plan_intents(ctx, links, manual_only=manual_only)
    dynamic = random.Random(sub_seed(seed, "customer", index, "dynamic"))  # its own stream
    add_dynamic_payment_methods(dynamic, customer, now=now, window_start=window_start)
    mark_flows(random.Random(sub_seed(seed, "customer", index, "flows")), customer)  # its own stream
    return customer


def generate(*, seed: int, customers: int, now: int) -> DemoWorld:
    """The whole demo world; transactions are left to :func:`transactions_for` (lazy).

    Customer ``i`` depends only on ``seed``, ``i`` and ``now`` (except that a clashing email
    gets a number appended), so a world of 200 customers is the start of one of 20,000.
    """
    used_emails: set[str] = set()
    return DemoWorld(
        seed=seed,
        now=now,
        institutions=institutions(),
        customers=[_customer(seed, i, now=now, used_emails=used_emails) for i in range(customers)],
    )
