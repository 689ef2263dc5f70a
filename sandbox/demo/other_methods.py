"""Payment methods that are not bank accounts: cards and Link, for dynamic payment methods.

An intent whose ``payment_method_types`` offer ``card``, ``link`` and ``us_bank_account`` may be
paid by card or Link; the payment method then has ``type: card`` (a ``card`` hash shaped like
Stripe's example) or ``type: link`` (``link: {email, persistent_token}``), per the pinned SDK's
``PaymentMethod.Card`` / ``PaymentMethod.Link`` (stripe 16.1.0). The sandbox keeps no charge
for such payments (``latest_charge: null``) and no mandate (cards and Link need none here).
"""

from __future__ import annotations

from typing import Any

from sandbox import objects
from sandbox.core import State

Obj = dict[str, Any]

_BRANDS = (("visa", 50), ("mastercard", 35), ("amex", 15))


def card_details(state: State, *, salt: str) -> Obj:
    rng = state.rng("card", salt)
    brand = rng.choices([b for b, _ in _BRANDS], weights=[w for _, w in _BRANDS])[0]
    last4 = f"{rng.randrange(10_000):04d}"
    return {
        "brand": brand,
        "checks": {
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "pass",
        },
        "country": "US",
        "display_brand": brand,
        "exp_month": rng.randrange(1, 13),
        "exp_year": 2027 + rng.randrange(5),
        "fingerprint": objects.fingerprint("card", brand, last4, salt),
        "funding": "credit" if rng.random() < 0.6 else "debit",
        "generated_from": None,
        "last4": last4,
        "networks": {"available": [brand], "preferred": None},
        "regulated_status": "unregulated",
        "three_d_secure_usage": {"supported": True},
        "wallet": None,
    }


def other_payment_method(state: State, *, kind: str, customer: Obj, created: int, salt: str) -> Obj:
    """A ``card`` or ``link`` payment method of ``customer`` (attached), created at ``created``."""
    pm = objects.payment_method(
        state,
        type=kind,
        customer=customer["id"],
        created=created,
        billing_details={
            "address": objects.address(),
            "email": customer.get("email"),
            "name": customer.get("name"),
            "phone": None,
            "tax_id": None,
        },
    )
    pm.pop("us_bank_account", None)
    if kind == "card":
        pm["card"] = card_details(state, salt=salt)
    else:
        pm["link"] = {"email": customer.get("email"), "persistent_token": None}
    return pm


def pay_with(state: State, intent: Obj, pm: Obj, *, at: int) -> None:
    """The customer paid (PI) or saved (SI) with ``pm``: the intent succeeds at ``at``."""
    state.add(pm)
    previous = intent["status"]
    intent.update(status="succeeded", payment_method=pm["id"], next_action=None)
    if intent["object"] == "payment_intent":
        intent["amount_received"] = intent["amount"]
    state.emit(
        f"{intent['object']}.succeeded",
        intent,
        previous_attributes={"status": previous},
        created=at,
    )
