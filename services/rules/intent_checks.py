"""What a person typed to verify microdeposits, checked before Stripe sees it, and Stripe's
refusals of it (and of a cancel) as sentences that say what happens next (§6.2, §6.3). No I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from services.errors import FcopsError, NothingChanged, StripeRequestError, ValidationError
from services.rules import wording
from services.rules.input_limits import clean_text
from services.rules.intent_fields import microdeposits, waiting_for_microdeposits

# Reference §6.2: Stripe allows 10 failed attempts for a descriptor code and 3 for amounts.
ATTEMPT_LIMITS = {"descriptor_code": 10, "amounts": 3}
_DESCRIPTOR_RE = re.compile(r"^SM[A-Z0-9]{4}$")
_REMAINING_RE = re.compile(r"(\d+)\s+verification\s+attempts?\s+remaining", re.IGNORECASE)


def verification_input(
    amounts: Sequence[int] | None, descriptor_code: str | None
) -> tuple[str, dict[str, Any]]:
    """Check what the person typed before Stripe sees it (exactly one of the two, §6.2)."""
    code = clean_text(descriptor_code, field="The descriptor code", max_length=40).upper()
    if amounts is not None and code:
        raise ValidationError("Send either the two amounts or the descriptor code, not both.")
    if amounts is not None:
        values = list(amounts) if isinstance(amounts, list | tuple) else []
        if len(values) != 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 99 for v in values
        ):
            raise ValidationError(
                "Enter exactly two deposit amounts in cents, each between 1 and 99 "
                "(for example 32 and 45)."
            )
        return "amounts", {"amounts": values}
    if not code:
        raise ValidationError(
            "Enter the 6-character descriptor code from the customer's bank statement "
            "(it starts with SM), or the two deposit amounts."
        )
    if not _DESCRIPTOR_RE.match(code):
        raise ValidationError(
            f"'{code[:12]}' is not a descriptor code: it has 6 letters or digits and starts "
            "with SM (for example SM11AA)."
        )
    return "descriptor_code", {"descriptor_code": code}


AMOUNTS_RULE = (
    "Amounts are whole cents between 1 and 99, as on the customer's bank statement "
    "(e.g. 32 and 45)."
)


def typed_amounts(first: object, second: object) -> list[int]:
    """The two deposit amounts as typed on the page (text), as whole cents; a sentence saying
    what to type instead for anything else (nothing reaches Stripe)."""
    return [_typed_cents(first, "first"), _typed_cents(second, "second")]


def _typed_cents(value: object, which: str) -> int:
    text = str(value if value is not None else "").strip()
    shown = text[:12]
    if not text:
        raise ValidationError(f"Enter the {which} deposit amount. {AMOUNTS_RULE}")
    if re.fullmatch(r"\$?0?\.\d\d", text):  # dollars: $0.32 is entered as 32
        cents = int(text[-2:])
        raise ValidationError(
            f"The {which} deposit '{shown}' looks like dollars: enter it in cents"
            + (f" ({cents})" if cents else "")
            + f". {AMOUNTS_RULE}"
        )
    if re.fullmatch(r"[-−]\s*\d+", text):  # whole, but below zero: the range is the problem
        raise ValidationError(
            f"The {which} deposit {shown} is not between 1 and 99 cents. {AMOUNTS_RULE}"
        )
    if not text.isascii() or not text.isdigit():
        raise ValidationError(f"The {which} deposit '{shown}' is not whole cents. {AMOUNTS_RULE}")
    cents = int(text)
    if not 1 <= cents <= 99:
        raise ValidationError(
            f"The {which} deposit {shown} is not between 1 and 99 cents. {AMOUNTS_RULE}"
        )
    return cents


def verification_refusal(err: StripeRequestError, ident: str, method: str) -> FcopsError:
    """Stripe's verification refusals (§6.3) as sentences that say what happens next.

    A mismatch keeps its idempotency key on the page (``keep_idempotency_key``): Stripe replays
    the saved answer for the same wrong values, which costs no attempt.
    """
    code = err.code or ""
    what = "amounts" if method == "amounts" else "code"
    if code.endswith("_mismatch"):
        found = _REMAINING_RE.search(str(err))
        left = (
            f"{found.group(1)} of {ATTEMPT_LIMITS[method]} attempts left"
            if found
            else f"Stripe allows {ATTEMPT_LIMITS[method]} attempts in all"
        )
        mismatch = StripeRequestError(
            f"The {what} did not match what Stripe sent to the bank account; nothing changed. "
            f"{left}. Ask the customer to read the {what} from the statement again.",
            request_id=err.request_id,
            code=code,
        )
        mismatch.keep_idempotency_key = True
        return mismatch
    if code.endswith("_attempts_exceeded"):
        return _refusal(
            f"Too many wrong attempts: Stripe stopped verifying {ident}, which now needs a new "
            "bank account. Create another request for the customer.",
            err,
        )
    if code.endswith("_verification_timeout"):
        return _refusal(
            f"The 10-day verification window for {ident} has passed; it now needs a new bank "
            "account. Create another request for the customer.",
            err,
        )
    if code.endswith("_amounts_invalid"):
        return ValidationError("Stripe needs exactly two amounts in cents, each between 1 and 99.")
    return err


def not_verifiable(intent: Mapping[str, Any], ident: str, err: StripeRequestError) -> FcopsError:
    """Why Stripe will not check deposits for this intent now, read from its current state."""
    arrival = microdeposits(intent).get("arrival_date")
    if not waiting_for_microdeposits(intent):
        return _refusal(
            f"{ident} is not waiting for microdeposit verification (its status is "
            f"{intent.get('status')}); nothing was changed.",
            err,
        )
    if arrival:  # waiting, yet refused: the deposits have not arrived
        day = wording.weekday(int(arrival))
        return _refusal(
            f"The microdeposits have not arrived yet (expected {day}). Verify once the customer "
            "sees them on the bank statement; nothing was changed.",
            err,
        )
    return err


def _refusal(message: str, err: StripeRequestError) -> StripeRequestError:
    return StripeRequestError(message, request_id=err.request_id, code=err.code)


def cancel_done(intent: dict[str, Any], ident: str) -> bool:
    """A read-back of a cancel: canceled, not yet, or never (it finished first)."""
    status = str(intent.get("status"))
    if status == "canceled":
        return True
    if status in ("succeeded", "processing"):
        raise NothingChanged(
            f"{ident} was not canceled: it is {status}, and Stripe cancels only open requests.",
            as_asked=False,
        )
    return False
