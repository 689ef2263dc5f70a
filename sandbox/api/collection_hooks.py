"""Simulation hooks for what Stripe.js and the customer's bank do while an intent collects a
bank account (outside ``/v1``): link one through Financial Connections, type one in by hand,
let the microdeposits arrive. Then the client confirms, as the Payment Element would."""

from __future__ import annotations

from typing import Any

from sandbox.api.checkout_sessions import complete_checkout
from sandbox.api.financial_connections.sessions import link_account
from sandbox.api.institutions import TEST_ROUTING_NUMBER, institution
from sandbox.api.intents import (
    confirm,
    error_object,
    intent_for_path,
    kind_of,
    mark_arrived,
    unexpected_with,
)
from sandbox.api.mandates import acceptance_at, accepted, remember_acceptance
from sandbox.api.params import one_of
from sandbox.api.payment_method_options import fc_options, verification_method
from sandbox.api.payment_methods import create_payment_method
from sandbox.core import Request, State, invalid, route

Obj = dict[str, Any]
DEFAULT_ACCOUNT_NUMBER = "000123456789"
MANUAL_ENTRY_PARAMS = (
    "account_number",
    "routing_number",
    "microdeposit_type",
    "account_holder_type",
    "account_type",
)

LINK_FAILED_CODE = "payment_method_not_available"  # codes from the pinned SDK's error enum
LINK_UNSUPPORTED_CODE = "bank_account_unusable"


# How a bank account cannot be collected under a verification method: (method, why, param).
_NOT_OFFERED = {
    "link": (
        "microdeposits",
        "This intent uses verification_method=microdeposits, which never links through "
        "Financial Connections; use manual_entry.",
        "institution",
    ),
    "manual_entry": (
        "instant",
        "This intent uses verification_method=instant: manual entry is not offered, the "
        "customer must link the account with Financial Connections.",
        "account_number",
    ),
}


def _intent_to_collect(state: State, req: Request, how: str) -> Obj:
    """The hook's intent, if it can still collect a bank account ``how`` (link/manual_entry)."""
    intent = intent_for_path(state, req)
    if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
        raise unexpected_with(
            intent,
            f"This {kind_of(intent).title} has a status of {intent['status']}; a bank account "
            "can only be collected while it is requires_payment_method or requires_confirmation.",
        )
    method, why, param = _NOT_OFFERED[how]
    if verification_method(intent) == method:
        raise invalid(why, param=param)
    return intent


def holder_name(state: State, intent: Obj) -> str:
    customer = state.lookup(intent["customer"]) if intent["customer"] else None
    return str((customer or {}).get("name") or "Jenny Rosen")


def billing_for(state: State, intent: Obj) -> Obj:
    customer = state.lookup(intent["customer"]) if intent["customer"] else None
    customer = customer or {}
    return {
        "name": holder_name(state, intent),
        "email": customer.get("email"),
        "phone": customer.get("phone"),
        "address": {k: v for k, v in (customer.get("address") or {}).items() if v is not None},
    }


def confirm_collected(
    state: State, intent: Obj, pm: Obj, *, microdeposit_type: str = "descriptor_code"
) -> None:
    """The customer accepted the mandate on the page and the client confirmed."""
    intent["payment_method"] = pm["id"]
    intent["status"] = "requires_confirmation"
    if accepted(state, intent["id"]) is None:
        remember_acceptance(state, intent["id"], acceptance_at(state.now()))
    confirm(state, intent, None, {}, microdeposit_type=microdeposit_type)
    complete_checkout(state, intent)


def link_failure(state: State, intent: Obj, code: str, message: str) -> Obj:
    kind = kind_of(intent)
    previous = {"status": intent["status"]}
    intent[kind.error_field] = error_object(code, message)
    intent["status"] = "requires_payment_method"
    intent["payment_method"] = None
    state.emit(kind.failed_event, intent, previous_attributes=previous)
    return intent


@route("POST", "/_sandbox/setup_intents/{id}/link", params=("institution", "subcategory"))
@route("POST", "/_sandbox/payment_intents/{id}/link", params=("institution", "subcategory"))
def link_hook(req: Request, state: State) -> Obj:
    """FC instant verification: a new ``fca_`` (with the intent's permissions), a PM, confirm."""
    intent = _intent_to_collect(state, req, "link")
    name = req.str("institution") or "StripeBank"
    bank = institution(state, name)
    if bank.link_fails:
        return link_failure(
            state,
            intent,
            LINK_FAILED_CODE,
            f"{name} is unavailable right now, so the bank account could not be linked.",
        )
    options = fc_options(intent)
    account = link_account(
        state,
        customer=intent["customer"],
        institution_name=name,
        permissions=list(options.get("permissions") or ["payment_method"]),
        prefetch=list(options.get("prefetch") or []),
        subcategory=req.str("subcategory") or "checking",
        account_holder={"customer": intent["customer"], "type": "customer"}
        if intent["customer"]
        else None,
    )
    if not bank.supports_payments:
        return link_failure(
            state,
            intent,
            LINK_UNSUPPORTED_CODE,
            f"The account linked at {name} does not support ACH Direct Debit; choose another account.",
        )
    pm = create_payment_method(
        state,
        {
            "type": "us_bank_account",
            "us_bank_account": {"financial_connections_account": account["id"]},
            "billing_details": billing_for(state, intent),
        },
        param="payment_method_data",
    )
    confirm_collected(state, intent, pm)
    return intent


@route("POST", "/_sandbox/setup_intents/{id}/manual_entry", params=MANUAL_ENTRY_PARAMS)
@route("POST", "/_sandbox/payment_intents/{id}/manual_entry", params=MANUAL_ENTRY_PARAMS)
def manual_entry_hook(req: Request, state: State) -> Obj:
    """The customer types account and routing numbers: a PM without FC account, microdeposits."""
    intent = _intent_to_collect(state, req, "manual_entry")
    kind = one_of(
        req.str("microdeposit_type") or "descriptor_code",
        ("descriptor_code", "amounts"),
        param="microdeposit_type",
    )
    pm = create_payment_method(
        state,
        {
            "type": "us_bank_account",
            "us_bank_account": {
                "account_number": req.str("account_number") or DEFAULT_ACCOUNT_NUMBER,
                "routing_number": req.str("routing_number") or TEST_ROUTING_NUMBER,
                "account_holder_type": req.str("account_holder_type") or "individual",
                "account_type": req.str("account_type") or "checking",
            },
            "billing_details": billing_for(state, intent),
        },
        param="payment_method_data",
    )
    confirm_collected(state, intent, pm, microdeposit_type=kind)
    return intent


@route("POST", "/_sandbox/setup_intents/{id}/microdeposits_arrive", params=())
@route("POST", "/_sandbox/payment_intents/{id}/microdeposits_arrive", params=())
def microdeposits_arrive_hook(req: Request, state: State) -> Obj:
    """The deposits land in the customer's account now (``arrival_date`` = now)."""
    return mark_arrived(state, intent_for_path(state, req))
