"""Nacha return codes, their categories and limits, and how Stripe reports them (reference §6.5).

Nacha watches three return rates over the last 60 days, by the date debits were originated:
unauthorized returns (0.5 %), administrative returns (3 %) and all returns (15 %). Stripe never
sends the Nacha code for a failed debit on the PaymentIntent; it sends a Stripe error code in
``last_payment_error.code`` and, when it blocks the payment method, the Nacha code in
``us_bank_account.status_details.blocked.network_code``. Pure: tables and look-ups only.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ADMINISTRATIVE",
    "CATEGORIES",
    "LIMITS",
    "RETRYABLE",
    "UNAUTHORIZED",
    "Return",
    "category_of",
    "describe_code",
    "return_from",
]

UNAUTHORIZED = frozenset({"R05", "R07", "R10", "R11", "R29", "R51"})
ADMINISTRATIVE = frozenset({"R02", "R03", "R04"})
RETRYABLE = frozenset({"R01", "R09"})  # the only codes that may be re-initiated

CATEGORIES = ("unauthorized", "administrative", "overall")
LIMITS = {"unauthorized": 0.005, "administrative": 0.03, "overall": 0.15}

MEANINGS = {
    "R01": "insufficient funds",
    "R02": "account closed",
    "R03": "no account / unable to locate account",
    "R04": "invalid account number",
    "R05": "unauthorized debit to a consumer account",
    "R07": "authorization revoked by the customer",
    "R08": "payment stopped",
    "R09": "uncollected funds",
    "R10": "customer advises not authorized",
    "R11": "customer advises entry not in accordance with the terms of the authorization",
    "R15": "beneficiary deceased",
    "R16": "account frozen",
    "R20": "non-transaction account",
    "R29": "corporate customer advises not authorized",
    "R31": "permissible return entry",
    "R51": "item related to RCK entry is ineligible",
}

# Stripe's failure code → the Nacha codes it may stand for, most likely first. Both the reference's
# names (bank_account_closed, bank_account_invalid_details, recipient_deceased, bank_account_frozen)
# and the names in the pinned SDK's LastPaymentError.code enum (account_closed, no_account, …,
# which has no bank_account_closed/_invalid_details/_frozen nor recipient_deceased) are read.
STRIPE_CODES: dict[str, tuple[str, ...]] = {
    "insufficient_funds": ("R01", "R09"),
    "bank_account_closed": ("R02",),
    "account_closed": ("R02",),
    "bank_account_invalid_details": ("R03", "R04"),
    "no_account": ("R03",),
    "invalid_account_number": ("R04",),
    "account_number_invalid": ("R04",),
    "debit_not_authorized": ("R10", "R05", "R07", "R08", "R11", "R29", "R31"),
    "recipient_deceased": ("R15",),
    "bank_account_frozen": ("R16",),
    "account_frozen": ("R16",),
    "bank_account_restricted": ("R20",),
    # Stripe's docs name no Nacha code for bank_account_unusable: it is the code of a debit on
    # an account Stripe will not debit (docs.stripe.com/payments/ach-direct-debit/
    # blocked-bank-accounts), and the pinned SDK's error-code enum has it where the reference's
    # bank_account_invalid_details would be (the sandbox returns it for R04 and a deactivated
    # tokenized account number). Closest: the returns that say the account cannot be debited
    # as given, R04 and R03 first, then closed, frozen and non-transaction accounts. The block's
    # network_code names the one it was when it is among these.
    "bank_account_unusable": ("R04", "R03", "R02", "R16", "R20"),
}


def category_of(code: str) -> str:
    """``unauthorized``, ``administrative`` or ``other`` for a Nacha return code."""
    if code in UNAUTHORIZED:
        return "unauthorized"
    if code in ADMINISTRATIVE:
        return "administrative"
    return "other"


def describe_code(code: str) -> str:
    meaning = MEANINGS.get(code)
    return f"{code} ({meaning})" if meaning else code


@dataclass(frozen=True)
class Return:
    """A returned debit: Stripe's code, the Nacha code(s) it stands for, and the Nacha category."""

    stripe_code: str
    codes: tuple[str, ...]  # one code when known exactly (from the block), else the candidates
    category: str  # unauthorized | administrative | other

    @property
    def code(self) -> str:
        """The Nacha code, or the candidates joined with ``/`` when Stripe did not say which."""
        return "/".join(self.codes)

    @property
    def exact(self) -> bool:
        return len(self.codes) == 1

    @property
    def retryable(self) -> bool:
        return all(c in RETRYABLE for c in self.codes)


def return_from(stripe_code: str | None, network_code: str | None = None) -> Return | None:
    """The return behind a failed ACH debit, or ``None`` when the failure was no return (a
    synchronous refusal such as a blocked payment method, or an unknown code).

    ``network_code`` (the payment method's ``status_details.blocked.network_code``) names the
    exact code when it is one of the codes ``stripe_code`` stands for. ``debit_not_authorized``
    without it counts as unauthorized: most of its codes are, and the 0.5 % limit is the one
    that suspends ACH access, so fcops errs on the side of warning early.
    """
    if not stripe_code or stripe_code not in STRIPE_CODES:
        return None
    candidates = STRIPE_CODES[stripe_code]
    if network_code and network_code in candidates:
        return Return(stripe_code, (network_code,), category_of(network_code))
    categories = {category_of(c) for c in candidates}
    if stripe_code == "debit_not_authorized":
        category = "unauthorized"
    else:
        category = categories.pop() if len(categories) == 1 else "other"
    return Return(stripe_code, candidates, category)
