"""Money shown to people: minor units plus a currency code become "$1,234.56".

Formatting happens only here, at the edge (house style habit 6). The currency exponent table
is shared with `services.money`, which is a pure helper module, so both sides agree on how
many decimals a currency has.
"""

from __future__ import annotations

from decimal import Decimal

from services.money import exponent

__all__ = ["MISSING", "format_money"]

MISSING = "—"

# Only symbols that are unambiguous for this tool's users; other currencies show their code
# after the number ("1,234.56 CHF") rather than a symbol a reader could misread.
_SYMBOLS: dict[str, str] = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}


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
    code = currency.strip().lower()
    places = exponent(code)
    number = f"{Decimal(abs(int(amount))).scaleb(-places):,.{places}f}"
    sign = "-" if amount < 0 else ""
    symbol = _SYMBOLS.get(code)
    if symbol is not None:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {code.upper()}"
