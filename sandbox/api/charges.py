"""ACH debits and what the bank answers (reference §6.4-6.5, §7.1): a confirmed PaymentIntent
makes a pending charge and is ``processing``; after the sandbox's refresh delay the debit
succeeds, is returned (the charge fails, and for most return codes the bank account is blocked
and its mandates made inactive), or succeeds and is disputed later. Charges, disputes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox import objects
from sandbox.api.ach_outcomes import (
    ACCOUNT_OUTCOMES,
    MANUAL_INVALID_SHARE,
    RETURNS,
    SUCCESS,
    UNAUTHORIZED_CODES,
    UNAUTHORIZED_SHARE,
    Outcome,
    is_unauthorized,
    outcome_for_account_number,
)
from sandbox.api.checkout_sessions import checkout_async
from sandbox.api.intents import (
    error_object,
    fail_intent,
    is_current,
    next_generation,
    require_acceptance,
)
from sandbox.api.mandates import accepted, active_mandate, create_mandate, deactivate_mandates
from sandbox.api.microdeposits import forget
from sandbox.api.params import dig
from sandbox.api.payment_methods import account_number, attach
from sandbox.core import Request, State, StripeError, clone, invalid, route
from sandbox.shared_facts import next_business_day

Obj = dict[str, Any]


def debit(state: State, pi: Obj, pm: Obj, params: Obj, req: Request | None) -> None:
    """The bank account is verified: debit it under its mandate (``processing``)."""
    start_processing(state, pi, pm, mandate_for_payment(state, pi, pm, params), req)


def mandate_for_payment(state: State, pi: Obj, pm: Obj, params: Obj) -> Obj:
    """The mandate a debit runs under: given, newly accepted, or the PM's active one (§3.3)."""
    if params.get("mandate") not in (None, ""):
        mandate = state.get("mandate", str(params["mandate"]), param="mandate")
        if mandate["payment_method"] != pm["id"]:
            raise invalid(
                f"Mandate {mandate['id']} is not for payment method {pm['id']}.", param="mandate"
            )
        if mandate["status"] != "active":
            raise invalid(
                f"Mandate {mandate['id']} is {mandate['status']} and cannot be used.",
                param="mandate",
            )
        return mandate
    acceptance = accepted(state, pi["id"])
    if acceptance is not None:
        single_use = (
            None
            if pi["setup_future_usage"]
            else {"amount": pi["amount"], "currency": pi["currency"]}
        )
        return create_mandate(state, pm, acceptance, single_use=single_use)
    existing = active_mandate(state, pm["id"])
    if existing is None:
        require_acceptance(state, pi)  # raises: nothing authorises this debit
    assert existing is not None
    return existing


def start_processing(state: State, pi: Obj, pm: Obj, mandate: Obj, req: Request | None) -> None:
    previous = {"status": pi["status"]}
    generation = next_generation(state, pi)
    if pi["customer"] and pi["setup_future_usage"]:
        attach(state, pm, pi["customer"], req)
    charge = state.add(objects.charge(state, pi, pm, mandate=mandate["id"]))
    pi.update(
        status="processing", next_action=None, payment_method=pm["id"], latest_charge=charge["id"]
    )
    forget(state, pi["id"])
    state.emit("payment_intent.processing", pi, previous_attributes=previous, request=req)
    state.emit("charge.pending", charge, request=req)
    outcome = outcome_for_payment(state, pi, pm)
    delay = float(state.config.refresh_delay)
    if state.config.ach_mode == "bank":
        rng = state.rng("ach", pi["id"], generation)
        outcome = bank_outcome(state, pm, outcome, rng)
        delay = float(settlement_delay(rng, outcome, state.now()))
    if outcome.kind == "processing_forever":
        return
    if outcome.kind == "blocked_at_confirm":
        settle_failure(state, pi, charge, pm, outcome)
        raise StripeError(
            402,
            str(outcome.message),
            type="card_error",
            code=outcome.code,
            extra={"decline_code": outcome.decline_code, "payment_intent": clone(pi)},
        )
    state.schedule(delay, lambda: settle(state, pi["id"], generation, outcome))


def outcome_for_payment(state: State, pi: Obj, pm: Obj) -> Outcome:
    """Manual accounts: the §7.1 account number. FC accounts: the test bank and the balance."""
    fca_id = pm["us_bank_account"]["financial_connections_account"]
    if not fca_id:
        return outcome_for_account_number(account_number(state, pm["id"]))
    fca = state.lookup(fca_id) or {}
    label = f"{fca.get('institution_name', '')} {fca.get('display_name', '')}".lower()
    if "insufficient" in label:
        return ACCOUNT_OUTCOMES["000222222227"]
    if "disputed" in label:
        return ACCOUNT_OUTCOMES["000555555559"]
    if "blocked" in label:
        return ACCOUNT_OUTCOMES["000000004954"]
    if "closed" in label:
        return ACCOUNT_OUTCOMES["000111111113"]
    available = available_balance(fca, pi["currency"])
    if available is not None and available < pi["amount"]:
        return ACCOUNT_OUTCOMES["000222222227"]
    return SUCCESS


def bank_outcome(state: State, pm: Obj, outcome: Outcome, rng: random.Random) -> Outcome:
    """What a live bank adds to the account's own outcome: an account Financial Connections
    lost (often closed at the bank) comes back R02 a third of the time; a manually entered number is
    sometimes wrong (R03/R04); a small share is disputed as unauthorized, more for accounts
    verified by microdeposits. Draws the same numbers in the same order whatever the outcome."""
    closed, invalid_number, unauthorized, pick = (rng.random() for _ in range(4))
    if outcome is not SUCCESS:
        return outcome
    fca_id = pm["us_bank_account"]["financial_connections_account"]
    fca = state.lookup(fca_id) if fca_id else None
    lost = fca is not None and fca.get("status") in ("inactive", "disconnected")
    if lost and closed < LOST_CLOSED:
        return RETURNS["R02"]
    if fca_id is None and invalid_number < MANUAL_INVALID_SHARE:
        return RETURNS["R03" if pick < 0.6 else "R04"]
    share = UNAUTHORIZED_SHARE["microdeposits" if fca_id is None else "financial_connections"]
    if unauthorized < share:
        return RETURNS[UNAUTHORIZED_CODES[int(pick * len(UNAUTHORIZED_CODES))]]
    return outcome


LOST_CLOSED = 0.3  # share of debits from an account FC lost that come back closed (R02)
SETTLEMENT_BANKING_DAYS = 4  # standard ACH settlement, T+4 business days (§6.4)


def banking_days_after(at: int, days: int, rng: random.Random) -> int:
    """A moment on the ``days``-th US banking day after ``at`` (during that day's ACH windows)."""
    day = datetime.fromtimestamp(at, UTC).date()
    for _ in range(days):
        day = next_business_day(day)
    start = datetime(day.year, day.month, day.day, 14, tzinfo=UTC)
    return int(start.timestamp()) + rng.randrange(0, 8 * 3600)


def settlement_delay(rng: random.Random, outcome: Outcome, at: int) -> int:
    """Seconds from the debit to the bank's answer (§6.5): most returns in 1-2 banking days,
    unauthorized ones up to 60 calendar days; a debit nobody returns settles on T+4."""
    if outcome.kind in ("succeed", "dispute"):
        return banking_days_after(at, SETTLEMENT_BANKING_DAYS, rng) - at
    if is_unauthorized(outcome) and rng.random() < 0.4:
        late = at + int(timedelta(days=rng.uniform(3, 60)).total_seconds())
        return late - at
    return banking_days_after(at, 1 if rng.random() < 0.7 else 2, rng) - at


def available_balance(fca: Obj, currency: str) -> int | None:
    """§2.1 NSF pre-check: ``cash.available``, falling back to ``current``; None when unknown."""
    balance = fca.get("balance")
    if not isinstance(balance, dict) or balance.get("type") != "cash":
        return None
    available = dig(balance, "cash", "available")
    source = (
        available
        if isinstance(available, dict) and currency in available
        else balance.get("current")
    )
    value = source.get(currency) if isinstance(source, dict) else None
    return value if isinstance(value, int) else None


def settle(state: State, pi_id: str, generation: int, outcome: Outcome) -> None:
    """The bank's answer: ``succeeded``, or back to ``requires_payment_method`` (§6.4-6.5)."""
    pi = state.get("payment_intent", pi_id)
    if not is_current(state, pi, generation) or pi["status"] != "processing":
        return
    charge = state.get("charge", pi["latest_charge"])
    pm = state.get("payment_method", pi["payment_method"])
    if outcome.kind in ("succeed", "dispute"):
        pi.update(status="succeeded", amount_received=pi["amount"])
        charge.update(status="succeeded", paid=True)
        state.emit("charge.succeeded", charge)
        state.emit(
            "payment_intent.succeeded",
            pi,
            previous_attributes={"status": "processing", "amount_received": 0},
        )
        checkout_async(state, pi, succeeded=True)
        if outcome.kind == "dispute":
            state.schedule(state.config.refresh_delay, lambda: open_dispute(state, charge["id"]))
        return
    settle_failure(state, pi, charge, pm, outcome)


def blocked_details(outcome: Outcome) -> Obj:
    """``us_bank_account.status_details`` of an account blocked after the return ``outcome``."""
    return {"blocked": {"network_code": outcome.network_code, "reason": outcome.block_reason}}


def settle_failure(state: State, pi: Obj, charge: Obj, pm: Obj, outcome: Outcome) -> None:
    """The debit failed or came back: the charge fails, the account may be blocked (§6.5),
    the intent is back to ``requires_payment_method`` with the bank's error."""
    error = error_object(
        str(outcome.code),
        str(outcome.message),
        type="card_error",
        decline_code=outcome.decline_code,
    )
    charge.update(
        status="failed", failure_code=outcome.failure_code, failure_message=outcome.message
    )
    state.emit("charge.failed", charge)
    if outcome.block_reason:
        # §6.5: after a non-NSF return Stripe blocks the account from further debits.
        pm["us_bank_account"]["status_details"] = blocked_details(outcome)
        state.emit(
            "payment_method.updated",
            pm,
            previous_attributes={"us_bank_account": {"status_details": None}},
        )
        deactivate_mandates(state, pm["id"])
    fail_intent(state, pi, error, None)
    checkout_async(state, pi, succeeded=False)


def open_dispute(state: State, charge_id: str) -> None:
    """``pm_usBankAccount_dispute``: the debit succeeds, then the customer disputes it (§6.4)."""
    charge = state.get("charge", charge_id)
    charge["disputed"] = True
    dispute = state.add(objects.dispute(state, charge))
    state.emit("charge.dispute.created", dispute)
    deactivate_mandates(state, charge["payment_method"])


@route("GET", "/v1/charges/{id}")
def retrieve_charge(req: Request, state: State) -> Obj:
    return state.get("charge", req.path_args["id"])
