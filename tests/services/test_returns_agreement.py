"""The numbers finance sees on Returns agree with a count made straight from the sandbox.

The product reads Stripe's events and expanded PaymentIntents through the SDK into its outcome
mirror and computes the rates from there. This test reads none of that: it walks the sandbox's
own objects (every PaymentIntent, its charge and the payment method the charge used), decides
from them which were ACH debits, which came back and with which Nacha code (the block's
network code, or R01 for insufficient funds), and counts per category and per verification
method with its own small table of Nacha's categories, and per outcome for the "Did our check
work?" table (settled, pending, back R01/R09, back with another code).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from services.auth import Actor
from services.context import Services
from services.usecases import check_review, debit_outcomes, returns_report

DAY = 86_400
UNAUTHORIZED = {"R05", "R07", "R10", "R11", "R29", "R51"}
ADMINISTRATIVE = {"R02", "R03", "R04"}


@pytest.fixture(scope="module")
def world() -> Iterator[Any]:
    from sandbox.server import start_background

    handle = start_background(port=0, seed=42, customers=200, refresh_delay=0)
    yield handle
    handle.stop()


def sandbox_count(state: Any, *, now: int, window_days: int = 60) -> dict[str, Counter[str]]:
    """Debits and returns per category, overall and per verification method, from the sandbox's
    own objects."""
    counts: dict[str, Counter[str]] = {}
    for pi in state.find("payment_intent"):
        charge = state.lookup(pi.get("latest_charge") or "")
        if charge is None or charge["payment_method_details"].get("type") != "us_bank_account":
            continue
        if not now - window_days * DAY <= pi["created"] <= now:
            continue
        if pi["status"] == "succeeded" or pi["status"] == "processing":
            code = None
            outcome = "settled" if pi["status"] == "succeeded" else "pending"
        elif charge["status"] == "failed":
            pm = state.lookup(charge["payment_method"]) or {}
            blocked = ((pm.get("us_bank_account") or {}).get("status_details") or {}).get("blocked")
            if blocked:
                code = blocked["network_code"]
            elif charge["failure_code"] == "insufficient_funds":
                code = "R01"
            else:
                continue  # refused by the bank without an ACH return: no debit
            outcome = "returned R01/R09" if code in {"R01", "R09"} else "returned, other code"
        else:
            continue
        method = pi["payment_method_options"]["us_bank_account"]["verification_method"]
        for group in ("all", method):
            tally = counts.setdefault(group, Counter())
            tally["debits"] += 1
            tally[outcome] += 1
            if code is not None:
                tally["overall"] += 1
                tally["unauthorized"] += code in UNAUTHORIZED
                tally["administrative"] += code in ADMINISTRATIVE
    return counts


def test_finance_sees_the_rates_and_counts_the_sandbox_itself_holds(
    world: Any, sqlite_engine: Engine, finance: Actor
) -> None:
    from bootstrap import SANDBOX_KEY
    from services.adapters.gateway import StripeGateway

    gateway = StripeGateway(SANDBOX_KEY, base_url=world.base_url, max_network_retries=0)
    svc = Services(gateway=gateway, engine=sqlite_engine, mode="sandbox", now=world.state.now)
    for _ in range(3):  # a debit the bank answers mid-read would change both: read again
        with world.state.lock:
            before = sandbox_count(world.state, now=svc.now())
        debit_outcomes.sync_outcomes(svc, finance)
        seen = returns_report.report(svc, finance, window_days=60)
        review = check_review.review(svc, finance, window_days=60)
        with world.state.lock:
            truth = sandbox_count(world.state, now=svc.now())
        if truth == before:
            break

    assert truth["all"]["debits"] > 50 and truth["all"]["overall"] > 0  # a world worth checking
    for rec in seen.rates.to_dict("records"):
        assert rec["debits"] == truth["all"]["debits"]
        assert rec["returns"] == truth["all"][rec["category"]], rec["category"]
        assert rec["rate"] == pytest.approx(rec["returns"] / rec["debits"])

    by_method = seen.breakdowns["verification_method"].to_dict("records")
    assert {r["verification_method"] for r in by_method} == set(truth) - {"all"}
    for rec in by_method:
        expected = truth[rec["verification_method"]]
        assert rec["debits"] == expected["debits"], rec["verification_method"]
        for category in ("unauthorized", "administrative", "overall"):
            assert rec[f"{category}_returns"] == expected[category], (rec, category)

    # "Did our check work?": every debit in one verdict row, each outcome column as counted.
    assert review.debits == truth["all"]["debits"] == int(review.table["debits"].sum())
    for outcome in ("settled", "pending", "returned R01/R09", "returned, other code"):
        assert int(review.table[outcome].sum()) == truth["all"][outcome], outcome
