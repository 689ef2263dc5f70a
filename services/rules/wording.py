"""The one wording of dates, ages and durations, for services' sentences and pages alike.

One set of thresholds: under 90 seconds in seconds, under 90 minutes in minutes, under 36 hours
in hours, beyond that in days; each rounded to the nearest whole unit. ``long`` spells the unit
out ("3 days") for sentences; the short form ("3 d") fits table cells and metrics.
All times are UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

__all__ = [
    "FLOW_DEFAULTS", "MISSING", "age", "ago", "counted", "day", "duration", "flow_tile", "iso",
    "listed", "moment", "percent", "timestamp", "until", "version_name", "weekday",
]  # fmt: skip

MISSING = "—"
FLOW_DEFAULTS = "fcops' built-in defaults"  # what applies to a flow no admin has saved
MINUTE = 60
HOUR = 3_600
DAY = 86_400
# (short unit, long unit, seconds per unit, below this many seconds)
_UNITS: tuple[tuple[str, str, int, int | None], ...] = (
    ("s", "second", 1, 90),
    ("min", "minute", MINUTE, 90 * MINUTE),
    ("h", "hour", HOUR, 36 * HOUR),
    ("d", "day", DAY, None),
)


def duration(seconds: int | float, *, long: bool = False) -> str:
    """'45 s', '5 min', '3 h', '2 d' (or '45 seconds', '5 minutes', ... with ``long``)."""
    value = max(0, int(seconds))
    for short, name, size, below in _UNITS:
        if below is None or value < below:
            count = round(value / size)
            if not long:
                return f"{count} {short}"
            return f"{count} {name}" + ("" if count == 1 else "s")
    raise AssertionError("unreachable: the last unit has no upper bound")  # pragma: no cover


def age(seconds: int | float | None) -> str:
    """How old something is: '3 min', '5 h', '2 d'; '—' when unknown."""
    if seconds is None:
        return MISSING
    if seconds < 0:
        return "in the future"
    return duration(seconds)


def ago(seconds: int | float | None) -> str:
    """'5 min ago'; '—' when unknown."""
    text = age(seconds)
    return text if text in (MISSING, "in the future") else f"{text} ago"


def until(seconds: int | float | None) -> str:
    """How long until something: 'in 5 min', or 'now' once it is due."""
    if seconds is None:
        return MISSING
    return "now" if seconds <= 0 else f"in {duration(seconds)}"


def timestamp(ts: int | None) -> str:
    """'2026-12-04 03:20 UTC' from Unix seconds; '—' when unknown."""
    if not ts:
        return MISSING
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def moment(at: datetime | None, *, missing: str = MISSING) -> str:
    """The same wording as :func:`timestamp` for a datetime (naive ones are taken as UTC)."""
    if at is None:
        return missing
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def day(ts: int | None) -> str:
    """'2026-12-04' from Unix seconds; '—' when unknown."""
    if not ts:
        return MISSING
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def iso(ts: int | None) -> str:
    """'2026-12-04T03:20:00Z' for files and exports; '' when unknown."""
    if not ts:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def weekday(ts: int | None) -> str:
    """'Fri 04 Dec 2026': a day that is an estimate (an arrival), so no clock time; '—' unknown."""
    if ts is None:
        return MISSING
    return datetime.fromtimestamp(int(ts), UTC).strftime("%a %d %b %Y")


def counted(count: int, noun: str, many: str | None = None) -> str:
    """'1 account', '3 accounts', '12,000 rows' (``many``: the plural when it is not noun + s);
    "(s)" read as if the count were unknown, beside a count that was known."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"


def listed(items: Sequence[object]) -> str:
    """'2', '2 and 5', '2, 5 and 7': a list as a sentence says it."""
    words = [str(i) for i in items]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def version_name(version: int, never_saved: str) -> str:
    """'version 3', or ``never_saved`` (what applies before anyone saved: "fcops' built-in
    defaults") for version 0, which people read as a version someone saved."""
    return f"version {version}" if version else never_saved


def flow_tile(version: int) -> tuple[str, str | None]:
    """A "Flow configuration" tile's figure and help: ('version 3', None), or ('Defaults', what
    they are): a tile's big figure cut "fcops' built-in defaults" to "fcops' built-…"."""
    if version:
        return version_name(version, FLOW_DEFAULTS), None
    return "Defaults", f"No admin has saved this flow, so {FLOW_DEFAULTS} apply."


def percent(fraction: float | None, digits: int = 2) -> str:
    """The one wording of a share: '5 %', '0.5 %', '33.33 %', '81 %' — the number rounded to at
    most ``digits`` decimals with no trailing zeros, a space, then '%' (the pages said "5.00%",
    "0.5 %" and "81 %"). ``fraction`` is a share of 1 (0.05 is '5 %'; a value already in percent
    is passed divided by 100); None or NaN is "—"."""
    if fraction is None or fraction != fraction:  # NaN is not equal to itself
        return MISSING
    number = round(float(fraction) * 100, digits)
    text = f"{number:.{max(0, digits)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{'0' if text in ('-0', '') else text} %"
