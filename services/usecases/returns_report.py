"""Finance, managers and admins read return rates against Nacha's limits from the outcome mirror.

Everything here reads the store (``debit_outcomes``), never Stripe; ``returns.sync``
(:func:`services.usecases.debit_outcomes.sync_outcomes`) brings it up to date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from services.adapters import data_version
from services.adapters import outcome_figures as figures
from services.adapters import people as people_store
from services.adapters.models import SyncState
from services.adapters.store import session_scope
from services.audit import audited
from services.auth import Actor, require
from services.context import Services
from services.errors import ValidationError
from services.rules import returns as rules
from services.rules.clock import as_utc
from services.rules.money import format_plain
from services.rules.people import Person
from services.rules.spreadsheet import csv_text
from services.rules.wording import day, moment
from services.usecases.debit_outcomes import SYNC_NAME, count_behind, load_behind
from services.usecases.debit_policy import load_policy

__all__ = [
    "CacheKeys",
    "DebitsBehind",
    "ReturnsReport",
    "cache_keys",
    "debits_behind",
    "debits_frame",
    "export_csv",
    "report",
]

MAX_WINDOW_DAYS = 180


@dataclass(frozen=True)
class ReturnsReport:
    """The figures (counted in SQL, :mod:`services.adapters.outcome_figures`); the debits
    behind them are :func:`debits_behind`, a page at a time."""

    now: int
    window_days: int
    rates: pd.DataFrame
    weekly: pd.DataFrame
    breakdowns: dict[str, pd.DataFrame]
    warnings: list[str]
    last_synced: str | None  # '2026-12-04 03:20 UTC'; None: the outcomes were never synced
    # Every PaymentIntent sent for the window's debits, retries apart: the rates count an
    # original and its retries as one debit, "Did our check work?" and the list each payment.
    payments: int = 0
    synced_at: datetime | None = None  # when the outcomes were last synced (None: never)

    @property
    def debits(self) -> int:
        """The debits as the rates count them (an original and its retries once)."""
        return int(self.rates["debits"].iloc[0]) if len(self.rates) else 0


def people_for(
    svc: Services, actor: Actor, debits: list[rules.Outcome]
) -> dict[str, Person] | None:
    """The stored names and emails of these debits' customers, or None when ``actor`` may not
    see them (one query)."""
    if not actor.can("accounts.view"):
        return None
    return people_store.people_by_id(svc.engine, (d.customer for d in debits))


def valid_window(window_days: int) -> int:
    if (
        isinstance(window_days, bool)
        or not isinstance(window_days, int)
        or not 1 <= window_days <= MAX_WINDOW_DAYS
    ):
        raise ValidationError(f"The window must be between 1 and {MAX_WINDOW_DAYS} days.")
    return window_days


def _since(now: int, window: int) -> int:
    """The debits read: the window's, the originals of recent re-initiations, and the trend."""
    return now - (window + 120) * 86_400


def report(
    svc: Services,
    actor: Actor,
    *,
    window_days: int = 60,
    warning_level: float = rules.DEFAULT_WARNING,
) -> ReturnsReport:
    require(actor, "returns.view")
    window = valid_window(window_days)
    if isinstance(warning_level, bool) or not isinstance(warning_level, int | float):
        raise ValidationError("The warning level must be a number (a share of the limit).")
    if not 0 < warning_level <= 1:
        raise ValidationError(
            "The warning level must be a share of the limit between 1 % and 100 %."
        )
    now = svc.now()
    span = {"since": _since(now, window), "start": now - window * 86_400, "end": now}
    rates = figures.rates(svc.engine, **span)
    with session_scope(svc.engine) as session:
        state = session.get(SyncState, SYNC_NAME)
        synced = state.last_finished_at if state else None
    return ReturnsReport(
        now=now,
        window_days=window,
        rates=rates,
        weekly=figures.weekly(svc.engine, since=span["since"], now=now, start=span["start"]),
        breakdowns={by: figures.breakdown(svc.engine, by, **span) for by in rules.BREAKDOWNS},
        warnings=rules.warnings(rates, level=warning_level),
        last_synced=moment(synced) if synced else None,
        payments=count_behind(
            svc.engine, since=span["since"], start=span["start"], end=now
        )[0],
        synced_at=as_utc(synced) if synced else None,
    )


@dataclass(frozen=True)
class DebitsBehind:
    debits: list[rules.Outcome]  # newest first, at most the limit
    total: int  # how many match in all: payments, each retry apart
    # Name and email of each debit's customer from the stored customers, for roles that may
    # see them (``accounts.view``); None for the others (managers see no names).
    people: dict[str, Person] | None
    originals: int = 0  # the debits among them as the rates count them (with retries once)


SHOWN = 100  # debits listed on the page, the newest (the CSV export has them all)


def debits_behind(
    svc: Services,
    actor: Actor,
    *,
    window_days: int = 60,
    category: str | None = None,
    by: str | None = None,
    value: str | None = None,
    limit: int | None = SHOWN,
) -> DebitsBehind:
    """The debits behind one figure (every attempt whose original was made in the window): a
    category's returns (None: every debit), optionally of one breakdown group, newest first;
    filtered, counted and limited in SQL."""
    require(actor, "returns.view")
    window = valid_window(window_days)
    if category not in (None, *rules.CATEGORIES):
        raise ValidationError(f"Unknown category {category!r}.")
    if by is not None and by not in rules.BREAKDOWNS:
        raise ValidationError(f"Unknown breakdown {by!r}.")
    now = svc.now()
    span = {"since": _since(now, window), "start": now - window * 86_400, "end": now}
    group = (by, value or "") if by else None
    found, total = load_behind(svc.engine, **span, category=category, group=group, limit=limit)
    _, originals = count_behind(svc.engine, **span, category=category, group=group)
    return DebitsBehind(found, total, people_for(svc, actor, found), originals)


@dataclass(frozen=True)
class CacheKeys:
    """What the Returns page's caches key on: the store, the data versions of the debit
    outcomes and the kept verdicts (one row each), and the debit policy's version."""

    store: str
    outcomes: int
    checks: int
    policy: int


def cache_keys(svc: Services, actor: Actor) -> CacheKeys:
    require(actor, "returns.view")
    outcomes, checks = data_version.read_many(
        svc.engine, data_version.OUTCOMES, data_version.CHECKS
    )
    return CacheKeys(
        store=svc.engine.url.render_as_string(hide_password=True),
        outcomes=outcomes,
        checks=checks,
        policy=load_policy(svc.engine).version,
    )


PERSON_COLUMNS = ("name", "email")
# What the debit was and how it went: between the IDs in the CSV, after the people on screen.
OUTCOME_COLUMNS = (
    "amount",
    "status",
    "return_code",
    "category",
    "verification_method",
    "institution",
    "last4",
    "flow",
)
DEBIT_COLUMNS = ["debit", "original", "created", "customer", *OUTCOME_COLUMNS, "account"]
# The page's table: people and money first, the IDs (copyable) after them.
SHOWN_ORDER = (
    *PERSON_COLUMNS,
    "created",
    *OUTCOME_COLUMNS,
    "customer",
    "debit",
    "original",
    "account",
)


def debits_frame(
    debits: list[rules.Outcome],
    *,
    category: str | None = None,
    by: str | None = None,
    value: str | None = None,
    people: Mapping[str, Person] | None = None,
) -> pd.DataFrame:
    """The debits behind one figure: a category's returns, optionally within one breakdown group.

    ``created`` is Unix seconds and ``amount`` integer minor units of ``currency`` (formatted at
    the edge: the page's table, the CSV export). With ``people`` (the report's, for roles that
    may see them) the customer's ``name`` and ``email`` come first; without it no such columns."""
    rows = []
    for d in debits:
        if not rules.matches(d, category):
            continue
        if by and str(getattr(d, by) or "unknown") != value:
            continue
        known = (people or {}).get(d.customer or "") or Person()
        rows.append(
            {
                "name": known.name,
                "email": known.email,
                "debit": d.id,
                "original": d.original,
                "created": d.created,
                "customer": d.customer,
                "amount": d.amount,
                "currency": d.currency,
                "status": d.status,
                "return_code": d.return_code,
                "category": d.category,
                "verification_method": d.verification_method,
                "institution": d.institution,
                "last4": d.last4,
                "flow": d.flow,
                "account": d.account,
            }
        )
    frame = pd.DataFrame(rows, columns=[*PERSON_COLUMNS, *DEBIT_COLUMNS, "currency"])
    return frame if people is not None else frame.drop(columns=list(PERSON_COLUMNS))


def export_csv(
    svc: Services, actor: Actor, *, window_days: int = 60, category: str | None = None
) -> str:
    """The debits behind the figures as CSV text, every text cell formula-escaped; audited as
    ``returns.export`` (refusals too), since the debits leave the app."""
    params = {"window_days": window_days, "category": category}
    with audited(svc.engine, actor=actor, action="returns.export", params=params) as ctx:
        require(actor, "returns.view")
        data = debits_behind(svc, actor, window_days=window_days, category=category, limit=None)
        frame = debits_frame(data.debits, people=data.people)
        columns = [*(c for c in PERSON_COLUMNS if c in frame.columns), *DEBIT_COLUMNS]
        rows = []
        for rec in frame.to_dict("records"):
            rec["created"] = day(rec["created"])
            rec["amount"] = format_plain(rec["amount"], rec["currency"])
            rows.append([rec[c] for c in columns])
        text = csv_text(columns, rows)
        ctx.params["rows"] = len(frame)
        ctx.message = f"Exported {len(frame)} debits as CSV."
    return text
