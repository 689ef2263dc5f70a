"""Did our check work? Finance, managers and admins read each debit of the window joined with
the last pre-debit verdict before it; admins also get a debit-policy suggestion.

Reads the store only: debit outcomes (``returns.sync``) and the verdicts every check keeps
(:mod:`services.adapters.check_history`), counted in SQL (:mod:`services.usecases.check_figures`).
Applying a suggestion is the admin's own save on the Debit policy page
(:func:`services.usecases.debit_policy.save_policy`); nothing is written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from services.auth import Actor, require
from services.context import Services
from services.rules import check_effect as rules
from services.rules import wording
from services.rules.debit import DebitPolicy
from services.rules.money import format_plain
from services.rules.people import Person
from services.rules.policy_bounds import POLICY_MAX_BUFFER_PERCENT, POLICY_MIN_AGE_SECONDS
from services.usecases import check_figures, check_rows
from services.usecases.debit_policy import load_policy
from services.usecases.returns_report import people_for, valid_window

__all__ = ["CheckReview", "review"]

MISS_COLUMNS = [
    "Name",
    "Email",
    "Made",
    "Amount",
    "Return",
    "Checked",
    "Amount checked",
    "Balance at the check",
    "Balance age",
    "Required",
    "Currency",
    "Check",
    "Customer",
    "Debit",
]
# Name and email of the customer (stored customers) lead for roles that may see them
# (``accounts.view``); for the others (managers) these columns are left out, IDs only.
PERSON_COLUMNS = ("Name", "Email")
# Money in MISS_COLUMNS is integer minor units of "Currency" (the check's, which matched the
# debit's), "Made"/"Checked" Unix seconds and "Balance age" seconds: the page formats them, so
# its table sorts numbers.
MISSES_SHOWN = 100  # rows of the misses table (newest first); the count is of all
MISS_MONEY = ("Amount", "Amount checked", "Balance at the check", "Required")
MISS_TIMES = ("Made", "Checked")


@dataclass(frozen=True)
class CheckReview:
    window_days: int
    debits: int
    checked: int  # debits that had a verdict before them
    table: pd.DataFrame  # verdict × outcome counts
    misses: pd.DataFrame  # R01/R09 returns an ok let through: the newest MISSES_SHOWN, newest first
    misses_total: int  # how many there are in all
    kept_count: int
    kept_amounts: dict[str, int]
    policy: DebitPolicy  # in force now
    options: list[rules.Option]  # admins only; empty for other roles
    suggestion: rules.Option | None  # admins only
    sentence: str | None  # the suggestion's expected effect, for admins


def _money(amounts: dict[str, int]) -> str:
    return " + ".join(format_plain(v, c) for c, v in sorted(amounts.items())) or "nothing"


def _seconds(seconds: int | None) -> float | None:
    return None if seconds is None else float(seconds)


def _miss_frame(items: list[rules.Joined], people: Mapping[str, Person] | None) -> pd.DataFrame:
    rows = []
    for j in items:
        d, c = j.debit, j.check
        assert c is not None
        known = (people or {}).get(d.customer or "") or Person()
        rows.append(
            {
                "Name": known.name,
                "Email": known.email,
                "Debit": d.id,
                "Customer": d.customer,
                "Made": d.created,
                "Amount": d.amount,
                "Return": d.return_code,
                "Checked": c.checked_at,
                "Amount checked": c.amount,
                "Balance at the check": c.balance,
                "Balance age": _seconds(c.age),
                "Required": c.required,
                "Currency": c.currency,
                "Check": c.source,
            }
        )
    frame = pd.DataFrame(rows, columns=MISS_COLUMNS)
    return frame if people is not None else frame.drop(columns=list(PERSON_COLUMNS))


def describe(option: rules.Option) -> str:
    """The expected effect of one policy option, as a sentence an admin can act on."""
    if option.kind == "buffer_percent":
        change = f"A buffer of {wording.percent(option.policy.buffer_percent / 100, 4)}"
    else:
        change = f"A maximum balance age of {option.policy.max_age_seconds / 3600:g} hours"
    blocked = (
        f" and held back {option.blocked} debit{'s' if option.blocked != 1 else ''} that "
        f"settled ({_money(option.blocked_amounts)})"
        if option.blocked
        else " and held back no debit that settled"
    )
    return (
        f"{change} would have caught {option.caught} of {option.misses} R01/R09 returns that "
        f"an ok verdict let through ({_money(option.caught_amounts)}){blocked}."
    )


def review(svc: Services, actor: Actor, *, window_days: int = 60) -> CheckReview:
    """Debits created in the last ``window_days`` joined with their last pre-debit verdict."""
    require(actor, "returns.view")
    window = valid_window(window_days)
    now = svc.now()
    start = now - window * 86_400
    # counted and filtered in SQL (issue 13): only the misses and the debits an option could
    # hold back are read; the rules of check_effect decide on them
    win = check_figures.Window(since=start - 180 * 86_400, start=start, end=now)
    admin = actor.can("policy.edit")
    # only the newest misses are read whole; the admin's options read what they need of every
    # miss (check_figures.miss_facts)
    missed = check_rows.read_misses(svc.engine, win, MISSES_SHOWN, facts=admin)
    shown, total = missed.newest, missed.total
    # Only verdicts a whole lookback old: "no debit followed within a week" is not known yet
    # of a check made this week (it counted checks made seconds ago).
    kept = check_figures.kept(svc.engine, win, until=now - win.lookback)
    policy = load_policy(svc.engine).policy
    found = check_figures.figures(  # one pass: the verdict table and (admins) the options
        svc.engine,
        win,
        policy if admin else None,
        max_percent=POLICY_MAX_BUFFER_PERCENT,
        min_age_seconds=POLICY_MIN_AGE_SECONDS,
        missed=missed.facts if admin else None,
    )
    table, debits, checked, options = found.table, found.debits, found.checked, found.options
    suggestion = rules.suggest(options) if admin else None
    return CheckReview(
        window_days=window,
        debits=debits,
        checked=checked,
        table=table,
        misses=_miss_frame(shown, people_for(svc, actor, [j.debit for j in shown])),
        misses_total=total,
        kept_count=len(kept.checks),
        kept_amounts=kept.amounts,
        policy=policy,
        options=options,
        suggestion=suggestion,
        sentence=describe(suggestion) if suggestion else None,
    )
