"""The banks the sandbox knows and how each behaves (Stripe's test institutions, §7, plus the
demo world's banks). Stripe never returns this table; ``GET /_sandbox/institutions`` shows it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sandbox.core import Request, State, route

Obj = dict[str, Any]
TEST_ROUTING_NUMBER = "110000000"


@dataclass
class Institution:
    name: str
    routing_number: str
    refresh_fails: bool = False  # every refresh at this bank ends `failed`
    link_fails: bool = False  # linking at this bank fails (Down Bank)
    supports_payments: bool = True  # False: supported_payment_method_types == []


DEFAULT_INSTITUTIONS = [
    Institution("StripeBank", TEST_ROUTING_NUMBER),
    Institution("Test Institution", TEST_ROUTING_NUMBER),
    Institution("Test OAuth Institution", TEST_ROUTING_NUMBER),
    Institution("Ownership Accounts", TEST_ROUTING_NUMBER),
    Institution("Sandbox Bank (OAuth)", TEST_ROUTING_NUMBER),
    Institution("Sandbox Bank (Non-OAuth)", TEST_ROUTING_NUMBER),
    Institution("Invalid Payment Accounts", TEST_ROUTING_NUMBER, supports_payments=False),
    Institution("Down Bank (Scheduled)", TEST_ROUTING_NUMBER, link_fails=True),
    Institution("Down Bank (Unscheduled)", TEST_ROUTING_NUMBER, link_fails=True),
    Institution("Down Bank (Error)", TEST_ROUTING_NUMBER, link_fails=True),
    # sandbox-only: links fine, every data refresh ends `failed` (for testing failure paths)
    Institution("Refresh Errors Bank", TEST_ROUTING_NUMBER, refresh_fails=True),
]


def _known(state: State) -> dict[str, Institution]:
    return state.private("institutions", dict)


def install_default_institutions(state: State) -> None:
    install_institutions(state, DEFAULT_INSTITUTIONS)


def install_institutions(state: State, institutions: Iterable[Institution]) -> None:
    """Add (or replace by name) the banks the sandbox knows and how each behaves."""
    known = _known(state)
    for inst in institutions:
        known[inst.name] = inst


def institution(state: State, name: str) -> Institution:
    """The bank called ``name``; unknown names behave like a plain working bank."""
    return _known(state).get(name) or Institution(name, TEST_ROUTING_NUMBER)


@route("GET", "/_sandbox/institutions")
def institutions_hook(req: Request, state: State) -> Obj:
    return {
        "object": "list",
        "data": [
            {
                "name": b.name,
                "routing_number": b.routing_number,
                "refresh_fails": b.refresh_fails,
                "link_fails": b.link_fails,
                "supports_payments": b.supports_payments,
            }
            for b in _known(state).values()
        ],
    }
