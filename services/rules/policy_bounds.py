"""What a debit policy may hold, and the sentence that says so when a value is outside it.

One rule for both places that need it: the Debit policy page checks what the admin typed
before saving (so the admin reads what is allowed, and nothing is saved), and the save
service enforces the same bounds on whatever reaches it.

The percentage is kept to the places its box shows (:data:`PERCENT_PLACES`): a value typed with
more (0.001, 1e-9) read "0.00" in the box while checks used it, and each such save added a version
that read "0 %" in the history, looking like the one before. -0 is kept as 0.
"""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal

from services.rules.debit import DebitPolicy
from services.rules.money import format_plain

__all__ = [
    "POLICY_MAX_AGE_SECONDS",
    "POLICY_MAX_BUFFER_AMOUNT",
    "POLICY_MAX_BUFFER_PERCENT",
    "POLICY_MIN_AGE_SECONDS",
    "PERCENT_PLACES",
    "kept_percent",
    "kept_policy",
    "percent_kept_note",
    "problems",
]

POLICY_MAX_BUFFER_PERCENT = 100.0
POLICY_MIN_AGE_SECONDS = 15 * 60
POLICY_MAX_AGE_SECONDS = 30 * 86_400
POLICY_MAX_BUFFER_AMOUNT = 1_000_000_00  # minor units: 1,000,000.00

MIN_AGE_HOURS = POLICY_MIN_AGE_SECONDS / 3600  # 0.25
MAX_AGE_HOURS = POLICY_MAX_AGE_SECONDS / 3600  # 720
PERCENT_PLACES = 2  # the Debit policy form's box shows the percentage as %.2f


def _typed(number: float) -> str:
    """A number as the admin typed it: 150, 0.5, -2 (no trailing zeros); a huge or tiny one as
    people write it, 1e308 or 1e-9 (Python's "1e+308" and "1e-09" are its own reformatting)."""
    if number == 0 or 1e-4 <= abs(number) < 1e15 or not math.isfinite(number):
        return f"{number:,.6g}"
    mantissa, exp = f"{number:.3g}".split("e")
    return f"{mantissa}e{int(exp)}"


def problems(
    *, buffer_amount: int, buffer_percent: float, max_age_hours: float, currency: str = "usd"
) -> list[str]:
    """One sentence per value outside what a policy may hold (empty when all are allowed)."""
    found: list[str] = []
    if not (
        math.isfinite(buffer_percent) and 0 <= buffer_percent <= POLICY_MAX_BUFFER_PERCENT
    ):
        found.append(
            f"The percentage buffer must be between 0 and {POLICY_MAX_BUFFER_PERCENT:g} %; "
            f"you typed {_typed(buffer_percent)}."
        )
    if not (math.isfinite(max_age_hours) and MIN_AGE_HOURS <= max_age_hours <= MAX_AGE_HOURS):
        found.append(
            f"The maximum balance age must be between {MIN_AGE_HOURS:g} and {MAX_AGE_HOURS:g} "
            f"hours (15 minutes to 30 days); you typed {_typed(max_age_hours)}."
        )
    if not 0 <= buffer_amount <= POLICY_MAX_BUFFER_AMOUNT:
        found.append(
            f"The fixed buffer must be between {format_plain(0, currency)} and "
            f"{format_plain(POLICY_MAX_BUFFER_AMOUNT, currency)}; you typed "
            f"{format_plain(buffer_amount, currency)}."
        )
    return found


def kept_percent(percent: float) -> float:
    """The percentage as its box shows it: to :data:`PERCENT_PLACES` places, halves up (the
    box's %.2f rounds the exact binary value, so 1.005 shows, and is kept as, 1.00), -0 as 0.
    A value no policy may hold (NaN, an infinity, beyond the bounds' range) is returned as is,
    for :func:`problems` to name as typed."""
    if not math.isfinite(percent) or abs(percent) > 1e12:
        return percent
    step = Decimal(1).scaleb(-PERCENT_PLACES)
    kept = float(Decimal(percent).quantize(step, rounding=ROUND_HALF_UP))
    return kept if kept != 0 else 0.0  # -0.0 == 0: never stored, never shown as "-0 %"


def percent_kept_note(percent: float) -> str | None:
    """The sentence saying what was kept of a percentage typed with more places than its box
    shows (None when it was kept as typed; -0 kept as 0 needs no sentence)."""
    kept = kept_percent(percent)
    if kept == percent or not math.isfinite(percent):
        return None
    return (
        f"The percentage buffer keeps {PERCENT_PLACES} decimal places, as its box shows: "
        f"{percent:.15g} % is kept as {kept:.{PERCENT_PLACES}f} %."
    )


def kept_policy(policy: DebitPolicy) -> DebitPolicy:
    """``policy`` as the form shows it, and as the save service saves it: the percentage as
    :func:`kept_percent` keeps it, so a value the box cannot show is never what checks use, and
    a save nothing visible changed adds no version. Only for a number (the service checks the
    types first)."""
    return replace(policy, buffer_percent=kept_percent(policy.buffer_percent))
