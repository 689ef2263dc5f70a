"""Every pre-debit verdict is kept (single check, batch row) for "Did our check work?"; the demo
world seeds its past checks, deterministic per seed, joined with its debits' outcomes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from services.adapters import check_history
from services.auth import Actor
from services.context import Services
from services.rules.debit import DebitPolicy
from services.rules.debit_csv import parse_debits_csv
from services.usecases import check_batch, check_debit, check_review, debit_outcomes
from tests.services.test_debits import customer, link, set_balance


def test_a_single_check_keeps_its_verdict_with_the_balance_and_the_policy(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    fca = link(gw, sim, customer(gw))
    set_balance(box, fca, available=12_000, current=12_000, age=3_600)
    result = check_debit.check_debit(svc, finance, fca, 10_000, "usd")
    [kept] = check_history.load_checks(svc.engine)
    assert (kept.account, kept.verdict, kept.amount, kept.balance) == (fca, "ok", 10_000, 12_000)
    assert kept.as_of == result.final.as_of and kept.checked_at == result.checked_at
    assert kept.policy == DebitPolicy() and kept.source == "single"


def test_a_batch_keeps_one_verdict_per_row_judged_on_an_account_and_none_for_bad_rows(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    rich, poor = link(gw, sim, customer(gw)), link(gw, sim, customer(gw))
    set_balance(box, rich, available=100_000, current=100_000)
    set_balance(box, poor, available=1_000, current=1_000)
    text = f"id,amount,currency\n{rich},100.00,usd\n{poor},50.00,usd\nfca_unknown0000000000,1.00,usd\n{rich},x,usd"
    planned, bad = parse_debits_csv(text)
    check_batch.run_batch(svc, finance, planned, refresh_stale=False, row_errors=bad)
    kept = {
        (c.account, c.verdict, c.amount, c.source) for c in check_history.load_checks(svc.engine)
    }
    assert kept == {(rich, "ok", 10_000, "batch"), (poor, "insufficient", 5_000, "batch")}


@pytest.fixture(scope="module")
def demo() -> Iterator[Any]:
    from sandbox.server import start_background

    handle = start_background(port=0, seed=42, customers=200, refresh_delay=0)
    yield handle
    handle.stop()


def demo_services(demo: Any, engine: Engine) -> Services:
    from bootstrap import SANDBOX_KEY
    from services.adapters.gateway import StripeGateway

    gateway = StripeGateway(SANDBOX_KEY, base_url=demo.base_url, max_network_retries=0)
    return Services(gateway=gateway, engine=engine, mode="sandbox", now=demo.state.now)


def test_the_demo_world_seeds_the_same_checks_for_the_same_seed_and_replaces_them_on_restart(
    demo: Any, engine: Engine
) -> None:
    from bootstrap import seed_demo_checks

    first = seed_demo_checks(demo, engine)
    kept = check_history.load_checks(engine)
    assert seed_demo_checks(demo, engine) == first == len(check_history.load_checks(engine))
    assert check_history.load_checks(engine) == kept
    assert {c.source for c in kept} == {"demo"}


def test_the_demo_world_shows_ok_verdicts_that_let_r01s_through_and_a_suggestion(
    demo: Any, sqlite_engine: Engine, admin: Actor, finance: Actor
) -> None:
    from bootstrap import seed_demo_checks

    svc = demo_services(demo, sqlite_engine)
    seed_demo_checks(demo, sqlite_engine)
    debit_outcomes.sync_outcomes(svc, admin)
    seen = check_review.review(svc, admin)
    table: dict[Any, dict[Any, Any]] = seen.table.set_index("verdict").to_dict("index")
    assert table["ok"]["returned R01/R09"] == len(seen.misses) >= 1
    assert table["ok"]["settled"] > 0 and seen.checked < seen.debits
    assert seen.kept_count > 0 and seen.kept_amounts["usd"] > 0
    assert seen.suggestion is not None and seen.sentence
    assert f"of {len(seen.misses)} R01/R09 returns" in seen.sentence
    assert check_review.review(svc, finance).suggestion is None  # admins only
    # A verdict made now, three times for one planned debit: no week has passed to say no
    # debit followed, so it is not counted (it was, three times).
    from services.adapters import check_history
    from services.rules.debit import DebitPolicy, assess_debit

    short = assess_debit(None, 500_000, "usd", now=svc.now(), policy=DebitPolicy())
    row = check_history.check_row(
        replace(short, verdict="insufficient"), account_id="fca_checkedjustnow",
        policy=DebitPolicy(), checked_at=svc.now(), source="single",
    )
    check_history.record_checks(sqlite_engine, [row, row, row])
    again = check_review.review(svc, admin)
    assert (again.kept_count, again.kept_amounts) == (seen.kept_count, seen.kept_amounts)


def test_the_check_review_refuses_ops_and_a_window_out_of_range_with_a_sentence(
    svc: Services, ops: Actor, manager: Actor
) -> None:
    from services.errors import Forbidden, ValidationError

    with pytest.raises(Forbidden):
        check_review.review(svc, ops)
    with pytest.raises(ValidationError, match="between 1 and 180 days"):
        check_review.review(svc, manager, window_days=0)
    empty = check_review.review(svc, manager)
    assert (empty.debits, empty.checked, empty.kept_count, empty.suggestion) == (0, 0, 0, None)


def test_the_blocked_list_refuses_a_manager(svc: Services, manager: Actor) -> None:
    from services.errors import Forbidden
    from services.usecases import blocked_accounts

    with pytest.raises(Forbidden):
        blocked_accounts.blocked_accounts(svc, manager)


def test_a_blocked_account_shows_its_customer_by_name_read_once_from_stripe(
    svc: Services, gw: Any, ops: Actor
) -> None:
    from services.usecases import blocked_accounts

    cus = customer(gw)
    pm = {
        "id": "pm_blocked1",
        "type": "us_bank_account",
        "us_bank_account": {
            "bank_name": "STRIPE TEST BANK",
            "last4": "6789",
            "financial_connections_account": None,
            "status_details": {"blocked": {"network_code": "R02", "reason": "bank_account_closed"}},
        },
    }
    pi = {
        "id": "pi_blocked1", "object": "payment_intent", "amount": 5_000, "currency": "usd",
        "created": svc.now() - 86_400, "customer": cus, "status": "requires_payment_method",
        "payment_method": pm, "payment_method_options": {"us_bank_account": {}},
        "last_payment_error": {"code": "bank_account_closed", "payment_method": pm},
        "metadata": {},
    }  # fmt: skip
    debit_outcomes.record_payment_intent(svc.engine, pi, at=svc.now())
    [blocked] = blocked_accounts.blocked_accounts(svc, ops)
    assert blocked.customer is not None and blocked.customer.startswith("Debtor ")
    assert (blocked.network_code, blocked.next_step) == ("R02", "new account")
    from services.adapters.models import CustomerRecord
    from services.adapters.store import session_scope

    with session_scope(svc.engine) as session:
        assert session.get(CustomerRecord, cus) is not None  # mirrored: read once
