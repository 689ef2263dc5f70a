"""Did the debit come back? Debit outcomes read from Stripe PaymentIntents, and Nacha return rates.

Inputs are PaymentIntent objects as plain mappings, as Stripe returns them (payment method
expanded where there is one). A debit is an ACH Direct Debit (``us_bank_account``) intent that
reached the bank: ``processing``, ``succeeded``, or back to ``requires_payment_method`` /
``canceled`` with a return in ``last_payment_error`` (or, once Stripe cleared that, on its
latest charge: :func:`attempt_error`). Card and other methods are not debits
here, nor are intents never confirmed or refused at confirmation (a blocked payment method).

A re-initiation (a retry of an R01/R09 return) carries ``metadata[RETRY_OF]`` = the original
intent's id; an original and its re-initiations count as one debit, dated by the original, and
as one return in each category any of its attempts came back in. Pure: no I/O, ``now`` passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from services.rules import wording
from services.rules.clock import unix_seconds
from services.rules.nacha import CATEGORIES, LIMITS, Return, return_from

__all__ = [
    "RETRY_OF",
    "Outcome",
    "attempt_error",
    "outcome_of",
    "outcomes",
    "rate_text",
    "rates_of",
    "return_rates",
    "weekly_rates",
]

RETRY_OF = "fcops_retry_of"  # metadata key on a re-initiation: the original PaymentIntent's id
ACH = "us_bank_account"
RATE_COLUMNS = ["category", "debits", "returns", "rate", "limit"]


def rate_text(rate: float | None, limit: float | None = None) -> str:
    """A share as the Returns page writes every one (cards, warnings, table, chart tooltips), the
    way Conversion's cards do: whole percent ("5 %", "33 %"), but one decimal under 1 % ("0.4 %")
    and "< 0.1 %" below that, so a share that is not nil never reads "0 %". A rate under its
    ``limit`` never reads as the limit: 2.96 % against 3 % is "2.96 %", not "3 %" with no word of
    being over it. None or NaN is "—" (:func:`wording.percent`)."""
    if rate is None or rate != rate:
        return wording.percent(rate)
    if 0 < rate < 0.001:
        return "< 0.1 %"
    digits = 0 if rate >= 0.01 else 1
    text = wording.percent(rate, digits)
    while limit is not None and rate < limit and digits < 4 and text == wording.percent(limit, 4):
        digits += 1
        text = wording.percent(rate, digits)
    return text


@dataclass(frozen=True)
class Outcome:
    """One ACH debit and what became of it (``pending``, ``settled`` or ``returned``)."""

    id: str
    created: int  # unix seconds: when the debit was created (originated)
    amount: int
    currency: str
    customer: str | None
    payment_method: str | None
    account: str | None  # the FC account behind the payment method, if any
    institution: str | None
    last4: str | None
    verification_method: str | None  # automatic | instant | microdeposits (as requested)
    flow: str | None  # metadata.flow, when the intent was made by a configured flow
    status: str  # pending | settled | returned
    ret: Return | None
    retry_of: str | None
    blocked_reason: str | None
    blocked_code: str | None = None  # us_bank_account.status_details.blocked.network_code

    @property
    def original(self) -> str:
        return self.retry_of or self.id

    @property
    def return_code(self) -> str | None:
        return self.ret.code if self.ret else None

    @property
    def category(self) -> str | None:
        return self.ret.category if self.ret else None


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def attempt_error(pi: Mapping[str, Any]) -> Mapping[str, Any]:
    """Why the PaymentIntent's last attempt failed: its ``last_payment_error``; else, when
    Stripe has cleared that (the pinned SDK: "cleared if the PaymentIntent is later updated for
    any reason", so an intent updated after its return keeps no reason), the same facts from
    its latest charge when that is expanded and failed with a ``failure_code`` (the SDK's
    ``Charge.failure_code``, a free string, and ``failure_message``): ``code``, ``message``,
    ``payment_method`` and ``payment_method_type`` as the error shape names them, and
    ``charge`` (its ID). ``{}`` when neither says."""
    error = pi.get("last_payment_error")
    if isinstance(error, Mapping) and error:
        return error
    charge = pi.get("latest_charge")
    if not isinstance(charge, Mapping) or charge.get("status") != "failed":
        return {}
    code = charge.get("failure_code")
    if not code:
        return {}
    return {
        "code": str(code),
        "message": charge.get("failure_message"),
        "payment_method": charge.get("payment_method"),
        "payment_method_type": _get(charge, "payment_method_details", "type"),
        "charge": charge.get("id"),
    }


def _is_ach(pi: Mapping[str, Any]) -> bool:
    pm = pi.get("payment_method")
    if isinstance(pm, Mapping) and pm.get("type"):
        return pm.get("type") == ACH
    error = attempt_error(pi)
    kind = _get(error, "payment_method_type") or _get(error, "payment_method", "type")
    if kind:
        return bool(kind == ACH)
    return list(pi.get("payment_method_types") or []) == [ACH]


def outcome_of(pi: Mapping[str, Any]) -> Outcome | None:
    """The debit outcome of one PaymentIntent, or ``None`` when it is no ACH debit."""
    if pi.get("object", "payment_intent") != "payment_intent" or not _is_ach(pi):
        return None
    pm = pi.get("payment_method")
    error = attempt_error(pi)
    if not isinstance(pm, Mapping):
        tried = error.get("payment_method")  # a charge's may be its ID only
        pm = tried if isinstance(tried, Mapping) else {"id": tried or pm}
    bank = pm.get("us_bank_account") if isinstance(pm, Mapping) else None
    if not isinstance(bank, Mapping):  # the charge's copy: bank name and last 4, no FC account
        bank = _get(pi, "latest_charge", "payment_method_details", ACH)
    blocked = _get(bank, "status_details", "blocked")
    status = pi.get("status")
    ret = None
    if status in {"requires_payment_method", "canceled"}:
        ret = return_from(error.get("code"), _get(blocked, "network_code"))
        if ret is None:
            return None  # never reached the bank, or refused at confirmation: no debit
        state = "returned"
    elif status == "succeeded":
        state = "settled"
    elif status == "processing":
        state = "pending"
    else:
        return None
    metadata = pi.get("metadata") or {}
    fca = _get(bank, "financial_connections_account")
    return Outcome(
        id=str(pi["id"]),
        created=int(pi["created"]),
        amount=int(pi.get("amount") or 0),
        currency=str(pi.get("currency") or "usd"),
        customer=pi.get("customer")
        if isinstance(pi.get("customer"), str)
        else _get(pi, "customer", "id"),
        payment_method=_get(pm, "id"),
        account=fca if isinstance(fca, str) else _get(fca, "id"),
        institution=_get(bank, "bank_name"),
        last4=_get(bank, "last4"),
        verification_method=_get(pi, "payment_method_options", ACH, "verification_method"),
        flow=metadata.get("flow") or metadata.get("fcops_flow"),
        status=state,
        ret=ret,
        retry_of=metadata.get(RETRY_OF) or None,
        blocked_reason=_get(blocked, "reason"),
        blocked_code=_get(blocked, "network_code"),
    )


def outcomes(payment_intents: Iterable[Mapping[str, Any]]) -> list[Outcome]:
    return [o for o in map(outcome_of, payment_intents) if o is not None]


@dataclass(frozen=True)
class _Chain:
    """An original debit and its re-initiations: one debit for Nacha's rates."""

    created: int
    categories: frozenset[str]  # unauthorized / administrative / other of any returned attempt


def _chains(debits: Iterable[Outcome]) -> list[_Chain]:
    by_original: dict[str, list[Outcome]] = {}
    for d in debits:
        by_original.setdefault(d.original, []).append(d)
    chains = []
    for original, attempts in by_original.items():
        first = next((a for a in attempts if a.id == original), None)
        created = first.created if first else min(a.created for a in attempts)
        chains.append(_Chain(created, frozenset(a.category for a in attempts if a.category)))
    return chains


def _rates(chains: list[_Chain]) -> pd.DataFrame:
    debits = len(chains)
    rows = []
    for category in CATEGORIES:
        if category == "overall":
            returns = sum(1 for c in chains if c.categories)
        else:
            returns = sum(1 for c in chains if category in c.categories)
        rate = returns / debits if debits else None
        rows.append(
            {
                "category": category,
                "debits": debits,
                "returns": returns,
                "rate": rate,
                "limit": LIMITS[category],
            }
        )
    frame = pd.DataFrame(rows, columns=RATE_COLUMNS)
    frame["rate"] = frame["rate"].astype("float64")  # NaN (empty), never 0, without debits
    return frame


def _in_window(created: int, start: int, end: int) -> bool:
    return start <= created <= end


def return_rates(
    payment_intents: Iterable[Mapping[str, Any]], *, now: datetime | int, window_days: int = 60
) -> pd.DataFrame:
    """Nacha's three return rates over the ``window_days`` before ``now``.

    One row per category (``unauthorized``, ``administrative``, ``overall``), columns
    ``category``, ``debits`` (ACH debits created in the window; re-initiations count once with
    their original), ``returns``, ``rate`` (a fraction, NaN when there are no debits) and
    ``limit``. A debit counts by its creation date, so a late return (an unauthorized claim up
    to 60 days on) raises the rate of the window the debit was made in.
    """
    return rates_of(outcomes(payment_intents), now=now, window_days=window_days)


def rates_of(
    debits: Iterable[Outcome], *, now: datetime | int, window_days: int = 60
) -> pd.DataFrame:
    """:func:`return_rates` over debit outcomes already read (the store's mirror)."""
    end = unix_seconds(now)
    start = end - int(timedelta(days=window_days).total_seconds())
    return _rates([c for c in _chains(debits) if _in_window(c.created, start, end)])


def weekly_rates(
    debits: Iterable[Outcome], *, now: datetime | int, weeks: int = 13
) -> pd.DataFrame:
    """Return rates per week of origination (the last ``weeks`` weeks, Monday-based, UTC), long
    form: ``week`` (date of the Monday), ``category``, ``debits``, ``returns``, ``rate``, ``limit``."""
    end = unix_seconds(now)
    today = datetime.fromtimestamp(end, tz=UTC).date()
    monday = today - timedelta(days=today.weekday())
    first = monday - timedelta(weeks=weeks - 1)
    by_week: dict[Any, list[_Chain]] = {first + timedelta(weeks=i): [] for i in range(weeks)}
    for chain in _chains(debits):
        day = datetime.fromtimestamp(chain.created, tz=UTC).date()
        week = day - timedelta(days=day.weekday())
        if week in by_week and chain.created <= end:
            by_week[week].append(chain)
    frames = []
    for week, chains in by_week.items():
        frame = _rates(chains)
        frame.insert(0, "week", pd.Timestamp(week))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


DEFAULT_WARNING = 0.8  # warn when a rate reaches this share of its limit
BREAKDOWNS = {
    "verification_method": "Verification method",
    "institution": "Institution",
    "flow": "Flow",
}


def in_window(
    debits: Iterable[Outcome], *, now: datetime | int, window_days: int = 60
) -> list[Outcome]:
    """Every attempt whose original debit was made in the window (what the rates count)."""
    end = unix_seconds(now)
    start = end - int(timedelta(days=window_days).total_seconds())
    items = list(debits)
    created = {d.id: d.created for d in items}
    return [d for d in items if _in_window(created.get(d.original, d.created), start, end)]


def breakdown(
    debits: Iterable[Outcome], by: str, *, now: datetime | int, window_days: int = 60
) -> pd.DataFrame:
    """The three rates per value of ``by`` (verification_method, institution or flow), wide:
    ``by``, ``debits``, then ``<category>_returns`` and ``<category>_rate`` for each category."""
    groups: dict[str, list[Outcome]] = {}
    items = list(debits)
    originals = {d.id: d for d in items}
    for d in items:
        owner = originals.get(d.original, d)  # a re-initiation belongs to its original's group
        groups.setdefault(str(getattr(owner, by) or "unknown"), []).append(d)
    rows = []
    for value, members in sorted(groups.items()):
        rates = rates_of(members, now=now, window_days=window_days)
        if int(rates["debits"].iloc[0]) == 0:
            continue
        row: dict[str, Any] = {by: value, "debits": int(rates["debits"].iloc[0])}
        for rec in rates.to_dict("records"):
            row[f"{rec['category']}_returns"] = rec["returns"]
            row[f"{rec['category']}_rate"] = rec["rate"]
        rows.append(row)
    columns = [by, "debits"] + [f"{c}_{k}" for c in CATEGORIES for k in ("returns", "rate")]
    return pd.DataFrame(rows, columns=columns)


def warnings(rates: pd.DataFrame, *, level: float = DEFAULT_WARNING) -> list[str]:
    """A sentence for each category at or above ``level`` × its limit (over it says so)."""
    out = []
    for rec in rates.to_dict("records"):
        rate, limit = rec["rate"], rec["limit"]
        if rate is None or rate != rate or rate < level * limit:  # NaN: no debits
            continue
        state = "is over" if rate >= limit else "is near"
        out.append(
            f"The {rec['category']} return rate {state} Nacha's limit: {rate_text(rate, limit)} "
            f"({rec['returns']} of {rec['debits']} debits) against {rate_text(limit)}."
        )
    return out


def matches(debit: Outcome, category: str | None) -> bool:
    """Whether a debit is behind the figure of ``category`` (None: every debit)."""
    if category is None:
        return True
    if category == "overall":
        return debit.ret is not None
    return debit.category == category


def sync_words(events: int, intents: int, tally: Mapping[str, int]) -> str:
    """What a sync read and did, in counts that add up to the intents read: the ACH debits
    (new to fcops, changed, unchanged: a webhook may have stored a debit first) and the rest,
    which are no ACH debit (another payment method, or refused before reaching a bank)."""
    new, changed, same = tally.get("inserted", 0), tally.get("updated", 0), tally.get("unchanged", 0)
    other = max(0, intents - new - changed - same)
    debits = new + changed + same
    words = (
        f"Read {events:,} payment event{'' if events == 1 else 's'} and {intents:,} "
        f"PaymentIntent{'' if intents == 1 else 's'}: {debits:,} ACH debit"
        f"{'' if debits == 1 else 's'} ({new:,} new to fcops, {changed:,} changed, "
        f"{same:,} unchanged)"
    )
    if other:
        words += (
            f"; {other:,} {'is' if other == 1 else 'are'} no ACH debit that reached a bank "
            "(another payment method, or refused before it was sent)"
        )
    return words + "."
