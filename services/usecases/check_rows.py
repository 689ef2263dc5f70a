"""The window's debits joined with their last pre-debit check, in SQL, for "Did our check work?"
(:mod:`services.usecases.check_figures`): the window, each debit's check (as stored or looked
up), and the misses (the R01/R09 returns an ``ok`` let through) whole or as the
:class:`~services.rules.check_effect.Facts` the policy options read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import or_, select, true
from sqlalchemy.engine import Engine

from services.adapters import last_checks, original_dates, verdict_days
from services.adapters.check_history import check_from_row
from services.adapters.models import DebitChainRecord, DebitCheckRecord, DebitOutcomeRecord
from services.rules import check_effect as rules
from services.rules.debit import OK
from services.rules.nacha import RETRYABLE, Return
from services.usecases.debit_outcomes import outcome_from_row, window_debits

__all__ = [
    "Misses",
    "Window",
    "all_copied",
    "joined_rows",
    "miss_facts",
    "misses",
    "newest_misses",
    "outcome_of",
    "outside_days",
    "paired_debits",
    "read_misses",
    "stored_lookback",
    "whole_days",
]

DEBITS: Any = DebitOutcomeRecord.__table__  # type: ignore[attr-defined]
CHECKS: Any = DebitCheckRecord.__table__  # type: ignore[attr-defined]
CHAINS: Any = DebitChainRecord.__table__  # type: ignore[attr-defined]
CHECK_PREFIX = "c_"


@dataclass(frozen=True)
class Window:
    """The debits whose original was made from ``start`` to ``end`` (attempts since ``since``)."""

    since: int
    start: int
    end: int
    lookback: int = rules.LOOKBACK_SECONDS
    stored: bool = True  # False: every debit's last check looked up afresh (what tests compare)


def stored_lookback(window: Window) -> bool:
    return window.stored and window.lookback == rules.LOOKBACK_SECONDS


def _check_id(window: Window) -> Any:
    """Each debit's last check: as stored for the lookback the writers keep it for, else
    looked up per debit (:func:`~services.adapters.last_checks.last_check`)."""
    if stored_lookback(window):
        return last_checks.stored_check_id()
    return last_checks.last_check(window.lookback)


def paired_debits(window: Window, *, every: bool = False) -> Any:
    """Every debit of the window with the id of its last pre-debit check (NULL: none). For
    ``every`` debit (no filter outside) looking its check up, a materialized CTE on PostgreSQL,
    which otherwise runs the correlated subquery again as the join's hash key; else (or with
    the stored check, nothing to run twice) a subquery the outer filters reach into, so only
    the debits they keep look for their check."""
    joined, where = window_debits(DEBITS, since=window.since, start=window.start, end=window.end)
    paired = select(DEBITS, _check_id(window).label("check_id"))
    paired = paired.select_from(joined).where(*where)
    if every and not stored_lookback(window):
        return paired.cte("paired").prefix_with("MATERIALIZED", dialect="postgresql")
    return paired.subquery("paired")


@lru_cache(maxsize=256)
def outcome_of(status: str, return_code: str | None, category: str | None) -> str:
    """:func:`rules.outcome_label` of a debit with these columns (as they are read)."""
    if status == "returned" and return_code and category:
        return (
            rules.NSF
            if Return("", tuple(return_code.split("/")), category).retryable
            else (rules.OTHER)
        )
    return rules.SETTLED if status == "settled" else rules.PENDING


def joined_rows(
    engine: Engine, window: Window, conditions: Callable[[Any], list[Any]]
) -> list[rules.Joined]:
    """The window's debits an ``ok`` verdict checked, whose row (columns passed to ``conditions``) and
    check meet ``conditions``, oldest first (ties by id), joined with that check."""
    paired = paired_debits(window)
    stmt = (
        select(paired, *(c.label(CHECK_PREFIX + c.name) for c in CHECKS.c))
        .select_from(paired.join(CHECKS, CHECKS.c.id == paired.c.check_id))
        .where(CHECKS.c.verdict == OK, *conditions(paired.c))
        .order_by(paired.c.created, paired.c.id)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [rules.Joined(outcome_from_row(r), check_from_row(r, CHECK_PREFIX)) for r in rows]


def _returned(paired: Any) -> list[Any]:
    """The candidates for a miss: returns whose first code is retryable (every code of an NSF
    return is, so its first one is: a prefix names it)."""
    first = [paired.return_code.startswith(code, autoescape=True) for code in sorted(RETRYABLE)]
    return [paired.status == "returned", paired.category.is_not(None), or_(*first)]


def misses(engine: Engine, window: Window) -> list[rules.Joined]:
    """:func:`rules.misses`: the returns an ``ok`` let through (the ``ok``-checked returns whose
    first code is retryable chosen in SQL, the rule deciding)."""
    return rules.misses(joined_rows(engine, window, _returned))


def _candidates(window: Window, complete: bool = False) -> Any:
    """The window's ``ok``-checked returns whose first code is retryable (the candidates for a
    miss), oldest first (ties by id), with what :func:`outcome_of` and :class:`rules.Facts` read:
    the debit's ``id``, status, codes, currency and amount, and its check's ``age``
    (checked_at - as_of), ``room`` (balance - amount) and ``asked`` (amount). For the stored
    lookback from the copies on the debit (``ix_debit_verdicts``; no check is read when
    ``complete``), else from the check looked up."""
    debit = ("id", "created", "status", "return_code", "category", "currency", "amount")
    if stored_lookback(window):
        joined, where = window_debits(
            DEBITS, since=window.since, start=window.start, end=window.end, complete=complete
        )
        of = last_checks.copied(complete=complete)
        d = DEBITS.c
        verdict = d.check_verdict == OK if complete else of["verdict"] == OK
        columns = [d[k] for k in debit] + [of[k].label(k) for k in ("age", "room", "asked")]
        stmt = select(*columns).select_from(joined).where(*where, verdict, *_returned(d))
        return stmt.order_by(d.created, d.id)
    paired = paired_debits(window)
    c = CHECKS.c
    of = {"age": c.checked_at - c.as_of, "room": c.balance - c.amount, "asked": c.amount}
    columns = [paired.c[k] for k in debit] + [v.label(k) for k, v in of.items()]
    return (
        select(*columns)
        .select_from(paired.join(CHECKS, c.id == paired.c.check_id))
        .where(c.verdict == OK, *_returned(paired.c))
        .order_by(paired.c.created, paired.c.id)
    )


def _miss_rows(engine: Engine, window: Window) -> list[Any]:
    """The rows of :func:`_candidates` the rule counts as misses (:func:`outcome_of`: what
    :func:`rules.outcome_label` reads), oldest first."""
    complete = stored_lookback(window) and all_copied(engine)
    with engine.connect() as conn:
        rows = conn.execute(_candidates(window, complete)).all()
    return [r for r in rows if outcome_of(r.status, r.return_code, r.category) == rules.NSF]


def _facts(row: Any) -> rules.Facts:
    """:func:`rules.facts_of` of a miss read by :func:`_candidates` (the check's balance is
    room + asked; its age is never below 0, as :attr:`rules.Check.age`)."""
    *_, currency, amount, age, room, asked = row  # by position: a row's names cost more
    balance = None if room is None else int(room) + int(asked)
    age = None if age is None else max(0, int(age))
    return rules.Facts(balance, int(asked), age, str(currency), int(amount))


def miss_facts(engine: Engine, window: Window) -> list[rules.Facts]:
    """The :class:`rules.Facts` of every one of :func:`misses` (no row loaded whole)."""
    return [_facts(r) for r in _miss_rows(engine, window)]


def newest_misses(engine: Engine, window: Window, limit: int) -> tuple[list[rules.Joined], int]:
    """The newest ``limit`` of :func:`misses`, newest first, and how many there are: the rule
    decides on the candidates' status and codes alone (:func:`outcome_of`, what
    :func:`rules.outcome_label` reads), and only the rows kept are loaded whole."""
    found = read_misses(engine, window, limit, facts=False)
    return found.newest, found.total


@dataclass(frozen=True)
class Misses:
    newest: list[rules.Joined]  # the newest ``limit`` misses whole, newest first
    total: int  # how many misses there are
    facts: list[rules.Facts]  # what the policy options read of every miss, oldest first (if asked)


def read_misses(engine: Engine, window: Window, limit: int, *, facts: bool = True) -> Misses:
    """:func:`newest_misses` and (``facts``) :func:`miss_facts` from one read of the
    candidates."""
    rows = _miss_rows(engine, window)
    facts_of = [_facts(r) for r in rows] if facts else []
    chosen = [r.id for r in rows[-limit:]] if limit > 0 else []
    if not chosen:
        return Misses([], len(rows), facts_of)
    newest = rules.misses(joined_rows(engine, window, lambda p: [p.id.in_(chosen)]))
    return Misses(list(reversed(newest)), len(rows), facts_of)


def all_copied(engine: Engine) -> bool:
    """Whether every debit has its last check and its original's date computed and copied
    (what the writers leave committed; only a bulk insert not yet backfilled leaves rows
    waiting): two probes of the columns' indexes."""
    with engine.connect() as conn:
        return not last_checks.missing(conn) and not original_dates.missing(conn)


def whole_days(window: Window) -> tuple[int, int] | None:
    """The window's whole UTC days, as day numbers [first, stop), over which the day counts
    kept at write time (:mod:`~services.adapters.verdict_days`) are added up; None when the
    window holds no whole day or its ``since`` is too close to its start for their dates."""
    first, stop = -(-window.start // verdict_days.DAY), (window.end + 1) // verdict_days.DAY
    if stop <= first or window.start - window.since < verdict_days.FAR:
        return None
    return first, stop


def outside_days(
    window: Window, days: tuple[int, int], keys: list[Any], counted: list[Any], *where: Any
) -> tuple[Any, Any]:
    """The two queries for the debits of the window the day counts over ``days``
    (:func:`whole_days`) leave out, grouped by ``keys`` with ``counted`` (aggregates), both
    of those meeting ``where``: the near debits of its two partial edge days (on
    ``ix_debit_days``), and those dated far from their original (of ``long`` chains: a
    handful). Every debit must be computed and copied."""
    first, stop = days
    edges = or_(
        verdict_days.in_dates(DEBITS, window.start, first * verdict_days.DAY - 1),
        verdict_days.in_dates(DEBITS, stop * verdict_days.DAY, window.end),
    )
    edge = select(*keys, *counted).where(verdict_days.near(DEBITS), edges, *where)
    joined, dated = window_debits(
        DEBITS, since=window.since, start=window.start, end=window.end, complete=True
    )
    longs = select(CHAINS.c.original_id).where(CHAINS.c.long == true())
    far = (
        select(*keys, *counted)
        .select_from(joined)
        .where(*dated, verdict_days.far(DEBITS), DEBITS.c.original_id.in_(longs), *where)
    )
    return edge.group_by(*keys), far.group_by(*keys)
