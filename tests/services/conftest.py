"""Fixtures the service tests share.

``box``/``gw``/``sim``/``svc``: a private sandbox for one test module (its own clock, so
advancing it disturbs nobody), the gateway and simulator on it, and ``Services`` on a fresh
SQLite store with the sandbox clock as its ``now``. A module picks the sandbox's seed and
refresh cooldown by overriding ``box_options`` (module scope).

Helpers, imported by the tests that use them: ``new_key``, ``audit_rows`` (an action's rows
under one idempotency key), ``linked_account`` (a customer's freshly linked FC account) and
``fault_before`` (a fault forced right before one gateway call's own POST).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlmodel import select

from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.context import Services


@pytest.fixture(scope="module")
def box_options() -> dict[str, Any]:
    """How the module's private sandbox starts (``start_background``'s keywords)."""
    return {"seed": 3, "refresh_cooldown": 60}


@pytest.fixture(scope="module")
def box(box_options: dict[str, Any]) -> Iterator[Any]:
    from sandbox.server import start_background

    handle = start_background(port=0, customers=0, refresh_delay=0, **box_options)
    yield handle
    handle.stop()


@pytest.fixture
def gw(box: Any) -> Any:
    from bootstrap import SANDBOX_KEY
    from services.adapters.gateway import StripeGateway

    return StripeGateway(SANDBOX_KEY, base_url=box.base_url, max_network_retries=0)


@pytest.fixture
def sim(box: Any) -> Any:
    from sandbox.client import Simulator

    return Simulator(box.base_url)


@pytest.fixture
def svc(gw: Any, sqlite_engine: Any, box: Any) -> Services:
    # The sandbox clock is the truth for `as_of` and `next_refresh_available_at`.
    return Services(gateway=gw, engine=sqlite_engine, mode="sandbox", now=box.state.now)


def new_key() -> str:
    """A fresh idempotency key."""
    return f"test-{secrets.token_hex(8)}"


def audit_rows(svc: Services, action: str, key: str) -> list[AuditEntry]:
    """The audit rows ``action`` wrote under the idempotency key ``key``."""
    with session_scope(svc.engine) as session:
        stmt = select(AuditEntry).where(
            AuditEntry.action == action, AuditEntry.idempotency_key == key
        )
        return list(session.exec(stmt).all())


def linked_account(gateway: Any, simulator: Any, prefix: str = "u") -> str:
    """A new customer's one FC account at StripeBank, linked with every permission."""
    customer = gateway.create_customer(
        {"email": f"{prefix}-{secrets.token_hex(4)}@example.com"}, idempotency_key=None
    )
    session = gateway.create_fc_session(
        {
            "account_holder": {"type": "customer", "customer": customer["id"]},
            "permissions": ["balances", "ownership", "transactions", "payment_method"],
        },
        idempotency_key=None,
    )
    simulator.complete_session(session["id"], institution="StripeBank", accounts=1)
    [account] = gateway.list_accounts(session=session["id"])
    return str(account["id"])


def fault_before(
    svc: Services, simulator: Any, method: str, mode: str, *, times: int | None = None
) -> list[int]:
    """The next call of ``gateway.<method>`` meets the fault ``mode`` (a 429 past the retries);
    the reads before it answer normally. ``times``: the requests that meet it, the call's and
    those right after it (2: the read back after a 500 fails too). Returns the calls made
    (non-empty once it ran)."""
    original: Callable[..., Any] = getattr(svc.gateway, method)
    calls: list[int] = []
    if times is None:
        times = svc.gateway.backoff.retries + 1 if mode == "429" else 1

    def faulted(*args: Any, **kwargs: Any) -> Any:
        if not calls:
            simulator.force_faults(mode, times)
        calls.append(1)
        return original(*args, **kwargs)

    setattr(svc.gateway, method, faulted)
    return calls
