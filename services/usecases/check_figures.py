""""Did our check work?" counted in SQL (issue 13): the figures :mod:`services.rules.check_effect`
computes from every debit of the window and every check, without loading them.

Each debit's last pre-debit verdict (the check of the debit's account made at or before the
debit, within the lookback, the latest; ties by id, the order the checks are read in) is kept on
the debit when either is written (:mod:`services.adapters.last_checks`), and joined by key; for
another lookback it is one correlated subquery per debit over ``ix_debit_check_last``. The verdict table is a GROUP BY; the misses,
the checks kept from bouncing and the debits a policy option could hold back are filtered in SQL
to the few rows that can count, and the rules of :mod:`~services.rules.check_effect` decide on
those rows, so the figures are the rules' own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import and_, case, exists, false, func, or_, select, union_all
from sqlalchemy.engine import Engine

from services.adapters import last_checks, verdict_days
from services.adapters.check_history import check_from_row
from services.adapters.models import DebitVerdictDayRecord
from services.rules import check_effect as rules
from services.rules.debit import INSUFFICIENT, OK, DebitPolicy
from services.usecases import check_buckets
from services.usecases.check_rows import (
    CHECKS,
    DEBITS,
    Window,
    all_copied,
    joined_rows,
    miss_facts,
    misses,
    newest_misses,
    outcome_of,
    outside_days,
    paired_debits,
    stored_lookback,
    whole_days,
)
from services.usecases.debit_outcomes import window_debits

VERDICT_DAYS: Any = DebitVerdictDayRecord.__table__  # type: ignore[attr-defined]

__all__ = [
    "Figures",
    "Window",
    "figures",
    "kept",
    "miss_facts",
    "misses",
    "newest_misses",
    "options",
    "verdicts",
]

# a percentage with up to four decimals (the denominator of Decimal(str(percent))): with it,
# (balance - amount - buffer) × 100 × den stays within 64 bits for balances and amounts up to
# 9 × 10^12 minor units
MAX_DENOMINATOR = 10_000


def _whole_ratio(percent: float) -> tuple[int, int] | None:
    """``percent`` as numerator and denominator, exactly as :meth:`DebitPolicy.required` reads it
    (``Decimal(str(percent))``); None when the denominator is too large for the integer
    comparison of :func:`_ok_under` to stay within 64 bits for any real balance."""
    num, den = Decimal(str(percent)).as_integer_ratio()
    return (num, den) if den <= MAX_DENOMINATOR else None


def _ok_under(c: Any, policy: DebitPolicy, ratio: tuple[int, int]) -> Any:
    """:meth:`rules.Check.ok_under` of an ``ok`` verdict under ``policy``, from what
    :func:`_checked` reads of it (``c``: its ``age``, ``room`` and ``asked``; NULL age or room:
    no ``as_of`` or no balance). ``balance >= policy.required(amount)`` in integers: required is
    amount + buffer + ceil(amount × num / (100 × den)), and for a whole number k, k >= ceil(x)
    exactly when k >= x, so (room - buffer) × 100 × den >= amount × num (room being balance -
    amount); no division, no rounding."""
    num, den = ratio
    return and_(
        c.room.is_not(None),
        c.age.is_not(None),
        c.age <= policy.max_age_seconds,
        (c.room - policy.buffer_amount) * (100 * den) >= c.asked * num,
    )


def _checked(window: Window, *, copied: bool | None = None, complete: bool = False) -> Any:
    """The window's debits with what the figures read of each one's last check: its
    ``verdict`` (NULL: none), ``age`` (checked_at - as_of), ``room`` (balance - amount) and
    ``asked`` (amount). For the stored lookback, copied on the debit
    (:func:`~services.adapters.last_checks.copied`): no check is read; else each debit is
    joined with the check looked up. For the stored lookback, ``copied`` True: only the settled
    debits whose copied verdict is ``ok`` (what the policy options count, sought by
    ``ix_debit_verdicts``); False: only the debits not copied yet. ``complete``: no debit is
    waiting to be computed or copied (:func:`all_copied`), so no lookup is written in."""
    debit = ("status", "return_code", "category", "currency", "amount")
    if stored_lookback(window):
        joined, where = window_debits(
            DEBITS, since=window.since, start=window.start, end=window.end, complete=complete
        )
        if copied is not None:
            verdict = DEBITS.c.check_verdict
            where += [DEBITS.c.status == "settled", verdict == OK] if copied else [verdict.is_(None)]
        of = last_checks.copied(complete=complete)
        columns = [DEBITS.c[k] for k in debit] + [v.label(k) for k, v in of.items()]
        return select(*columns).select_from(joined).where(*where).subquery("checked")
    paired = paired_debits(window, every=True)
    c = CHECKS.c
    of = {
        "verdict": c.verdict,
        "age": c.checked_at - c.as_of,
        "room": c.balance - c.amount,
        "asked": c.amount,
    }
    columns = [paired.c[k] for k in debit] + [v.label(k) for k, v in of.items()]
    joined = paired.outerjoin(CHECKS, CHECKS.c.id == paired.c.check_id)
    return select(*columns).select_from(joined).subquery("checked")


@dataclass(frozen=True)
class Figures:
    table: pd.DataFrame  # :func:`rules.verdict_table`
    debits: int  # the window's debits
    checked: int  # of them, those with a verdict before them
    options: list[rules.Option]  # :func:`rules.policy_options` (empty when not asked for)


def verdicts(engine: Engine, window: Window) -> tuple[pd.DataFrame, int, int]:
    """:func:`rules.verdict_table` of the window's debits, how many and how many were checked."""
    found = figures(engine, window)
    return found.table, found.debits, found.checked


def options(
    engine: Engine,
    window: Window,
    current: DebitPolicy,
    *,
    max_percent: float,
    min_age_seconds: int,
) -> list[rules.Option]:
    """:func:`rules.policy_options` over the window's debits (see :func:`figures`)."""
    limits = {"max_percent": max_percent, "min_age_seconds": min_age_seconds}
    return figures(engine, window, current, **limits).options  # type: ignore[arg-type]


def figures(
    engine: Engine,
    window: Window,
    current: DebitPolicy | None = None,
    *,
    max_percent: float = 100.0,
    min_age_seconds: int = 15 * 60,
    missed: list[rules.Facts] | None = None,
) -> Figures:
    """The verdict table and, given the ``current`` policy, the policy options: a GROUP BY
    verdict, outcome and currency of the window's debits (:func:`_table_groups`). Which options
    there are and what each catches follow from the misses alone (the rules decide on their
    :class:`rules.Facts`, read by :func:`miss_facts`); what each would have held back (the settled ``ok``-checked debits
    ``current`` passes and the option would not) is counted from two buckets per such debit in
    a second GROUP BY over them only (:func:`_bucketed`)."""
    found: list[rules.Option] = []
    ratio: tuple[int, int] | None = None
    if current is not None:
        limits = {"max_percent": max_percent, "min_age_seconds": min_age_seconds}
        if missed is None:  # what the options read of every miss (the caller may have it)
            missed = miss_facts(engine, window)
        found = rules.options_from(missed, [], current, **limits)  # type: ignore[arg-type]
        ratio = _whole_ratio(current.buffer_percent)
        if ratio is None:  # an odd float percentage: the rules decide on rows
            loaded = _options_loaded(engine, window, missed, current, max_percent, min_age_seconds)
            return replace(figures(engine, window), options=loaded)
        if found and not _one_change_each(found, current):  # not what the rules make
            loaded = _options_loaded(engine, window, missed, current, max_percent, min_age_seconds)
            return replace(figures(engine, window), options=loaded)
    complete = stored_lookback(window) and all_copied(engine)
    days = _day_groups(window) if complete else None
    with engine.connect() as conn:
        stmt = _table_groups(window, complete) if days is None else days
        groups = [g._mapping for g in conn.execute(stmt)]
    table, debits, checked = _verdict_table(groups)
    if not found or current is None:
        return Figures(table, debits, checked, [])
    assert ratio is not None
    return Figures(
        table, debits, checked, _bucketed(engine, window, found, current, ratio, complete)
    )


def _day_groups(window: Window) -> Any:
    """:func:`_table_groups` for the stored lookback with every debit copied, from the day
    counts kept at write time (:mod:`~services.adapters.verdict_days`): the whole days of the
    window added up, the debits of its two partial edge days and those dated far from their
    original (of ``long`` chains: a handful) counted from their rows; None when the window
    holds no whole day or its ``since`` is too close to its start for the day counts' dates."""
    days = whole_days(window)
    if days is None:
        return None
    v, d = VERDICT_DAYS.c, DEBITS.c
    keys = [d.check_verdict, d.status, d.return_code, d.category]
    whole = (
        select(v.check_verdict, v.status, v.return_code, v.category, func.sum(v.n).label("n"))
        .where(v.day >= days[0], v.day < days[1])
        .group_by(v.check_verdict, v.status, v.return_code, v.category)
    )
    edge, far = outside_days(window, days, keys, [func.count().label("n")])
    rows = union_all(whole, edge, far).subquery("counted")
    verdict = func.nullif(rows.c.check_verdict, last_checks.NONE_VERDICT).label("verdict")
    return select(verdict, rows.c.status, rows.c.return_code, rows.c.category, rows.c.n)


def _table_groups(window: Window, complete: bool = False) -> Any:
    """The window's debits counted by verdict, status, return code, category and currency.
    For the stored lookback the copied rows are counted by the columns themselves, in the
    order of ``ix_debit_verdicts`` (no sort), and the rows not copied yet apart (none when
    ``complete``)."""
    c = _checked(window).c
    if not stored_lookback(window):
        keys = [c.verdict, c.status, c.return_code, c.category, c.currency]
        return select(*keys, func.count().label("n")).group_by(*keys)
    d = DEBITS.c
    outcome = [d.status, d.return_code, d.category, d.currency]
    joined, where = window_debits(
        DEBITS, since=window.since, start=window.start, end=window.end, complete=complete
    )
    raw = [d.check_verdict, *outcome]
    copied = (
        select(*raw, func.count().label("n"))
        .select_from(joined)
        .where(*where, d.check_verdict.is_not(None))
        .group_by(*raw)
        .subquery("copied")
    )
    verdict = func.nullif(copied.c.check_verdict, last_checks.NONE_VERDICT).label("verdict")
    counted = select(verdict, *(copied.c[k.name] for k in outcome), copied.c.n)
    if complete:
        return counted
    looked = last_checks.copied()["verdict"].label("verdict")
    pending = (
        select(looked, *outcome, func.count().label("n"))
        .select_from(joined)
        .where(*where, d.check_verdict.is_(None))
        .group_by(looked, *outcome)
    )
    return union_all(counted, pending)


def _percent_only(option: rules.Option, current: DebitPolicy) -> bool:
    p = option.policy.buffer_percent
    return p == int(p) and replace(current, buffer_percent=p) == option.policy


def _one_change_each(found: list[rules.Option], current: DebitPolicy) -> bool:
    """Whether every option is ``current`` with a whole percentage or a maximum age changed
    (what :func:`rules.policy_options` makes), so each holds back by one comparison."""
    return all(
        _percent_only(o, current) or replace(current, max_age_seconds=o.policy.max_age_seconds)
        == o.policy
        for o in found
    )


def _bucketed(
    engine: Engine,
    window: Window,
    found: list[rules.Option],
    current: DebitPolicy,
    ratio: tuple[int, int],
    complete: bool = False,
) -> list[rules.Option]:
    """The options with what each holds back counted from two buckets per good debit (a
    settled one ``current`` passes), not a sum per option. A whole percentage p holds a debit
    back when (room - buffer) × 100 < amount × p, that is when ``percent`` = (room - buffer) ×
    100 // amount is below p (room - buffer is not negative for a debit ``current`` passes; an
    amount of 0 or less is never held back); a maximum age a (a multiple of ``unit``) when the
    age is over a, that is when ``ages`` = ceil(age / unit) is over a / unit. Both are capped
    just past the largest option."""
    percents = [int(o.policy.buffer_percent) for o in found if _percent_only(o, current)]
    ages = [o.policy.max_age_seconds for o in found if not _percent_only(o, current)]
    top = max(percents, default=0)
    unit = math.gcd(*ages) if ages else 1
    last = max(ages, default=0) // unit + 1
    least = min(ages, default=0) // unit  # over this, some age option holds a debit back

    def counted(c: Any) -> Any:
        good = and_(c.verdict == OK, c.status == "settled", _ok_under(c, current, ratio))
        spare = (c.room - current.buffer_amount) * 100
        # Only the debits some option holds back can count: a percentage below the largest
        # (``percent`` < top: a positive amount and spare < amount × top) or an age over the
        # least age option's (``ages`` > least: age > least × unit). Most good debits pass every
        # option; leaving them out spares grouping (sorting) every one of them.
        held_back = []
        if percents:
            held_back.append(and_(c.asked > 0, spare < c.asked * top))
        if ages:
            held_back.append(c.age > least * unit)
        good = and_(good, or_(*held_back)) if held_back else and_(good, false())
        percent = case(
            (c.asked <= 0, top),
            (spare >= c.asked * top, top),
            else_=spare // c.asked,  # both integers, not negative
        ).label("percent")
        age = case(
            (c.age <= 0, 0),
            (c.age > last * unit, last),
            else_=(c.age + unit - 1) // unit,
        ).label("ages")
        keys = [c.currency, percent, age]
        stmt = select(*keys, func.count().label("n"), func.sum(c.amount).label("amount"))
        return stmt.where(good).group_by(*keys)

    from_days = check_buckets.held(engine, window, current, percents, ages) if complete else None
    if from_days is not None:  # added up from the headroom day counts, in quarter hours
        unit = verdict_days.AGE_UNIT
        held: list[Any] = [
            {"currency": c, "percent": p, "ages": a, "n": n, "amount": amount}
            for (c, p, a), (n, amount) in from_days.items()
        ]
    else:
        if stored_lookback(window):  # the copied ok verdicts, and apart the rows not copied yet
            parts = [_checked(window, copied=True, complete=complete).c]
            if not complete:
                parts.append(_checked(window, copied=False).c)
            stmt = union_all(*(counted(c) for c in parts))
        else:
            stmt = counted(_checked(window).c)
        with engine.connect() as conn:
            held = [g._mapping for g in conn.execute(stmt)]
    options = []
    for option in found:
        if _percent_only(option, current):
            p = int(option.policy.buffer_percent)
            chosen = [g for g in held if int(g["percent"]) < p]
        else:
            chosen = [g for g in held if int(g["ages"]) > option.policy.max_age_seconds // unit]
        amounts: dict[str, int] = {}
        for g in chosen:
            amounts[str(g["currency"])] = amounts.get(str(g["currency"]), 0) + int(g["amount"])
        blocked = sum(int(g["n"]) for g in chosen)
        options.append(replace(option, blocked=blocked, blocked_amounts=amounts))
    return options


def _verdict_table(groups: list[Any]) -> tuple[pd.DataFrame, int, int]:
    counts: dict[tuple[str, str], int] = {}
    debits = checked = 0
    for g in groups:
        key = (g["verdict"] or rules.NO_CHECK, outcome_of(g["status"], g["return_code"], g["category"]))
        counts[key] = counts.get(key, 0) + int(g["n"])
        debits += int(g["n"])
        checked += int(g["n"]) if g["verdict"] is not None else 0
    rows = []
    for v in rules.VERDICT_ROWS:
        row: dict[str, object] = {"verdict": v}
        for outcome in rules.OUTCOMES:
            row[outcome] = counts.get((v, outcome), 0)
        row["debits"] = sum(counts.get((v, o), 0) for o in rules.OUTCOMES)
        rows.append(row)
    return pd.DataFrame(rows, columns=["verdict", *rules.OUTCOMES, "debits"]), debits, checked


def _options_loaded(
    engine: Engine,
    window: Window,
    missed: list[rules.Facts],
    current: DebitPolicy,
    max_percent: float,
    min_age_seconds: int,
) -> list[rules.Option]:
    """:func:`options` for a current percentage with more than four decimals (never offered by
    the policy form): the settled ``ok``-checked debits the strictest option could hold back are
    read (a balance under its buffer, or older than its maximum age), and the rules decide."""
    limits = {"max_percent": max_percent, "min_age_seconds": min_age_seconds}
    found = rules.options_from(missed, [], current, **limits)  # type: ignore[arg-type]
    if not found:
        return []
    percent = max(o.policy.buffer_percent for o in found)
    age = min(o.policy.max_age_seconds for o in found)
    c = CHECKS.c
    # required() under ``percent`` is at most amount + buffer + amount × percent / 100 + 1;
    # one minor unit more covers the float arithmetic of the database
    under = c.balance * 100 < c.amount * (100 + percent) + (current.buffer_amount + 2) * 100
    held = or_(under, c.checked_at - c.as_of > age)

    def settled(paired: Any) -> list[Any]:
        return [paired.status == "settled", held]

    good = [rules.facts_of(j) for j in joined_rows(engine, window, settled)]
    return rules.options_from(missed, good, current, **limits)  # type: ignore[arg-type]


def kept(engine: Engine, window: Window, *, until: int) -> rules.Kept:
    """:func:`rules.kept_from_bouncing`: the ``insufficient`` verdicts made from the window's
    start to ``until`` that no debit of the window on that account followed within the
    lookback (a NOT EXISTS over the debits' account index)."""
    d = DEBITS.alias("followed")
    joined, where = window_debits(d, since=window.since, start=window.start, end=window.end)
    followed = exists(
        select(d.c.id)
        .select_from(joined)
        .where(
            *where,
            d.c.account_id == CHECKS.c.account_id,
            d.c.account_id != "",
            d.c.created >= CHECKS.c.checked_at,
            d.c.created <= CHECKS.c.checked_at + window.lookback,
        )
        .correlate(CHECKS)
    )
    stmt = (
        select(CHECKS)
        .where(
            CHECKS.c.verdict == INSUFFICIENT,
            CHECKS.c.checked_at >= window.start,
            CHECKS.c.checked_at <= until,
            ~followed,
        )
        .order_by(CHECKS.c.checked_at, CHECKS.c.id)
    )
    with engine.connect() as conn:
        stopped = [check_from_row(r) for r in conn.execute(stmt)]
    return rules.kept_once(stopped, window.lookback)
