"""SetupIntents (reference §2.5, §3.2): save a bank account for later debits. Confirming with a
verified account succeeds at once: the payment method is attached to the customer and a
multi-use mandate made; a manually entered account waits for its microdeposits. The state
machine itself is shared with PaymentIntents (``sandbox.api.intents``)."""

from __future__ import annotations

from typing import Any

from sandbox import objects
from sandbox.api import intents
from sandbox.api.customers import customer_param
from sandbox.api.mandates import acceptance_at, accepted, create_mandate
from sandbox.api.microdeposits import forget
from sandbox.api.params import created_bounds, metadata_update, one_of, where
from sandbox.api.payment_method_options import parse_types, parse_us_bank_options, update_options
from sandbox.api.payment_methods import attach
from sandbox.core import Request, State, invalid, register_index, route

Obj = dict[str, Any]
SETUP_INTENT = "setup_intent"
register_index(SETUP_INTENT, "customer")
register_index(SETUP_INTENT, "payment_method")
# Changing any of these is refused once the intent has succeeded, been canceled or processes.
PAYMENT_METHOD_PARAMS = (
    "payment_method",
    "payment_method_data",
    "payment_method_options",
    "payment_method_types",
    "allowed_payment_method_types",
)


def _start_attempt(state: State, si: Obj, pm: Obj, req: Request | None) -> None:
    """Confirming needs the customer's mandate acceptance and starts a setup attempt."""
    intents.require_acceptance(state, si)
    attempt = state.add(objects.setup_attempt(state, si, pm, status="requires_confirmation"))
    si["latest_attempt"] = attempt["id"]


def succeed(state: State, si: Obj, pm: Obj, params: Obj, req: Request | None) -> None:
    """The bank account is verified: attach it, make the mandate, ``setup_intent.succeeded``."""
    acceptance = accepted(state, si["id"]) or acceptance_at(state.now())
    previous = {"status": si["status"]}
    intents.next_generation(state, si)
    if si["customer"]:
        attach(state, pm, si["customer"], req)
    mandate = create_mandate(state, pm, acceptance)
    si.update(
        status="succeeded",
        mandate=mandate["id"],
        next_action=None,
        last_setup_error=None,
        payment_method=pm["id"],
    )
    intents.set_attempt_status(state, si, "succeeded")
    forget(state, si["id"])
    state.emit("setup_intent.succeeded", si, previous_attributes=previous, request=req)


KIND = intents.register(
    intents.Kind(
        object=SETUP_INTENT,
        title="SetupIntent",
        error_field="last_setup_error",
        failed_event="setup_intent.setup_failed",
        payment=False,
        cancel_reasons=("abandoned", "duplicate", "requested_by_customer"),
        uncancelable=("succeeded", "canceled", "processing"),
        cancelable="requires_payment_method, requires_confirmation, requires_action",
        before_confirm=_start_attempt,
        when_verified=succeed,
        on_cancel=lambda state, si: None,
    )
)


@route("POST", "/v1/setup_intents")
def create_setup_intent(req: Request, state: State) -> Obj:
    p = req.params
    types = parse_types(p)
    confirm = req.bool("confirm")
    if not confirm and p.get("mandate_data") not in (None, ""):
        raise invalid(
            "mandate_data can only be passed together with confirm=true.", param="mandate_data"
        )
    si = objects.setup_intent(
        state,
        customer=customer_param(state, p.get("customer")),
        description=p.get("description") or None,
        metadata=metadata_update({}, p.get("metadata")),
        payment_method_types=types,
        payment_method_options=parse_us_bank_options(p.get("payment_method_options"), types=types),
        usage=one_of(p.get("usage") or "off_session", ("off_session", "on_session"), param="usage"),
    )
    intents.add_created(state, si, req, confirm_now=confirm, confirm_params=("mandate_data",))
    return si


@route("POST", "/v1/setup_intents/{id}")
def update_setup_intent(req: Request, state: State) -> Obj:
    si = state.get(SETUP_INTENT, req.path_args["id"])
    p = req.params
    changes_pm = any(k in p for k in PAYMENT_METHOD_PARAMS)
    if changes_pm and si["status"] in ("succeeded", "canceled", "processing"):
        raise intents.cannot_update(si)
    if "customer" in p:
        if si["customer"] and p["customer"] != si["customer"]:
            raise invalid("A SetupIntent's customer cannot be changed once set.", param="customer")
        si["customer"] = customer_param(state, p["customer"])
    if "description" in p:
        si["description"] = p["description"] or None
    if "metadata" in p:
        si["metadata"] = metadata_update(si["metadata"], p["metadata"])
    types_changed = "payment_method_types" in p or "allowed_payment_method_types" in p
    if types_changed:
        si["payment_method_types"] = parse_types(p)
    if "payment_method_options" in p or types_changed:
        update_options(si, p.get("payment_method_options"), payment=False)
    intents.take_payment_method(state, si, p)
    return si


@route("GET", "/v1/setup_intents")
def list_setup_intents(req: Request, state: State) -> Obj:
    customer, pm = req.str("customer"), req.str("payment_method")
    created = created_bounds(req.params.get("created"))
    view = state.view(
        SETUP_INTENT, where=where(customer=customer, payment_method=pm), created=created
    )
    return state.list_response(view, req, "/v1/setup_intents")
