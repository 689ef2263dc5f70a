"""Microdeposits (reference §6.2-6.3, §7.2): what Stripe sends to a manually entered bank
account, when it arrives, and how the customer's answer is judged. The amounts and codes
never appear in a response; the intent's side of it is in ``sandbox.api.intents``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from sandbox.core import State, StripeError, invalid
from sandbox.shared_facts import next_business_day

Obj = dict[str, Any]
DESCRIPTOR_CODE_ATTEMPTS = 10
AMOUNTS_ATTEMPTS = 3
MICRODEPOSIT_TIMEOUT_SECONDS = 10 * 86400
HOSTED_VERIFICATION_URL = "https://payments.stripe.com/microdeposit/"

MICRODEPOSIT_VERIFIED = "verified"
MICRODEPOSIT_EXCEEDED = "attempts_exceeded"
MICRODEPOSIT_TIMEOUT = "timeout"

MICRODEPOSIT_AMOUNTS: dict[tuple[int, int], str] = {
    (32, 45): MICRODEPOSIT_VERIFIED,
    (10, 11): MICRODEPOSIT_EXCEEDED,
    (40, 41): MICRODEPOSIT_TIMEOUT,
}


MICRODEPOSIT_CODES: dict[str, str] = {
    "SM11AA": MICRODEPOSIT_VERIFIED,
    "SM33CC": MICRODEPOSIT_EXCEEDED,
    "SM44DD": MICRODEPOSIT_TIMEOUT,
}


MICRODEPOSIT_ERRORS: dict[str, tuple[str, str]] = {
    MICRODEPOSIT_EXCEEDED: (
        "payment_method_microdeposit_verification_attempts_exceeded",
        "You have exceeded the number of allowed verification attempts.",
    ),
    MICRODEPOSIT_TIMEOUT: (
        "payment_method_microdeposit_verification_timeout",
        "Payment method should be verified with microdeposits within the required period.",
    ),
}


@dataclass
class Microdeposits:
    """The deposits Stripe sent for one intent; the codes never appear in a response."""

    microdeposit_type: str
    arrival_date: int
    arrived: bool = False
    attempts: int = 0


def _sent(state: State) -> dict[str, Microdeposits]:
    return state.private("microdeposits", dict)  # intent id → its deposits


def deposits_of(state: State, intent_id: str) -> Microdeposits | None:
    return _sent(state).get(intent_id)


def send(
    state: State, intent_id: str, *, microdeposit_type: str, at: int, arrived: bool = False
) -> Microdeposits:
    """Send deposits for the intent at ``at``; they arrive two business days later."""
    deposits = Microdeposits(microdeposit_type, arrival_estimate(at), arrived=arrived)
    _sent(state)[intent_id] = deposits
    return deposits


def forget(state: State, intent_id: str) -> None:
    """The intent no longer waits for deposits (verified, failed or canceled)."""
    _sent(state).pop(intent_id, None)


def next_action(state: State, microdeposit_type: str, arrival_date: int) -> Obj:
    """The intent's ``next_action`` while it waits for the customer's answer."""
    return {
        "type": "verify_with_microdeposits",
        "verify_with_microdeposits": {
            "arrival_date": arrival_date,
            "hosted_verification_url": HOSTED_VERIFICATION_URL + state.new_id("sacs_test_"),
            "microdeposit_type": microdeposit_type,
        },
    }


def arrival_estimate(now: int) -> int:
    """Two business days out, at midnight Pacific (07:00 UTC), like Stripe's examples."""
    day = datetime.fromtimestamp(now, UTC).date()
    day = next_business_day(next_business_day(day))
    return int(datetime.combine(day, time(7, 0), tzinfo=UTC).timestamp())


def check_answer(deposits: Microdeposits, amounts: Any, code: Any) -> None:
    """Exactly one of ``amounts[]`` and ``descriptor_code`` must be given."""
    if amounts not in (None, "", []) and code not in (None, ""):
        raise StripeError(
            400,
            "You may only specify one of these parameters: amounts, descriptor_code.",
            code="parameters_exclusive",
            param="descriptor_code",
        )
    if amounts in (None, "", []) and code in (None, ""):
        raise StripeError(
            400,
            "You must provide either amounts or descriptor_code.",
            code="parameter_missing",
            param="amounts" if deposits.microdeposit_type == "amounts" else "descriptor_code",
        )


def judge(deposits: Microdeposits, amounts: Any, code: Any) -> tuple[str | None, int]:
    """The test-value verdict of the answer (None: a mismatch) and how many tries it allows."""
    if amounts not in (None, "", []):
        return check_amounts(deposits, amounts), AMOUNTS_ATTEMPTS
    return check_descriptor_code(deposits, str(code)), DESCRIPTOR_CODE_ATTEMPTS


# The answer does not match how the deposits were sent (microdeposit_type).
_SENT_OTHERWISE = {
    "amounts": "These microdeposits were sent as a descriptor code (microdeposit_type "
    "descriptor_code); verify with descriptor_code instead of amounts.",
    "descriptor_code": "These microdeposits were sent as two amounts (microdeposit_type "
    "amounts); verify with amounts instead of descriptor_code.",
}


def _expect_answer(deposits: Microdeposits, answer: str) -> None:
    if deposits.microdeposit_type != answer:
        raise invalid(_SENT_OTHERWISE[answer], param=answer)


def check_amounts(deposits: Microdeposits, amounts: Any) -> str | None:
    _expect_answer(deposits, "amounts")
    values = amounts if isinstance(amounts, list) else [amounts]
    if len(values) != 2 or not all(
        isinstance(v, str) and v.isdigit() and 0 < int(v) < 100 for v in values
    ):
        raise StripeError(
            400,
            "Please provide exactly two microdeposit amounts, each between 1 and 99 cents.",
            code="payment_method_microdeposit_verification_amounts_invalid",
            param="amounts",
        )
    pair = (int(values[0]), int(values[1]))
    return MICRODEPOSIT_AMOUNTS.get(pair)


def check_descriptor_code(deposits: Microdeposits, code: str) -> str | None:
    _expect_answer(deposits, "descriptor_code")
    return MICRODEPOSIT_CODES.get(code.strip().upper())


def mismatch_error(deposits: Microdeposits, remaining: int, *, extra: Obj) -> StripeError:
    if deposits.microdeposit_type == "amounts":
        code = "payment_method_microdeposit_verification_amounts_mismatch"
        message = (
            "The amounts provided do not match the amounts that were sent to the bank account."
        )
        param = "amounts"
    else:
        code = "payment_method_microdeposit_verification_descriptor_code_mismatch"
        message = "The verification code provided does not match the one sent to the bank account."
        param = "descriptor_code"
    plural = "attempt" if remaining == 1 else "attempts"
    return StripeError(
        400,
        f"{message} You have {remaining} verification {plural} remaining.",
        code=code,
        param=param,
        extra=extra,
    )
