"""Mandates (reference §2.8, §3.3, §6.4): the customer's authorization to debit, accepted
online or on paper; a return, a block or a detach makes the payment method's mandates
inactive. Also the ``mandate_data`` an intent was confirmed with, kept until it is used."""

from __future__ import annotations

from typing import Any

from sandbox import objects
from sandbox.api.params import dig, one_of
from sandbox.core import Request, State, clone, missing, register_index, route, to_int

Obj = dict[str, Any]
register_index("mandate", "payment_method")

DEFAULT_ACCEPTANCE: Obj = {
    "type": "online",
    "online": {"ip_address": "127.0.0.1", "user_agent": "Mozilla/5.0 (fcops sandbox)"},
}


def acceptance_at(at: int) -> Obj:
    """The sandbox's own online acceptance, accepted at ``at``."""
    return {**clone(DEFAULT_ACCEPTANCE), "accepted_at": at}


def _accepted(state: State) -> dict[str, Obj]:
    return state.private("mandate_data", dict)  # intent id → customer_acceptance


def remember_acceptance(state: State, intent_id: str, acceptance: Obj) -> None:
    """The ``mandate_data`` an intent was confirmed with (its mandate is made on success)."""
    _accepted(state)[intent_id] = acceptance


def accepted(state: State, intent_id: str) -> Obj | None:
    return _accepted(state).get(intent_id)


def acceptance_from(value: Any, *, param: str, now: int) -> Obj:
    """Validate ``mandate_data`` and return a mandate's ``customer_acceptance``."""
    acceptance = dig(value, "customer_acceptance")
    if not isinstance(acceptance, dict):
        raise missing(f"{param}[customer_acceptance]")
    kind = acceptance.get("type")
    if not kind:
        raise missing(f"{param}[customer_acceptance][type]")
    one_of(kind, ("online", "offline"), param=f"{param}[customer_acceptance][type]")
    accepted_at = acceptance.get("accepted_at")
    result: Obj = {
        "accepted_at": to_int(accepted_at, f"{param}[customer_acceptance][accepted_at]")
        if accepted_at not in (None, "")
        else now,
        "type": kind,
    }
    if kind == "online":
        online = acceptance.get("online")
        for name in ("ip_address", "user_agent"):
            if not dig(online, name):
                raise missing(f"{param}[customer_acceptance][online][{name}]")
        result["online"] = {
            "ip_address": dig(online, "ip_address"),
            "user_agent": dig(online, "user_agent"),
        }
    else:
        result["offline"] = {}
    return result


def create_mandate(state: State, pm: Obj, acceptance: Obj, *, single_use: Obj | None = None) -> Obj:
    fields: Obj = {"customer_acceptance": clone(acceptance)}
    if single_use is not None:
        fields.update(type="single_use", single_use=single_use)
        mandate = objects.mandate(state, payment_method=pm["id"], **fields)
        mandate.pop("multi_use", None)
    else:
        mandate = objects.mandate(state, payment_method=pm["id"], **fields)
    collection = "paper" if acceptance.get("type") == "offline" else None
    mandate["payment_method_details"]["us_bank_account"]["collection_method"] = collection
    return state.add(mandate)


def deactivate_mandates(state: State, pm_id: str, *, at: int | None = None) -> None:
    """§2.8: a return, block or detach makes the PM's mandates inactive (``mandate.updated``,
    dated ``at`` when the demo world replays it)."""
    for mandate in mandates_of(state, pm_id):
        if mandate["status"] == "active":
            mandate["status"] = "inactive"
            state.emit(
                "mandate.updated", mandate, previous_attributes={"status": "active"}, created=at
            )


def mandates_of(state: State, pm_id: str) -> list[Obj]:
    """The payment method's mandates, oldest stored first (from the index, not a scan)."""
    return state.insertion_order(state.view("mandate", where={"payment_method": pm_id}).all())


def active_mandate(state: State, pm_id: str) -> Obj | None:
    """The newest active multi-use mandate of the payment method, if any."""
    for m in state.view("mandate", where={"payment_method": pm_id}).all():
        if m["status"] == "active" and m["type"] == "multi_use":
            return m
    return None


@route("GET", "/v1/mandates/{id}")
def retrieve_mandate(req: Request, state: State) -> Obj:
    return state.get("mandate", req.path_args["id"])
