"""Data table of test-mode ACH outcomes (reference §7.1): what happens to a debit from each of
Stripe's test account numbers (anything else succeeds)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """What happens to a debit from one bank account."""

    kind: (
        str  # succeed | fail | processing_forever | dispute | blocked_at_confirm | no_microdeposits
    )
    code: str | None = None
    message: str | None = None
    network_code: str | None = None  # the NACHA return code when the account gets blocked
    block_reason: str | None = None  # sets us_bank_account.status_details.blocked
    decline_code: str | None = None
    charge_code: str | None = None  # the charge's failure_code when it differs from `code`

    @property
    def failure_code(self) -> str | None:
        """``charge.failure_code`` (a free string; Stripe's legacy ACH codes, §6.5)."""
        return self.charge_code or self.code


SUCCESS = Outcome("succeed")


ACCOUNT_OUTCOMES: dict[str, Outcome] = {
    "000123456789": SUCCESS,
    # `code` is last_payment_error.code and must be in the pinned SDK's error-code enum, which
    # has account_closed / no_account (not the bank_account_* names of the reference's §6.5 table).
    "000111111113": Outcome(
        "fail",
        "account_closed",
        "The customer's bank account has been closed.",
        "R02",
        "bank_account_closed",
    ),
    "000111111116": Outcome(
        "fail",
        "no_account",
        "The customer's bank account could not be located.",
        "R03",
        "bank_account_invalid_details",
    ),
    "000222222227": Outcome(
        "fail",
        "insufficient_funds",
        "The customer's account has insufficient funds to cover this payment.",
    ),
    "000333333335": Outcome(
        "fail",
        "debit_not_authorized",
        "The customer has notified their bank that this payment was unauthorized.",
        "R10",
        "debit_not_authorized",
    ),
    "000444444440": Outcome(
        "fail",
        "payment_intent_payment_attempt_failed",
        "The bank was unable to process this payment because of its currency.",
        decline_code="invalid_currency",
        charge_code="invalid_currency",
    ),
    "000666666661": Outcome(
        "no_microdeposits",
        "payment_method_microdeposit_failed",
        "Microdeposits failed to deposit into the customer's bank account. "
        "Please check the account, institution and transit numbers.",
    ),
    "000555555559": Outcome("dispute"),
    "000000000009": Outcome("processing_forever"),
    "000000004954": Outcome(
        "blocked_at_confirm",
        "payment_intent_payment_attempt_failed",
        "The payment was blocked by Stripe Radar (highest risk level).",
        decline_code="highest_risk_level",
    ),
    "000777777771": Outcome(
        "fail",
        "payment_intent_payment_attempt_failed",
        "The payment exceeds the weekly ACH volume limit for this account.",
    ),
    "000888888885": Outcome(
        "fail",
        "bank_account_unusable",
        "The tokenized account number has been deactivated.",
        "R04",
        "tokenized_account_number_deactivated",
    ),
}


def outcome_for_account_number(account_number: str | None) -> Outcome:
    """The §7.1 behaviour of a manually entered test account (anything else succeeds)."""
    return ACCOUNT_OUTCOMES.get(account_number or "", SUCCESS)


def outcome_for_code(code: str | None, message: str) -> Outcome:
    """The failing outcome whose error code is ``code`` (``message`` when none has it)."""
    if code is None:
        return SUCCESS
    for outcome in ACCOUNT_OUTCOMES.values():
        if outcome.code == code and outcome.kind == "fail":
            return outcome
    return Outcome("fail", code, message)


# ---- returns by NACHA code (reference §6.5), for debits whose outcome follows the account
# rather than a §7.1 test number. `code` is last_payment_error.code and must be in the pinned
# SDK's PaymentIntent.LastPaymentError.code enum; `block_reason` in its
# PaymentMethod.UsBankAccount.StatusDetails.Blocked.reason enum. The reference's
# `bank_account_closed` / `bank_account_invalid_details` are not error codes in the SDK (only
# blocked reasons): R02 is `account_closed`, R03 `no_account`, R04 `bank_account_unusable`.

UNAUTHORIZED_CODES = ("R05", "R07", "R10", "R11", "R29")
_UNAUTHORIZED_MESSAGE = "The customer has notified their bank that this payment was unauthorized."

RETURNS: dict[str, Outcome] = {
    "R01": ACCOUNT_OUTCOMES["000222222227"],
    "R02": ACCOUNT_OUTCOMES["000111111113"],
    "R03": ACCOUNT_OUTCOMES["000111111116"],
    "R04": Outcome(
        "fail",
        "bank_account_unusable",
        "The customer's bank account number is not valid.",
        "R04",
        "bank_account_invalid_details",
    ),
    **{
        code: Outcome(
            "fail", "debit_not_authorized", _UNAUTHORIZED_MESSAGE, code, "debit_not_authorized"
        )
        for code in UNAUTHORIZED_CODES
    },
}


def is_unauthorized(outcome: Outcome) -> bool:
    return outcome.network_code in UNAUTHORIZED_CODES


# How often debits come back unauthorized, by how the account was verified (a small share,
# several times higher for microdeposit-verified accounts, which nobody logged in to), and how
# often a manually entered account number turns out wrong (R03/R04).
UNAUTHORIZED_SHARE = {"financial_connections": 0.002, "microdeposits": 0.012}
MANUAL_INVALID_SHARE = 0.015
