"""Stripe's own example objects and variants of them built from the pinned SDK's types.

``fixture(name)`` is a fresh copy of Stripe's example from ``../shared/stripe/fixtures-fc.json``
(or FCOPS_STRIPE_FIXTURES). The builders below change only fields the pinned resource types
declare (stripe 16.1.0, ``stripe/financial_connections/_account.py`` and friends), with values
those types allow: shapes Stripe can send and our sandbox never makes (issue 7, §C).
"""

from __future__ import annotations

import copy
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

NOW = 1_800_000_000
DAY = 86_400
ALL_PERMISSIONS = ["balances", "ownership", "payment_method", "transactions"]


def fixtures_path() -> Path:
    configured = os.environ.get("FCOPS_STRIPE_FIXTURES")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "shared" / "stripe" / "fixtures-fc.json"


@cache
def _resources() -> dict[str, Any]:
    path = fixtures_path()
    if not path.exists():
        reason = f"Stripe's example objects not found at {path} (set FCOPS_STRIPE_FIXTURES)"
        if os.environ.get("CI", "").lower() == "true":
            raise RuntimeError(f"{reason}; CI must test against them.")
        pytest.skip(reason, allow_module_level=True)
    resources: dict[str, Any] = json.loads(path.read_text())["resources"]
    return resources


def fixture(name: str) -> dict[str, Any]:
    """A deep copy of Stripe's example ``name`` object (e.g. ``financial_connections.account``)."""
    return copy.deepcopy(_resources()[name])


# --------------------------------------------------------------------------- FC accounts


def refresh(
    status: str, *, attempted: int = NOW - DAY, next_at: int | None = None, id: str | None = None
) -> dict[str, Any]:
    """A ``BalanceRefresh``/``OwnershipRefresh`` (plus ``id`` for a ``TransactionRefresh``)."""
    value: dict[str, Any] = {
        "last_attempted_at": attempted,
        "next_refresh_available_at": next_at,
        "status": status,
    }
    if id is not None:
        value["id"] = id
    return value


def cash_balance(
    *, as_of: int = NOW - 3 * DAY, current: int | None = 100_000, available: int | None = 90_000
) -> dict[str, Any]:
    return {
        "as_of": as_of,
        "type": "cash",
        "current": {"usd": current} if current is not None else {},
        "cash": {"available": {"usd": available} if available is not None else None},
    }


def credit_balance(*, as_of: int = NOW - 3600, used: int = 50_000) -> dict[str, Any]:
    """A credit card's balance: negative ``current`` (owed by the holder), ``credit.used``."""
    return {
        "as_of": as_of,
        "type": "credit",
        "current": {"usd": -used},
        "credit": {"used": {"usd": used}},
    }


def account(id: str = "fca_shape", **fields: Any) -> dict[str, Any]:
    """Stripe's example account with every permission, a usd balance three days old and
    finished refreshes with no waiting time given, then ``fields`` applied on top."""
    base = fixture("financial_connections.account")
    base.update(
        id=id,
        permissions=list(ALL_PERMISSIONS),
        balance=cash_balance(),
        account_holder={"customer": "cus_shape", "type": "customer"},
    )
    base.update(fields)
    return base


def relink_required(expected: int, cause: str = "access_expired") -> dict[str, Any]:
    """``status_details`` of an account Stripe expects to deactivate (dahlia+ and endive)."""
    return {
        "active": {
            "action": "relink_required",
            "cause": cause,
            "expected_deactivation_date": expected,
        }
    }
