"""Ops finds or creates the customer a collection request is for (audited ``collect.customer``)."""

from __future__ import annotations

from dataclasses import dataclass

from services.adapters import account_mirror
from services.adapters.gateway import CustomerCreateParams
from services.audit import audited, unconfirmed_change
from services.auth import Actor, require
from services.context import Services
from services.rules import input_limits
from services.usecases.collect_common import require_key, send_settled, unconfirmed


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
    clean = email.strip() if isinstance(email, str) else ""
    key = require_key(idempotency_key)
    with audited(
        svc.engine,
        actor=actor,
        action="collect.customer",
        params={"email": clean, "name": name},
        idempotency_key=key,
    ) as ctx:
        require(actor, "collect.create")
        clean = input_limits.stripe_text(email, field="customer.email", required=True)
        name = input_limits.stripe_text(name, field="customer.name") or None
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
            if name:
                params["name"] = name
            with (
                unconfirmed_change(
                    ctx,
                    "the new customer",
                    "it may have been made",
                    "Create customer again finds it by its email if it was (and makes no other)",
                ),
                unconfirmed("the new customer"),
            ):
                customer, read_back = send_settled(
                    svc.gateway.create_customer, params, key, what="the new customer"
                )
            if read_back:
                ctx.params["read_back"] = True
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
