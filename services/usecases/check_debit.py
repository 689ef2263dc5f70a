"""Finance checks one planned debit against the balance behind whatever ID they have.

`services.rules.debit.assess_debit` judges one account against one amount; this use case does the
work around it: finds the FC account behind the pasted ID (fca_, pm_, pi_, seti_, cus_; the one
resolver :mod:`services.usecases.resolve_account`), applies the admin-set policy, refreshes a
stale or never-fetched balance when Stripe allows it (``Assessment.needs_refresh``; refreshes
are asynchronous jobs, reference §4, so it waits and re-reads), and mirrors every balance it
sees into the store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from services.adapters import account_mirror, check_history
from services.adapters.backoff import settle
from services.adapters.throttle import Clock, SystemClock
from services.auth import Actor, require
from services.context import Services
from services.errors import (
    ChangeNotMade,
    OutcomeStillUnknown,
    RateLimited,
    ReadBackFailed,
    RefreshNotAllowed,
    StripeRequestError,
    StripeUnavailable,
    ValidationError,
    not_made,
    read_failed,
)
from services.rules import refresh_rule, wording
from services.rules.account_summary import AccountSummary
from services.rules.debit import Assessment, DebitPolicy, assess_debit
from services.rules.debit_target import assess_target
from services.rules.ids import parse_id
from services.rules.money import MAX_MAJOR_AMOUNT, MoneyError, exponent, validate_currency
from services.usecases import refresh_balance
from services.usecases.debit_policy import StoredPolicy, load_policy
from services.usecases.resolve_account import LOOKUP_KINDS, debit_target

__all__ = ["DebitCheck", "PolicyChange", "RefreshOutcome", "check_debit", "policy_change"]


@dataclass(frozen=True)
class RefreshOutcome:
    """What happened when a balance refresh was requested."""

    requested: bool
    finished: bool
    status: str | None  # balance_refresh.status after waiting: succeeded | failed | pending
    message: str
    # Stripe did not confirm the refresh (a 5xx, no answer): ``message`` says so and what the
    # account read back showed (started: ``requested``; not started: refresh again is safe).
    unconfirmed: bool = False


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
    policy_version: int = 0  # the saved policy version applied; 0 = the defaults

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
    refresh_offered: bool = False,
    wait_seconds: float = 30,
    idempotency_key: str | None = None,
    clock: Clock | None = None,
    source: str = "single",
    what: str | None = None,
    on_read: Callable[[str], object] | None = None,
) -> DebitCheck:
    """Check one debit of `amount` minor units against the balance behind `target_id`.

    ``on_read`` is given the ID as read (cleaned and checked), before Stripe is asked: a caller
    stopped before the answer still knows the check it asked for without reading it again.

    ``refresh_stale`` refreshes a balance that needs it (``Assessment.needs_refresh``: stale or
    none yet); ``refresh_offered`` (a person's "Refresh balance now") also one the page offers a
    refresh for (``Assessment.refresh_offered``: a short debit on an hour-old balance, say).

    Raises ValidationError for a malformed ID, NotFound for an unknown one, MoneyError (as
    ValidationError) for a bad amount or currency, and the gateway's domain errors.
    """
    require(actor, "balances.check")
    code = _valid_money(amount, currency)
    object_id, kind = parse_id(target_id, allowed=LOOKUP_KINDS, what=what)
    if on_read is not None:
        on_read(object_id)
    stored = load_policy(svc.engine)
    began = account_mirror.read_mark(svc.engine)  # before the read (see read_mark)
    target = debit_target(svc.gateway, object_id)
    account = target.account
    before = assess_target(account, amount, code, svc.now(), stored.policy, target.missing)
    if account is not None:
        account_mirror.upsert_account(svc.engine, account, read_began=began)
    after: Assessment | None = None
    outcome: RefreshOutcome | None = None
    wanted = (refresh_stale and before.needs_refresh) or (
        refresh_offered and before.refresh_offered
    )
    if account is not None and wanted:
        refreshing = account_mirror.read_mark(svc.engine)  # before the refresh and its reads
        account, outcome = _refresh_and_wait(
            svc,
            actor,
            account,
            idempotency_key=idempotency_key,
            wait_seconds=wait_seconds,
            clock=clock or SystemClock(),
            button=before.refresh_label,  # the page's button for it, named after a 5xx
        )
        if outcome.requested:
            account_mirror.upsert_account(svc.engine, account, read_began=refreshing)
            after = assess_debit(account, amount, code, now=svc.now(), policy=stored.policy)
    checked_at = svc.now()
    if account is not None:  # kept for "Did our check work?" (joined with the debit after it)
        row = check_history.check_row(
            after or before,
            account_id=str(account["id"]),
            policy=stored.policy,
            checked_at=checked_at,
            source=source,
            checked_by=actor.username,
            target=object_id,
        )
        check_history.record_checks(svc.engine, [row])
    return DebitCheck(
        target_id=object_id,
        target_kind=kind,
        amount=amount,
        currency=code,
        policy=stored.policy,
        before=before,
        after=after,
        account=AccountSummary.of(account) if account is not None else None,
        note=target.note,
        refresh=outcome,
        checked_at=checked_at,
        policy_version=stored.version,
    )


@dataclass(frozen=True)
class PolicyChange:
    """The debit policy in force, when it is not the version a check on screen applied."""

    version: int  # 0: back to the defaults (never saved)
    updated_by: str | None
    updated_at: datetime | None

    def sentence(self) -> str:
        """What the page says beside the check's result."""
        now = f"version {self.version}" if self.version else "the defaults"
        by = f", saved by {self.updated_by}" if self.updated_by else ""
        at = f" at {wording.moment(self.updated_at)}" if self.updated_at else ""
        return (
            f"The debit policy changed after this check (now {now}{by}{at}): "
            "check again to apply it."
        )


def policy_changed(applied_version: int, in_force: StoredPolicy) -> PolicyChange | None:
    """The rule: a check applied one version; another one in force is a change (None: none)."""
    if in_force.version == applied_version:
        return None
    return PolicyChange(in_force.version, in_force.updated_by, in_force.updated_at)


def policy_change(svc: Services, actor: Actor, applied_version: int) -> PolicyChange | None:
    """Whether the policy in force is still the version a check applied
    (``DebitCheck.policy_version``); None while it is. One primary-key read, cheap enough for
    a page to ask every few seconds."""
    require(actor, "balances.check")
    return policy_changed(applied_version, load_policy(svc.engine))


ACH_CURRENCY = "usd"  # ACH Direct Debit is in US dollars only (as the batch check's default)


def _valid_money(amount: int, currency: str) -> str:
    try:
        code = validate_currency(currency)
    except MoneyError as err:
        raise ValidationError(f"Currency: {err}") from None
    if code != ACH_CURRENCY:  # the policy's buffer is in it too: a yen check read $10 as ¥1,000
        raise ValidationError(
            f"ACH Direct Debit collects US dollars only, so a {code.upper()} debit cannot be "
            "checked: enter the amount in USD."
        )
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError("The debit amount must be greater than zero.")
    largest = int(MAX_MAJOR_AMOUNT.scaleb(exponent(code)))
    if amount > largest:
        raise ValidationError(
            f"The debit amount is larger than the {MAX_MAJOR_AMOUNT:,} {code.upper()} limit; "
            "check for a missing decimal point."
        )
    return code


def refresh_key(account: Mapping[str, Any]) -> str:
    """Same stale state → same key, so a double click or a parallel batch starts one refresh."""
    refresh = account.get("balance_refresh") or {}
    attempted = refresh.get("last_attempted_at") if isinstance(refresh, Mapping) else None
    next_at = refresh.get("next_refresh_available_at") if isinstance(refresh, Mapping) else None
    return f"fcops-balance-refresh-{account.get('id')}-{attempted}-{next_at}"


# Batch check's reason after a 5xx the account read back shows started nothing: the next run
# sends the key's next variant (the gateway spent this one), so it starts the refresh once.
RUN_BATCH = "Run batch check"  # Batch check's button: the one to press again after a 5xx
_BATCH_NOT_STARTED = {
    "what": "the balance refresh",
    "maybe": "it may have started",
    "shown": "the account read back shows it did not",
    "button": RUN_BATCH,
}


def start_refresh(
    gateway: Any, account: Mapping[str, Any], key: str, *, now: int
) -> dict[str, Any]:
    """Ask Stripe for a balance refresh and judge its answer by the account it returns.

    A refusal (HTTP 400) keeps Stripe's sentence; an answer without a new pending refresh
    means Stripe started nothing (pending already, or throttled), so it is never counted as
    started (:func:`services.rules.refresh_rule.started`).
    """
    try:  # no answer in time: the account read back says whether it started (never a guess)
        result = settle(
            lambda: cast(
                dict[str, Any],
                gateway.refresh_account(account["id"], ["balance"], idempotency_key=key),
            ),
            lambda: cast(dict[str, Any], gateway.retrieve_account(account["id"])),
            lambda current: refresh_rule.started(account, current, "balance"),
            what="the balance refresh",
        ).value
    except ChangeNotMade as err:  # a 5xx that started nothing: the batch's reason, its button
        raise not_made(err, **_BATCH_NOT_STARTED) from None
    except ReadBackFailed as err:  # a 5xx, and the read back failed too: a refresh's words
        raise read_failed(
            err, what="the balance refresh", maybe="it may have started", read="the account"
        ) from None
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
    button: str,
) -> tuple[dict[str, Any], RefreshOutcome]:
    # A derived key Stripe already answered with a failure would only replay it: move on.
    key = idempotency_key or svc.gateway.fresh_key(refresh_key(account))
    try:
        # The accounts use case is the one audited path for refreshes (`account.refresh`); it
        # settles a 5xx or a late answer by reading the account back (backoff.settle).
        started = refresh_balance.refresh_started(
            svc, actor, str(account["id"]), "balance", idempotency_key=key, button=button
        )
    except RateLimited as err:  # refused before Stripe did anything, as any other 4xx
        return account, RefreshOutcome(
            False, False, None, f"Stripe did not start the refresh: {err}"
        )
    except ChangeNotMade as err:  # a 5xx, and the account read back shows nothing started
        # Pressing it again is safe: Stripe saved the 5xx under this key, so the gateway spent
        # it and the next press sends the key's next variant (a replay would only answer the
        # 5xx). refresh_started's sentence: "…; the account read back shows Stripe did not start
        # it: Refresh balance now again is safe."
        return account, RefreshOutcome(False, False, None, str(err), unconfirmed=True)
    except OutcomeStillUnknown as err:  # no answer, and the reads did not show it (yet)
        said = refresh_balance.unconfirmed_words("balance", err)
        message = (
            f"{said}; the account read back shows it has not started yet. {button} again is "
            "safe: it repeats the same request, so Stripe does it at most once."
            if err.seen
            else str(err)  # no read answered either: settle's own sentence says so
        )
        return account, RefreshOutcome(False, False, None, message, unconfirmed=True)
    except ReadBackFailed:  # a 5xx, and the read back failed too: its sentence says both,
        raise  # and the page's "cannot read Stripe" path offers to read again
    except (RefreshNotAllowed, StripeRequestError, StripeUnavailable) as err:
        # The stale verdict is still true and worth showing; losing it to an error page would
        # leave finance with nothing. A bad API key (StripeAuthError) still stops everything.
        # Any other StripeUnavailable is the read before the POST: nothing was sent.
        return account, RefreshOutcome(
            False, False, None, f"Stripe did not start the refresh: {err}"
        )
    if started.server_error is not None:  # a 5xx, yet the account read back shows it started
        current = started.account
        said = refresh_balance.unconfirmed_words("balance", started.server_error)
        status = balance_refresh_status(current)
        message = f"{said}; the account read back shows it did."
        outcome = RefreshOutcome(True, status != "pending", status, message, unconfirmed=True)
        return current, outcome  # pending: the page follows it; ended: its balance
    latest = _wait_for_refresh(
        svc.gateway, started.account, wait_seconds=wait_seconds, clock=clock
    )
    return latest, _outcome(latest, first=not isinstance(account.get("balance"), Mapping))


def balance_refresh_status(account: Mapping[str, Any]) -> str | None:
    refresh = account.get("balance_refresh")
    return refresh.get("status") if isinstance(refresh, Mapping) else None


def is_pending(account: Mapping[str, Any]) -> bool:
    return balance_refresh_status(account) == "pending"


def _wait_for_refresh(
    gateway: Any, account: dict[str, Any], *, wait_seconds: float, clock: Clock
) -> dict[str, Any]:
    """Re-read the account until its balance refresh leaves `pending` or time runs out."""
    deadline = clock.monotonic() + wait_seconds
    delay = 0.25
    latest = account
    while is_pending(latest):
        latest = gateway.retrieve_account(account["id"])
        if not is_pending(latest) or clock.monotonic() >= deadline:
            break
        clock.sleep(min(delay, max(0.0, deadline - clock.monotonic())))
        delay = min(delay * 2, 2.0)
    return latest


def _outcome(account: Mapping[str, Any], *, first: bool = False) -> RefreshOutcome:
    """``first``: the account had no balance before (a first fetch is not a "refresh")."""
    refresh = account.get("balance_refresh") or {}
    status = refresh.get("status") if isinstance(refresh, Mapping) else None
    if status == "pending":
        message = "The balance refresh is still running; check again in a moment."
    elif status == "failed" and not isinstance(account.get("balance"), Mapping):
        message = "The bank could not provide a balance, so there is still no figure."
    elif status == "failed":
        message = "The bank could not refresh the balance; the verdict uses the last figure."
    elif first:
        message = "The balance was fetched for the first time and the debit checked against it."
    else:
        message = "The balance was refreshed and the debit re-checked."
    return RefreshOutcome(True, status != "pending", status, message)
