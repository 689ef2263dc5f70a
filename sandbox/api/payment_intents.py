"""PaymentIntents (reference §2.6, §3.3, §6.4): debit a bank account. Confirming with a verified
account makes the debit (``processing``, see ``sandbox.api.charges``); a manually entered one
waits for its microdeposits; a blocked account is refused. The state machine itself is shared
with SetupIntents (``sandbox.api.intents``)."""

from __future__ import annotations

import re
from typing import Any

from sandbox import objects
from sandbox.api import intents, search
from sandbox.api.charges import debit
from sandbox.api.customers import customer_param
from sandbox.api.params import created_bounds, dig, metadata_update, one_of, where
from sandbox.api.payment_method_options import (
    parse_currency,
    parse_types,
    parse_us_bank_options,
    update_options,
)
from sandbox.api.payment_methods import check_pm_customer
from sandbox.core import Request, State, StripeError, clone, invalid, missing, register_index, route
from sandbox.core.wire import to_int

Obj = dict[str, Any]
PAYMENT_INTENT = "payment_intent"
FUTURE_USAGE = ("off_session", "on_session")
register_index(PAYMENT_INTENT, "customer")


def _refuse_blocked_account(state: State, pi: Obj, pm: Obj, req: Request | None) -> None:
    """A debit needs the PM's customer, and an account not blocked by an earlier return."""
    check_pm_customer(pm, pi["customer"])
    blocked = dig(pm, "us_bank_account", "status_details", "blocked")
    if blocked:
        error = intents.error_object(
            "payment_method_bank_account_blocked",
            f"This bank account has been blocked from further debits after an ACH return "
            f"({blocked['network_code']}). Collect a new payment method.",
            type="invalid_request_error",
        )
        intents.fail_intent(state, pi, error, req)
        raise StripeError(
            400,
            error["message"],
            code=error["code"],
            param="payment_method",
            extra={"payment_intent": clone(pi)},
        )


def _cancel_debit(state: State, pi: Obj) -> None:
    """A debit still pending is called off; the intent records when it was canceled."""
    if pi["latest_charge"]:
        charge = state.get("charge", pi["latest_charge"])
        if charge["status"] == "pending":
            charge.update(
                status="failed", failure_code=None, failure_message="The payment was canceled."
            )
    pi["canceled_at"] = state.now()


KIND = intents.register(
    intents.Kind(
        object=PAYMENT_INTENT,
        title="PaymentIntent",
        error_field="last_payment_error",
        failed_event="payment_intent.payment_failed",
        payment=True,
        cancel_reasons=("abandoned", "duplicate", "fraudulent", "requested_by_customer"),
        uncancelable=("succeeded", "canceled"),
        cancelable="requires_payment_method, requires_capture, requires_confirmation, "
        "requires_action, processing",
        before_confirm=_refuse_blocked_account,
        when_verified=debit,
        on_cancel=_cancel_debit,
    )
)


MIN_AMOUNT = 50  # Stripe's minimum charge amount in USD cents


def parse_amount(value: Any) -> int:
    if value in (None, ""):
        raise missing("amount")
    amount = to_int(value, "amount")
    if amount < MIN_AMOUNT:
        raise StripeError(
            400, "Amount must be at least $0.50 usd", code="amount_too_small", param="amount"
        )
    if amount > 99_999_999:
        raise StripeError(
            400, "Amount must be no more than $999,999.99", code="amount_too_large", param="amount"
        )
    return amount


def parse_statement_descriptor(value: Any, *, param: str, max_length: int = 22) -> str | None:
    if value in (None, ""):
        return None
    text = str(value)
    if len(text) > max_length or re.search(r"[<>'\"*\\]", text) or not re.search(r"[A-Za-z]", text):
        raise invalid(
            f"The {param} must be at most {max_length} characters, contain at least one letter "
            "and none of < > \\ ' \" *.",
            param=param,
        )
    return text


@route("POST", "/v1/payment_intents")
def create_payment_intent(req: Request, state: State) -> Obj:
    p = req.params
    types = parse_types(p)
    confirm = req.bool("confirm")
    for name in ("off_session", "mandate", "mandate_data"):
        if p.get(name) not in (None, "") and not confirm:
            raise invalid(f"{name} can only be passed together with confirm=true.", param=name)
    sfu = p.get("setup_future_usage")
    pi = objects.payment_intent(
        state,
        amount=parse_amount(p.get("amount")),
        currency=parse_currency(p.get("currency"), types),
        customer=customer_param(state, p.get("customer")),
        description=p.get("description") or None,
        metadata=metadata_update({}, p.get("metadata")),
        payment_method_types=types,
        payment_method_options=parse_us_bank_options(
            p.get("payment_method_options"), types=types, payment=True
        ),
        setup_future_usage=one_of(sfu, FUTURE_USAGE, param="setup_future_usage") if sfu else None,
        statement_descriptor=parse_statement_descriptor(
            p.get("statement_descriptor"), param="statement_descriptor"
        ),
        statement_descriptor_suffix=parse_statement_descriptor(
            p.get("statement_descriptor_suffix"), param="statement_descriptor_suffix"
        ),
        receipt_email=p.get("receipt_email") or None,
    )
    if pi["setup_future_usage"] and not pi["customer"]:
        raise invalid("setup_future_usage requires a customer.", param="customer")
    confirm_params = ("mandate", "mandate_data", "off_session")
    intents.add_created(state, pi, req, confirm_now=confirm, confirm_params=confirm_params)
    return pi


@route("POST", "/v1/payment_intents/{id}")
def update_payment_intent(req: Request, state: State) -> Obj:
    pi = state.get(PAYMENT_INTENT, req.path_args["id"])
    p = req.params
    structural = set(p) - {"metadata", "description", "receipt_email"}
    if structural and pi["status"] not in ("requires_payment_method", "requires_confirmation"):
        raise intents.cannot_update(pi)
    if "metadata" in p:
        pi["metadata"] = metadata_update(pi["metadata"], p["metadata"])
    for name in ("description", "receipt_email"):
        if name in p:
            pi[name] = p[name] or None
    if "payment_method_types" in p or "allowed_payment_method_types" in p:
        pi["payment_method_types"] = parse_types(p)
    if "amount" in p:
        pi["amount"] = parse_amount(p["amount"])
    if "currency" in p:
        pi["currency"] = parse_currency(p["currency"], pi["payment_method_types"])
    if "customer" in p:
        pi["customer"] = customer_param(state, p["customer"])
    if "setup_future_usage" in p:
        sfu = p["setup_future_usage"]
        pi["setup_future_usage"] = (
            one_of(sfu, FUTURE_USAGE, param="setup_future_usage") if sfu else None
        )
    for name in ("statement_descriptor", "statement_descriptor_suffix"):
        if name in p:
            pi[name] = parse_statement_descriptor(p[name], param=name)
    if "payment_method_options" in p:
        update_options(pi, p["payment_method_options"], payment=True)
    intents.take_payment_method(state, pi, p)
    # The pinned SDK: last_payment_error "will be cleared if the PaymentIntent is later updated
    # for any reason"; the failed charge keeps its failure_code and failure_message.
    pi["last_payment_error"] = None
    return pi


@route("GET", "/v1/payment_intents")
def list_payment_intents(req: Request, state: State) -> Obj:
    customer = req.str("customer")
    created = created_bounds(req.params.get("created"))
    view = state.view(PAYMENT_INTENT, where=where(customer=customer), created=created)
    return state.list_response(view, req, "/v1/payment_intents")


@route("GET", "/v1/payment_intents/search")
def search_payment_intents(req: Request, state: State) -> Obj:
    return search.search(
        state, req, "payment_intent", search.PAYMENT_INTENT_FIELDS, "/v1/payment_intents/search"
    )
