"""Find the Financial Connections account behind whatever ID a person pastes.

PaymentIntent / SetupIntent → ``expand[]=payment_method`` → ``us_bank_account.
financial_connections_account`` (reference §3.3 step 4); PaymentMethod → the same field;
FC account → itself; Customer → their accounts. A manually entered bank account has no FC
account, so no balance, ownership or transaction data: the result says so plainly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.adapters.gateway import StripeGateway
from services.errors import NotFound
from services.rules.ids import parse_id

LOOKUP_KINDS = (
    "payment_intent",
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


def _from_payment_method(
    gateway: StripeGateway, query_id: str, kind: str, pm: dict[str, Any] | None, **extra: Any
) -> Resolution:
    if not pm:
        return Resolution(
            query_id=query_id,
            kind=kind,
            message="No payment method is attached yet: the customer has not linked a bank account.",
            **extra,
        )
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
            "was entered manually (routing and account number, verified by microdeposits), so Stripe "
            "has no balance, ownership or transaction data for it.",
            **extra,
        )
    account = gateway.retrieve_account(fca)
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


def resolve(gateway: StripeGateway, text: str | None) -> Resolution:
    """Resolve a pasted ID; raises ValidationError for malformed IDs, NotFound for unknown ones."""
    object_id, kind = parse_id(text, allowed=LOOKUP_KINDS)
    if kind in ("payment_intent", "setup_intent"):
        retrieve = (
            gateway.retrieve_payment_intent if kind == "payment_intent" else gateway.retrieve_setup_intent
        )
        intent = retrieve(object_id, expand=["payment_method"])
        pm = intent.get("payment_method")
        if isinstance(pm, str):  # defensive: expansion not honoured
            pm = gateway.retrieve_payment_method(pm)
        return _from_payment_method(
            gateway, object_id, kind, pm, intent=intent, customer_id=intent.get("customer")
        )
    if kind == "payment_method":
        return _from_payment_method(gateway, object_id, kind, gateway.retrieve_payment_method(object_id))
    if kind == "financial_connections.account":
        account = gateway.retrieve_account(object_id)
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
        raise NotFound(f"Customer {object_id} was deleted in Stripe; nothing can be looked up for it.")
    accounts = gateway.list_accounts(customer=object_id)
    return Resolution(
        query_id=object_id,
        kind=kind,
        customer_id=object_id,
        accounts=accounts,
        message=f"{customer.get('name') or customer.get('email') or object_id} has "
        f"{len(accounts)} linked account(s).",
    )
