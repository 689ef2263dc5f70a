"""Balance check: a check as the page's address says it.

The check shown is kept in the address (?check=<ID>&amount=1250.00&currency=USD), so a reload, a
new tab or a colleague given the URL checks the same debit again (and follows a refresh still
running); &refresh=stale when "Refresh stale balances" was ticked (a link's check itself never
refreshes). Written by the page (balance_check.keep_in_address) when a person's check is made,
and on the return to a Check debit left mid-wait (pages._asked_refresh.address_check).
"""

from __future__ import annotations

from decimal import Decimal

from services.rules.money import exponent

LINKED = ("check", "amount", "currency", "refresh")
REFRESH_STALE = "stale"


def plain_amount(amount: int, currency: str) -> str:
    """Minor units as the amount box takes them back: 125000 → "1250.00" (no symbol, no commas)."""
    places = exponent(currency)
    return f"{Decimal(amount).scaleb(-places):.{places}f}"


def address_of(check: tuple[str, int, str], refresh: bool) -> tuple[str, str, str, str]:
    """(ID, minor units, currency) of a check, and whether it refreshed stale balances, as the
    address says them (:data:`LINKED`)."""
    target, amount, currency = check
    stale = REFRESH_STALE if refresh else ""
    return target, plain_amount(amount, currency), currency.upper(), stale
