"""The demo world as plain data, before it becomes Stripe objects.

``sandbox.demo.generate(...)`` builds a :class:`DemoWorld` (who the customers are, which banks
they linked, what their money does). ``sandbox.demo.seed`` turns it into Stripe-shaped objects.
Keeping the two apart lets the generator be tested for realism without HTTP, and lets tests
compare what the product detects with the truth the generator planted (``DemoIncome``).
All timestamps are Unix seconds; all amounts integer minor units (cents).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sandbox.api.institutions import Institution as DemoInstitution

AccountStatus = Literal["active", "inactive", "disconnected"]
Cadence = Literal["weekly", "biweekly", "semimonthly", "monthly", "irregular"]
VerificationMethod = Literal["automatic", "instant", "microdeposits"]
# How an account's owners relate to the customer (truth for the ownership matcher):
# exact = one owner, written exactly like the customer's name; variant = one owner, the customer
# written differently ("SMITH, JOHN", "J. Smith", "Robert" for "Bob", a suffix); joint = the
# customer plus someone else (two owners, or "JOHN & JANE DOE" in one name); mismatch = nobody
# on the account is the customer.
OwnershipTruth = Literal["exact", "variant", "joint", "mismatch"]
IntentOutcome = Literal[
    "instant_success",  # linked through FC, intent succeeded
    "instant_failed",  # FC linking failed (e.g. Down Bank), back to requires_payment_method
    "manual_verified",  # manual entry, microdeposits verified, succeeded
    "manual_pending",  # manual entry, waiting in requires_action/verify_with_microdeposits
    "manual_failed",  # microdeposits failed / attempts exceeded / timed out
    "abandoned",  # customer never finished: requires_payment_method, old
    "canceled",  # canceled by the merchant
    "processing",  # PaymentIntent only: debit in flight
    "other_method",  # offered card, Link and bank; the customer paid by card or Link
]
# What an intent offered (its payment_method_types): ACH only, or Stripe's dynamic payment
# methods with card and Link next to the bank account.
DYNAMIC_TYPES = ["card", "link", "us_bank_account"]


@dataclass
class DemoOwner:
    name: str
    email: str | None = None
    phone: str | None = None
    raw_address: str | None = None
    # truth for the ownership matcher: is this owner (also) the customer, and how is the name
    # written: exact | upper | last_first | initials | middle_initial | nickname | formal |
    # suffix | joint_string | co_owner | other_person | business
    is_customer: bool = True
    name_variant: str = "exact"


@dataclass
class DemoIncome:
    """A recurring deposit the generator planted (ground truth for income detection)."""

    description: str
    cadence: Cadence
    typical_amount: int
    last_date: str  # ISO date of the last deposit on or before "now"


@dataclass
class DemoTransaction:
    amount: int  # signed: positive = money in, negative = money out
    description: str
    transacted_at: int
    status: Literal["pending", "posted", "void"] = "posted"
    posted_at: int | None = None
    void_at: int | None = None


@dataclass
class DemoAccount:
    institution: str  # DemoInstitution.name
    display_name: str
    last4: str
    category: Literal["cash", "credit", "investment", "other"]
    subcategory: str  # checking | savings | credit_card | line_of_credit | mortgage | other
    status: AccountStatus
    permissions: list[str]
    subscriptions: list[str]
    created: int
    # Stripe-shaped balance dict ({"as_of", "type", "current", "cash"|"credit"}) or None
    balance: dict | None
    owners: list[DemoOwner]
    incomes: list[DemoIncome] = field(default_factory=list)
    transactions: list[DemoTransaction] = field(default_factory=list)
    account_holder_type: Literal["individual", "company"] = "individual"
    # Transactions are generated lazily (sandbox.demo.transactions_for) from this seed, so a world
    # of tens of thousands of accounts starts fast; `transactions` stays empty until then.
    txn_seed: int = 0
    routing_number: str = "110000000"
    # when the last balance refresh happened / may happen again (None = never refreshed)
    balance_refreshed_at: int | None = None
    next_refresh_available_at: int | None = None
    ownership_truth: OwnershipTruth = "exact"


@dataclass
class DemoIntent:
    kind: Literal["setup_intent", "payment_intent"]
    verification_method: VerificationMethod
    outcome: IntentOutcome
    created: int
    permissions: list[str]
    prefetch: list[str] = field(default_factory=list)
    account_index: int | None = None  # index into DemoCustomer.accounts when linked through FC
    manual_last4: str | None = None  # set when the account was entered manually
    manual_bank_name: str | None = None
    microdeposit_type: Literal["amounts", "descriptor_code"] | None = None
    finished_at: int | None = None  # when it succeeded / failed / was canceled
    amount: int | None = None  # PaymentIntent only
    currency: str = "usd"
    failure_code: str | None = None  # last_setup_error / last_payment_error code
    # the bank the customer picked in the FC flow (also for failed links, e.g. "Down Bank (Error)")
    institution: str | None = None
    offered: list[str] | None = None  # payment_method_types; None: ["us_bank_account"]
    paid_with: Literal["card", "link"] | None = None  # outcome "other_method" only
    flow: str | None = None  # the fcops flow that made it (metadata.fcops_flow); None: elsewhere


@dataclass
class DemoCustomer:
    name: str
    email: str
    phone: str | None
    address: dict  # {"line1","line2","city","state","postal_code","country"}
    created: int
    accounts: list[DemoAccount]
    intents: list[DemoIntent]
    description: str | None = None
    is_business: bool = False


@dataclass
class DemoWorld:
    seed: int
    now: int
    institutions: list[DemoInstitution]
    customers: list[DemoCustomer]
