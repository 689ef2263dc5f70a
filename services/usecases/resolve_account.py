"""Find the Financial Connections account behind whatever ID a person pastes — the one resolver.

Payment lookup (:func:`resolve`) and the pre-debit checks, single and batch
(:func:`debit_target`), both go through here, so the same pasted ID leads to the same account
and the same sentence everywhere.

PaymentIntent / SetupIntent → ``expand[]=payment_method`` → ``us_bank_account.
financial_connections_account`` (reference §3.3 step 4); PaymentMethod → the same field;
FC account → itself; Customer → their accounts. A manually entered bank account has no FC
account, so no balance, ownership or transaction data: the result says so plainly.

A PaymentIntent whose debit failed or came back has ``payment_method: null`` (Stripe clears it
and the intent is back to ``requires_payment_method``): its account is the one the failed
attempt used, ``last_payment_error.payment_method``, else ``latest_charge.payment_method``
(reference §6.4; the pinned SDK's ``PaymentIntent.LastPaymentError.payment_method``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from services.adapters.gateway import StripeGateway
from services.errors import NotFound
from services.rules.account_summary import AccountSummary, IntentSummary
from services.rules.debit_target import choose_for_debit
from services.rules.ids import parse_id
from services.rules.payment_details import (
    AttemptFailure,
    PaymentDetails,
    failure_of,
    manual_verification,
)
from services.rules.returns import RETRY_OF, attempt_error
from services.rules.wording import counted

# Accounts already fetched, by ID: a batch passes one so each account is fetched once.
Known = dict[str, dict[str, Any]]

LOOKUP_KINDS = (
    "payment_intent",
    "charge",  # resolved through its PaymentIntent
    "setup_intent",
    "payment_method",
    "financial_connections.account",
    "customer",
)


@dataclass(frozen=True)
class Resolution:
    """What an ID leads to. ``account`` is None when the bank account was entered manually."""

    query_id: str
    kind: str
    account: dict[str, Any] | None = None
    payment_method: dict[str, Any] | None = None
    intent: dict[str, Any] | None = None
    customer_id: str | None = None
    accounts: list[dict[str, Any]] = field(default_factory=list)  # for a customer ID
    message: str = ""
    details: PaymentDetails | None = None  # the payment lookup's Dashboard-like details
    asked_id: str | None = None  # the ID looked up when it led to query_id (a py_… to its pi_…)

    @property
    def typed_id(self) -> str:
        """The clean ID that was looked up: what a page keeps, so a reload asks the same."""
        return self.asked_id or self.query_id

    @property
    def linked(self) -> AccountSummary | None:
        """The account as a page shows it."""
        return AccountSummary.of(self.account) if self.account is not None else None

    @property
    def customer_accounts(self) -> list[AccountSummary]:
        """A customer's linked accounts as a page shows them."""
        return [AccountSummary.of(a) for a in self.accounts]

    @property
    def intent_summary(self) -> IntentSummary | None:
        return IntentSummary.of(self.intent) if self.intent else None

    @property
    def failure(self) -> AttemptFailure | None:
        """A PaymentIntent's failed or returned last attempt (the debit came back)."""
        return failure_of(self.intent) if self.kind == "payment_intent" else None

    @property
    def retry_original(self) -> str | None:
        """The original debit to plan a retry of, when this one came back R01/R09."""
        failure = self.failure
        if failure is None or failure.ret is None or not failure.ret.retryable:
            return None
        metadata = (self.intent or {}).get("metadata") or {}
        return str(metadata.get(RETRY_OF) or self.query_id)

    @property
    def has_payment_method(self) -> bool:
        return bool(self.payment_method)

    @property
    def manual_entry(self) -> bool:
        pm = self.payment_method or {}
        bank = pm.get("us_bank_account") or {}
        return pm.get("type") == "us_bank_account" and not bank.get("financial_connections_account")


def _other_method_words(pm: dict[str, Any]) -> str:
    """'card (visa ••4242)', 'Link' or the type Stripe gave (never Link's email: personal data)."""
    kind = str(pm.get("type") or "another kind of payment method")
    card = pm.get("card") if kind == "card" else None
    if isinstance(card, dict):
        return f"card ({card.get('brand') or 'card'} ••{card.get('last4') or '????'})"
    return "Link" if kind == "link" else kind


def _account(gateway: StripeGateway, account_id: str, known: Known | None) -> dict[str, Any]:
    if known is None:
        return gateway.retrieve_account(account_id)
    if account_id not in known:
        known[account_id] = gateway.retrieve_account(account_id)
    return known[account_id]


def _failed_attempt_method(
    gateway: StripeGateway, intent: dict[str, Any]
) -> dict[str, Any] | None:
    """The payment method a failed or returned debit used: Stripe clears ``payment_method`` and
    keeps it in ``last_payment_error.payment_method`` and on ``latest_charge``. Once Stripe has
    cleared ``last_payment_error`` too (the intent was updated after its return), the latest
    charge alone says it, when it failed with a code (:func:`attempt_error`)."""
    charge = intent.get("latest_charge")
    error = intent.get("last_payment_error")
    if not error:
        if not charge or intent.get("status") not in ("requires_payment_method", "canceled"):
            return None
        if isinstance(charge, str):
            charge = gateway.retrieve_charge(charge)
        if not attempt_error({**intent, "latest_charge": charge}):
            return None
    pm = (error or {}).get("payment_method")
    if isinstance(pm, dict) and pm.get("type"):
        return pm
    if isinstance(charge, str):
        charge = gateway.retrieve_charge(charge)
    tried = (charge or {}).get("payment_method")
    if isinstance(tried, dict) and tried.get("type"):
        return tried
    pm_id = _customer_id(tried)
    return gateway.retrieve_payment_method(pm_id) if pm_id else None


def _charge_with_method(intent: dict[str, Any], pm: dict[str, Any] | None) -> dict[str, Any]:
    """``intent`` with its expanded latest charge's ``payment_method`` (an ID only: the SDK's
    ``Charge.payment_method`` cannot be expanded) replaced by ``pm``, the method it names, once
    Stripe has cleared ``last_payment_error``: the charge is then all that says which account
    the failed debit used and how it was blocked (:func:`attempt_error`)."""
    charge = intent.get("latest_charge")
    if intent.get("last_payment_error") or not isinstance(charge, dict) or not pm:
        return intent
    if _customer_id(charge.get("payment_method")) != pm.get("id"):
        return intent
    return {**intent, "latest_charge": {**charge, "payment_method": pm}}


def _from_payment_method(
    gateway: StripeGateway,
    query_id: str,
    kind: str,
    pm: dict[str, Any] | None,
    known: Known | None,
    **extra: Any,
) -> Resolution:
    if not pm:
        intent = extra.get("intent") or {}
        name = "SetupIntent" if kind == "setup_intent" else "PaymentIntent"
        message = (
            f"This {name} was canceled before the customer linked a bank account, so it has "
            "no payment method; a new request is needed to collect one."
            if intent.get("status") == "canceled"
            else "No payment method is attached yet: the customer has not linked a bank account."
        )
        return Resolution(query_id=query_id, kind=kind, message=message, **extra)
    if pm.get("type") != "us_bank_account":
        return Resolution(
            query_id=query_id,
            kind=kind,
            payment_method=pm,
            message=f"Paid by another method: {_other_method_words(pm)}, not a US bank account "
            "(the intent offered more than ACH), so there is no Financial Connections data.",
            **extra,
        )
    bank = pm.get("us_bank_account") or {}
    fca = bank.get("financial_connections_account")
    customer_id = extra.pop("customer_id", None) or pm.get("customer")
    if not fca:
        return Resolution(
            query_id=query_id,
            kind=kind,
            payment_method=pm,
            customer_id=customer_id,
            message=f"The bank account {bank.get('bank_name') or ''} ••{bank.get('last4') or '????'} "
            f"was entered manually ({manual_verification(extra.get('intent'))}), so Stripe has "
            "no balance, ownership or transaction data for it.",
            **extra,
        )
    account = _account(gateway, fca, known)
    return Resolution(
        query_id=query_id,
        kind=kind,
        account=account,
        payment_method=pm,
        customer_id=customer_id,
        message=f"Linked through Financial Connections: {account.get('institution_name')} "
        f"••{account.get('last4') or '????'}.",
        **extra,
    )


# What the payment lookup also shows (Dashboard-like details): the customer, and the mandate
# (a SetupIntent's own; a PaymentIntent's on its latest charge, four levels deep: the limit).
DETAIL_EXPAND = {
    "payment_intent": ["customer", "latest_charge.payment_method_details.us_bank_account.mandate"],
    "setup_intent": ["customer", "mandate"],
}


def _customer_id(value: Any) -> str | None:
    if isinstance(value, dict):  # expanded
        return str(value.get("id")) if value.get("id") else None
    return str(value) if value else None


def resolve(
    gateway: StripeGateway,
    text: str | None,
    *,
    known: Known | None = None,
    details: bool = False,
) -> Resolution:
    """Resolve a pasted ID; raises ValidationError for malformed IDs, NotFound for unknown ones.

    ``known`` (optional) caches the FC accounts fetched, by ID, across calls; ``details``
    also expands an intent's customer and mandate (see ``DETAIL_EXPAND``).
    """
    object_id, kind = parse_id(text, allowed=LOOKUP_KINDS)
    if kind == "charge":  # a payment (py_…, in the Dashboard and bank statements): its intent
        intent_id = _customer_id(gateway.retrieve_charge(object_id).get("payment_intent"))
        if not intent_id:
            raise NotFound(
                f"The payment {object_id} has no PaymentIntent, so fcops cannot tell which bank "
                "account it debited. Look it up by its PaymentMethod (pm_…) instead."
            )
        found = resolve(gateway, intent_id, known=known, details=details)
        return replace(
            found,
            message=f"{object_id} is a payment of {intent_id}. {found.message}",
            asked_id=object_id,
        )
    if kind in ("payment_intent", "setup_intent"):
        retrieve = (
            gateway.retrieve_payment_intent
            if kind == "payment_intent"
            else gateway.retrieve_setup_intent
        )
        expand = ["payment_method", *(DETAIL_EXPAND[kind] if details else [])]
        intent = retrieve(object_id, expand=expand)
        pm = intent.get("payment_method")
        if isinstance(pm, str):  # defensive: expansion not honoured
            pm = gateway.retrieve_payment_method(pm)
        if not pm and kind == "payment_intent":
            pm = _failed_attempt_method(gateway, intent)
            intent = _charge_with_method(intent, pm)
        customer_id = _customer_id(intent.get("customer"))
        return _from_payment_method(
            gateway, object_id, kind, pm, known, intent=intent, customer_id=customer_id
        )
    if kind == "payment_method":
        pm = gateway.retrieve_payment_method(object_id)
        return _from_payment_method(gateway, object_id, kind, pm, known)
    if kind == "financial_connections.account":
        account = _account(gateway, object_id, known)
        holder = account.get("account_holder") or {}
        return Resolution(
            query_id=object_id,
            kind=kind,
            account=account,
            customer_id=holder.get("customer"),
            message=f"{account.get('institution_name')} ••{account.get('last4') or '????'}.",
        )
    customer = gateway.retrieve_customer(object_id)
    if customer.get("deleted"):  # Stripe answers 200 `{id, object, deleted: true}` (§2.9)
        raise NotFound(
            f"Customer {object_id} was deleted in Stripe; nothing can be looked up for it."
        )
    accounts = gateway.list_accounts(customer=object_id)
    return Resolution(
        query_id=object_id,
        kind=kind,
        customer_id=object_id,
        accounts=accounts,
        message=f"{customer.get('name') or customer.get('email') or object_id} has "
        f"{counted(len(accounts), 'linked bank account')}.",
    )


@dataclass(frozen=True)
class DebitTarget:
    """The account a debit is checked against, or why there is none."""

    object_id: str
    kind: str
    account: dict[str, Any] | None
    note: str  # what was checked, in a sentence
    missing: str | None  # why there is no account, unless it was entered manually


def debit_target(
    gateway: StripeGateway, text: str | None, *, known: Known | None = None
) -> DebitTarget:
    """Resolve a pasted ID for a debit check: a customer's best account, else what it leads to.

    A manually entered bank account has no FC account and no ``missing`` sentence: the debit
    assessment explains that case itself.
    """
    found = resolve(gateway, text, known=known)
    if found.kind == "customer":
        account, note, missing = choose_for_debit(found.query_id, found.accounts)
    elif found.account is not None:
        account, note, missing = found.account, found.message, None
    else:
        account, note = None, found.message
        missing = None if found.manual_entry else found.message
    return DebitTarget(found.query_id, found.kind, account, note, missing)
