"""Customers (and the answer for a deleted one)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.templates import build

if TYPE_CHECKING:
    from sandbox.core import State


def customer(state: State, **fields: Any) -> dict:
    base: dict[str, Any] = {
        "address": None,
        "balance": 0,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": None,
        "invoice_prefix": state.new_id("")[:8].upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }
    return build(state, "customer", "cus_", base, fields)


def deleted_customer(id: str) -> dict:
    return {"id": id, "object": "customer", "deleted": True}
