"""ACH debits that settle or come back like live ones (``ach_mode="bank"``), through the real SDK:
``processing`` for banking days on the sandbox clock, then ``succeeded`` or back to
``requires_payment_method`` with the SDK's ``last_payment_error.code``, the matching events and,
after a non-NSF return, a blocked payment method (reference §6.4-6.5, issue 12)."""

from __future__ import annotations

import random
import typing
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Literal

import pytest
import stripe
from stripe import PaymentIntent, PaymentMethod

from sandbox.api.ach_outcomes import RETURNS, SUCCESS, UNAUTHORIZED_SHARE
from sandbox.api.charges import available_balance, bank_outcome, settlement_delay
from sandbox.core import SandboxConfig, State
from sandbox.server import SandboxHandle, build_state, start_background
from sandbox.shared_facts import is_business_day, next_business_day
from sandbox.spec.generate import _hints
from sandbox.spec.shapes import Checker
from tests.contract.conftest import TEST_KEY, hook
from tests.contract.test_payments import available_usd, debit, linked_setup, verified_manual_pm

NOW = 1_767_600_000  # Mon 2026-01-05 08:00 UTC
DAY = 86_400


@pytest.fixture(scope="module")
def bank() -> Iterator[SandboxHandle]:
    handle = start_background(
        port=0, seed=3, customers=0, refresh_delay=0, now=NOW, search_lag=0,
        check_responses=True, ach_mode="bank",
    )  # fmt: skip
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def client(bank: SandboxHandle) -> stripe.StripeClient:
    return stripe.StripeClient(TEST_KEY, base_addresses={"api": bank.base_url})


def advance(bank: SandboxHandle, seconds: int) -> None:
    hook(bank, "clock/advance", seconds=seconds)


def events_of(client: stripe.StripeClient, object_id: str) -> list[Any]:
    events = client.v1.events.list(params={"limit": 100}).data
    return [e for e in reversed(events) if e.data.object.id == object_id]


def test_a_debit_above_the_balance_comes_back_r01_after_a_banking_day_not_at_once(
    client: stripe.StripeClient, bank: SandboxHandle
) -> None:
    si = linked_setup(client, bank, prefetch=["balances"])
    pi = debit(client, si, amount=available_usd(client, si) + 100)
    assert pi.status == "processing"
    advance(bank, 3600)
    assert client.v1.payment_intents.retrieve(pi.id).status == "processing"
    advance(bank, 4 * DAY)  # Monday + 4 days: past two banking days
    failed = client.v1.payment_intents.retrieve(pi.id, params={"expand": ["latest_charge"]})
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error.code == "insufficient_funds"
    assert failed.last_payment_error.payment_method.id == si.payment_method
    assert failed.latest_charge.status == "failed"
    assert failed.payment_method is None
    types = [e.type for e in events_of(client, pi.id)]
    assert types[0] == "payment_intent.created"
    assert types[-2:] == ["payment_intent.processing", "payment_intent.payment_failed"]
    returned = events_of(client, pi.id)[-1]
    back = datetime.fromtimestamp(returned.created, UTC)
    assert returned.created - pi.created >= DAY // 2
    assert is_business_day(back.date())
    # R01 does not block the account
    assert (
        client.v1.payment_methods.retrieve(si.payment_method).us_bank_account.status_details is None
    )


def test_a_debit_within_the_balance_settles_on_the_fourth_banking_day(
    client: stripe.StripeClient, bank: SandboxHandle
) -> None:
    si = linked_setup(client, bank, prefetch=["balances"])
    pi = debit(client, si, amount=1000)
    advance(bank, 2 * DAY)
    assert client.v1.payment_intents.retrieve(pi.id).status == "processing"
    advance(bank, 6 * DAY)
    settled = client.v1.payment_intents.retrieve(pi.id)
    assert settled.status == "succeeded"
    assert settled.amount_received == 1000
    assert [e.type for e in events_of(client, pi.id)][-1] == "payment_intent.succeeded"


def test_a_closed_account_comes_back_r02_and_the_blocked_payment_method_validates(
    client: stripe.StripeClient, bank: SandboxHandle
) -> None:
    si = verified_manual_pm(client, bank, "000111111113")
    pi = debit(client, si)
    assert client.v1.payment_intents.retrieve(pi.id).status == "processing"
    advance(bank, 5 * DAY)
    failed = client.v1.payment_intents.retrieve(pi.id)
    assert failed.last_payment_error.code == "account_closed"
    pm = client.v1.payment_methods.retrieve(si.payment_method)
    blocked = pm.us_bank_account.status_details.blocked
    assert (blocked.network_code, blocked.reason) == ("R02", "bank_account_closed")
    checker = Checker()
    checker.check(pm.to_dict(), "payment_method")
    checker.check(failed.to_dict(), "payment_intent")
    assert checker.problems == []
    updates = [e for e in events_of(client, pm.id) if e.type == "payment_method.updated"]
    assert updates and updates[-1].data.previous_attributes.to_dict() == {
        "us_bank_account": {"status_details": None}
    }


def test_returned_debits_are_listed_with_their_payment_method_expanded(
    client: stripe.StripeClient, bank: SandboxHandle
) -> None:
    """The query surface the product reads: PaymentIntents with ``data.payment_method``
    expanded (null once a debit came back: the account is ``last_payment_error.payment_method``)
    and ``data.latest_charge`` (whose ``payment_method`` id stays)."""
    page = client.v1.payment_intents.list(
        params={"limit": 100, "expand": ["data.payment_method", "data.latest_charge"]}
    )
    failed = [pi for pi in page.data if pi.status == "requires_payment_method"]
    assert failed
    for pi in failed:
        assert pi.payment_method is None
        assert pi.last_payment_error.payment_method.type == "us_bank_account"
        assert pi.latest_charge.payment_method == pi.last_payment_error.payment_method.id


def test_a_return_updated_since_is_listed_with_its_reason_on_the_expanded_charge(
    client: stripe.StripeClient, bank: SandboxHandle
) -> None:
    """What the outcome sync's first run reads: once the intent is updated after its return,
    Stripe clears last_payment_error (the pinned SDK's docstring); listed with
    ``expand[]=data.latest_charge``, each item's charge still carries ``failure_code`` and
    ``failure_message`` (free strings on the SDK's ``Charge``) and the bank's name and last 4."""
    si = verified_manual_pm(client, bank, "000111111113")
    pi = debit(client, si)
    advance(bank, 5 * DAY)
    client.v1.payment_intents.update(pi.id, params={"metadata": {"crm_note": "called"}})
    page = client.v1.payment_intents.list(
        params={"limit": 100, "customer": si.customer,
                "expand": ["data.payment_method", "data.latest_charge"]}
    )  # fmt: skip
    (listed,) = page.data
    assert listed.status == "requires_payment_method" and listed.last_payment_error is None
    charge = listed.latest_charge
    assert isinstance(charge, stripe.Charge) and charge.status == "failed"
    assert charge.failure_code == "account_closed" and charge.failure_message
    assert charge.payment_method == si.payment_method
    details = charge.payment_method_details.us_bank_account
    assert details.last4 == "1113" and details.bank_name
    checker = Checker()
    checker.check(listed.to_dict(), "payment_intent")
    assert checker.problems == []


# --------------------------------------------------------------------------- the bank's rules


def _pm(fca: str | None) -> dict[str, Any]:
    return {"us_bank_account": {"financial_connections_account": fca}}


def test_unauthorized_returns_are_rare_and_several_times_likelier_after_microdeposits() -> None:
    state = State(SandboxConfig(seed=1))
    n = 20_000
    manual = [bank_outcome(state, _pm(None), SUCCESS, random.Random(i)) for i in range(n)]
    linked = [bank_outcome(state, _pm("fca_gone"), SUCCESS, random.Random(i)) for i in range(n)]
    share = {
        name: sum(o.code == "debit_not_authorized" for o in found) / n
        for name, found in (("microdeposits", manual), ("financial_connections", linked))
    }
    assert share["financial_connections"] < 0.01
    assert share["microdeposits"] > 2.5 * share["financial_connections"]
    for name, expected in UNAUTHORIZED_SHARE.items():
        assert abs(share[name] - expected) < expected / 2 + 0.001
    wrong_number = sum(o.network_code in ("R03", "R04") for o in manual) / n
    assert 0.005 < wrong_number < 0.05
    assert not any(o.network_code in ("R03", "R04") for o in linked)
    # an outcome the account already decided stays
    assert bank_outcome(state, _pm(None), RETURNS["R01"], random.Random(0)) is RETURNS["R01"]


def test_returns_take_one_or_two_banking_days_and_unauthorized_ones_up_to_sixty_days() -> None:
    at = NOW
    quick = [settlement_delay(random.Random(i), RETURNS["R02"], at) for i in range(500)]
    late = [settlement_delay(random.Random(i), RETURNS["R10"], at) for i in range(500)]
    settled = [settlement_delay(random.Random(i), SUCCESS, at) for i in range(100)]
    assert all(DAY // 2 < d <= 2 * DAY + DAY for d in quick)  # Tue or Wed after a Monday
    assert max(late) <= 60 * DAY and max(late) > 20 * DAY
    assert sum(d <= 3 * DAY for d in late) > len(late) / 2  # most still within days
    assert all(3 * DAY < d <= 5 * DAY for d in settled)  # Friday (T+4)
    for d in quick + settled:
        assert is_business_day(datetime.fromtimestamp(at + d, UTC).date())


# --------------------------------------------------------------------------- the demo world


WORLD_NOW = 1_767_369_600  # Fri 2026-01-02 16:00 UTC


def _debits(seed: int) -> tuple[State, list[dict[str, Any]]]:
    state = build_state(SandboxConfig(seed=seed, customers=400, now=WORLD_NOW))
    debits = [pi for pi in state.find("payment_intent") if pi["latest_charge"]]
    return state, debits


def _outcomes(debits: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(pi["id"], pi["status"], (pi["last_payment_error"] or {}).get("code")) for pi in debits]


def test_the_demo_world_holds_ninety_days_of_debits_that_settled_or_came_back() -> None:
    state, debits = _debits(42)
    assert len(debits) > 150
    assert all(WORLD_NOW - pi["created"] <= 91 * DAY for pi in debits)
    codes = Counter(code for _, _, code in _outcomes(debits))
    statuses = Counter(pi["status"] for pi in debits)
    assert statuses["succeeded"] > len(debits) / 2
    assert statuses["processing"] > 0 and statuses["requires_payment_method"] > 0
    assert codes["insufficient_funds"] > 0 and codes["account_closed"] > 0
    returned = statuses["requires_payment_method"]
    assert returned / len(debits) < 0.15  # below Nacha's overall limit, as a going business is
    failed_at = {
        e["data"]["object"]["id"]: e["created"]
        for e in state.find("event")
        if e["type"] == "payment_intent.payment_failed"
    }
    processing_at = {
        e["data"]["object"]["id"]: e["created"]
        for e in state.find("event")
        if e["type"] == "payment_intent.processing"
    }
    checker = Checker()
    for pi in debits:
        checker.check(pi, pi["id"])
        if pi["status"] != "requires_payment_method":
            continue
        error = pi["last_payment_error"]
        pm = state.get("payment_method", error["payment_method"]["id"])
        blocked = (pm["us_bank_account"]["status_details"] or {}).get("blocked")
        waited = failed_at[pi["id"]] - processing_at[pi["id"]]
        assert waited > 0
        if error["code"] == "insufficient_funds":
            assert blocked is None
            fca = state.get(
                "financial_connections.account",
                pm["us_bank_account"]["financial_connections_account"],
            )
            assert pi["amount"] > available_balance(fca, "usd")  # type: ignore[operator]
        else:
            assert blocked is not None and blocked["network_code"] in RETURNS
            assert RETURNS[blocked["network_code"]].code == error["code"]
        if error["code"] != "debit_not_authorized":
            debit_day = datetime.fromtimestamp(processing_at[pi["id"]], UTC).date()
            latest = next_business_day(next_business_day(debit_day))
            assert datetime.fromtimestamp(failed_at[pi["id"]], UTC).date() <= latest
        assert waited <= 60 * DAY
        checker.check(pm, pm["id"])
        checker.check(state.get("charge", pi["latest_charge"]), pi["latest_charge"])
    assert checker.problems == []
    assert checker.types_seen["payment_method"] >= returned  # each also inside its error


def test_the_debit_history_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    first, second, other = (_outcomes(_debits(seed)[1]) for seed in (5, 5, 6))
    assert first == second
    assert first != other


def _literals(annotation: Any) -> set[str]:
    """Every string Literal inside an Optional/Union annotation of the SDK."""
    if typing.get_origin(annotation) is Literal:
        return {a for a in typing.get_args(annotation) if isinstance(a, str)}
    return {v for arg in typing.get_args(annotation) for v in _literals(arg)}


def test_every_return_uses_the_pinned_sdks_error_codes_network_codes_and_reasons() -> None:
    codes = _literals(_hints(PaymentIntent.LastPaymentError)["code"])
    blocked = _hints(PaymentMethod.UsBankAccount.StatusDetails.Blocked)
    network_codes, reasons = _literals(blocked["network_code"]), _literals(blocked["reason"])
    for name, outcome in RETURNS.items():
        assert outcome.code in codes, name
        if outcome.block_reason:
            assert outcome.network_code == name
            assert outcome.network_code in network_codes, name
            assert outcome.block_reason in reasons, name
    # the reference's names for R02/R03/R04 are blocked reasons, not error codes, in the SDK
    assert {"bank_account_closed", "bank_account_invalid_details"} <= reasons
    assert not {"bank_account_closed", "bank_account_invalid_details"} & codes
