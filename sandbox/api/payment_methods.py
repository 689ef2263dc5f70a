"""ACH payment methods (reference §2.7, §6.1): made from a Financial Connections account or
from routing and account numbers, attached to and detached from customers. Stripe never
returns a full account number, nor whether a manual account's microdeposits matched: both are
kept here (the test account number decides a debit's outcome, §7.1)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sandbox import objects
from sandbox.api.institutions import TEST_ROUTING_NUMBER, institution
from sandbox.api.mandates import deactivate_mandates
from sandbox.api.params import dig, metadata_update, one_of, where
from sandbox.core import (
    Request,
    State,
    StripeError,
    clone,
    invalid,
    missing,
    register_index,
    route,
)

Obj = dict[str, Any]
PAYMENT_METHOD = "payment_method"
REDISPLAY = ("always", "limited", "unspecified")
register_index(PAYMENT_METHOD, "customer")


@dataclass
class _PaymentMethods:
    account_numbers: dict[str, str] = field(default_factory=dict)  # pm id → account number
    verified: set[str] = field(default_factory=set)  # manual PMs whose microdeposits matched


def _private(state: State) -> _PaymentMethods:
    return state.private("payment_methods", _PaymentMethods)


def remember_account_number(state: State, pm_id: str, number: str) -> None:
    _private(state).account_numbers[pm_id] = number


def account_number(state: State, pm_id: str) -> str | None:
    """The full number of a manually entered account (None for FC-linked ones)."""
    return _private(state).account_numbers.get(pm_id)


def mark_verified(state: State, pm_id: str) -> None:
    """The manual account's microdeposits matched: it can be debited and saved from now on."""
    _private(state).verified.add(pm_id)


def pm_is_verified(state: State, pm: Obj) -> bool:
    """FC-linked PMs are verified instantly; manual ones once their microdeposits matched."""
    return (
        bool(pm["us_bank_account"]["financial_connections_account"])
        or pm["id"] in _private(state).verified
    )


def billing_details_from(given: Any, *, param: str) -> Obj:
    given = given if isinstance(given, dict) else {}
    address = given.get("address") if isinstance(given.get("address"), dict) else {}
    return {
        "address": objects.address(**{k: address.get(k) for k in objects.address()}),
        "email": given.get("email") or None,
        "name": given.get("name") or None,
        "phone": given.get("phone") or None,
        "tax_id": given.get("tax_id") or None,
    }


def create_payment_method(state: State, data: Any, *, param: str) -> Obj:
    """A ``us_bank_account`` PM from ``payment_method_data`` (FC account or routing+account)."""
    if not isinstance(data, dict):
        raise invalid(f"Invalid hash: {param}", param=param)
    kind = data.get("type")
    if not kind:
        raise missing(f"{param}[type]")
    one_of(kind, ("us_bank_account",), param=f"{param}[type]")
    billing = billing_details_from(data.get("billing_details"), param=f"{param}[billing_details]")
    if not billing["name"]:
        # §2.7: billing_details.name is required to create an ACH payment method.
        raise missing(f"{param}[billing_details][name]")
    uba = data.get("us_bank_account")
    if not isinstance(uba, dict):
        raise missing(f"{param}[us_bank_account]")
    uba_param = f"{param}[us_bank_account]"
    holder_type = uba.get("account_holder_type") or "individual"
    one_of(holder_type, ("individual", "company"), param=f"{uba_param}[account_holder_type]")
    account_type = uba.get("account_type") or "checking"
    one_of(account_type, ("checking", "savings"), param=f"{uba_param}[account_type]")
    if uba.get("financial_connections_account"):
        fca = state.get(
            "financial_connections.account",
            uba["financial_connections_account"],
            param=f"{uba_param}[financial_connections_account]",
        )
        details = details_from_fc_account(state, fca, holder_type=holder_type)
    else:
        details = details_from_numbers(
            uba, param=uba_param, holder_type=holder_type, account_type=account_type
        )
    pm = objects.payment_method(
        state,
        billing_details=billing,
        metadata=metadata_update({}, data.get("metadata")),
        us_bank_account=details,
    )
    if not details["financial_connections_account"]:
        remember_account_number(state, pm["id"], str(uba["account_number"]))
    return state.add(pm)


def details_from_numbers(uba: Obj, *, param: str, holder_type: str, account_type: str) -> Obj:
    routing, number = uba.get("routing_number"), uba.get("account_number")
    if not routing:
        raise missing(f"{param}[routing_number]")
    if not number:
        raise missing(f"{param}[account_number]")
    if not re.fullmatch(r"\d{9}", str(routing)):
        raise invalid("Routing number must have 9 digits.", param=f"{param}[routing_number]")
    if not re.fullmatch(r"\d{4,17}", str(number)):
        raise invalid("Account number must have 4 to 17 digits.", param=f"{param}[account_number]")
    return objects.us_bank_account_details(
        last4=str(number)[-4:],
        routing_number=str(routing),
        bank_name=bank_name_for(str(routing)),
        account_holder_type=holder_type,
        account_type=account_type,
        fingerprint_value=objects.fingerprint(str(routing), str(number)),
    )


def details_from_fc_account(state: State, fca: Obj, *, holder_type: str = "individual") -> Obj:
    """The PM's bank details from an FC account, after the checks Stripe makes (§6.1)."""
    param = "payment_method_data[us_bank_account][financial_connections_account]"
    if "payment_method" not in (fca.get("permissions") or []):
        raise invalid(
            f"The Financial Connections account {fca['id']} was not granted the payment_method "
            "permission, so it cannot be used to create a payment method.",
            param=param,
        )
    if fca.get("status") != "active":
        raise StripeError(
            400,
            f"The Financial Connections account {fca['id']} is {fca.get('status')}.",
            code="financial_connections_account_inactive",
            param=param,
        )
    if "us_bank_account" not in (fca.get("supported_payment_method_types") or []):
        raise invalid(
            f"The Financial Connections account {fca['id']} does not support us_bank_account payments.",
            param=param,
        )
    routing = institution_routing(state, fca.get("institution_name") or "")
    holder = dig(fca, "account_holder", "customer") or ""
    subcategory = fca.get("subcategory")
    return objects.us_bank_account_details(
        last4=fca.get("last4") or "6789",
        routing_number=routing,
        bank_name=str(fca.get("institution_name") or "TEST BANK").upper(),
        financial_connections_account=fca["id"],
        account_holder_type=holder_type,
        account_type=subcategory if subcategory in ("checking", "savings") else "checking",
        fingerprint_value=objects.fingerprint(
            routing, str(fca.get("institution_name")), str(fca.get("last4")), str(holder)
        ),
    )


def bank_name_for(routing_number: str) -> str:
    if routing_number == TEST_ROUTING_NUMBER:
        return "STRIPE TEST BANK"
    return "TEST BANK"


def institution_routing(state: State, name: str) -> str:
    """The routing number of a known bank (unknown banks use the test routing number)."""
    return institution(state, name).routing_number or TEST_ROUTING_NUMBER


def resolve_payment_method(state: State, params: Obj, *, customer: str | None) -> Obj | None:
    """The PM named by ``payment_method`` or created from ``payment_method_data``."""
    if params.get("payment_method") and params.get("payment_method_data"):
        raise StripeError(
            400,
            "You may only specify one of these parameters: payment_method, payment_method_data.",
            code="parameters_exclusive",
            param="payment_method_data",
        )
    if params.get("payment_method"):
        pm = state.get(PAYMENT_METHOD, str(params["payment_method"]), param="payment_method")
        check_pm_customer(pm, customer)
        return pm
    if params.get("payment_method_data"):
        return create_payment_method(
            state, params["payment_method_data"], param="payment_method_data"
        )
    return None


def check_pm_customer(pm: Obj, customer: str | None) -> None:
    if pm["customer"] and pm["customer"] != customer:
        if customer is None:
            message = (
                f"The provided PaymentMethod {pm['id']} belongs to a Customer; please include the "
                "Customer in the customer parameter."
            )
        else:
            message = (
                f"The provided PaymentMethod {pm['id']} does not belong to Customer {customer}."
            )
        raise invalid(message, param="payment_method")


def attach(
    state: State, pm: Obj, customer: str, req: Request | None = None, *, at: int | None = None
) -> None:
    """Attach ``pm`` to ``customer`` (``payment_method.attached``, dated ``at`` in the demo)."""
    if pm["customer"] == customer:
        return
    pm["customer"] = customer
    state.emit("payment_method.attached", pm, request=req, created=at)


@route("POST", "/v1/payment_methods")
def create_payment_method_route(req: Request, state: State) -> Obj:
    if req.params.get("customer"):
        raise invalid(
            "Create the PaymentMethod first, then attach it with /v1/payment_methods/{id}/attach.",
            param="customer",
        )
    pm = create_payment_method(state, req.params, param="payment_method")
    if req.params.get("allow_redisplay"):
        pm["allow_redisplay"] = one_of(
            req.params["allow_redisplay"], REDISPLAY, param="allow_redisplay"
        )
    return pm


@route("GET", "/v1/payment_methods/{id}")
def retrieve_payment_method(req: Request, state: State) -> Obj:
    return state.get(PAYMENT_METHOD, req.path_args["id"])


@route("POST", "/v1/payment_methods/{id}")
def update_payment_method(req: Request, state: State) -> Obj:
    pm = state.get(PAYMENT_METHOD, req.path_args["id"])
    previous: Obj = {}
    if "metadata" in req.params:
        previous["metadata"] = dict(pm["metadata"])
        pm["metadata"] = metadata_update(pm["metadata"], req.params["metadata"])
    if "billing_details" in req.params:
        previous["billing_details"] = clone(pm["billing_details"])
        merged = {
            **pm["billing_details"],
            **{k: v for k, v in req.dict("billing_details").items() if k != "address"},
        }
        address = req.dict("billing_details").get("address")
        if isinstance(address, dict):
            merged["address"] = {**pm["billing_details"]["address"], **address}
        pm["billing_details"] = merged
    if "allow_redisplay" in req.params:
        previous["allow_redisplay"] = pm["allow_redisplay"]
        pm["allow_redisplay"] = one_of(
            req.params["allow_redisplay"], REDISPLAY, param="allow_redisplay"
        )
    if previous:
        state.emit("payment_method.updated", pm, previous_attributes=previous, request=req)
    return pm


@route("GET", "/v1/payment_methods")
def list_payment_methods(req: Request, state: State) -> Obj:
    customer, kind = req.str("customer"), req.str("type")
    if customer:
        state.get("customer", customer, param="customer")
    keep = None if kind is None else (lambda pm: pm["type"] == kind)
    view = state.view(PAYMENT_METHOD, where=where(customer=customer), keep=keep)
    return state.list_response(view, req, "/v1/payment_methods")


@route("GET", "/v1/customers/{id}/payment_methods")
def list_customer_payment_methods(req: Request, state: State) -> Obj:
    customer = state.get("customer", req.path_args["id"])
    kind = req.str("type")
    keep = None if kind is None else (lambda pm: pm["type"] == kind)
    view = state.view(PAYMENT_METHOD, where={"customer": customer["id"]}, keep=keep)
    return state.list_response(view, req, f"/v1/customers/{customer['id']}/payment_methods")


@route("GET", "/v1/customers/{id}/payment_methods/{pm}")
def retrieve_customer_payment_method(req: Request, state: State) -> Obj:
    customer = state.get("customer", req.path_args["id"])
    pm = state.get(PAYMENT_METHOD, req.path_args["pm"], param="payment_method")
    if pm["customer"] != customer["id"]:
        raise StripeError(
            404,
            f"No such PaymentMethod: '{pm['id']}' for customer '{customer['id']}'",
            code="resource_missing",
            param="payment_method",
        )
    return pm


@route("POST", "/v1/payment_methods/{id}/attach")
def attach_payment_method(req: Request, state: State) -> Obj:
    pm = state.get(PAYMENT_METHOD, req.path_args["id"])
    customer = req.str("customer")
    if not customer:
        raise missing("customer")
    state.get("customer", customer, param="customer")
    if pm["customer"] and pm["customer"] != customer:
        raise invalid(
            f"The payment method you provided has already been attached to a customer ({pm['customer']}).",
            param="customer",
        )
    if (
        pm["us_bank_account"]["financial_connections_account"] is None
        and pm["id"] not in _private(state).verified
    ):
        # Stripe only lets a verified bank account be saved; unverified ones go through an intent.
        raise invalid(
            "This us_bank_account PaymentMethod must be verified before it can be attached. "
            "Use a SetupIntent to verify it (instantly or with microdeposits).",
            param="payment_method",
        )
    attach(state, pm, customer, req)
    return pm


@route("POST", "/v1/payment_methods/{id}/detach")
def detach_payment_method(req: Request, state: State) -> Obj:
    pm = state.get(PAYMENT_METHOD, req.path_args["id"])
    if not pm["customer"]:
        raise invalid(
            "The payment method you provided is not attached to a customer so detachment is impossible.",
            param="payment_method",
        )
    previous = {"customer": pm["customer"]}
    pm["customer"] = None
    state.emit("payment_method.detached", pm, previous_attributes=previous, request=req)
    # §6.4: revoking authorization = detach; later debits on the old mandate fail.
    deactivate_mandates(state, pm["id"])
    return pm
