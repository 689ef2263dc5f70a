"""What the policy options of "Did our check work?" would have held back, added up from the
headroom day counts kept at write time (``debit_headroom_days``,
:mod:`services.adapters.verdict_days`) instead of grouping every settled ``ok``-checked debit of
the window on each read (issue 13): the whole days of the window are summed; the debits of its
two partial edge days, and those dated far from their original, are bucketed from their rows.

The buckets decide exactly when the policy in force has no fixed buffer, a whole percentage and
a maximum age in whole quarter hours, and every option's age is in whole quarter hours (what
the policy form and :func:`~services.rules.check_effect.options_from` make, up to 100 %): with no fixed
buffer a debit's headroom percentage does not depend on the policy, and for a whole p and a
real x, x >= p exactly when floor(x) >= p. Otherwise (or when a bucket cannot decide:
an amount of 0 or less with a balance below it) :func:`held` answers None and the caller
groups the rows (:func:`services.usecases.check_figures._bucketed`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import and_, false, func, or_, select, union_all
from sqlalchemy.engine import Engine

from services.adapters import verdict_days as vd
from services.adapters.models import DebitHeadroomDayRecord
from services.rules.debit import DebitPolicy
from services.usecases.check_rows import DEBITS, Window, outside_days, whole_days

__all__ = ["Held", "held"]

HEADROOM: Any = DebitHeadroomDayRecord.__table__  # type: ignore[attr-defined]

# (currency, headroom percent bucket, age in quarter hours rounded up) -> (debits, amount)
Held = dict[tuple[str, int, int], tuple[int, int]]


def _decides(current: DebitPolicy, percents: list[int], ages: list[int]) -> bool:
    percent = Decimal(str(current.buffer_percent))
    return (
        current.buffer_amount == 0
        and percent == int(percent)
        and 0 <= percent <= vd.PERCENT_CAP
        and all(p <= vd.PERCENT_CAP for p in percents)
        and current.max_age_seconds % vd.AGE_UNIT == 0
        and current.max_age_seconds <= (vd.AGE_CAP - 1) * vd.AGE_UNIT
        and all(a % vd.AGE_UNIT == 0 for a in ages)
    )


def held(
    engine: Engine,
    window: Window,
    current: DebitPolicy,
    percents: list[int],
    ages: list[int],
) -> Held | None:
    """The window's settled ``ok``-checked debits ``current`` passes and some option could hold
    back (a headroom percentage below the largest of ``percents``, or a balance older than the
    least of ``ages``), counted per currency, percent bucket and age bucket; None when the
    buckets cannot decide (see the module) or the window holds no whole day or its ``since``
    is too close to its start for the day counts' dates (the caller has checked every debit is
    computed and copied)."""
    days = whole_days(window)
    if days is None or not _decides(current, percents, ages):
        return None
    floor_percent = int(current.buffer_percent)
    max_unit = current.max_age_seconds // vd.AGE_UNIT

    def chosen(percent: Any, age: Any) -> Any:
        """The buckets ``current`` passes that some option holds back, and any undecided."""
        passes = and_(or_(percent >= floor_percent, percent == vd.NO_AMOUNT), age <= max_unit)
        held_back = []
        if percents:
            held_back.append(percent < max(percents))
        if ages:
            held_back.append(age > min(ages) // vd.AGE_UNIT)
        some = or_(*held_back) if held_back else false()
        return or_(and_(passes, some), percent == vd.UNDECIDED)

    h = HEADROOM.c
    whole = (
        select(h.currency, h.percent, h.age_unit, h.n, h.amount)
        .where(h.day >= days[0], h.day < days[1], chosen(h.percent, h.age_unit))
    )
    percent, age = vd.percent_bucket(DEBITS), vd.age_bucket(DEBITS)
    keys = [DEBITS.c.currency, percent.label("percent"), age.label("age_unit")]
    counted = [func.count().label("n"), func.sum(DEBITS.c.amount).label("amount")]
    counts = vd.headroom_rows(DEBITS) + [chosen(percent, age)]
    edge, far = outside_days(window, days, keys, counted, *counts)
    parts = union_all(whole, edge, far).subquery("parts")
    p = parts.c
    summed = (
        select(p.currency, p.percent, p.age_unit, func.sum(p.n), func.sum(p.amount))
        .group_by(p.currency, p.percent, p.age_unit)
    )
    with engine.connect() as conn:
        rows = conn.execute(summed).all()
    if any(int(r[1]) == vd.UNDECIDED for r in rows):
        return None
    return {(str(c), int(pc), int(a)): (int(n), int(amount)) for c, pc, a, n, amount in rows}

