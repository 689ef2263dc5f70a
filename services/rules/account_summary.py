"""Small typed views of what Stripe returned, for pages: an FC account and an intent.

Pages show these instead of reading Stripe's JSON; built from Stripe-shaped dicts at the
service boundary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.rules import refresh_rule

__all__ = ["AccountSummary", "IntentSummary"]


@dataclass(frozen=True)
class AccountSummary:
    """What a person needs to recognise the account that was checked."""

    id: str
    institution_name: str | None
    display_name: str | None
    last4: str | None
    category: str | None
    subcategory: str | None
    status: str | None
    customer_id: str | None
    balance_refresh_status: str | None = None
    # balance_refresh.last_attempted_at: when the running (or last) balance refresh started
    balance_refresh_attempted_at: int | None = None
    permissions: tuple[str, ...] = ()
    balance_currency: str | None = None  # the first currency of balance.current
    balance_current: int | None = None  # minor units
    balance_as_of: int | None = None

    @property
    def refresh_pending(self) -> bool:
        return self.balance_refresh_status == "pending"

    @property
    def balance_out_of_reach(self) -> str | None:
        """Why no refresh can ever fetch this account's balance (disconnected, inactive, no
        ``balances`` permission), as the Accounts page's button says it; None when one can."""
        verdict = refresh_rule.judge(
            {"status": self.status, "permissions": list(self.permissions)}, "balance", now=0
        )
        lasting = (refresh_rule.DISCONNECTED, refresh_rule.INACTIVE, refresh_rule.NO_PERMISSION)
        return verdict.reason if not verdict.allowed and verdict.kind in lasting else None

    @property
    def label(self) -> str:
        name = self.display_name or self.institution_name or "Bank account"
        return f"{name} ••{self.last4 or '????'}"

    @classmethod
    def of(cls, account: Mapping[str, Any]) -> AccountSummary:
        holder = account.get("account_holder") or {}
        refresh = account.get("balance_refresh") or {}
        balance = account.get("balance") or {}
        current = (balance.get("current") or {}) if isinstance(balance, Mapping) else {}
        currency, amount = next(iter(current.items()), (None, None))
        as_of = balance.get("as_of") if isinstance(balance, Mapping) else None
        return cls(
            id=str(account.get("id")),
            institution_name=account.get("institution_name"),
            display_name=account.get("display_name"),
            last4=account.get("last4"),
            category=account.get("category"),
            subcategory=account.get("subcategory"),
            status=account.get("status"),
            customer_id=holder.get("customer") if isinstance(holder, Mapping) else None,
            balance_refresh_status=refresh.get("status") if isinstance(refresh, Mapping) else None,
            balance_refresh_attempted_at=_seconds(
                refresh.get("last_attempted_at") if isinstance(refresh, Mapping) else None
            ),
            permissions=tuple(account.get("permissions") or ()),
            balance_currency=currency,
            balance_current=amount,
            balance_as_of=int(as_of) if as_of else None,
        )


def _seconds(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class IntentSummary:
    """A PaymentIntent or SetupIntent as the payment lookup shows it."""

    id: str
    status: str | None
    customer_id: str | None

    @classmethod
    def of(cls, intent: Mapping[str, Any]) -> IntentSummary:
        customer = intent.get("customer")
        if isinstance(customer, Mapping):  # expanded
            customer = customer.get("id")
        return cls(
            id=str(intent.get("id")),
            status=intent.get("status"),
            customer_id=str(customer) if customer else None,
        )
