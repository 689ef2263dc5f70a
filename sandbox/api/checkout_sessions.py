"""Checkout Sessions (reference §2.10, §5.1): a hosted page that collects a bank account for
a SetupIntent (``mode=setup``) or a PaymentIntent (``mode=payment``). ACH is a delayed
notification method: a completed session learns the debit's outcome later
(``checkout.session.async_payment_succeeded|failed``)."""

from __future__ import annotations

from typing import Any

from sandbox import objects
from sandbox.api.customers import customer_param
from sandbox.api.intents import cancel, checkout_made
from sandbox.api.params import created_bounds, dig, metadata_update, one_of, where
from sandbox.api.payment_method_options import parse_currency, parse_types, parse_us_bank_options
from sandbox.core import Request, State, clone, invalid, missing, register_index, route, to_int

Obj = dict[str, Any]
SESSION = "checkout.session"
UI_MODES = ("hosted_page", "embedded_page", "elements", "form", "hosted", "embedded", "custom")
OPEN_INTENT = ("requires_payment_method", "requires_confirmation", "requires_action")
register_index(SESSION, "customer")
register_index(SESSION, "payment_intent")


def session_of(state: State, intent: Obj) -> Obj | None:
    """The Checkout Session that made ``intent``, if one did."""
    session_id = checkout_made(state).get(intent["id"])
    return state.lookup(session_id) if session_id else None


def checkout_line_items(value: Any) -> tuple[int, str]:
    """``line_items[i][price_data][unit_amount|currency|product_data][name]`` → (total, currency)."""
    if not isinstance(value, list) or not value:
        raise missing("line_items")
    total, currencies = 0, set()
    for i, item in enumerate(value):
        param = f"line_items[{i}]"
        if not isinstance(item, dict):
            raise invalid(f"Invalid hash: {param}", param=param)
        if item.get("price"):
            raise invalid(
                "The sandbox has no Prices; use price_data instead.", param=f"{param}[price]"
            )
        price = item.get("price_data")
        if not isinstance(price, dict):
            raise missing(f"{param}[price_data]")
        for name in ("currency", "unit_amount"):
            if price.get(name) in (None, ""):
                raise missing(f"{param}[price_data][{name}]")
        if not dig(price, "product_data", "name"):
            raise missing(f"{param}[price_data][product_data][name]")
        quantity = to_int(item.get("quantity") or "1", f"{param}[quantity]")
        total += to_int(price["unit_amount"], f"{param}[price_data][unit_amount]") * quantity
        currencies.add(str(price["currency"]).lower())
    if len(currencies) > 1:
        raise invalid("All line items must use the same currency.", param="line_items")
    return total, currencies.pop()


@route("POST", "/v1/checkout/sessions")
def create_checkout_session(req: Request, state: State) -> Obj:
    p = req.params
    mode = p.get("mode")
    if not mode:
        raise missing("mode")
    one_of(mode, ("payment", "setup"), param="mode")
    ui_mode = p.get("ui_mode") or "hosted_page"
    one_of(ui_mode, UI_MODES, param="ui_mode")
    if ui_mode in ("hosted_page", "hosted") and not p.get("success_url"):
        raise missing("success_url")
    types = parse_types(p)
    options = parse_us_bank_options(
        p.get("payment_method_options"), types=types, methods=("automatic", "instant")
    )
    for opts in options.values():
        opts.pop("mandate_options", None)
    customer = customer_param(state, p.get("customer"))
    amount, currency = (None, None)
    if mode == "payment":
        amount, currency = checkout_line_items(p.get("line_items"))
        parse_currency(currency, types)
    elif p.get("currency"):
        currency = parse_currency(p["currency"], types)
    elif not p.get("allowed_payment_method_types"):
        # The pinned SDK's SessionCreateParams.currency: "Required in `setup` mode when
        # `allowed_payment_method_types` is not set."
        raise missing("currency")
    now = state.now()
    expires_at = to_int(p["expires_at"], "expires_at") if p.get("expires_at") else now + 24 * 3600
    if not now + 1800 <= expires_at <= now + 24 * 3600:
        raise invalid(
            "expires_at must be between 30 minutes and 24 hours from now.", param="expires_at"
        )
    session = objects.checkout_session(
        state,
        mode=mode,
        success_url=p.get("success_url"),
        cancel_url=p.get("cancel_url"),
        customer=customer,
        customer_email=p.get("customer_email") or None,
        currency=currency,
        amount_subtotal=amount,
        amount_total=amount,
        payment_method_types=types,
        payment_method_options=options,
        metadata=metadata_update({}, p.get("metadata")),
        client_reference_id=p.get("client_reference_id") or None,
        expires_at=expires_at,
        ui_mode=ui_mode,
    )
    intent_options = clone(options)
    # `payment_intent_data` / `setup_intent_data`: the intent Checkout creates carries their
    # metadata and description (Stripe: "A subset of parameters to be passed to … creation").
    data = p.get("payment_intent_data" if mode == "payment" else "setup_intent_data")
    data = data if isinstance(data, dict) else {}
    intent_extra = {
        "metadata": metadata_update({}, data.get("metadata")),
        "description": data.get("description") or None,
    }
    if mode == "payment":
        intent = objects.payment_intent(
            state,
            amount=amount or 0,
            currency=currency or "usd",
            customer=customer,
            payment_method_types=types,
            payment_method_options=intent_options,
            setup_future_usage=dig(p, "payment_intent_data", "setup_future_usage") or None,
            **intent_extra,
        )
        session["payment_intent"] = intent["id"]
    else:
        intent = objects.setup_intent(
            state,
            customer=customer,
            payment_method_types=types,
            payment_method_options=intent_options,
            **intent_extra,
        )
        session["setup_intent"] = intent["id"]
    for opts in intent_options.values():
        opts.setdefault("mandate_options", {})
    state.add(intent)
    state.emit(f"{intent['object']}.created", intent, request=req)
    checkout_made(state)[intent["id"]] = session["id"]
    state.add(session)
    session_id = session["id"]
    state.schedule(expires_at - now, lambda: expire_on_time(state, session_id))
    return session


@route("GET", "/v1/checkout/sessions/{id}")
def retrieve_checkout_session(req: Request, state: State) -> Obj:
    return state.get(SESSION, req.path_args["id"])


@route("GET", "/v1/checkout/sessions")
def list_checkout_sessions(req: Request, state: State) -> Obj:
    # No `setup_intent` filter: Stripe's list has none (SessionListParams); the spec check
    # refuses it as parameter_unknown before this runs.
    filters = {k: req.str(k) for k in ("customer", "payment_intent", "status")}
    created = created_bounds(req.params.get("created"))
    status = filters.pop("status")
    keep = None if status is None else (lambda s: s.get("status") == status)
    view = state.view(SESSION, where=where(**filters), created=created, keep=keep)
    return state.list_response(view, req, "/v1/checkout/sessions")


@route("POST", "/v1/checkout/sessions/{id}/expire")
def expire_checkout_session(req: Request, state: State) -> Obj:
    session = state.get(SESSION, req.path_args["id"])
    if session["status"] != "open":
        raise invalid(
            f"Only Checkout Sessions with a status of open can be expired; this one is {session['status']}.",
            param="session",
        )
    expire(state, session, req)
    return session


def expire_on_time(state: State, session_id: str) -> None:
    """Timed expiry at ``expires_at`` (Stripe's "Manage limited inventory": "Checkout supports
    both manual and timed session expiration. When a Checkout Session expires, its status
    property changes to expired." and "Stripe sends the checkout.session.expired event"); a
    session the customer completed, or someone expired, first is left alone."""
    session = state.lookup(session_id)
    if session is not None and session["status"] == "open":
        expire(state, session, None)


def expire(state: State, session: Obj, req: Request | None) -> None:
    """``open`` → ``expired``: no ``url`` any more, its open intent canceled (as the expire
    endpoint does, by hand or on time), ``checkout.session.expired``."""
    session.update(status="expired", url=None)
    for field_name in ("payment_intent", "setup_intent"):
        intent = state.lookup(session[field_name]) if session[field_name] else None
        if intent and intent["status"] in OPEN_INTENT:
            cancel(state, intent, "abandoned", req)
    state.emit(
        "checkout.session.expired", session, previous_attributes={"status": "open"}, request=req
    )


def checkout_async(state: State, pi: Obj, *, succeeded: bool) -> None:
    """ACH is delayed-notification: Checkout reports the outcome with ``async_payment_*`` (§5.1)."""
    session = session_of(state, pi)
    if session is None or session["status"] != "complete":
        return
    if succeeded:
        session["payment_status"] = "paid"
        state.emit(
            "checkout.session.async_payment_succeeded",
            session,
            previous_attributes={"payment_status": "unpaid"},
        )
    else:
        state.emit("checkout.session.async_payment_failed", session)


def complete_checkout(state: State, intent: Obj) -> None:
    """Called by the hooks once the customer finished the Checkout page for ``intent``."""
    session = session_of(state, intent)
    if session is None or session["status"] != "open":
        return
    customer = state.lookup(intent["customer"]) if intent["customer"] else None
    session.update(status="complete", url=None)
    if customer is not None:
        session["customer_details"] = {
            "address": clone(customer.get("address")) or objects.address(),
            "business_name": None,
            "email": customer.get("email"),
            "individual_name": None,
            "name": customer.get("name"),
            "phone": customer.get("phone"),
            "tax_exempt": "none",
            "tax_ids": [],
        }
    if intent["object"] == "payment_intent" and intent["status"] == "succeeded":
        session["payment_status"] = "paid"
    state.emit("checkout.session.completed", session, previous_attributes={"status": "open"})
