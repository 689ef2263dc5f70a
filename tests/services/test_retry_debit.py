"""Retrying an R01 debit against a private sandbox: the outcome sync, the plan, the fresh check,
one PaymentIntent per attempt, audit rows, refusals in sentences."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlmodel import select

from services.adapters.models import AuditEntry, DebitOutcomeRecord
from services.adapters.store import session_scope
from services.auth import Actor
from services.context import Services
from services.errors import Forbidden, ValidationError
from services.rules.returns import RETRY_OF
from services.usecases import debit_outcomes, export_audit, retry_debit
from services.usecases.export_audit import AuditFilters

FINANCE = Actor("fin", "finance")


@pytest.fixture(scope="module")
def box_options() -> dict[str, Any]:
    """This module's private sandbox (box/svc: tests/services/conftest.py)."""
    return {"seed": 5, "refresh_cooldown": 0}


def set_available(box: Any, account_id: str, amount: int) -> None:
    with box.state.lock:
        account = box.state.lookup(account_id)
        now = box.state.now()
        account["balance"] = {
            "as_of": now,
            "type": "cash",
            "current": {"usd": amount},
            "cash": {"available": {"usd": amount}},
        }
        account["balance_refresh"] = {
            "status": "succeeded",
            "last_attempted_at": now,
            "next_refresh_available_at": now + 3600,
        }


def returned_debit(
    svc: Services, box: Any, *, verification_method: str | None = None
) -> tuple[str, str]:
    """A linked account with $10 that was debited $50: back R01. Returns (pi id, fca id). With
    ``verification_method`` the PaymentIntent asks for it (``payment_method_options``)."""
    from sandbox.client import Simulator

    gw = svc.gateway
    cus = gw.create_customer(
        {"name": "Robin Return", "email": "robin@example.com"}, idempotency_key=None
    )
    si = gw.create_setup_intent(
        {
            "customer": cus["id"],
            "allowed_payment_method_types": ["us_bank_account"],
            "payment_method_options": {
                "us_bank_account": {
                    "financial_connections": {"permissions": ["payment_method", "balances"]}
                }
            },
        },
        idempotency_key=None,
    )
    Simulator(box.base_url).link_bank(si["id"], institution="StripeBank")
    si = gw.retrieve_setup_intent(si["id"], expand=["payment_method"])
    fca = si["payment_method"]["us_bank_account"]["financial_connections_account"]
    set_available(box, fca, 1_000)
    pi = gw.create_payment_intent(
        {
            "amount": 5_000,
            "currency": "usd",
            "customer": cus["id"],
            "payment_method": si["payment_method"]["id"],
            "allowed_payment_method_types": ["us_bank_account"],
            "confirm": True,
            "off_session": True,
            **(
                {"payment_method_options": {
                    "us_bank_account": {"verification_method": verification_method}}}
                if verification_method else {}
            ),
        },
        idempotency_key=None,
    )
    return str(pi["id"]), str(fca)


def audit_rows(svc: Services, action: str) -> list[AuditEntry]:
    with session_scope(svc.engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)))


def test_a_returned_r01_is_synced_planned_checked_and_retried_once(svc: Services, box: Any) -> None:
    pi_id, fca = returned_debit(svc, box)
    synced = debit_outcomes.sync_outcomes(svc, FINANCE)
    assert synced.events >= 1
    [stored] = [o for o in debit_outcomes.load_outcomes(svc.engine) if o.id == pi_id]
    assert (stored.status, stored.return_code, stored.account) == ("returned", "R01/R09", fca)
    assert debit_outcomes.sync_outcomes(svc, FINANCE).inserted == 0  # idempotent re-run

    view = retry_debit.plan(svc, FINANCE, pi_id)
    assert view.plan.allowed and view.plan.attempt == 2 and view.plan.suggested is not None

    # The check still sees $10 for a $50 debit: nothing is sent.
    # (Not fresh: this check did not refresh it, and says so.)
    with pytest.raises(ValidationError, match=r"says insufficient on a balance \d+ s old, not refr"):
        retry_debit.create_retry(svc, FINANCE, pi_id)
    assert [o.id for o in debit_outcomes.load_attempts(svc.engine, pi_id)] == [pi_id]

    set_available(box, fca, 100_000)  # payday
    made = retry_debit.create_retry(svc, FINANCE, pi_id)
    assert made.attempt == 2 and made.check.verdict == "ok"
    assert made.payment_intent["metadata"][RETRY_OF] == pi_id
    assert made.payment_intent["amount"] == 5_000
    attempts = debit_outcomes.load_attempts(svc.engine, pi_id)
    assert [a.id for a in attempts] == [pi_id, made.payment_intent["id"]]

    # A second click while the retry is on its way: refused, nothing new at Stripe.
    with pytest.raises(ValidationError, match="nothing to retry"):
        retry_debit.create_retry(svc, FINANCE, pi_id)
    # Even if the mirror had missed the first retry, the same attempt gets the same PaymentIntent.
    with session_scope(svc.engine) as session:
        row = session.get(DebitOutcomeRecord, made.payment_intent["id"])
        session.delete(row)
    again = retry_debit.create_retry(svc, FINANCE, pi_id)
    assert again.payment_intent["id"] == made.payment_intent["id"]

    # The fresh check's no and the in-flight no are rules saying no, not failures.
    outcomes = [r.outcome for r in audit_rows(svc, "debits.retry")]
    assert outcomes == ["refused", "ok", "refused", "ok"]
    # The Audit log page's "refused" filter finds them, with the check's sentence.
    refused = export_audit.browse(
        svc, Actor("ada", "admin"), AuditFilters(actions=("debits.retry",), outcome="refused"),
        limit=10,
    )
    assert refused.total == 2
    assert any("The balance check says insufficient" in (r.message or "") for r in refused.rows)


def test_roles_and_other_codes_are_refused(svc: Services, box: Any) -> None:
    pi_id, _ = returned_debit(svc, box)
    debit_outcomes.sync_outcomes(svc, FINANCE)
    with pytest.raises(Forbidden):
        retry_debit.create_retry(svc, Actor("opal", "ops"), pi_id)
    with pytest.raises(Forbidden):
        retry_debit.create_retry(svc, Actor("mia", "manager"), pi_id)
    # Pretend Stripe had reported the account closed (R02): no retry, a sentence why.
    with session_scope(svc.engine) as session:
        row = session.get(DebitOutcomeRecord, pi_id)
        assert row is not None
        row.failure_code, row.return_code, row.category = "account_closed", "R02", "administrative"
        session.add(row)
    with pytest.raises(ValidationError, match="only R01 and R09"):
        retry_debit.create_retry(svc, FINANCE, pi_id)
    with pytest.raises(ValidationError):
        retry_debit.create_retry(svc, FINANCE, "not-an-id")
    rows = [(r.outcome, r.actor) for r in audit_rows(svc, "debits.retry")]
    # Two roles and one rule (R02) said no; only the ID that is not one is an error.
    assert rows == [("refused", "opal"), ("refused", "mia"), ("refused", "fin"), ("error", "fin")]


def test_a_refresh_still_running_is_said_and_named_not_wait_for_the_suggested_date(
    svc: Services, box: Any
) -> None:
    """The tester's case: the retry's own refresh outlived the wait (a slow bank), and the
    refusal quoted only "The balance is 2 days old" with "wait for the suggested date"."""
    from services.errors import RefreshStillRunning, Refused, StillRunning

    pi_id, fca = returned_debit(svc, box)
    debit_outcomes.sync_outcomes(svc, FINANCE)
    with box.state.lock:
        account = box.state.lookup(fca)
        now = box.state.now()
        account["balance"]["as_of"] = now - 2 * 86_400  # two days old: stale
        account["balance_refresh"] = {
            "status": "succeeded",
            "last_attempted_at": now - 2 * 86_400,
            "next_refresh_available_at": now - 60,  # a refresh may be asked for now
        }
    box.state.config.refresh_delay = 30  # the bank takes longer than the retry waits
    try:
        with pytest.raises(RefreshStillRunning) as refused:
            retry_debit.create_retry(svc, FINANCE, pi_id, wait_seconds=0.3)
    finally:
        box.state.config.refresh_delay = 0
    said = str(refused.value)
    assert said.startswith("The balance refresh fcops started is still running at the bank")
    assert "nothing was sent" in said and "suggested date" not in said
    assert refused.value.account_id == fca
    assert isinstance(refused.value, Refused)  # a rule said no: audited refused, not error
    assert isinstance(refused.value, StillRunning)  # the shared display: a notice, not an error
    assert [r.outcome for r in audit_rows(svc, "debits.retry")][-1] == "refused"
    assert [o.id for o in debit_outcomes.load_attempts(svc.engine, pi_id)] == [pi_id]
    # Pressed again while it still runs: the same sentence about that refresh, no new one.
    with pytest.raises(RefreshStillRunning, match="A balance refresh is still running"):
        retry_debit.create_retry(svc, FINANCE, pi_id, wait_seconds=0.3)



def test_the_refusal_says_how_old_the_balance_is_and_calls_it_refreshed_only_when_it_was(
    svc: Services, box: Any
) -> None:
    """It said "The fresh balance check says insufficient" about a balance 8 h old that this
    check had not refreshed (within the policy's 1 day, so no refresh was due)."""
    from services.errors import Refused

    pi_id, fca = returned_debit(svc, box)
    debit_outcomes.sync_outcomes(svc, FINANCE)
    with box.state.lock:
        box.state.lookup(fca)["balance"]["as_of"] = box.state.now() - 8 * 3600
    with pytest.raises(Refused) as old:
        retry_debit.create_retry(svc, FINANCE, pi_id)
    said = str(old.value)
    assert said.startswith("The balance check says insufficient on a balance 8 h old, not "
                           "refreshed for this check (within the debit policy's limit of 24 hours, so "
                           "fcops did not refresh it):"), said  # fmt: skip
    assert "fresh" not in said.replace("refresh", "")

    with box.state.lock:  # two days old and a refresh allowed: this check refreshes it
        account = box.state.lookup(fca)
        now = box.state.now()
        account["balance"]["as_of"] = now - 2 * 86_400
        account["balance_refresh"] = {
            "status": "succeeded",
            "last_attempted_at": now - 2 * 86_400,
            "next_refresh_available_at": now - 60,
        }
    with pytest.raises(Refused) as refreshed:
        retry_debit.create_retry(svc, FINANCE, pi_id)
    assert re.match(
        r"The balance check says insufficient on the balance this check refreshed \(the bank's "
        r"figure is \d+ s old\):",
        str(refreshed.value),
    ), str(refreshed.value)


@pytest.mark.parametrize(("mode", "outcome"), [("500", "unknown"), ("429", "error")])
def test_a_retry_stripe_did_not_confirm_reads_unknown_and_a_429_stays_an_error(
    svc: Services, box: Any, mode: str, outcome: str
) -> None:
    """A 500 on the retry's create may have made the new debit: its row is ``unknown`` and says
    where to see it; a 429 is Stripe refusing before doing anything (``error``)."""
    from sandbox.client import Simulator
    from services.errors import RateLimited, StripeUnavailable
    from tests.conftest import quick_backoff
    from tests.services.conftest import fault_before

    svc.gateway.backoff = quick_backoff()[0]  # the 429's own retries, quickly
    pi_id, fca = returned_debit(svc, box)
    debit_outcomes.sync_outcomes(svc, FINANCE)
    set_available(box, fca, 100_000)
    calls = fault_before(svc, Simulator(box.base_url), "create_payment_intent", mode)
    with pytest.raises(RateLimited if mode == "429" else StripeUnavailable):
        retry_debit.create_retry(svc, FINANCE, pi_id)
    assert calls
    [row] = [r for r in audit_rows(svc, "debits.retry") if r.target == pi_id]
    assert row.outcome == outcome, row.message
    if outcome == "unknown":
        assert row.message == (
            f"Stripe did not confirm the retry of {pi_id} (a server error), so the new debit may "
            f"have been made; after “Sync outcomes”, Returns' plan for {pi_id} shows whether "
            "attempt 2 was sent."
        )
