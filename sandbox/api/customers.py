"""Customers (reference §2.9, §3.1): create, retrieve (a deleted one answers ``deleted: true``),
update with ``customer.updated``'s ``previous_attributes``, delete, list and search."""

from __future__ import annotations

from typing import Any

from sandbox import objects
from sandbox.api import search
from sandbox.api.params import created_bounds, metadata_update
from sandbox.core import Request, State, clone, register_index, route, to_int

Obj = dict[str, Any]
register_index("customer", "email")

CUSTOMER_FIELDS = (
    "address",
    "balance",
    "description",
    "email",
    "invoice_settings",
    "metadata",
    "name",
    "phone",
    "preferred_locales",
    "shipping",
    "tax_exempt",
)


def customer_param(state: State, value: Any) -> str | None:
    """The id of the customer a ``customer`` parameter names (404 when there is none)."""
    if value in (None, ""):
        return None
    return str(state.get("customer", str(value), param="customer")["id"])


def _customer_fields(req: Request) -> Obj:
    out: Obj = {}
    for name in CUSTOMER_FIELDS:
        if not req.has(name):
            continue
        value = req.params[name]
        if name == "balance":
            value = to_int(value, name)
        elif name == "address" and isinstance(value, dict):
            value = objects.address(**value)  # Stripe answers every address line, null if unset
        elif name == "shipping" and isinstance(value, dict):
            value = {
                **dict.fromkeys(("carrier", "name", "phone", "tracking_number")),
                **value,
                "address": objects.address(**(value.get("address") or {})),
            }
        elif name == "metadata":
            continue
        elif name == "preferred_locales":
            value = req.list(name)
        elif name == "invoice_settings":
            value = {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
                **req.dict(name),
            }
        elif value == "":
            value = None
        out[name] = value
    return out


@route("POST", "/v1/customers")
def create_customer(req: Request, state: State) -> Obj:
    cus = objects.customer(state, **_customer_fields(req))
    cus["metadata"] = metadata_update(cus["metadata"], req.params.get("metadata"))
    pm = req.str("payment_method")
    if pm:
        method = state.get("payment_method", pm, param="payment_method")
        method["customer"] = cus["id"]
        state.reindex(method)
    state.add(cus)
    state.emit("customer.created", cus, request=req)
    return cus


@route("GET", "/v1/customers/search")
def search_customers(req: Request, state: State) -> Obj:
    return search.search(state, req, "customer", search.CUSTOMER_FIELDS, "/v1/customers/search")


@route("GET", "/v1/customers/{id}")
def retrieve_customer(req: Request, state: State) -> Obj:
    """A deleted customer is still found: ``200 {id, object, deleted: true}`` (§2.9)."""
    cid = req.path_args["id"]
    if state.lookup(cid) is None and cid in _deleted_customers(state):
        return objects.deleted_customer(cid)
    return state.get("customer", cid)


def _deleted_customers(state: State) -> set[str]:
    return state.private("deleted_customers", set)


@route("POST", "/v1/customers/{id}")
def update_customer(req: Request, state: State) -> Obj:
    cus = state.get("customer", req.path_args["id"])
    before = clone(cus)
    fields = _customer_fields(req)
    fields["metadata"] = metadata_update(cus["metadata"], req.params.get("metadata"))
    cus.update(fields)
    previous = {k: before[k] for k in cus if before.get(k) != cus.get(k)}
    if previous:
        state.emit("customer.updated", cus, previous_attributes=previous, request=req)
    return cus


@route("DELETE", "/v1/customers/{id}")
def delete_customer(req: Request, state: State) -> Obj:
    cus = state.get("customer", req.path_args["id"])
    state.remove(cus)
    _deleted_customers(state).add(cus["id"])
    state.emit("customer.deleted", cus, request=req)
    return objects.deleted_customer(cus["id"])


@route("GET", "/v1/customers")
def list_customers(req: Request, state: State) -> Obj:
    email = req.str("email")
    where = None if email is None else {"email": email}  # exact, case-sensitive
    view = state.view("customer", where=where, created=created_bounds(req.params.get("created")))
    return state.list_response(view, req, "/v1/customers")
