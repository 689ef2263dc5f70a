"""Did our pre-debit check work? Each debit joined with the last verdict before it.

A debit (:class:`~services.rules.returns.Outcome`) is joined with the last pre-debit check
(:class:`Check`) of the same Financial Connections account made before the debit was created,
and no more than ``lookback`` seconds before it (a check weeks older was about another debit).
From the join: a table of verdict × outcome, the R01/R09 returns an ``ok`` let through (the
misses), the money ``insufficient`` verdicts kept from bouncing (no debit followed them), and
the smallest change of buffer or maximum balance age that would have caught the misses, with
what it would have cost (debits that settled but would have been held back).

Pure: no I/O, every time passed in.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import pandas as pd

from services.rules.debit import INSUFFICIENT, OK, STALE, UNAVAILABLE, DebitPolicy
from services.rules.returns import Outcome

__all__ = [
    "LOOKBACK_SECONDS",
    "OUTCOMES",
    "VERDICT_ROWS",
    "Check",
    "Facts",
    "Joined",
    "Kept",
    "Option",
    "join_checks",
    "kept_from_bouncing",
    "misses",
    "facts_of",
    "options_from",
    "outcome_label",
    "policy_options",
    "suggest",
    "verdict_table",
]

LOOKBACK_SECONDS = 7 * 86_400  # a check older than this before the debit was about another one
NO_CHECK = "no check"
VERDICT_ROWS = (OK, INSUFFICIENT, STALE, UNAVAILABLE, NO_CHECK)
SETTLED = "settled"
NSF = "returned R01/R09"
OTHER = "returned, other code"
PENDING = "pending"
OUTCOMES = (SETTLED, NSF, OTHER, PENDING)


@dataclass(frozen=True)
class Check:
    """One pre-debit verdict as it was given, with the policy it applied."""

    account: str
    checked_at: int
    amount: int
    currency: str
    verdict: str
    balance: int | None
    as_of: int | None
    required: int
    policy: DebitPolicy
    source: str = "single"

    @property
    def age(self) -> int | None:
        """How old the balance was when the check read it (seconds)."""
        return None if self.as_of is None else max(0, self.checked_at - self.as_of)

    def ok_under(self, policy: DebitPolicy) -> bool:
        """Whether this check would still say ``ok`` under ``policy`` (same balance, same age)."""
        if self.verdict != OK or self.balance is None or self.age is None:
            return False
        return self.age <= policy.max_age_seconds and self.balance >= policy.required(self.amount)


@dataclass(frozen=True)
class Joined:
    debit: Outcome
    check: Check | None

    @property
    def verdict(self) -> str:
        return self.check.verdict if self.check else NO_CHECK


def outcome_label(debit: Outcome) -> str:
    if debit.ret is not None:
        return NSF if debit.ret.retryable else OTHER
    return SETTLED if debit.status == "settled" else PENDING


def _by_account(checks: Iterable[Check]) -> dict[str, list[Check]]:
    grouped: dict[str, list[Check]] = {}
    for check in checks:
        grouped.setdefault(check.account, []).append(check)
    for items in grouped.values():
        items.sort(key=lambda c: c.checked_at)
    return grouped


def join_checks(
    debits: Iterable[Outcome], checks: Iterable[Check], *, lookback: int = LOOKBACK_SECONDS
) -> list[Joined]:
    """Every debit with the last check of its account at or before its creation (within
    ``lookback``), or with none: a debit on a manually entered account has no account to check."""
    grouped = _by_account(checks)
    joined = []
    for debit in debits:
        found = None
        items = grouped.get(debit.account or "", [])
        times = [c.checked_at for c in items]
        at = bisect.bisect_right(times, debit.created)
        if at and debit.created - items[at - 1].checked_at <= lookback:
            found = items[at - 1]
        joined.append(Joined(debit, found))
    return joined


def verdict_table(joined: Sequence[Joined]) -> pd.DataFrame:
    """Counts of debits per verdict (rows) and outcome (columns), with a total column."""
    rows = []
    for verdict in VERDICT_ROWS:
        members = [j for j in joined if j.verdict == verdict]
        row: dict[str, object] = {"verdict": verdict}
        for outcome in OUTCOMES:
            row[outcome] = sum(1 for j in members if outcome_label(j.debit) == outcome)
        row["debits"] = len(members)
        rows.append(row)
    return pd.DataFrame(rows, columns=["verdict", *OUTCOMES, "debits"])


def misses(joined: Sequence[Joined]) -> list[Joined]:
    """The R01/R09 returns whose last check said ``ok``: the check let them through."""
    return [j for j in joined if j.verdict == OK and outcome_label(j.debit) == NSF]


@dataclass(frozen=True)
class Kept:
    """Planned debits an ``insufficient`` verdict stopped: no debit on the account followed."""

    checks: list[Check]
    amounts: dict[str, int]  # currency -> minor units


def kept_from_bouncing(
    checks: Iterable[Check],
    debits: Iterable[Outcome],
    *,
    since: int,
    until: int,
    lookahead: int = LOOKBACK_SECONDS,
) -> Kept:
    """``insufficient`` checks made in [since, until] after which no debit on that account was
    created within ``lookahead``: the money those verdicts kept from bouncing."""
    created: dict[str, list[int]] = {}
    for d in debits:
        if d.account:
            created.setdefault(d.account, []).append(d.created)
    for times in created.values():
        times.sort()
    stopped = []
    for check in sorted(checks, key=lambda c: c.checked_at):
        if check.verdict != INSUFFICIENT or not since <= check.checked_at <= until:
            continue
        times = created.get(check.account, [])
        at = bisect.bisect_left(times, check.checked_at)
        if at < len(times) and times[at] - check.checked_at <= lookahead:
            continue  # debited anyway (its outcome is in the table)
        stopped.append(check)
    return kept_once(stopped, lookahead)


def kept_once(stopped: Sequence[Check], lookahead: int) -> Kept:
    """One count per planned debit: the same account, amount and currency checked again within
    ``lookahead`` of a counted check is that debit checked again (three checks of one $5,000
    debit counted $15,000). ``stopped`` is in the order the checks were made."""
    counted: list[Check] = []
    last: dict[tuple[str, str, int], int] = {}
    for check in stopped:
        key = (check.account, check.currency, check.amount)
        if key in last and check.checked_at - last[key] <= lookahead:
            continue
        last[key] = check.checked_at
        counted.append(check)
    amounts: dict[str, int] = {}
    for check in counted:
        amounts[check.currency] = amounts.get(check.currency, 0) + check.amount
    return Kept(counted, amounts)


@dataclass(frozen=True)
class Option:
    """One policy change and its effect on the debits already made."""

    kind: str  # buffer_percent | max_age
    policy: DebitPolicy
    caught: int  # R01/R09 misses it would have held back
    misses: int
    blocked: int  # debits with an ok verdict that settled and it would have held back
    caught_amounts: dict[str, int]
    blocked_amounts: dict[str, int]


@dataclass(frozen=True)
class Facts:
    """What the policy options read of one ``ok``-checked debit: its check's balance, the amount
    the check was asked about and the balance's age (as :class:`Check` gives them), and the
    debit's own amount and currency (what an option catches or holds back is counted in them)."""

    balance: int | None
    asked: int
    age: int | None
    currency: str
    amount: int

    def ok_under(self, policy: DebitPolicy) -> bool:
        """:meth:`Check.ok_under` of the ``ok`` verdict these facts come from."""
        if self.balance is None or self.age is None:
            return False
        return self.age <= policy.max_age_seconds and self.balance >= policy.required(self.asked)


def facts_of(joined: Joined) -> Facts:
    """The :class:`Facts` of a debit joined with its ``ok`` check."""
    check = joined.check
    assert check is not None and check.verdict == OK
    return Facts(check.balance, check.amount, check.age, joined.debit.currency, joined.debit.amount)


def _needed_percent(check: Facts, policy: DebitPolicy) -> int | None:
    """The smallest whole percentage buffer under which ``check`` would not have said ok."""
    if check.balance is None:
        return None
    room = check.balance - check.asked - policy.buffer_amount
    if room < 0:
        return 0
    percent = math.floor(room * 100 / check.asked) + 1
    while percent > 0 and check.balance < replace(policy, buffer_percent=percent - 1).required(
        check.asked
    ):
        percent -= 1  # rounding up in required() can make one percent less already enough
    return percent


def _effect(
    kind: str,
    policy: DebitPolicy,
    missed: Sequence[Facts],
    good: Sequence[Facts],
    needed: Sequence[int | None],
) -> Option:
    """The option ``policy`` (the policy in force with its maximum age or its percentage
    changed) with what it catches of ``missed`` and holds back of ``good`` (both passed by the
    policy in force). A miss is caught when its balance is older than the option's maximum
    age, or when the option's percentage is at least the miss's ``needed`` one
    (:func:`_needed_percent`: ``required`` grows with the percentage), which is ``not
    ok_under(policy)`` without computing ``required`` once per miss and option."""
    if kind == "max_age":
        caught = [f for f in missed if f.age is not None and f.age > policy.max_age_seconds]
    else:
        caught = [
            f for f, n in zip(missed, needed, strict=True)
            if n is not None and policy.buffer_percent >= n
        ]
    blocked = [f for f in good if not f.ok_under(policy)]

    def total(items: Sequence[Facts]) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in items:
            out[f.currency] = out.get(f.currency, 0) + f.amount
        return out

    return Option(
        kind, policy, len(caught), len(missed), len(blocked), total(caught), total(blocked)
    )


def policy_options(
    joined: Sequence[Joined],
    current: DebitPolicy,
    *,
    max_percent: float = 100.0,
    min_age_seconds: int = 15 * 60,
) -> list[Option]:
    """Every buffer (whole percent) and maximum age (whole hours) that would have caught at
    least one miss the ``current`` policy still lets through, each with its effect on the
    debits ``current`` would still pass; the rest of ``current`` is kept as it is."""
    missed = [facts_of(j) for j in misses(joined)]
    good = [
        facts_of(j)
        for j in joined
        if j.check and j.check.verdict == OK and outcome_label(j.debit) == SETTLED
    ]
    return options_from(
        missed, good, current, max_percent=max_percent, min_age_seconds=min_age_seconds
    )


def options_from(
    missed: Sequence[Facts],
    settled: Sequence[Facts],
    current: DebitPolicy,
    *,
    max_percent: float = 100.0,
    min_age_seconds: int = 15 * 60,
) -> list[Option]:
    """:func:`policy_options` from the facts of the misses and of the ``ok``-checked debits that
    settled (what it reads of them; each list in any order)."""
    # Only what ``current`` would still let through: a miss under an older, smaller buffer
    # that today's policy already catches needs no change.
    missed = [f for f in missed if f.ok_under(current)]
    good = [f for f in settled if f.ok_under(current)]
    needed = [_needed_percent(f, current) for f in missed]
    percents = set(needed)
    ages = {  # the longest whole hours below the balance's age: that age would have been stale
        ((f.age - 1) // 3600) * 3600 for f in missed if f.age
    }
    options = []
    for percent in sorted(p for p in percents if p is not None and 0 < p <= max_percent):
        if percent > current.buffer_percent:
            policy = replace(current, buffer_percent=float(percent))
            options.append(_effect("buffer_percent", policy, missed, good, needed))
    for age in sorted(ages, reverse=True):
        age = age if age > 0 else min_age_seconds
        if min_age_seconds <= age < current.max_age_seconds:
            policy = replace(current, max_age_seconds=age)
            options.append(_effect("max_age", policy, missed, good, needed))
    return [o for o in options if o.caught]


def suggest(options: Sequence[Option]) -> Option | None:
    """The option that would have held back the most misses while holding back no more debits
    that settled than misses (ties: fewer settled debits held back, then the smaller change);
    None when every option costs more good debits than returns it saves. A debit held back is
    checked again or waits for a fresh balance; a return costs a fee and counts toward Nacha's
    limits, so one for one is worth suggesting and the admin sees both numbers."""
    fair = [o for o in options if o.caught and o.blocked <= o.caught]
    if not fair:
        return None
    return max(fair, key=lambda o: (o.caught, -o.blocked, -_size(o)))


def _size(option: Option) -> float:
    if option.kind == "buffer_percent":
        return option.policy.buffer_percent
    return 1e9 / option.policy.max_age_seconds  # a shorter maximum age is the bigger change
