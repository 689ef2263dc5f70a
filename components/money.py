"""Money shown to people: minor units plus a currency code become "$1,234.56".

Formatting happens only here, at the edge (house style habit 6). The formatting itself is
`services.rules.money.format_plain`, a pure helper, so services' sentences read the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from services.rules.money import SYMBOLS, exponent, format_plain

__all__ = ["METRIC_FITS", "MISSING", "format_compact", "format_money", "metric_money"]

MISSING = "—"
# The characters of a money figure an st.metric shows whole in a quarter of the page at 1,400 px
# (Batch check's summary: "$100,000,009.00", 15, was cut to "$100,000,00…" at 223 px).
METRIC_FITS = 13
_SCALES = ((Decimal(10) ** 12, "T"), (Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"),
           (Decimal(10) ** 3, "K"))  # fmt: skip


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


def format_compact(amount: int, currency: str) -> str:
    """A large amount as a figure one reads at a glance, as the Stripe Dashboard writes its totals:
    "$100.0M" for $99,999,999.00, "€1.2B", "12.5K CHF", one decimal after K, M, B or T; under
    1,000 the exact figure (:func:`format_money`). Rounded half up, then the unit chosen, so
    $999,999.00 is "$1.0M", not "$1,000.0K"."""
    code = currency.strip().lower()
    major = Decimal(abs(int(amount))).scaleb(-exponent(code))
    for size, unit in _SCALES:
        shown = (major / size).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        if shown >= 1:
            if shown >= 1000 and unit != "T":  # rounded up into the next unit: take that one
                continue
            sign = "-" if amount < 0 else ""
            symbol = SYMBOLS.get(code)
            number = f"{shown:,}{unit}"
            return f"{sign}{symbol}{number}" if symbol is not None else f"{sign}{number} {code.upper()}"
    return format_plain(amount, currency)


def metric_money(by_currency: Mapping[str, int], *, fits: int = METRIC_FITS) -> tuple[str, str]:
    """A total per currency for an ``st.metric``: (its value, the exact figure for its help).

    The value is the exact figure ("$75.00 + €10.00") when it has at most ``fits`` characters,
    else each amount compact ("$100.0M"), since st.metric cuts what does not fit
    ("$100,000,00…"); the help then says the exact figure, else it is "" (nothing rounded)."""
    parts = sorted(by_currency.items()) or [("usd", 0)]
    exact = " + ".join(format_plain(v, c) for c, v in parts)
    compact = " + ".join(format_compact(v, c) for c, v in parts)
    return (exact, "") if len(exact) <= fits or compact == exact else (compact, f"Exactly {exact}.")
