"""Values for table cells: numbers stay numbers so a table sorts them as numbers.

Money lives in fcops as integer minor units plus a currency. A table shows it in major units
(``12345`` cents → ``123.45``) as a float, with the currency in the column's display format, so
clicking the column header sorts $919.76 below $9,233.32 (text would sort it above). Ages are a
number of seconds (drawn in the app's one wording, :func:`services.rules.wording.age`, by
``components.table_columns.worded_durations``), timestamps a UTC ``datetime``. Pages convert here, once, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from services.rules.money import exponent

__all__ = [
    "SYMBOL_FORMATS",
    "age_seconds",
    "seconds",
    "major_units",
    "money_format",
    "one_currency",
    "utc_date",
    "utc_time",
]

# Streamlit's NumberColumn presets for the currencies it knows; any other currency gets a
# printf format with thousands separators (``%,``: Streamlit's sprintf-js groups the figure as
# the presets do), the currency's own decimals and the ISO code after the figure.
SYMBOL_FORMATS = {"usd": "dollar", "eur": "euro", "jpy": "yen"}


def major_units(amount: int | None, currency: str | None) -> float | None:
    """``amount`` minor units as major units (``-1234, "usd"`` → ``-12.34``); ``None`` when the
    amount or the currency is unknown (the decimals depend on the currency)."""
    if amount is None or currency is None or not str(currency).strip():
        return None
    return int(amount) / (10 ** exponent(str(currency).strip().lower()))


def one_currency(currencies: Iterable[object]) -> str | None:
    """The single currency of a column, or ``None`` when it holds none or several (cells that
    are not text, such as a frame's NaN for a row without an amount, are skipped)."""
    seen = {c.strip().lower() for c in currencies if isinstance(c, str) and c.strip()}
    return next(iter(seen)) if len(seen) == 1 else None


def money_format(currency: str | None) -> str:
    """A NumberColumn ``format`` for amounts in ``currency`` (major units): Streamlit's preset
    where it has one, else ``"%,.2f CHF"``-style (``1,234,567.89 CHF``, as ``format_money`` writes
    it; JPY-like currencies no decimals, KWD-like three); mixed or unknown currencies show
    localized figures (the table then carries a currency column)."""
    if not currency:
        return "localized"
    code = currency.strip().lower()
    if code in SYMBOL_FORMATS:
        return SYMBOL_FORMATS[code]
    return f"%,.{exponent(code)}f {code.upper()}"


def age_seconds(now: int | float, ts: int | float | None) -> float | None:
    """Seconds from Unix time ``ts`` to ``now``, for an age column; ``None`` when ``ts`` is
    unknown. A float, so a column with blanks stays numeric and sorts by age."""
    if not ts:
        return None
    return float(now) - float(ts)


def seconds(value: int | float | None) -> float | None:
    """A duration in seconds as a float cell of an age column (``None`` stays blank)."""
    return None if value is None else float(value)


def utc_date(ts: int | float | None) -> date | None:
    """The UTC day of Unix time ``ts``, for a DateColumn (an estimate of a day, like an
    expected arrival, shows no clock time)."""
    moment = utc_time(ts)
    return moment.date() if moment is not None else None


def utc_time(ts: int | float | datetime | None) -> datetime | None:
    """Unix seconds (or a datetime) as an aware UTC datetime, for a DatetimeColumn."""
    if ts is None or ts == "":
        return None
    if isinstance(ts, datetime):
        return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return datetime.fromtimestamp(float(ts), UTC)

