"""Pre-debit balance checks for finance: one debit, a CSV batch, and the balance history.

`services.balances.assess_debit` judges one account against one amount; this module does the
work around it: finds the FC account behind whatever ID finance has (fca_, pm_, pi_, seti_,
cus_), applies the admin-set policy, refreshes a stale balance when Stripe allows it (refreshes
are asynchronous jobs, reference §4, so it waits and re-reads), mirrors every balance it sees
into the store, and for batches keeps inside Stripe's rate limits (25 requests/s in test mode,
100 in live) with a client-side token bucket plus backoff on 429.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol, cast

import pandas as pd
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from services import accounts, audit, lookup
from services.adapters.backoff import Backoff
from services.adapters.gateway import StripeGateway
from services.adapters.models import BalanceSnapshot, Setting, SettingVersion, utcnow
from services.adapters.store import session_scope
from services.auth import Actor, require
from services.balances import (
    INSUFFICIENT,
    OK,
    STALE,
    UNAVAILABLE,
    Assessment,
    DebitPolicy,
    assess_debit,
    refresh_state,
)
from services.batch import PlannedDebit, RowError
from services.context import Services
from services.errors import (
    Conflict,
    FcopsError,
    NotFound,
    RateLimited,
    RefreshNotAllowed,
    StripeAuthError,
    StripeRequestError,
    StripeUnavailable,
    ValidationError,
)
from services.rules import refresh_rule
from services.rules.ids import parse_id
from services.rules.money import MoneyError, exponent, validate_currency
from services.rules.spreadsheet import safe_text

__all__ = [
    "ERROR",
    "VERDICTS",
    "AccountSummary",
    "BatchResult",
    "BatchRow",
    "BatchSummary",
    "Clock",
    "DebitCheck",
    "RefreshOutcome",
    "StoredPolicy",
    "SystemClock",
    "TokenBucket",
    "balance_history",
    "check_debit",
    "PolicyVersion",
    "load_policy",
    "policy_history",
    "run_batch",
    "save_policy",
]

POLICY_KEY = "debit_policy"
ERROR = "error"
VERDICTS: tuple[str, ...] = (OK, INSUFFICIENT, STALE, UNAVAILABLE)
AT_RISK: tuple[str, ...] = (INSUFFICIENT, STALE, UNAVAILABLE)
TEMPLATE_CSV = "id,amount,currency,reference\nfca_XXXXXXXX,125.00,usd,Invoice 1001\n"


# --- time seam ----------------------------------------------------------------------------


class Clock(Protocol):
    """Monotonic time and sleeping, so tests can run rate limits and waits on a fake clock."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class TokenBucket:
    """Client-side rate limiter: at most `rate` requests per second, bursts up to `burst`.

    The default burst of 1 spaces requests evenly, which keeps every one-second window at or
    under `rate` (a full bucket plus its refill could otherwise reach nearly twice the rate).
    """

    def __init__(self, rate: float, *, burst: int = 1, clock: Clock | None = None) -> None:
        if rate <= 0:
            raise ValueError("The request rate must be positive.")
        self.rate = float(rate)
        self.burst = max(1, int(burst))
        self.clock: Clock = clock or SystemClock()
        self._tokens = float(self.burst)
        self._last = self.clock.monotonic()
        self.acquired: list[float] = []  # when each request was let through (for reports, tests)

    def acquire(self) -> None:
        while True:
            now = self.clock.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1 - 1e-9:  # float refill can land a hair under a whole token
                self._tokens = max(0.0, self._tokens - 1)
                self.acquired.append(now)
                return
            self.clock.sleep(max((1 - self._tokens) / self.rate, 1e-6))


# Gateway methods that never reach Stripe: no bucket token, no back-off.
_LOCAL_CALLS = frozenset({"fresh_key", "without_backoff"})


class _Throttled:
    """Gateway proxy: every call waits for the bucket and backs off on 429.

    Stripe does not ask the SDK to retry real rate limits, so the batch backs off itself,
    with the same jittered exponential delays as the gateway (``services.adapters.backoff``) but on the
    batch's clock, and takes a bucket token for every attempt; the gateway's own back-off is
    switched off for these calls so the two never stack.
    """

    def __init__(
        self,
        gateway: StripeGateway,
        limiter: TokenBucket,
        *,
        retries: int = 5,
        backoff: float = 0.5,
    ) -> None:
        self._gateway = gateway
        self._limiter = limiter
        self._backoff = Backoff(retries=retries, base_seconds=backoff, sleep=limiter.clock.sleep)
        self.rate_limited = 0

    @property
    def requests(self) -> int:
        return len(self._limiter.acquired)

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._gateway, name)
        if not callable(target) or name in _LOCAL_CALLS:
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            for attempt in range(self._backoff.retries + 1):
                self._limiter.acquire()
                try:
                    with self._gateway.without_backoff():
                        return target(*args, **kwargs)
                except RateLimited:
                    self.rate_limited += 1
                    if attempt == self._backoff.retries:
                        raise
                    self._backoff.sleep(self._backoff.delay(attempt))
            raise AssertionError("unreachable")  # pragma: no cover

        return call


# --- policy -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredPolicy:
    """The policy in force, with the version to send back when saving (0 = never saved)."""

    policy: DebitPolicy
    version: int
    updated_by: str | None
    updated_at: datetime | None
    currency: str = "usd"


def _policy_to_doc(policy: DebitPolicy, currency: str) -> dict[str, Any]:
    return {
        "buffer_amount": policy.buffer_amount,
        "buffer_percent": policy.buffer_percent,
        "max_age_seconds": policy.max_age_seconds,
        "currency": currency,
    }


def _policy_from_doc(doc: Mapping[str, Any]) -> DebitPolicy:
    default = DebitPolicy()
    return DebitPolicy(
        buffer_amount=int(doc.get("buffer_amount", default.buffer_amount)),
        buffer_percent=float(doc.get("buffer_percent", default.buffer_percent)),
        max_age_seconds=int(doc.get("max_age_seconds", default.max_age_seconds)),
    )


def load_policy(engine: Engine) -> StoredPolicy:
    """The saved policy, or the defaults (no buffer, 24 h) until an admin saves one."""
    with session_scope(engine) as session:
        row = session.get(Setting, POLICY_KEY)
        if row is None:
            return StoredPolicy(DebitPolicy(), 0, None, None)
        return StoredPolicy(
            policy=_policy_from_doc(row.value),
            version=row.version,
            updated_by=row.updated_by,
            updated_at=row.updated_at,
            currency=str(row.value.get("currency") or "usd"),
        )


@dataclass(frozen=True)
class PolicyVersion:
    """One saved version of the debit policy, for the history table."""

    version: int
    policy: DebitPolicy
    currency: str
    updated_by: str | None
    updated_at: datetime | None
    note: str | None


def policy_history(engine: Engine) -> list[PolicyVersion]:
    """Every saved version of the debit policy, newest first (empty until an admin saves)."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(SettingVersion)
            .where(SettingVersion.key == POLICY_KEY)
            .order_by(col(SettingVersion.version).desc())
        ).all()
        return [
            PolicyVersion(
                version=row.version,
                policy=_policy_from_doc(row.value),
                currency=str(row.value.get("currency") or "usd"),
                updated_by=row.updated_by,
                updated_at=row.updated_at,
                note=row.note,
            )
            for row in rows
        ]


# What a saved policy may hold. The form has the same bounds; this is what enforces them.
POLICY_MAX_BUFFER_PERCENT = 100.0
POLICY_MIN_AGE_SECONDS = 15 * 60
POLICY_MAX_AGE_SECONDS = 30 * 86_400
POLICY_MAX_BUFFER_AMOUNT = 1_000_000_00  # minor units: 1,000,000.00


def check_policy_bounds(policy: DebitPolicy) -> None:
    """Refuse a policy outside what the form offers, with a sentence saying the allowed range."""
    if not 0 <= policy.buffer_percent <= POLICY_MAX_BUFFER_PERCENT:
        raise ValidationError(
            f"The percentage buffer must be between 0 and {POLICY_MAX_BUFFER_PERCENT:g} %, "
            f"not {policy.buffer_percent:g} %."
        )
    if not POLICY_MIN_AGE_SECONDS <= policy.max_age_seconds <= POLICY_MAX_AGE_SECONDS:
        raise ValidationError(
            "The maximum balance age must be between 15 minutes and 30 days "
            f"({POLICY_MIN_AGE_SECONDS / 3600:g} to {POLICY_MAX_AGE_SECONDS // 3600} hours), "
            f"not {policy.max_age_seconds / 3600:g} hours."
        )
    if not 0 <= policy.buffer_amount <= POLICY_MAX_BUFFER_AMOUNT:
        raise ValidationError("The fixed buffer must be between 0 and 1,000,000.00.")


def save_policy(
    engine: Engine,
    actor: Actor,
    policy: DebitPolicy,
    *,
    expected_version: int,
    currency: str = "usd",
    note: str | None = None,
) -> StoredPolicy:
    """Save a new version if nobody saved since `expected_version`; else Conflict. Audited."""
    doc = _policy_to_doc(policy, validate_currency(currency))

    def run(ctx: audit.AuditContext) -> StoredPolicy:
        check_policy_bounds(policy)
        if _stored_doc(engine) == doc:
            # Nothing to lose: unchanged, or a repeated submit (double click, rerun) of what is
            # stored — not a conflict with oneself.
            stored = load_policy(engine)
            ctx.message = f"No changes; version {stored.version} kept."
            return stored
        try:
            version = _write_policy(
                engine, actor, doc, expected_version=expected_version, note=note
            )
        except Conflict:
            if _stored_doc(engine) != doc:
                raise
            version = load_policy(engine).version  # a concurrent identical submit won the race
        ctx.params["version"] = version
        ctx.message = f"Debit policy saved as version {version}."
        return load_policy(engine)

    return audit.guarded(
        engine,
        actor=actor,
        permission="policy.edit",
        action="policy.save",
        target=POLICY_KEY,
        params={**doc, "expected_version": expected_version},
        idempotency_key=None,
        run=run,
    )


def _stored_doc(engine: Engine) -> dict[str, Any] | None:
    with session_scope(engine) as session:
        row = session.get(Setting, POLICY_KEY)
        return dict(row.value) if row is not None else None


def _write_policy(
    engine: Engine,
    actor: Actor,
    doc: dict[str, Any],
    *,
    expected_version: int,
    note: str | None,
) -> int:
    """Compare-and-swap on the version, so two admins saving at once cannot both win."""
    conflict = Conflict(
        "Someone else saved the debit policy while you were editing it. "
        "Reload the page to see their version, then make your change again."
    )
    version = expected_version + 1
    now = utcnow()
    try:
        with session_scope(engine) as session:
            if expected_version == 0:
                session.add(
                    Setting(key=POLICY_KEY, version=1, value=doc, updated_by=actor.username)
                )
                session.flush()
            else:
                result = session.exec(
                    update(Setting)
                    .where(col(Setting.key) == POLICY_KEY, col(Setting.version) == expected_version)
                    .values(version=version, value=doc, updated_by=actor.username, updated_at=now)
                )
                if result.rowcount != 1:
                    raise conflict
            session.add(
                SettingVersion(
                    key=POLICY_KEY, version=version, value=doc, updated_by=actor.username, note=note
                )
            )
    except IntegrityError:
        raise conflict from None
    return version


# --- single check -------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountSummary:
    """What a person needs to recognise the account that was checked."""

    id: str
    institution_name: str | None
    display_name: str | None
    last4: str | None
    category: str | None
    subcategory: str | None
    status: str | None
    customer_id: str | None
    balance_refresh_status: str | None = None

    @property
    def refresh_pending(self) -> bool:
        return self.balance_refresh_status == "pending"

    @property
    def label(self) -> str:
        name = self.display_name or self.institution_name or "Bank account"
        return f"{name} ••{self.last4 or '????'}"

    @classmethod
    def of(cls, account: Mapping[str, Any]) -> AccountSummary:
        holder = account.get("account_holder") or {}
        refresh = account.get("balance_refresh") or {}
        return cls(
            id=str(account.get("id")),
            institution_name=account.get("institution_name"),
            display_name=account.get("display_name"),
            last4=account.get("last4"),
            category=account.get("category"),
            subcategory=account.get("subcategory"),
            status=account.get("status"),
            customer_id=holder.get("customer") if isinstance(holder, Mapping) else None,
            balance_refresh_status=refresh.get("status") if isinstance(refresh, Mapping) else None,
        )


@dataclass(frozen=True)
class RefreshOutcome:
    """What happened when a balance refresh was requested."""

    requested: bool
    finished: bool
    status: str | None  # balance_refresh.status after waiting: succeeded | failed | pending
    message: str


@dataclass(frozen=True)
class DebitCheck:
    """The verdict on one planned debit, before and (if a refresh ran) after refreshing."""

    target_id: str
    target_kind: str
    amount: int
    currency: str
    policy: DebitPolicy
    before: Assessment
    after: Assessment | None
    account: AccountSummary | None
    note: str
    refresh: RefreshOutcome | None
    checked_at: int

    @property
    def final(self) -> Assessment:
        return self.after or self.before

    @property
    def verdict(self) -> str:
        return self.final.verdict


def check_debit(
    svc: Services,
    actor: Actor,
    target_id: str,
    amount: int,
    currency: str,
    *,
    refresh_stale: bool = False,
    wait_seconds: float = 30,
    idempotency_key: str | None = None,
    clock: Clock | None = None,
) -> DebitCheck:
    """Check one debit of `amount` minor units against the balance behind `target_id`.

    Raises ValidationError for a malformed ID, NotFound for an unknown one, MoneyError (as
    ValidationError) for a bad amount or currency, and the gateway's domain errors.
    """
    require(actor, "balances.check")
    code = _valid_money(amount, currency)
    object_id, kind = parse_id(target_id, allowed=lookup.LOOKUP_KINDS)
    stored = load_policy(svc.engine)
    account, note, missing = _resolve_single(svc.gateway, object_id, kind)
    before = _assess(account, amount, code, svc.now(), stored.policy, missing)
    if account is not None:
        _mirror(svc.engine, account)
    after: Assessment | None = None
    outcome: RefreshOutcome | None = None
    if account is not None and refresh_stale and before.verdict == STALE and before.can_refresh_now:
        account, outcome = _refresh_and_wait(
            svc,
            actor,
            account,
            idempotency_key=idempotency_key,
            wait_seconds=wait_seconds,
            clock=clock or SystemClock(),
        )
        if outcome.requested:
            _mirror(svc.engine, account)
            after = assess_debit(account, amount, code, now=svc.now(), policy=stored.policy)
    return DebitCheck(
        target_id=object_id,
        target_kind=kind,
        amount=amount,
        currency=code,
        policy=stored.policy,
        before=before,
        after=after,
        account=AccountSummary.of(account) if account is not None else None,
        note=note,
        refresh=outcome,
        checked_at=svc.now(),
    )


def _valid_money(amount: int, currency: str) -> str:
    try:
        code = validate_currency(currency)
    except MoneyError as err:
        raise ValidationError(str(err)) from None
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError("The debit amount must be greater than zero.")
    return code


def _assess(
    account: Mapping[str, Any] | None,
    amount: int,
    currency: str,
    now: int,
    policy: DebitPolicy,
    missing: str | None,
) -> Assessment:
    """assess_debit, but with our own sentence when there is no account for a reason other
    than manual entry (no payment method yet, a card, a customer without accounts)."""
    result = assess_debit(account, amount, currency, now=now, policy=policy)
    if account is None and missing:
        return replace(result, reasons=(missing,))
    return result


def _resolve_single(
    gateway: Any, object_id: str, kind: str
) -> tuple[dict[str, Any] | None, str, str | None]:
    """(account or None, a note saying what was checked, why there is no account if None)."""
    if kind == "customer":
        return _best_for_customer(gateway, object_id)
    found = lookup.resolve(gateway, object_id)
    if found.account is not None:
        return found.account, found.message, None
    return None, found.message, None if found.manual_entry else found.message


def _eligible(account: Mapping[str, Any]) -> bool:
    return (
        account.get("status") == "active"
        and account.get("category") == "cash"
        and "balances" in (account.get("permissions") or ())
    )


def _freshness(account: Mapping[str, Any]) -> int:
    balance = account.get("balance")
    as_of = balance.get("as_of") if isinstance(balance, Mapping) else None
    return as_of if isinstance(as_of, int) else -1


def _best_for_customer(
    gateway: Any, customer_id: str
) -> tuple[dict[str, Any] | None, str, str | None]:
    """The customer's active cash account with balance access and the freshest balance."""
    # NotFound for an unknown customer; a deleted one is a 200 `{id, object, deleted: true}`.
    if gateway.retrieve_customer(customer_id).get("deleted"):
        raise NotFound(f"Customer {customer_id} was deleted in Stripe, so it has no balance to check.")
    accounts = gateway.list_accounts(customer=customer_id)
    if not accounts:
        reason = f"Customer {customer_id} has no linked bank accounts, so there is no balance."
        return None, reason, reason
    eligible = sorted((a for a in accounts if _eligible(a)), key=_freshness, reverse=True)
    if not eligible:
        first = accounts[0]
        note = (
            f"None of the customer's {len(accounts)} linked account(s) is an active cash account "
            f"with balance access; showing {AccountSummary.of(first).label}."
        )
        return first, note, None
    chosen = eligible[0]
    others = len(accounts) - 1
    tail = f" ({others} other account(s) not used)" if others else ""
    note = (
        f"Checked {AccountSummary.of(chosen).label}: the customer's active cash account with "
        f"balance access and the freshest balance{tail}."
    )
    return chosen, note, None


def _refresh_key(account: Mapping[str, Any]) -> str:
    """Same stale state → same key, so a double click or a parallel batch starts one refresh."""
    refresh = account.get("balance_refresh") or {}
    attempted = refresh.get("last_attempted_at") if isinstance(refresh, Mapping) else None
    next_at = refresh.get("next_refresh_available_at") if isinstance(refresh, Mapping) else None
    return f"fcops-balance-refresh-{account.get('id')}-{attempted}-{next_at}"


def _start_refresh(
    gateway: Any, account: Mapping[str, Any], key: str, *, now: int
) -> dict[str, Any]:
    """Ask Stripe for a balance refresh and judge its answer by the account it returns.

    A refusal (HTTP 400) keeps Stripe's sentence; an answer without a new pending refresh
    means Stripe started nothing (pending already, or throttled), so it is never counted as
    started (:func:`services.rules.refresh_rule.started`).
    """
    try:
        result = cast(
            dict[str, Any], gateway.refresh_account(account["id"], ["balance"], idempotency_key=key)
        )
    except StripeRequestError as err:
        raise RefreshNotAllowed(
            f"Stripe refused the balance refresh: {err}", request_id=err.request_id
        ) from None
    if not refresh_rule.started(account, result, "balance"):
        raise RefreshNotAllowed(refresh_rule.not_started_reason(result, "balance", now=now))
    return result


def _refresh_and_wait(
    svc: Services,
    actor: Actor,
    account: dict[str, Any],
    *,
    idempotency_key: str | None,
    wait_seconds: float,
    clock: Clock,
) -> tuple[dict[str, Any], RefreshOutcome]:
    # A derived key Stripe already answered with a failure would only replay it: move on.
    key = idempotency_key or svc.gateway.fresh_key(_refresh_key(account))
    try:
        # The accounts use case is the one audited path for refreshes (`account.refresh`).
        started = accounts.refresh(svc, actor, str(account["id"]), "balance", idempotency_key=key)
    except (RefreshNotAllowed, StripeUnavailable, StripeRequestError) as err:
        # The stale verdict is still true and worth showing; losing it to an error page would
        # leave finance with nothing. A bad API key (StripeAuthError) still stops everything.
        return account, RefreshOutcome(
            False, False, None, f"Stripe did not start the refresh: {err}"
        )
    latest = _wait_for_refresh(svc.gateway, started, wait_seconds=wait_seconds, clock=clock)
    return latest, _outcome(latest)


def _pending(account: Mapping[str, Any]) -> bool:
    refresh = account.get("balance_refresh")
    return isinstance(refresh, Mapping) and refresh.get("status") == "pending"


def _wait_for_refresh(
    gateway: Any, account: dict[str, Any], *, wait_seconds: float, clock: Clock
) -> dict[str, Any]:
    """Re-read the account until its balance refresh leaves `pending` or time runs out."""
    deadline = clock.monotonic() + wait_seconds
    delay = 0.25
    latest = account
    while _pending(latest):
        latest = gateway.retrieve_account(account["id"])
        if not _pending(latest) or clock.monotonic() >= deadline:
            break
        clock.sleep(min(delay, max(0.0, deadline - clock.monotonic())))
        delay = min(delay * 2, 2.0)
    return latest


def _outcome(account: Mapping[str, Any]) -> RefreshOutcome:
    refresh = account.get("balance_refresh") or {}
    status = refresh.get("status") if isinstance(refresh, Mapping) else None
    if status == "pending":
        message = "The balance refresh is still running; check again in a moment."
    elif status == "failed":
        message = "The bank could not refresh the balance; the verdict uses the last figure."
    else:
        message = "The balance was refreshed and the debit re-checked."
    return RefreshOutcome(True, status != "pending", status, message)


# --- mirroring and history ----------------------------------------------------------------


def _mirror(engine: Engine, account: Mapping[str, Any]) -> None:
    """Keep the account and its balance in the store: every balance seen joins the history."""
    accounts.upsert_account(engine, account)


def balance_history(engine: Engine, account_id: str) -> pd.DataFrame:
    """Every balance the store has seen for the account, oldest first.

    Columns: as_of (UTC datetime), currency, current, available (minor units or NA).
    """
    with session_scope(engine) as session:
        rows = session.exec(
            select(BalanceSnapshot)
            .where(BalanceSnapshot.account_id == account_id)
            .order_by(col(BalanceSnapshot.as_of), col(BalanceSnapshot.currency))
        ).all()
    frame = pd.DataFrame(
        {
            "as_of": pd.to_datetime([r.as_of for r in rows], unit="s", utc=True),
            "currency": pd.Series([r.currency for r in rows], dtype="string"),
            "current": pd.array([r.current for r in rows], dtype="Int64"),
            "available": pd.array([r.available for r in rows], dtype="Int64"),
        }
    )
    return frame


# --- batch --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRow:
    """One CSV row's result: a verdict with reasons, or an error that only this row has."""

    row: int
    target: str
    target_kind: str
    amount: int | None
    currency: str | None
    reference: str | None
    verdict: str
    reasons: tuple[str, ...] = ()
    account_id: str | None = None
    balance: int | None = None
    balance_source: str | None = None
    as_of: int | None = None
    required: int | None = None
    shortfall: int | None = None
    refreshed: bool = False
    error: str | None = None


@dataclass(frozen=True)
class BatchSummary:
    rows: int
    checked: int
    errors: int
    counts: dict[str, int]
    amounts: dict[str, dict[str, int]]  # verdict -> currency -> minor units
    at_risk: dict[str, int]  # currency -> minor units (insufficient + stale + unavailable)
    refreshed: int
    requests: int
    # currency -> minor units of rows that could not be checked (unknown ID, lookup failed)
    # but whose amount was readable: money the batch could not vouch for either.
    unchecked: dict[str, int] = field(default_factory=dict)


@dataclass
class BatchResult:
    rows: list[BatchRow]
    refreshed: list[str] = field(default_factory=list)
    requests: int = 0
    rate_limited: int = 0
    policy: DebitPolicy = field(default_factory=DebitPolicy)

    def summary(self) -> BatchSummary:
        counts = {v: 0 for v in VERDICTS}
        amounts: dict[str, dict[str, int]] = {v: {} for v in VERDICTS}
        at_risk: dict[str, int] = {}
        unchecked: dict[str, int] = {}
        errors = 0
        for row in self.rows:
            if row.verdict == ERROR or row.amount is None or row.currency is None:
                errors += 1
                if row.amount is not None and row.currency is not None:
                    unchecked[row.currency] = unchecked.get(row.currency, 0) + row.amount
                continue
            counts[row.verdict] += 1
            per = amounts[row.verdict]
            per[row.currency] = per.get(row.currency, 0) + row.amount
            if row.verdict in AT_RISK:
                at_risk[row.currency] = at_risk.get(row.currency, 0) + row.amount
        return BatchSummary(
            rows=len(self.rows),
            checked=len(self.rows) - errors,
            errors=errors,
            counts=counts,
            amounts=amounts,
            at_risk=at_risk,
            refreshed=len(self.refreshed),
            requests=self.requests,
            unchecked=unchecked,
        )

    def to_frame(self) -> pd.DataFrame:
        """One line per CSV row, in file order; money in minor units, times as UTC datetimes."""
        columns = [
            "row", "target", "target_kind", "reference", "amount", "currency", "verdict",
            "reasons", "account_id", "balance", "balance_source", "balance_as_of", "required",
            "shortfall", "refreshed", "error",
        ]  # fmt: skip
        records = [
            {
                "row": r.row,
                "target": r.target,
                "target_kind": r.target_kind,
                "reference": r.reference,
                "amount": r.amount,
                "currency": r.currency,
                "verdict": r.verdict,
                "reasons": " ".join(r.reasons) if r.reasons else (r.error or ""),
                "account_id": r.account_id,
                "balance": r.balance,
                "balance_source": r.balance_source,
                "balance_as_of": r.as_of,
                "required": r.required,
                "shortfall": r.shortfall,
                "refreshed": r.refreshed,
                "error": r.error,
            }
            for r in sorted(self.rows, key=lambda r: r.row)
        ]
        frame = pd.DataFrame.from_records(records, columns=columns)
        for name in ("amount", "balance", "required", "shortfall"):
            frame[name] = pd.array(frame[name].tolist(), dtype="Int64")
        frame["balance_as_of"] = pd.to_datetime(
            pd.array(frame["balance_as_of"].tolist(), dtype="Int64"), unit="s", utc=True
        )
        return frame

    def to_csv(self) -> str:
        """The downloadable result: money in major units ("125.00") as finance reads it."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            ["row", "id", "reference", "amount", "currency", "verdict", "balance",
             "balance_source", "balance_as_of", "required", "shortfall", "refreshed",
             "account", "reasons", "error"]
        )  # fmt: skip
        for r in sorted(self.rows, key=lambda r: r.row):
            code = r.currency or "usd"
            writer.writerow(
                [
                    r.row, safe_text(r.target), safe_text(r.reference), _major(r.amount, code),
                    r.currency or "", r.verdict, _major(r.balance, code), r.balance_source or "",
                    _iso(r.as_of), _major(r.required, code), _major(r.shortfall, code),
                    "yes" if r.refreshed else "no", r.account_id or "",
                    safe_text(" ".join(r.reasons)), safe_text(r.error),
                ]
            )  # fmt: skip
        return out.getvalue()


def _major(amount: int | None, currency: str) -> str:
    if amount is None:
        return ""
    places = exponent(currency)
    return f"{Decimal(amount).scaleb(-places):.{places}f}"


def _iso(ts: int | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Progress = Callable[[int, int, str], None]


@dataclass
class _Target:
    """What one distinct ID in the batch leads to."""

    account_id: str | None = None
    missing: str | None = None  # why there is no account (manual entry, none linked…)
    error: str | None = None  # unknown ID, Stripe unreachable: the rows fail, others go on


def run_batch(
    svc: Services,
    actor: Actor,
    debits: Sequence[PlannedDebit],
    *,
    refresh_stale: bool,
    progress: Progress | None = None,
    max_requests_per_second: float = 20,
    row_errors: Iterable[RowError] = (),
    wait_seconds: float = 60,
    clock: Clock | None = None,
    limiter: TokenBucket | None = None,
) -> BatchResult:
    """Check every planned debit; each distinct ID and account is fetched once.

    Rows whose ID is unknown (or whose lookup failed) get their own error and the rest go on;
    `row_errors` from parsing are carried into the result so the download has every row.
    Only stale balances whose refresh Stripe allows now are refreshed. One audit row.
    """
    tick: Progress = progress or (lambda done, total, message: None)
    errors = list(row_errors)
    params = {"rows": len(debits) + len(errors), "refresh_stale": refresh_stale}

    def run(ctx: audit.AuditContext) -> BatchResult:
        bucket = limiter or TokenBucket(max_requests_per_second, clock=clock)
        gateway = _Throttled(svc.gateway, bucket)
        result = _run_batch(svc, actor, gateway, debits, errors, refresh_stale, wait_seconds, tick)
        summary = result.summary()
        ctx.params.update(
            checked=summary.checked,
            errors=summary.errors,
            counts=summary.counts,
            at_risk=summary.at_risk,
            refreshed=result.refreshed[:200],
            requests=result.requests,
        )
        ctx.message = (
            f"Checked {summary.checked} of {summary.rows} rows; {summary.errors} error(s); "
            f"{summary.refreshed} balance(s) refreshed."
        )
        return result

    return audit.guarded(
        svc.engine,
        actor=actor,
        permission="balances.check",
        action="balances.batch_check",
        target=None,
        params=params,
        idempotency_key=None,
        run=run,
    )


def _run_batch(
    svc: Services,
    actor: Actor,
    gateway: _Throttled,
    debits: Sequence[PlannedDebit],
    errors: list[RowError],
    refresh_stale: bool,
    wait_seconds: float,
    tick: Progress,
) -> BatchResult:
    policy = load_policy(svc.engine).policy
    ids = list(dict.fromkeys(d.target for d in debits))
    total = len(ids) + 1
    accounts: dict[str, dict[str, Any]] = {}
    targets: dict[str, _Target] = {}
    for done, target in enumerate(ids):
        tick(done, total, f"Looking up {done + 1:,} of {len(ids):,} IDs")
        targets[target] = _resolve_target(gateway, target, accounts)
    for account in accounts.values():
        _mirror(svc.engine, account)
    refreshed: list[str] = []
    notes: dict[str, str] = {}  # account ID -> why its refresh did not start
    if refresh_stale:
        stale = _stale_refreshable(debits, targets, accounts, policy, svc.now())
        tick(len(ids), total, f"Refreshing {len(stale):,} stale balance(s)")
        refreshed = _refresh_many(
            gateway,
            stale,
            accounts,
            wait_seconds,
            gateway._limiter.clock,
            now=svc.now(),
            notes=notes,
        )
        for account_id in refreshed:
            _mirror(svc.engine, accounts[account_id])
    rows = [
        _row_result(d, targets[d.target], accounts, policy, svc.now(), refreshed, notes)
        for d in debits
    ]
    rows += [_error_row(e) for e in errors]
    tick(total, total, f"Checked {len(rows):,} rows")
    return BatchResult(
        rows=sorted(rows, key=lambda r: r.row),
        refreshed=refreshed,
        requests=gateway.requests,
        rate_limited=gateway.rate_limited,
        policy=policy,
    )


def _resolve_target(gateway: Any, target: str, accounts: dict[str, dict[str, Any]]) -> _Target:
    try:
        object_id, kind = parse_id(target, allowed=lookup.LOOKUP_KINDS)
        if kind == "financial_connections.account":
            if object_id not in accounts:
                accounts[object_id] = gateway.retrieve_account(object_id)
            return _Target(account_id=object_id)
        if kind == "customer":
            account, _note, missing = _best_for_customer(gateway, object_id)
            if account is None:
                return _Target(missing=missing)
            accounts.setdefault(account["id"], account)
            return _Target(account_id=account["id"])
        return _via_payment_method(gateway, object_id, kind, accounts)
    except (NotFound, ValidationError) as err:
        return _Target(error=str(err))
    except StripeAuthError:
        raise
    except FcopsError as err:
        return _Target(error=f"Could not look this ID up: {err}")


def _via_payment_method(
    gateway: Any, object_id: str, kind: str, accounts: dict[str, dict[str, Any]]
) -> _Target:
    """PM (or intent → its PM) → FC account, reusing an account already fetched."""
    if kind == "payment_method":
        pm = gateway.retrieve_payment_method(object_id)
    else:
        retrieve = (
            gateway.retrieve_payment_intent
            if kind == "payment_intent"
            else gateway.retrieve_setup_intent
        )
        pm = retrieve(object_id, expand=["payment_method"]).get("payment_method")
        if isinstance(pm, str):
            pm = gateway.retrieve_payment_method(pm)
    if not pm:
        return _Target(missing="No payment method is attached yet; there is no bank account.")
    if pm.get("type") != "us_bank_account":
        return _Target(missing=f"The payment method is a {pm.get('type')}, not a US bank account.")
    fca = (pm.get("us_bank_account") or {}).get("financial_connections_account")
    if not fca:
        return _Target()  # entered manually: assess_debit explains
    if fca not in accounts:
        accounts[fca] = gateway.retrieve_account(fca)
    return _Target(account_id=fca)


def _stale_refreshable(
    debits: Sequence[PlannedDebit],
    targets: Mapping[str, _Target],
    accounts: Mapping[str, dict[str, Any]],
    policy: DebitPolicy,
    now: int,
) -> list[str]:
    """Accounts some row judged stale and whose refresh Stripe allows now, each once."""
    found: dict[str, None] = {}
    for debit in debits:
        account_id = targets[debit.target].account_id
        if account_id is None or account_id in found:
            continue
        account = accounts[account_id]
        verdict = assess_debit(account, debit.amount, debit.currency, now=now, policy=policy)
        if verdict.verdict == STALE and refresh_state(account, now=now)[0]:
            found[account_id] = None
    return list(found)


def _refresh_many(
    gateway: Any,
    account_ids: Sequence[str],
    accounts: dict[str, dict[str, Any]],
    wait_seconds: float,
    clock: Clock,
    *,
    now: int,
    notes: dict[str, str],
) -> list[str]:
    """Start every refresh, then poll the pending ones together until done or out of time.

    An account whose refresh Stripe refused or did not start gets a sentence in ``notes``;
    its rows keep the stale verdict and say why.
    """
    started: list[str] = []
    for account_id in account_ids:
        try:
            key = gateway.fresh_key(_refresh_key(accounts[account_id]))
            accounts[account_id] = _start_refresh(gateway, accounts[account_id], key, now=now)
            started.append(account_id)
        except (RefreshNotAllowed, StripeRequestError, StripeUnavailable) as err:
            notes[account_id] = str(err)
    deadline = clock.monotonic() + wait_seconds
    delay = 0.25
    while True:
        pending = [a for a in started if _pending(accounts[a])]
        for account_id in pending:
            try:
                accounts[account_id] = gateway.retrieve_account(account_id)
            except StripeUnavailable:
                continue
        if not any(_pending(accounts[a]) for a in started) or clock.monotonic() >= deadline:
            return started
        clock.sleep(delay)
        delay = min(delay * 2, 2.0)


def _row_result(
    debit: PlannedDebit,
    target: _Target,
    accounts: Mapping[str, dict[str, Any]],
    policy: DebitPolicy,
    now: int,
    refreshed: Sequence[str],
    notes: Mapping[str, str],
) -> BatchRow:
    base: dict[str, Any] = {
        "row": debit.row,
        "target": debit.target,
        "target_kind": debit.target_kind,
        "amount": debit.amount,
        "currency": debit.currency,
        "reference": debit.reference,
    }
    if target.error is not None:
        return BatchRow(**base, verdict=ERROR, error=target.error)
    account = accounts.get(target.account_id) if target.account_id else None
    result = _assess(account, debit.amount, debit.currency, now, policy, target.missing)
    note = notes.get(target.account_id or "")
    return BatchRow(
        **base,
        verdict=result.verdict,
        reasons=(*result.reasons, note) if note else result.reasons,
        account_id=target.account_id,
        balance=result.balance,
        balance_source=result.balance_source,
        as_of=result.as_of,
        required=result.required,
        shortfall=result.shortfall,
        refreshed=target.account_id in refreshed,
    )


def _error_row(error: RowError) -> BatchRow:
    ids = (v.strip() for v in error.raw.values())
    target = next((v for v in ids if v.startswith(("fca_", "pm_", "cus_"))), "")
    return BatchRow(
        row=error.row,
        target=target,
        target_kind="",
        amount=None,
        currency=None,
        reference=None,
        verdict=ERROR,
        error=error.message,
    )
