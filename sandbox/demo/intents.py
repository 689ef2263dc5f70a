"""The SetupIntents and PaymentIntents of a demo customer's last 90 days: which verification
method each used and how it ended (the truth the conversion funnel is tested against)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from sandbox.demo.accounts import can_pay, random_permissions
from sandbox.demo.banks import BANKS, DOWN_BANK, MANUAL_BANKS
from sandbox.demo.model import (
    DemoAccount,
    DemoCustomer,
    DemoIntent,
    IntentOutcome,
    VerificationMethod,
)
from sandbox.demo.seeds import DAY, HOUR, INTENT_WINDOW_DAYS, MINUTE, weighted

_OUTCOMES: dict[VerificationMethod, tuple[tuple[IntentOutcome, float], ...]] = {
    # automatic: FC first, manual entry + microdeposits as the fallback
    "automatic": (
        ("instant_success", 36), ("manual_verified", 20), ("manual_pending", 7),
        ("manual_failed", 7), ("abandoned", 14), ("instant_failed", 7), ("canceled", 9),
    ),
    # instant: FC only, never manual
    "instant": (("instant_success", 45), ("instant_failed", 20), ("abandoned", 20), ("canceled", 15)),
    # microdeposits: manual only
    "microdeposits": (
        ("manual_verified", 45), ("manual_pending", 18), ("manual_failed", 17),
        ("abandoned", 12), ("canceled", 8),
    ),
}  # fmt: skip


_MICRODEPOSIT_FAILURES = (
    ("payment_method_microdeposit_verification_attempts_exceeded", 50),
    ("payment_method_microdeposit_verification_timeout", 35),
    ("payment_method_microdeposit_failed", 15),
)


@dataclass
class IntentContext:
    rng: random.Random
    customer: DemoCustomer
    now: int
    window_start: int  # earliest creation time for an intent of this customer

    def pick(self, lo: int, hi: int) -> int | None:
        lo = max(lo, self.window_start)
        return self.rng.randrange(lo, hi) if hi > lo else None


def _requested_permissions(rng: random.Random, method: VerificationMethod) -> list[str]:
    if method == "microdeposits":
        return ["payment_method"]
    return random_permissions(rng)


def _prefetch(rng: random.Random, permissions: list[str]) -> list[str]:
    chances = {"balances": 0.6, "ownership": 0.3, "transactions": 0.3}
    return [p for p in permissions if p in chances and rng.random() < chances[p]]


def _payment_amount(rng: random.Random, *, business: bool) -> int:
    median, low, high = (180_000, 5_000, 2_000_000) if business else (12_000, 500, 250_000)
    dollars = min(max(rng.lognormvariate(math.log(median / 100), 0.9), low / 100), high / 100)
    cents = weighted(rng, ((0, 60), (99, 15), (50, 5), (rng.randrange(100), 20)))
    return int(dollars) * 100 + cents


def _settle_delay(rng: random.Random) -> int:
    """ACH debits settle in 1–4 business days (reference §6.4)."""
    return rng.randrange(1, 4) * DAY + rng.randrange(2 * HOUR, 20 * HOUR)


def _link_intent(
    ctx: IntentContext, account: DemoAccount, index: int, link_started: int
) -> DemoIntent:
    """The intent whose FC session created ``account`` (1–10 minutes from start to success)."""
    rng = ctx.rng
    kind = "setup_intent" if rng.random() < 0.7 else "payment_intent"
    method: VerificationMethod = "automatic" if rng.random() < 0.72 else "instant"
    finished = min(account.created + rng.randrange(3, 30), ctx.now)
    intent = DemoIntent(
        kind=kind,  # type: ignore[arg-type]
        verification_method=method,
        outcome="instant_success",
        created=link_started,
        permissions=list(account.permissions),
        prefetch=_prefetch(rng, account.permissions),
        account_index=index,
        finished_at=finished,
        institution=account.institution,
    )
    if kind == "payment_intent":
        _as_payment(ctx, intent, settle_from=finished)
    return intent


def _as_payment(ctx: IntentContext, intent: DemoIntent, *, settle_from: int) -> None:
    """A debit settles days after confirmation; until then the PaymentIntent is processing."""
    intent.amount = _payment_amount(ctx.rng, business=ctx.customer.is_business)
    settled = settle_from + _settle_delay(ctx.rng)
    if settled > ctx.now:
        intent.outcome = "processing"
        intent.finished_at = None
    else:
        intent.finished_at = settled


def _manual_fields(rng: random.Random, intent: DemoIntent) -> None:
    bank = rng.choice(MANUAL_BANKS)
    intent.manual_bank_name = bank
    intent.manual_last4 = "6789" if bank == "STRIPE TEST BANK" else f"{rng.randrange(10_000):04d}"
    intent.microdeposit_type = "descriptor_code" if rng.random() < 0.8 else "amounts"


def _extra_intent(
    ctx: IntentContext,
    *,
    method: VerificationMethod,
    outcome: IntentOutcome,
    kind: str,
    linked: list[int],
) -> DemoIntent | None:
    """One more intent of the customer; None when its story does not fit the time window."""
    rng, now = ctx.rng, ctx.now
    accounts = ctx.customer.accounts
    intent = DemoIntent(
        kind=kind,  # type: ignore[arg-type]
        verification_method=method,
        outcome=outcome,
        created=0,
        permissions=_requested_permissions(rng, method),
    )
    created: int | None
    if outcome in ("instant_success", "processing") and method != "microdeposits" and linked:
        index = rng.choice(linked)  # a later payment / setup on an account already linked
        account = accounts[index]
        created = ctx.pick(account.created + HOUR, now - 10 * MINUTE)
        if outcome == "processing":
            created = ctx.pick(max(account.created + HOUR, now - 3 * DAY), now - 10 * MINUTE)
        if created is None:
            return None
        intent.account_index = index
        intent.institution = account.institution
        intent.permissions = list(account.permissions)
        intent.finished_at = created + rng.randrange(MINUTE, 10 * MINUTE)
    elif outcome in ("instant_success", "processing"):
        if method == "instant":
            return None  # nothing linked to pay from, and instant never falls back to manual
        if kind == "setup_intent":  # the customer fell back to manual entry instead
            return _extra_intent(
                ctx, method=method, outcome="manual_verified", kind=kind, linked=linked
            )
        _manual_fields(rng, intent)  # paid from a manually entered, already verified account
        intent.outcome = "processing"
        created = ctx.pick(now - 3 * DAY, now - 10 * MINUTE)
    elif outcome == "manual_verified":
        _manual_fields(rng, intent)
        delay = rng.randrange(DAY + 2 * HOUR, 4 * DAY)  # deposits land in 1–2 business days
        created = ctx.pick(now - INTENT_WINDOW_DAYS * DAY, now - delay)
        if created is None:
            return None
        intent.finished_at = created + delay
    elif outcome == "manual_pending":
        _manual_fields(rng, intent)
        created = ctx.pick(now - 9 * DAY, now - HOUR)
    elif outcome == "manual_failed":
        _manual_fields(rng, intent)
        code = weighted(rng, _MICRODEPOSIT_FAILURES)
        if code.endswith("timeout"):
            delay = 10 * DAY + rng.randrange(HOUR, 6 * HOUR)  # the 10-day limit (§6.2)
        elif code.endswith("attempts_exceeded"):
            delay = rng.randrange(DAY, 4 * DAY)
        else:
            delay = rng.randrange(6 * HOUR, 2 * DAY)  # the deposits never went out
        created = ctx.pick(now - INTENT_WINDOW_DAYS * DAY, now - delay)
        if created is None:
            return None
        intent.finished_at = created + delay
        intent.failure_code = code
    elif outcome == "instant_failed":
        created = ctx.pick(now - INTENT_WINDOW_DAYS * DAY, now - 10 * MINUTE)
        if created is None:
            return None
        intent.institution = DOWN_BANK
        intent.finished_at = created + rng.randrange(MINUTE, 5 * MINUTE)
    elif outcome == "abandoned":
        created = ctx.pick(now - INTENT_WINDOW_DAYS * DAY, now - 2 * DAY)
        if method != "microdeposits" and rng.random() < 0.3:
            intent.institution = rng.choice(BANKS).institution.name  # quit in the bank picker
    else:  # canceled by the merchant
        created = ctx.pick(now - INTENT_WINDOW_DAYS * DAY, now - HOUR)
        if created is None:
            return None
        intent.finished_at = min(created + rng.randrange(10 * MINUTE, 5 * DAY), now)
    if created is None:
        return None
    intent.created = created
    if intent.finished_at is not None and intent.finished_at < created:
        intent.finished_at = created
    if method != "microdeposits" and intent.account_index is None and outcome != "instant_failed":
        intent.prefetch = []
    elif intent.account_index is not None:
        intent.prefetch = _prefetch(rng, intent.permissions)
    if kind == "payment_intent":
        intent.amount = _payment_amount(rng, business=ctx.customer.is_business)
        if intent.outcome in ("instant_success", "manual_verified") and intent.finished_at:
            settled = intent.finished_at + _settle_delay(rng)
            if settled > now:
                intent.outcome = "processing"
                intent.finished_at = None
            else:
                intent.finished_at = settled
        elif intent.outcome == "processing":
            intent.finished_at = None
    return intent


def plan_intents(
    ctx: IntentContext, links: list[tuple[int, int]], *, manual_only: bool
) -> list[DemoIntent]:
    rng = ctx.rng
    intents = [_link_intent(ctx, ctx.customer.accounts[i], i, started) for i, started in links]
    linked = [i for i, _ in links] + [
        i
        for i, a in enumerate(ctx.customer.accounts)
        if can_pay(a)
        and a.status == "active"
        and i not in {j for j, _ in links}
        and rng.random() < 0.5
    ]
    extra = weighted(rng, ((0, 38), (1, 32), (2, 18), (3, 12)))
    if manual_only or not intents:
        extra += 1
    for n in range(extra):
        kind = "setup_intent" if rng.random() < 0.55 else "payment_intent"
        if manual_only and n == 0:  # how they came to have no FC account: a manual entry
            method: VerificationMethod = "microdeposits" if rng.random() < 0.6 else "automatic"
            outcome: IntentOutcome = "manual_verified" if rng.random() < 0.7 else "manual_failed"
            first = _extra_intent(ctx, method=method, outcome=outcome, kind=kind, linked=linked)
            first = first or _extra_intent(
                ctx, method=method, outcome="manual_pending", kind=kind, linked=linked
            )
            intents.extend([first] if first else [])
            continue
        if manual_only:
            method = "microdeposits" if rng.random() < 0.6 else "automatic"
            outcome = weighted(
                rng,
                (("manual_verified", 60), ("manual_pending", 15), ("manual_failed", 15), ("abandoned", 10)),
            )  # fmt: skip
        else:
            method = weighted(rng, (("automatic", 55), ("instant", 20), ("microdeposits", 25)))
            outcome = weighted(rng, _OUTCOMES[method])
            if kind == "payment_intent" and rng.random() < 0.1:
                outcome = "processing"
        intent = _extra_intent(ctx, method=method, outcome=outcome, kind=kind, linked=linked)
        if intent is not None:
            intents.append(intent)
    intents.sort(key=lambda it: it.created)
    return intents
