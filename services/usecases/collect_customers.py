"""Ops finds or creates the customer a collection request is for (audited ``collect.customer``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.adapters import account_mirror, stripe_api
from services.adapters.gateway import CustomerCreateParams
from services.audit import audited
from services.auth import Actor, require
from services.context import Services
from services.errors import ValidationError
from services.usecases.collect_common import require_key, unconfirmed

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class CustomerResult:
    id: str
    email: str | None
    name: str | None
    reused: bool
    message: str


def create_customer(
    svc: Services,
    actor: Actor,
    *,
    email: str,
    name: str | None = None,
    idempotency_key: str,
) -> CustomerResult:
    """A customer for this email: an existing one with exactly this email is reused, not doubled."""
    clean = (email or "").strip()
    key = require_key(idempotency_key)
    with audited(
        svc.engine,
        actor=actor,
        action="collect.customer",
        params={"email": clean, "name": name},
        idempotency_key=key,
    ) as ctx:
        require(actor, "collect.create")
        if not _EMAIL_RE.match(clean):
            raise ValidationError(
                f"'{clean[:80]}' is not a complete email address (name@example.com)."
            )
        _check_customer_lengths(email=clean, name=(name or "").strip())
        existing = [c for c in svc.gateway.customers_by_email(clean) if not c.get("deleted")]
        if existing:
            customer = max(existing, key=lambda c: int(c.get("created") or 0))
            message = (
                f"A customer with this email already exists ({customer['id']}); using it instead "
                "of creating another."
            )
            reused = True
        else:
            params: CustomerCreateParams = {
                "email": clean,
                "metadata": {"fcops_created_by": actor.username},
            }
            if name and name.strip():
                params["name"] = name.strip()
            with unconfirmed("the new customer"):
                customer = svc.gateway.create_customer(params, idempotency_key=key)
            message = f"Created customer {customer['id']}."
            reused = False
        account_mirror.upsert_customer(svc.engine, customer)
        ctx.target = str(customer["id"])
        ctx.request_id = svc.gateway.last_request_id
        ctx.params["reused"] = reused
        ctx.message = message
    return CustomerResult(
        id=str(customer["id"]),
        email=customer.get("email"),
        name=customer.get("name"),
        reused=reused,
        message=message,
    )


def _check_customer_lengths(**fields: str) -> None:
    """Stripe's length limits for a customer (``stripe_api.LENGTH_LIMITS``), before the call."""
    for name, value in fields.items():
        limit = stripe_api.length_limit("/v1/customers", name)
        if len(value) > limit:
            raise ValidationError(
                f"The {name} is {len(value)} characters long, but Stripe accepts at most {limit} "
                f"for a customer's {name}. Shorten it and try again."
            )
