"""Finance plans and creates the re-initiation of a debit that came back R01/R09.

The plan (:func:`services.rules.retry.plan_retry`) reads the debit's attempts from the outcome
mirror and the account's detected income from the stored transactions. Creating the retry is a
state-changing action: finance (or admin) only, a pre-debit balance check first (a stale
balance refreshed; the refusal says how old the balance it judged is), one
Stripe idempotency key per (original debit, attempt number) so two clicks or two people make one
PaymentIntent, and one audit row (``debits.retry``) whatever happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from services.adapters.flow_requests import retry_payment_intent_create
from services.adapters.transaction_store import load_transactions
from services.audit import audited, unconfirmed_change
from services.auth import Actor, require
from services.context import Services
from services.errors import NotFound, RefreshStillRunning, Refused, ValidationError
from services.rules import wording
from services.rules.debit import OK
from services.rules.ids import parse_id
from services.rules.income import detect_income
from services.rules.retry import RetryPlan, plan_retry
from services.rules.returns import RETRY_OF, Outcome
from services.usecases.check_debit import DebitCheck, check_debit
from services.usecases.collect_common import send_settled, unconfirmed
from services.usecases.debit_outcomes import load_attempts, record_payment_intent

__all__ = ["RetryCreated", "RetryPlanView", "create_retry", "plan", "why_not_plannable"]


@dataclass(frozen=True)
class RetryPlanView:
    original: Outcome
    attempts: list[Outcome]
    plan: RetryPlan


@dataclass(frozen=True)
class RetryCreated:
    payment_intent: dict[str, Any]
    attempt: int
    check: DebitCheck
    message: str


def _day(ts: int) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


def _plan(svc: Services, original_id: str) -> RetryPlanView:
    ident, _ = parse_id(original_id, allowed=("payment_intent",))
    attempts = load_attempts(svc.engine, ident)
    if not attempts:
        raise NotFound(
            f"No debit {ident} is known to fcops yet. Sync the debit outcomes on the Returns page "
            "and try again."
        )
    original = next((a for a in attempts if a.id == a.original), attempts[0])
    income = []
    if original.account:
        txns = load_transactions(svc.engine, original.account)
        income = detect_income(txns, now=svc.now())
    # Nacha counts 180 days from the original entry's settlement; fcops counts from the day it
    # was originated, which is never later, so the deadline shown is never too generous.
    result = plan_retry(
        attempts, original_settled=_day(original.created), today=_day(svc.now()), income=income
    )
    return RetryPlanView(original, attempts, result)


def _refuse(check: DebitCheck) -> None:
    """Why the fresh check stops the retry, in a sentence that says what to do next."""
    started = check.refresh is not None and check.refresh.status == "pending"
    if check.account is not None and (started or check.account.refresh_pending):
        who = "The balance refresh fcops started" if started else "A balance refresh"
        raise RefreshStillRunning(
            f"{who} is still running at the bank, so nothing was sent; check the balance and "
            f"send the retry again once it has finished (the balance from before the refresh "
            f"says {check.verdict}).",
            account_id=check.account.id,
        )
    why = " ".join(check.final.reasons)
    advice = (
        "wait for the suggested date or retry anyway"
        if check.verdict == "insufficient"
        else "check the balance again later or retry anyway"
    )
    raise Refused(
        f"The balance check says {check.verdict} {_balance_words(check)}: {why} Nothing was "
        f"sent; {advice}."
    )


def _refreshed_in_check(check: DebitCheck) -> bool:
    """Whether this check brought a new balance from the bank (only then is it fresh)."""
    refresh = check.refresh
    return check.after is not None and refresh is not None and refresh.status == "succeeded"


def _balance_words(check: DebitCheck) -> str:
    """Which balance the verdict is on: refreshed in this check, or how old and why not."""
    final = check.final
    age = wording.age(final.age_seconds)
    if final.balance is None:
        return "(there is no balance figure to check against)"
    if _refreshed_in_check(check):
        return f"on the balance this check refreshed (the bank's figure is {age} old)"
    if check.refresh is not None:  # asked for, but no new figure came
        why_not = check.refresh.message.rstrip(".")
    elif final.age_seconds is not None and final.age_seconds <= check.policy.max_age_seconds:
        limit = wording.duration(check.policy.max_age_seconds, long=True)
        why_not = f"within the debit policy's limit of {limit}, so fcops did not refresh it"
    else:
        why_not = "Stripe allowed no refresh now"
    return f"on a balance {age} old, not refreshed for this check ({why_not})"


def plan(svc: Services, actor: Actor, original_id: str) -> RetryPlanView:
    """Attempt n of 3, the deadline and the suggested date for a returned debit (read-only)."""
    require(actor, "returns.view")
    return _plan(svc, original_id)


def why_not_plannable(svc: Services, actor: Actor, original_id: str) -> str | None:
    """None when Returns can plan a retry of ``original_id`` (Payment lookup then links to it);
    else why not, in a sentence: unknown to fcops, not R01/R09, three attempts, past 180 days."""
    require(actor, "returns.view")
    try:
        view = _plan(svc, original_id)
    except (NotFound, ValidationError) as err:
        return str(err)
    return None if view.plan.allowed else view.plan.reason


def create_retry(
    svc: Services,
    actor: Actor,
    original_id: str,
    *,
    proceed_without_ok: bool = False,
    wait_seconds: float = 5,
) -> RetryCreated:
    """Re-initiate a returned R01/R09 debit after a balance check (refreshing a stale balance).

    Refused with a sentence (and audited ``refused``: a rule said no, nothing failed) for any
    other return code, after three attempts, past the 180-day deadline, while the last attempt is
    on its way, and when the fresh check is not ``ok`` unless ``proceed_without_ok``. The fresh
    check holds the caller at most ``wait_seconds`` for a refresh it started; one still running
    then is refused with :class:`RefreshStillRunning` (its account, for the page to follow it):
    the balance it will bring is not known yet, so neither "wait for the suggested date" nor a
    verdict on the old figure is the advice.
    """
    with audited(svc.engine, actor=actor, action="debits.retry", target=original_id) as ctx:
        require(actor, "debits.retry")
        view = _plan(svc, original_id)
        original, retry = view.original, view.plan
        ctx.target = original.id
        ctx.params.update(
            {"attempt": retry.attempt, "amount": original.amount, "currency": original.currency}
        )
        if not retry.allowed:
            raise Refused(retry.reason)
        if not original.payment_method:
            raise ValidationError(f"Stripe did not say which bank account {original.id} debited.")
        check = check_debit(
            svc,
            actor,
            original.payment_method,
            original.amount,
            original.currency,
            refresh_stale=True,
            wait_seconds=wait_seconds,
            source="retry",
        )
        ctx.params.update(
            {"check_verdict": check.verdict, "proceed_without_ok": proceed_without_ok}
        )
        if check.verdict != OK and not proceed_without_ok:
            _refuse(check)
        key = f"fcops-retry-{original.id}-attempt-{retry.attempt}"
        params = retry_payment_intent_create(
            amount=original.amount,
            currency=original.currency,
            customer=original.customer,
            payment_method=original.payment_method,
            metadata={RETRY_OF: original.id, "fcops_attempt": str(retry.attempt)},
        )
        with (
            unconfirmed_change(
                ctx,
                f"the retry of {original.id}",
                "the new debit may have been made",
                f"after “Sync outcomes”, Returns' plan for {original.id} shows whether attempt "
                f"{retry.attempt} was sent",
            ),
            unconfirmed("the retry"),
        ):
            pi, read_back = send_settled(
                svc.gateway.create_payment_intent, params, key, what="the retry"
            )
        if read_back:
            ctx.params["read_back"] = True
        ctx.request_id = svc.gateway.last_request_id
        record_payment_intent(svc.engine, pi, at=svc.now())
        message = f"Attempt {retry.attempt} of 3 for {original.id} was sent as {pi['id']} ({pi.get('status')})."
        ctx.message = message
        ctx.params["payment_intent"] = pi["id"]
        return RetryCreated(pi, retry.attempt, check, message)
