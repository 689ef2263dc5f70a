"""The payments half of a demo customer's history: the payment methods and mandates its linked
and manually entered accounts got, and every intent replayed to its planted outcome, with the
event Stripe would have sent at each step and the jobs (timeouts, settlements) still ahead."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox import objects
from sandbox.api import charges, intents, microdeposits
from sandbox.api.ach_outcomes import ACCOUNT_OUTCOMES, SUCCESS, Outcome, outcome_for_code
from sandbox.api.collection_hooks import LINK_FAILED_CODE, LINK_UNSUPPORTED_CODE
from sandbox.api.institutions import TEST_ROUTING_NUMBER, institution
from sandbox.api.mandates import (
    acceptance_at,
    active_mandate,
    create_mandate,
    deactivate_mandates,
    remember_acceptance,
)
from sandbox.api.payment_methods import (
    attach,
    details_from_fc_account,
    mark_verified,
    remember_account_number,
)
from sandbox.core import State, clone
from sandbox.demo import other_methods
from sandbox.demo.flows import flow_metadata
from sandbox.demo.model import DemoCustomer, DemoIntent
from sandbox.demo.seeds import DAY, HOUR, MINUTE

Obj = dict[str, Any]
SETTLEMENT_SECONDS = 4 * DAY  # standard ACH: T+4 business days (§6.4), roughly


ERROR_MESSAGES: dict[str, str] = {
    LINK_FAILED_CODE: "The bank was unavailable, so the account could not be linked.",
    LINK_UNSUPPORTED_CODE: "The linked account does not support ACH Direct Debit.",
    "payment_method_microdeposit_failed": "Microdeposits failed to deposit into the customer's "
    "bank account.",
    "payment_method_microdeposit_verification_attempts_exceeded": "You have exceeded the number "
    "of allowed verification attempts.",
    "payment_method_microdeposit_verification_timeout": "Payment method should be verified with "
    "microdeposits within the required period.",
    **{o.code: o.message for o in ACCOUNT_OUTCOMES.values() if o.code and o.message},
}


LINK_CODES = frozenset({LINK_FAILED_CODE, LINK_UNSUPPORTED_CODE})


@dataclass
class CustomerContext:
    """What one customer's intents need from its already-loaded accounts."""

    customer: Obj
    demo: DemoCustomer
    accounts: list[Obj] = field(default_factory=list)
    account_pms: dict[int, Obj] = field(default_factory=dict)


def account_can_pay(fca: Obj) -> bool:
    return "payment_method" in fca["permissions"] and bool(fca["supported_payment_method_types"])


def has_success_intent(intents: list[DemoIntent], index: int) -> bool:
    return any(
        i.account_index == index and i.outcome in ("instant_success", "processing") for i in intents
    )


def _billing(customer: Obj) -> Obj:
    return {
        "address": clone(customer["address"]) or objects.address(),
        "email": customer["email"],
        "name": customer["name"],
        "phone": customer["phone"],
        "tax_id": None,
    }


def linked_payment_method(state: State, ctx: CustomerContext, fca: Obj, *, at: int) -> Obj:
    """The PM and mandate Stripe creates when an FC account is saved for payments."""
    details = details_from_fc_account(
        state,
        {**fca, "status": "active"},  # it was active when it was linked
        holder_type="company" if ctx.demo.is_business else "individual",
    )
    pm = objects.payment_method(
        state, created=at, billing_details=_billing(ctx.customer), us_bank_account=details
    )
    state.add(pm)
    attach(state, pm, ctx.customer["id"], at=at)
    _mandate(state, pm, at=at)
    return pm


def _manual_pm(state: State, ctx: CustomerContext, intent: DemoIntent, *, at: int) -> Obj:
    """A manually entered account (no FC account), with a stable made-up account number."""
    last4 = intent.manual_last4 or "6789"
    rng = state.rng("manual", ctx.customer["id"], intent.created)
    number = f"0009{rng.randint(0, 9999):04d}{last4}"
    bank = institution(state, intent.manual_bank_name or "")
    routing = bank.routing_number if intent.manual_bank_name else TEST_ROUTING_NUMBER
    details = objects.us_bank_account_details(
        last4=last4,
        routing_number=routing,
        bank_name=(intent.manual_bank_name or "STRIPE TEST BANK").upper(),
        account_holder_type="company" if ctx.demo.is_business else "individual",
        fingerprint_value=objects.fingerprint(routing, number),
    )
    pm = objects.payment_method(
        state, created=at, billing_details=_billing(ctx.customer), us_bank_account=details
    )
    remember_account_number(state, pm["id"], number)
    return state.add(pm)


def _mandate(state: State, pm: Obj, *, at: int, single_use: Obj | None = None) -> Obj:
    return create_mandate(state, pm, acceptance_at(at), single_use=single_use)


def _account_pm(state: State, ctx: CustomerContext, intent: DemoIntent, *, at: int) -> Obj | None:
    index = intent.account_index
    if index is None or not 0 <= index < len(ctx.accounts):
        return None
    if index not in ctx.account_pms:
        if not account_can_pay(ctx.accounts[index]):
            return None
        ctx.account_pms[index] = linked_payment_method(state, ctx, ctx.accounts[index], at=at)
    return ctx.account_pms[index]


def load_intent(state: State, ctx: CustomerContext, demo: DemoIntent, *, now: int) -> Obj:
    options = {
        "us_bank_account": {
            "financial_connections": {
                "permissions": list(demo.permissions) or ["payment_method"],
                "prefetch": list(demo.prefetch),
            },
            "mandate_options": {},
            "verification_method": demo.verification_method,
        }
    }
    common: Obj = {
        "created": demo.created,
        "customer": ctx.customer["id"],
        "payment_method_options": options,
        "payment_method_types": list(demo.offered or ["us_bank_account"]),
        "metadata": flow_metadata(demo),
    }
    if demo.kind == "setup_intent":
        intent = objects.setup_intent(state, **common)
    else:
        intent = objects.payment_intent(
            state, amount=demo.amount or 5000, currency=demo.currency, **common
        )
    state.add(intent)
    _step(state, intent, "created", demo.created)
    _History(state, ctx, demo, intent, now=now).play()
    return intent


def _step(state: State, intent: Obj, name: str, at: int, **previous: Any) -> None:
    state.emit(
        f"{intent['object']}.{name}", intent, previous_attributes=previous or None, created=at
    )


def _error(code: str) -> Obj:
    message = ERROR_MESSAGES.get(code, "The bank account could not be verified or debited.")
    return intents.error_object(code, message)


class _History:
    """Replays one intent's life to its planted outcome, emitting events on the way."""

    def __init__(
        self, state: State, ctx: CustomerContext, demo: DemoIntent, intent: Obj, *, now: int
    ) -> None:
        self.state, self.ctx, self.demo, self.intent, self.now = state, ctx, demo, intent, now
        self.is_setup = intent["object"] == "setup_intent"
        self.done = demo.finished_at or min(now, demo.created + 10 * MINUTE)
        if demo.outcome == "processing" and demo.account_index is None and demo.finished_at is None:
            # A manually entered account can only be debited once its microdeposits are verified,
            # 1-2 business days after entry (§6.2); the debit is confirmed then, not minutes later.
            self.done = max(self.done, min(now - HOUR, demo.created + 2 * DAY))
        self.in_flight = False  # a debit that has not settled yet ("processing")

    def play(self) -> None:
        outcome = self.demo.outcome
        if outcome == "instant_success":
            self.linked()
        elif outcome == "processing" and not self.is_setup:
            self.in_flight = True
            if self.demo.account_index is not None:
                self.linked()
            else:
                self.manual(verified=True)
        elif outcome == "instant_failed":
            self.instant_failed()
        elif outcome == "manual_verified":
            self.manual(verified=True)
        elif outcome == "manual_pending":
            self.manual(verified=False)
        elif outcome == "manual_failed":
            self.manual_failed()
        elif outcome == "canceled":
            self.canceled()
        elif outcome == "other_method":
            self.paid_by_other_method()
        # "abandoned": created and never touched again

    def paid_by_other_method(self) -> None:
        """Offered card, Link and a bank account; the customer chose card or Link (B2)."""
        pm = other_methods.other_payment_method(
            self.state,
            kind=self.demo.paid_with or "card",
            customer=self.ctx.customer,
            created=self.done - MINUTE,
            salt=self.intent["id"],
        )
        other_methods.pay_with(self.state, self.intent, pm, at=self.done)

    # ---- FC-linked

    def linked(self) -> None:
        at = self.demo.created + 2 * MINUTE
        pm = _account_pm(self.state, self.ctx, self.demo, at=at)
        if pm is None:  # the account cannot pay (no permission / unsupported): a link failure
            self.fail(LINK_UNSUPPORTED_CODE, at=at)
            return
        self.intent["payment_method"] = pm["id"]
        if self.is_setup:
            self.setup_succeeded(pm, at=self.done)
        else:
            self.payment(pm)

    def instant_failed(self) -> None:
        code = self.demo.failure_code or LINK_FAILED_CODE
        if self.is_setup or code in LINK_CODES:
            self.fail(code, at=self.done)
            return
        pm = _account_pm(self.state, self.ctx, self.demo, at=self.demo.created + MINUTE)
        if pm is None:
            self.fail(code, at=self.done)
            return
        self.intent["payment_method"] = pm["id"]
        self.payment(pm, failure=code)

    # ---- manual entry

    def manual(self, *, verified: bool) -> None:
        pm = self.start_microdeposits()
        if not verified:
            return
        mark_verified(self.state, pm["id"])
        microdeposits.forget(self.state, self.intent["id"])
        if self.is_setup:
            self.setup_succeeded(pm, at=self.done)
        else:
            self.payment(pm, start=self.done)

    def manual_failed(self) -> None:
        self.start_microdeposits()
        microdeposits.forget(self.state, self.intent["id"])
        code = (
            self.demo.failure_code or "payment_method_microdeposit_verification_attempts_exceeded"
        )
        self.fail(code, at=self.done)

    def start_microdeposits(self) -> Obj:
        at = self.demo.created + 3 * MINUTE
        pm = _manual_pm(self.state, self.ctx, self.demo, at=at)
        kind = self.demo.microdeposit_type or "descriptor_code"
        arrival = microdeposits.arrival_estimate(at)
        self.intent["payment_method"] = pm["id"]
        self.intent["status"] = "requires_action"
        self.intent["next_action"] = microdeposits.next_action(self.state, kind, arrival)
        if self.is_setup:
            self.attempt(pm, "requires_action", at=at)
        microdeposits.send(
            self.state,
            self.intent["id"],
            microdeposit_type=kind,
            at=at,
            arrived=arrival <= self.now,
        )
        remember_acceptance(self.state, self.intent["id"], acceptance_at(at))
        generation = intents.next_generation(self.state, self.intent)
        _step(self.state, self.intent, "requires_action", at, status="requires_payment_method")
        # Still-pending deposits time out 10 days after arrival (§6.2), like live ones.
        due = arrival + microdeposits.MICRODEPOSIT_TIMEOUT_SECONDS
        if due > self.now:
            delay = due - self.state.now()
            intents.schedule_timeout(self.state, self.intent, generation, delay=delay)
        return pm

    # ---- endings

    def attempt(self, pm: Obj, status: str, *, at: int) -> Obj:
        attempt = objects.setup_attempt(self.state, self.intent, pm, status=status)
        attempt["created"] = at
        self.state.add(attempt)
        self.intent["latest_attempt"] = attempt["id"]
        return attempt

    def setup_succeeded(self, pm: Obj, *, at: int) -> None:
        if pm["customer"] is None:
            attach(self.state, pm, self.ctx.customer["id"], at=at)
        if self.intent["latest_attempt"] is None:
            self.attempt(pm, "succeeded", at=at)
        intents.set_attempt_status(self.state, self.intent, "succeeded")
        previous = self.intent["status"]
        mandate = active_mandate(self.state, pm["id"]) or _mandate(self.state, pm, at=at)
        self.intent.update(
            status="succeeded", mandate=mandate["id"], next_action=None, payment_method=pm["id"]
        )
        _step(self.state, self.intent, "succeeded", at, status=previous)

    def fail(self, code: str, *, at: int) -> None:
        error = _error(code)
        pm = self.state.lookup(self.intent["payment_method"] or "")
        if pm is not None:
            error["payment_method"] = clone(pm)
        intents.set_attempt_status(self.state, self.intent, "failed", error=error)
        previous = self.intent["status"]
        self.intent.update(
            status="requires_payment_method",
            next_action=None,
            payment_method=None,
            **{intents.kind_of(self.intent).error_field: error},
        )
        name = "setup_failed" if self.is_setup else "payment_failed"
        _step(self.state, self.intent, name, at, status=previous)

    def payment(self, pm: Obj, *, start: int | None = None, failure: str | None = None) -> None:
        """``processing`` at confirm, then succeeded or failed days later (or still in flight)."""
        at = start or self.demo.created + 2 * MINUTE
        mandate = active_mandate(self.state, pm["id"]) or _mandate(
            self.state,
            pm,
            at=at,
            single_use={"amount": self.intent["amount"], "currency": self.intent["currency"]},
        )
        charge = objects.charge(self.state, self.intent, pm, mandate=mandate["id"])
        charge["created"] = at
        self.state.add(charge)
        previous = self.intent["status"]
        self.intent.update(
            status="processing",
            next_action=None,
            latest_charge=charge["id"],
            payment_method=pm["id"],
        )
        intents.next_generation(self.state, self.intent)
        _step(self.state, self.intent, "processing", at, status=previous)
        done = max(self.demo.finished_at or at + SETTLEMENT_SECONDS, at)
        if self.in_flight:
            done = max(at + SETTLEMENT_SECONDS, self.now + DAY // 2)
        if failure is not None:
            outcome = _outcome_for_code(failure)
        else:
            outcome = self.bank_outcome(pm)
            if outcome.kind != "succeed":  # the bank sends it back days after the debit
                rng = self.state.rng("ach-return-delay", self.intent["id"])
                done = at + charges.settlement_delay(rng, outcome, at)
        if done > self.now:  # still in flight: the sandbox settles it when the time comes
            self.schedule_settlement(done, outcome)
            return
        if outcome.kind == "succeed":
            charge.update(status="succeeded", paid=True)
            self.intent.update(status="succeeded", amount_received=self.intent["amount"])
            _step(self.state, self.intent, "succeeded", done, status="processing")
            return
        self.payment_failed(pm, charge, outcome, at=done)

    def bank_outcome(self, pm: Obj) -> Outcome:
        """What the account makes of the debit, as a live debit (``charges``): above the
        balance R01 (the balance as the world shows it now stands in for the one at debit
        time), plus the bank's own returns (R02, R03/R04, unauthorized). Its own RNG stream, so
        the rest of the world does not move."""
        account = charges.outcome_for_payment(self.state, self.intent, pm)
        if account.kind != "fail":  # the sandbox's special test banks settle in the demo world
            account = SUCCESS
        rng = self.state.rng("ach-return", self.intent["id"])
        return charges.bank_outcome(self.state, pm, account, rng)

    def schedule_settlement(self, due: int, outcome: Outcome) -> None:
        state, pi_id = self.state, self.intent["id"]
        generation = intents.generation(state, pi_id)
        state.schedule(due - state.now(), lambda: charges.settle(state, pi_id, generation, outcome))

    def payment_failed(self, pm: Obj, charge: Obj, outcome: Outcome, *, at: int) -> None:
        charge.update(
            status="failed", failure_code=outcome.failure_code, failure_message=outcome.message
        )
        if outcome.block_reason:
            pm["us_bank_account"]["status_details"] = charges.blocked_details(outcome)
            deactivate_mandates(self.state, pm["id"], at=at)
        error = intents.error_object(str(outcome.code), str(outcome.message), type="card_error")
        error["payment_method"] = clone(pm)
        previous = self.intent["status"]
        self.intent.update(
            status="requires_payment_method", payment_method=None, last_payment_error=error
        )
        _step(self.state, self.intent, "payment_failed", at, status=previous)

    def canceled(self) -> None:
        previous = self.intent["status"]
        reason = "requested_by_customer" if self.is_setup else "abandoned"
        self.intent.update(status="canceled", cancellation_reason=reason)
        if not self.is_setup:
            self.intent["canceled_at"] = self.done
        _step(self.state, self.intent, "canceled", self.done, status=previous)


def _outcome_for_code(code: str | None) -> Outcome:
    return outcome_for_code(code, ERROR_MESSAGES.get(code or "", "The debit was returned."))
