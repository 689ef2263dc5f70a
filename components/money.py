"""Money shown to people: minor units plus a currency code become "$1,234.56".

Formatting happens only here, at the edge (house style habit 6). The formatting itself is
`services.rules.money.format_plain`, a pure helper, so services' sentences read the same.
"""

from __future__ import annotations

from services.rules.money import format_plain

__all__ = ["MISSING", "format_money"]

MISSING = "—"


def format_money(amount: int | None, currency: str | None) -> str:
    """Format integer minor units for display.

    Args:
        amount: minor units (cents for USD); negative amounts get a leading minus.
        currency: ISO code in any case. Without one the number of decimals is unknown, so
            the result is the placeholder rather than a figure that might be off by 100x.

    Returns:
        "$1,234.56", "-$12.00", "€5.00", "¥500", "1,234.56 CHF", or "—" when either is None.
    """
    if amount is None or currency is None or not currency.strip():
        return MISSING
    return format_plain(amount, currency)
