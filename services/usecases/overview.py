"""The home page's overview: per role, what needs attention now, read from the store only.

Every figure is a SQL count (or, for conversion, the last 30 days of stored intents) over what
the syncs already mirrored, so the home page opens instantly and never waits for Stripe. Each
section is filled only for the roles that may act on it, so a manager's overview holds no
customer data and a finance overview no ownership results.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import case
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import col, func, or_, select

from services import audit
from services.adapters import balance_attention as attention
from services.adapters import data_version, outcome_figures, ownership_checks
from services.adapters.models import (
    AccountRecord,
    DebitOutcomeRecord,
    OwnershipCheck,
    SyncState,
)
from services.adapters.store import never_finished, session_scope
from services.auth import PERMISSIONS, ROLES, Actor, require, signed_in
from services.context import Services
from services.rules import returns as returns_rules
from services.rules.clock import as_utc
from services.rules.debit import DebitPolicy
from services.rules.owners.views import CheckCoverage
from services.usecases import debit_policy
from services.usecases import edit_flows as flows
from services.usecases.collect_common import LOOKBACK_SECONDS, count_listed
from services.usecases.collect_lists import OPEN
from services.usecases.conversion_report import conversion, stored_intents
from services.usecases.retry_picker import retryable_codes
from services.usecases.sync_intents import SYNC_NAME

__all__ = [
    "AdminOverview",
    "AuditLine",
    "CacheKeys",
    "FinanceOverview",
    "ManagerOverview",
    "MethodConversion",
    "OpsOverview",
    "Overview",
    "ReturnsGlance",
    "CONVERSION_DAYS",
    "account_figures",
    "cache_keys",
    "manager_section",
    "overview",
    "overview_from_store",
]

CONVERSION_DAYS = 30
RECENT_AUDIT = 5
_REFRESH_COLUMNS = (
    "balance_refresh_status",
    "ownership_refresh_status",
    "transaction_refresh_status",
)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class OpsOverview:
    """Accounts and checks an ops person should look at."""

    inactive: int
    disconnected: int
    refresh_failed: int  # accounts whose last balance, ownership or transaction refresh failed
    mismatches: int
    partials: int
    open_requests: int  # Collect's Open requests: counted by the same function as that tab
    requests_read: bool = True  # False: no intent sync ever finished (Collect's first visit reads them)
    relink_needed: int = 0  # active accounts Stripe expects to deactivate unless relinked
    relink_soonest: int | None = None  # the earliest of their expected deactivation dates
    # how many accounts the verdicts above cover: 0 to review of 1 checked is no all-clear
    ownership_coverage: CheckCoverage = CheckCoverage(0, 0)


@dataclass(frozen=True)
class FinanceOverview:
    """Balances that a debit check would not trust, and the policy it applies."""

    # Both counts hold only balances a refresh can bring up to date: active cash accounts with
    # the balances permission and no balance refresh running (adapters.balance_attention).
    stale_balances: int  # a balance older than the policy's maximum age
    never_refreshed: int  # no balance fetched yet
    policy: DebitPolicy
    policy_currency: str
    policy_version: int  # 0: the defaults, never saved
    stale_failed: int = 0  # of stale_balances: the bank failed the last balance refresh
    never_failed: int = 0  # of never_refreshed: likewise


@dataclass(frozen=True)
class MethodConversion:
    verification_method: str
    started: int
    succeeded: int
    conversion_rate: float  # succeeded / started, 0.0 when nothing started
    other_method: int = 0  # offered card or Link too and paid that way (not an ACH conversion)
    pending: int = 0  # not ended yet: neither a conversion nor a failure


@dataclass(frozen=True)
class ManagerOverview:
    since: int  # Unix time: intents created at or after it are counted
    methods: list[MethodConversion]
    last_intents_sync: datetime | None


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    actor: str
    action: str
    target: str | None
    outcome: str
    message: str | None


@dataclass(frozen=True)
class AdminOverview:
    recent_audit: list[AuditLine]
    flow_versions: dict[str, int]  # flow -> saved version (0: Stripe's defaults)


@dataclass(frozen=True)
class ReturnsGlance:
    """Nacha's three 60-day return rates and a sentence for each one near or over its limit."""

    rates: list[dict[str, Any]]  # category, debits, returns, rate (None: no debits), limit
    warnings: list[str]
    recent_returns: int  # debits that came back in the last 7 days
    latest_retryable: str | None  # the newest R01/R09 return (an original debit), to plan a retry
    # For a role that cannot open Returns (ops): who can act on these figures, and where.
    who_acts: str | None = None


@dataclass(frozen=True)
class Overview:
    """What the store holds in all, plus the sections the actor's role may see (else None)."""

    accounts: int
    intents: int
    ops: OpsOverview | None = None
    finance: FinanceOverview | None = None
    manager: ManagerOverview | None = None
    admin: AdminOverview | None = None
    returns: ReturnsGlance | None = None
    debits: int = 0  # debit outcomes mirrored

    @property
    def empty(self) -> bool:
        """Nothing mirrored yet (a new data folder): the first page visit syncs."""
        return self.accounts == 0 and self.intents == 0 and self.debits == 0


# --------------------------------------------------------------------------- reading


def _count(session: Any, *where: Any, model: Any = AccountRecord) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(*where)).one())


def _account_counts(engine: Engine, *, stale_before: int) -> dict[str, Any]:
    """Every account figure of the overview in one aggregate over the accounts (it reads the
    covering index ``ix_fca_counts``, not the rows and their JSON)."""
    t = AccountRecord.__table__.c  # type: ignore[attr-defined]

    def how_many(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    figures = {
        "inactive": how_many(t.status == "inactive"),
        "disconnected": how_many(t.status == "disconnected"),
        "refresh_failed": how_many(or_(*(t[c] == "failed" for c in _REFRESH_COLUMNS))),
        # what finance can bring up to date; the Accounts filter ?balance= lists the same
        "stale_balances": how_many(attention.stale(stale_before)),
        "stale_failed": how_many(attention.stale(stale_before) & attention.last_failed()),
        "never_refreshed": how_many(attention.never_fetched()),
        "never_failed": how_many(attention.never_fetched() & attention.last_failed()),
    }
    relink = {  # its own index answers these two
        "relink_needed": func.count(t.relink_required_by),
        "relink_soonest": func.min(t.relink_required_by),
    }
    with engine.connect() as conn:
        row = conn.execute(sa_select(*(v.label(k) for k, v in figures.items()))).one()
        due = conn.execute(sa_select(*(v.label(k) for k, v in relink.items()))).one()
    return dict(row._mapping) | dict(due._mapping)


def _open_requests(engine: Engine, *, now: int) -> int:
    """The collection requests Collect's Open requests tab lists (SetupIntents not yet succeeded
    or canceled, of its 30 days), counted by the function its caption uses, so the two agree."""
    store = Services(gateway=cast(Any, None), engine=engine, mode="store", now=lambda: now)
    return count_listed(store, OPEN, search=None, lookback_seconds=LOOKBACK_SECONDS)  # no Stripe


def ops_overview(
    engine: Engine, *, now: int, counts: dict[str, Any] | None = None
) -> OpsOverview:
    """``counts``: :func:`_account_counts` already read for this rerun (else read here)."""
    counts = counts or _account_counts(engine, stale_before=0)
    with session_scope(engine) as session:
        by_verdict = dict(
            session.exec(
                select(OwnershipCheck.verdict, func.count())
                .where(col(OwnershipCheck.verdict).in_(["mismatch", "partial"]))
                .group_by(OwnershipCheck.verdict)
            ).all()
        )
    soonest = counts["relink_soonest"]
    return OpsOverview(
        inactive=int(counts["inactive"]),
        disconnected=int(counts["disconnected"]),
        refresh_failed=int(counts["refresh_failed"]),
        mismatches=int(by_verdict.get("mismatch", 0)),
        partials=int(by_verdict.get("partial", 0)),
        open_requests=_open_requests(engine, now=now),
        requests_read=not never_finished(engine, SYNC_NAME),
        relink_needed=int(counts["relink_needed"]),
        relink_soonest=int(soonest) if soonest is not None else None,
        ownership_coverage=ownership_checks.coverage(engine),
    )


def _policy_and_cutoff(engine: Engine, now: int) -> tuple[Any, int]:
    stored = debit_policy.load_policy(engine)
    return stored, now - stored.policy.max_age_seconds


def finance_overview(
    engine: Engine, *, now: int, counts: dict[str, Any] | None = None
) -> FinanceOverview:
    """``counts``: :func:`_account_counts` read with this policy's cutoff (else read here)."""
    stored, cutoff = _policy_and_cutoff(engine, now)
    counts = counts or _account_counts(engine, stale_before=cutoff)
    return FinanceOverview(
        stale_balances=int(counts["stale_balances"]),
        never_refreshed=int(counts["never_refreshed"]),
        stale_failed=int(counts["stale_failed"]),
        never_failed=int(counts["never_failed"]),
        policy=stored.policy,
        policy_currency=stored.currency,
        policy_version=stored.version,
    )


def manager_overview(engine: Engine, *, now: int) -> ManagerOverview:
    # The last 30 days including today (Conversion's from=…&to=… of the same days): the day 30
    # days back as well made it 31
    start = datetime.fromtimestamp(now, tz=UTC).date() - timedelta(days=CONVERSION_DAYS - 1)
    since = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
    frame = conversion(engine, now=now, start=start)
    methods = [
        MethodConversion(
            verification_method=str(row["verification_method"]),
            started=int(row["started"]),
            succeeded=int(row["succeeded"]),
            conversion_rate=float(row["conversion_rate"]),
            other_method=int(row["other_method"]),
            pending=int(row["pending"]),
        )
        for row in frame.to_dict("records")
    ]
    with session_scope(engine) as session:
        state = session.get(SyncState, SYNC_NAME)
        last = as_utc(state.last_finished_at) if state else None
    return ManagerOverview(since=since, methods=methods, last_intents_sync=last)


def admin_overview(engine: Engine, actor: Actor) -> AdminOverview:
    page = audit.query(engine, actor=actor, limit=RECENT_AUDIT)
    lines = [
        AuditLine(
            at=as_utc(e.at) or e.at,
            actor=e.actor,
            action=e.action,
            target=e.target,
            outcome=e.outcome,
            message=e.message,
        )
        for e in page.rows
    ]
    versions = {flow: config.version for flow, config in flows.load_all(engine).items()}
    return AdminOverview(recent_audit=lines, flow_versions=versions)


def returns_glance(engine: Engine, *, now: int) -> ReturnsGlance:
    """Counted in SQL (:mod:`services.adapters.outcome_figures`), never by loading debits."""
    since, week = now - 180 * 86_400, now - 7 * 86_400
    rates = outcome_figures.rates(engine, since=since, start=now - 60 * 86_400, end=now)
    record = DebitOutcomeRecord
    returned: list[Any] = [record.status == "returned", col(record.created) >= max(since, week)]
    with session_scope(engine) as session:
        recent = session.exec(select(func.count()).select_from(record).where(*returned)).one()
        latest = session.exec(
            select(record.id)
            .where(*returned, col(record.id) == col(record.original_id))
            .where(col(record.return_code).in_(retryable_codes()), col(record.category).is_not(None))
            .order_by(col(record.created).desc(), col(record.id))
            .limit(1)
        ).first()
    rows: list[dict[str, Any]] = [
        {str(k): v for k, v in rec.items()}
        | {"rate": None if rec["rate"] != rec["rate"] else float(rec["rate"])}
        for rec in rates.to_dict("records")
    ]
    return ReturnsGlance(rows, returns_rules.warnings(rates), int(recent), latest)


def overview(
    svc: Services,
    actor: Actor,
    *,
    conversion: bool = True,
    account_counts: dict[str, Any] | None = None,
    returns: ReturnsGlance | None = None,
) -> Overview:
    """The home page's overview for ``actor`` (every signed-in role; see below).

    ``conversion=False`` leaves the manager section out; the page reads it with
    :func:`manager_section` through its cache, keyed on :func:`cache_keys`.
    ``account_counts``: what :func:`account_figures` read for the current keys (the page
    caches it), so the accounts are not aggregated again; ``returns`` likewise, what
    :func:`returns_section` read.
    """
    require(actor, "accounts.sync")
    return overview_from_store(
        svc.engine,
        actor,
        now=svc.now(),
        conversion=conversion,
        account_counts=account_counts,
        returns=returns,
    )


@dataclass(frozen=True)
class CacheKeys:
    """What the home page's caches key on: the store and the data versions of what they count
    (one row each), and the debit policy's version (its maximum age sets "stale")."""

    store: str
    intents: int
    accounts: int
    policy: int
    outcomes: int = 0
    # The first intent sync has finished: until then the conversion figures are from a store
    # half read (the page shows no rates), and its end writes no data version of its own.
    intents_synced: bool = True


def cache_keys(svc: Services, actor: Actor) -> CacheKeys:
    require(actor, "accounts.sync")
    intents, accounts, outcomes = data_version.read_many(
        svc.engine, data_version.INTENTS, data_version.ACCOUNTS, data_version.OUTCOMES
    )
    return CacheKeys(
        store=svc.engine.url.render_as_string(hide_password=True),
        intents=intents,
        accounts=accounts,
        policy=debit_policy.load_policy(svc.engine).version,
        outcomes=outcomes,
        intents_synced=not never_finished(svc.engine, SYNC_NAME),
    )


def account_figures(svc: Services, actor: Actor) -> dict[str, Any]:
    """The account counts the ops and finance sections show (one aggregate; see
    :func:`overview`'s ``account_counts``), for the roles that see either section."""
    if not signed_in(actor).can("balances.check"):
        require(actor, "ownership.review")
    return _account_counts(svc.engine, stale_before=_policy_and_cutoff(svc.engine, svc.now())[1])


def returns_section(svc: Services, actor: Actor) -> ReturnsGlance:
    """The 60-day return rates the ops and finance sections show (see :func:`overview`'s
    ``returns``), for the roles that see either section."""
    if not signed_in(actor).can("balances.check"):
        require(actor, "ownership.review")
    return _for_role(returns_glance(svc.engine, now=svc.now()), actor)


def _for_role(glance: ReturnsGlance, actor: Actor) -> ReturnsGlance:
    """``glance`` as ``actor`` reads it: a role that cannot open Returns (ops sees the rates
    and Nacha's warning) is told who can review the returns and plan a retry there."""
    if actor.can("returns.view"):
        return replace(glance, who_acts=None)
    roles = [r.capitalize() for r in ROLES if r != "admin" and r in PERMISSIONS["debits.retry"]]
    who = " or ".join(roles) or "An admin"
    return replace(
        glance, who_acts=f"{who} can review these returns and plan retries on the Returns page."
    )


def manager_section(svc: Services, actor: Actor) -> ManagerOverview:
    """The last 30 days per verification method (managers and admins)."""
    require(actor, "conversion.view")
    return manager_overview(svc.engine, now=svc.now())


def overview_from_store(
    engine: Engine,
    actor: Actor,
    *,
    now: int,
    conversion: bool = True,
    account_counts: dict[str, Any] | None = None,
    returns: ReturnsGlance | None = None,
) -> Overview:
    """The overview for ``actor``: each section only for the roles that act on it.

    Ops (``ownership.review``): account problems, review list, open collection requests. Finance
    (``balances.check``): stale and missing balances, the debit policy. Manager
    (``conversion.view``): the last 30 days per verification method. Admin (``audit.view``):
    everything plus the latest audit entries and the flow versions.
    """
    n_intents = stored_intents(engine)  # the day counts, not every intent
    with session_scope(engine) as session:
        n_accounts = _count(session)
        n_debits = _count(session, model=DebitOutcomeRecord)
    actor = signed_in(actor)
    ops, finance = actor.can("ownership.review"), actor.can("balances.check")
    counts = account_counts
    if counts is None and (ops or finance):  # one pass over the accounts serves both sections
        counts = _account_counts(engine, stale_before=_policy_and_cutoff(engine, now)[1])
    return Overview(
        accounts=n_accounts,
        intents=n_intents,
        debits=n_debits,
        ops=ops_overview(engine, now=now, counts=counts) if ops else None,
        finance=finance_overview(engine, now=now, counts=counts) if finance else None,
        manager=(
            manager_overview(engine, now=now)
            if conversion and actor.can("conversion.view")
            else None
        ),
        admin=admin_overview(engine, actor) if actor.can("audit.view") else None,
        returns=(
            _for_role(returns or returns_glance(engine, now=now), actor) if ops or finance else None
        ),
    )
