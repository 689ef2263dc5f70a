"""What to do about a bank account Stripe blocked after a return.

Stripe blocks a payment method (``us_bank_account.status_details.blocked``, with the ACH
``network_code`` and a ``reason``; field names as in the pinned SDK's ``PaymentMethod`` types)
when a return says debiting it again would fail or is not allowed: the account is closed,
frozen, unusable, or the customer disputed the debit. Debiting it again is refused, so each
block needs a person to act: a new mandate, a new bank account, or the customer talking to
their bank. Pure: tables and a look-up.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.rules.nacha import describe_code

__all__ = ["NEW_ACCOUNT", "NEW_MANDATE", "CONTACT_BANK", "NextStep", "next_step"]

NEW_MANDATE = "new mandate"
NEW_ACCOUNT = "new account"
CONTACT_BANK = "customer to contact their bank"


@dataclass(frozen=True)
class NextStep:
    kind: str  # new mandate | new account | customer to contact their bank
    sentence: str


REASONS: dict[str, NextStep] = {
    "bank_account_closed": NextStep(
        NEW_ACCOUNT, "The account is closed. Ask the customer to link another bank account."
    ),
    "bank_account_invalid_details": NextStep(
        NEW_ACCOUNT,
        "The account number or routing number is wrong. Collect the account again, through "
        "Financial Connections rather than typed-in numbers.",
    ),
    "bank_account_restricted": NextStep(
        NEW_ACCOUNT,
        "The account does not accept debits (a savings or non-transaction account). Ask for a "
        "checking account.",
    ),
    "tokenized_account_number_deactivated": NextStep(
        NEW_ACCOUNT,
        "The bank replaced the tokenized account number. Ask the customer to link the account "
        "again.",
    ),
    "bank_account_frozen": NextStep(
        CONTACT_BANK,
        "The bank froze the account. The customer must sort it out with their bank, or link "
        "another account.",
    ),
    "bank_account_unusable": NextStep(
        CONTACT_BANK,
        "The bank says the account cannot be debited. The customer should ask their bank why, "
        "or link another account.",
    ),
    "debit_not_authorized": NextStep(
        NEW_MANDATE,
        "The customer told their bank the debit was not authorized. Contact the customer, and "
        "collect a new mandate (a new collection request) before debiting again.",
    ),
}
UNKNOWN = NextStep(
    CONTACT_BANK,
    "Stripe blocked this account. Contact the customer, then collect a new account or mandate.",
)


def next_step(reason: str | None, network_code: str | None = None) -> NextStep:
    """The next step for a block of ``reason`` (and ``network_code`` when the reason is unknown)."""
    step = REASONS.get(reason or "")
    if step is not None:
        return step
    if network_code in {"R05", "R07", "R08", "R10", "R11", "R29", "R31"}:
        return REASONS["debit_not_authorized"]
    if network_code in {"R02", "R03", "R04", "R20"}:
        return NextStep(
            NEW_ACCOUNT,
            f"Returned {describe_code(network_code)}. "
            "Ask the customer to link another bank account.",
        )
    return UNKNOWN
