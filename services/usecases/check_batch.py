"""Finance checks a CSV of planned debits: every row a verdict, every bad row its own error.

Each distinct ID is resolved once (the one resolver, :mod:`services.usecases.resolve_account`)
and each account fetched once; stale balances, and balances never fetched, are refreshed only
where Stripe allows it now;
requests stay inside Stripe's rate limits (:mod:`services.adapters.throttle`). One audit row.

When webhooks keep the mirror current (:mod:`services.adapters.mirror_live`: events arriving,
none stuck, the row written since the stream began), an FC account ID is read from the mirror,
not from Stripe, and a refresh's completion is learnt from the mirror row the
``refreshed_balance`` event updates; an account whose event has not arrived within
``event_wait_seconds`` is read from Stripe once. Otherwise every account is read from Stripe and
refreshes are polled, as before. The verdicts are the same rules on the same account states.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

from services.adapters import account_mirror as mirror
from services.adapters import check_history, mirror_live
from services.adapters.gateway import StripeGateway
from services.adapters.throttle import Clock, Limiter, Throttled, TokenBucket
from services.audit import audited
from services.auth import Actor, require
from services.context import Services
from services.errors import (
    FcopsError,
    NotFound,
    OutcomeStillUnknown,
    ReadBackFailed,
    RefreshNotAllowed,
    StripeAuthError,
    StripeRequestError,
    StripeUnavailable,
    ValidationError,
)
from services.rules import wording
from services.rules.batch_result import ERROR, UNCONFIRMED, BatchResult, BatchRow
from services.rules.debit import INSUFFICIENT, DebitPolicy, assess_debit
from services.rules.debit_csv import PlannedDebit, RowError
from services.rules.debit_target import assess_target
from services.rules.money import format_plain
from services.usecases.check_debit import (
    balance_refresh_status,
    is_pending,
    refresh_key,
    start_refresh,
)
from services.usecases.debit_policy import StoredPolicy, load_policy, load_policy_version
from services.usecases.resolve_account import Known, debit_target

__all__ = ["Progress", "policy_in_force", "results_csv", "run_batch"]


Progress = Callable[[int, int, str], None]
EVENT_WAIT_SECONDS = 20.0  # a refreshed_balance event later than this: read the account once
MIRROR_POLL_SECONDS = 0.1  # how often the mirror (our own store) is read for completions
REFRESH_STARTERS = 4  # balance refreshes in flight at once (the rate is the bucket's)


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
    event_wait_seconds: float = EVENT_WAIT_SECONDS,
    clock: Clock | None = None,
    limiter: Limiter | None = None,
    policy_version: int | None = None,
) -> BatchResult:
    """Check every planned debit; each distinct ID and account is fetched once.

    Every row is judged by one debit policy: saved version ``policy_version`` (0: the defaults),
    which a job cut in chunks reads once when it starts and passes to each chunk; None: the
    version in force now.

    Rows whose ID is unknown (or whose lookup failed) get their own error and the rest go on;
    `row_errors` from parsing are carried into the result so the download has every row.
    Only stale or never-fetched balances whose refresh Stripe allows now are refreshed. One
    audit row.
    """
    tick: Progress = progress or (lambda done, total, message: None)
    errors = list(row_errors)
    params: dict[str, Any] = {"rows": len(debits) + len(errors), "refresh_stale": refresh_stale}

    with audited(svc.engine, actor=actor, action="balances.batch_check", params=params) as ctx:
        require(actor, "balances.check")
        stored = (
            load_policy(svc.engine)
            if policy_version is None
            else load_policy_version(svc.engine, policy_version)
        )
        ctx.params["policy_version"] = stored.version
        bucket = limiter or TokenBucket(max_requests_per_second, clock=clock)
        gateway = Throttled(svc.gateway, bucket)
        waits = (wait_seconds, event_wait_seconds)
        result = _run_batch(svc, gateway, debits, errors, refresh_stale, waits, tick, stored)
        _keep_verdicts(svc, actor, result)
        summary = result.summary()
        ctx.params.update(
            checked=summary.checked,
            errors=summary.errors,
            counts=summary.counts,
            at_risk=summary.at_risk,
            refreshed=result.refreshed[:200],
            requests=result.requests,
            from_mirror=result.from_mirror,
        )
        ctx.message = summary.said()
        return result

    raise AssertionError("unreachable")  # pragma: no cover


def _keep_verdicts(svc: Services, actor: Actor, result: BatchResult) -> None:
    """Every row judged on an account, kept for "Did our check work?"."""
    now = svc.now()
    rows = [
        {
            "account_id": r.account_id,
            "source": "batch",
            "target": r.target,
            "reference": r.reference,
            "amount": r.amount,
            "currency": r.currency,
            "verdict": r.verdict,
            "balance": r.balance,
            "balance_source": r.balance_source,
            "as_of": r.as_of,
            "required": r.required if r.required is not None else r.amount,
            "buffer_amount": result.policy.buffer_amount,
            "buffer_percent": result.policy.buffer_percent,
            "max_age_seconds": result.policy.max_age_seconds,
            "checked_at": now,
            "checked_by": actor.username,
        }
        for r in result.rows
        if r.account_id and r.verdict != ERROR and r.amount is not None and r.currency
    ]
    check_history.record_checks(svc.engine, rows)


def _run_batch(
    svc: Services,
    gateway: Throttled,
    debits: Sequence[PlannedDebit],
    errors: list[RowError],
    refresh_stale: bool,
    waits: tuple[float, float],
    tick: Progress,
    stored: StoredPolicy,
) -> BatchResult:
    policy = stored.policy
    ids = list(dict.fromkeys(d.target for d in debits))
    total = len(ids) + 1
    since = mirror_live.live_since(svc.engine)
    fca_ids = [t.strip() for t in ids if t.strip().startswith("fca_")]
    mirrored = mirror_live.trusted_accounts(svc.engine, fca_ids, since) if since else {}
    accounts: dict[str, dict[str, Any]] = dict(mirrored)  # the resolver reads these first
    targets: dict[str, _Target] = {}
    # Stripe's copies are written only over rows no event changed since their read began
    # (mirror.read_mark): each ID's mark, taken unless the ID is an account already known
    first = mirror.read_mark(svc.engine)
    began: dict[str, int] = {}
    for done, target in enumerate(ids):
        tick(done, total, f"Looking up {done + 1:,} of {len(ids):,} IDs")
        mark = None if target.strip() in accounts else mirror.read_mark(svc.engine)
        targets[target] = found = _resolve_target(gateway, target, accounts)
        if mark is not None and found.account_id:
            began.setdefault(found.account_id, mark)  # the copy kept is the first one read
    for account_id, account in accounts.items():
        if account_id not in mirrored:  # the mirror's own rows are not written back
            mirror.upsert_account(svc.engine, account, read_began=began.get(account_id, first))
    refreshed: list[str] = []
    notes: dict[str, str] = {}  # account ID -> why its refresh did not start
    missed: dict[str, tuple[str, str]] = {}  # account ID -> how its refresh gave no balance
    if refresh_stale:
        stale = _stale_refreshable(debits, targets, accounts, policy, svc.now())
        tick(len(ids), total, _waiting_words(len(stale), waits[0]))
        read = _Reads(svc.engine if since else None, *waits)
        refreshing = mirror.read_mark(svc.engine)  # before the refreshes' answers and reads
        refreshed = _refresh_many(gateway, stale, accounts, read, now=svc.now(), notes=notes)
        for account_id in refreshed:  # Stripe's copies: the mirror's are not written back
            if read.engine is None or account_id in read.retrieved:
                mirror.upsert_account(svc.engine, accounts[account_id], read_began=refreshing)
    # Refreshed: those the bank answered with a balance (a failed or unfinished one is not).
    for account_id in [*refreshed, *notes]:
        how = balance_refresh_status(accounts[account_id])
        if account_id in notes:
            how = UNCONFIRMED if isinstance(notes[account_id], _Unsure) else "not started"
        if how != "succeeded":
            missed[account_id] = (how or "failed", accounts[account_id].get("institution_name") or "")
    refreshed = [a for a in refreshed if a not in missed]
    now, fresh = svc.now(), frozenset(refreshed)
    rows: list[BatchRow] = []
    # The debits of one account go out together: each row is judged with the rows before it on
    # the same account (file order), so three $600 rows on $972 are not three OKs.
    earlier: dict[tuple[str, str], tuple[int, tuple[int, ...]]] = {}
    for d in debits:
        aim = targets[d.target]
        key = (aim.account_id or "", d.currency)
        before = earlier.get(key, (0, ())) if aim.account_id else (0, ())
        rows.append(_row_result(d, aim, accounts, policy, now, fresh, notes, before))
        if aim.account_id and aim.error is None:
            earlier[key] = (before[0] + d.amount, (*before[1], d.row))
    rows += [_error_row(e) for e in errors]
    tick(total, total, f"Checked {len(rows):,} rows")
    return BatchResult(
        rows=sorted(rows, key=lambda r: r.row),
        refreshed=refreshed,
        requests=gateway.requests,
        rate_limited=gateway.rate_limited,
        policy=policy,
        from_mirror=len(mirrored),
        policy_version=stored.version,
        policy_currency=stored.currency,
        checked_at=int(now),
        unrefreshed=missed,
    )


def _waiting_words(stale: int, wait: float) -> str:
    """The line a person reads while the banks refresh: what is waited on, and for how long."""
    if not stale:
        return "No stale balance to refresh"
    what = "1 stale balance" if stale == 1 else f"{stale:,} stale balances"
    return f"Waiting for the banks to refresh {what} (up to {wait:.0f} s)"


def _resolve_target(gateway: Throttled, target: str, known: Known) -> _Target:
    """What one distinct ID leads to, through the same resolver as the single check."""
    try:
        found = debit_target(cast(StripeGateway, gateway), target, known=known)
    except (NotFound, ValidationError) as err:
        return _Target(error=str(err))
    except StripeAuthError:
        raise
    except FcopsError as err:
        return _Target(error=f"Could not look this ID up: {err}")
    if found.account is None:
        return _Target(missing=found.missing)
    known.setdefault(found.account["id"], found.account)
    return _Target(account_id=found.account["id"])


def _stale_refreshable(
    debits: Sequence[PlannedDebit],
    targets: Mapping[str, _Target],
    accounts: Mapping[str, dict[str, Any]],
    policy: DebitPolicy,
    now: int,
) -> list[str]:
    """Accounts some row judged stale or without a balance yet, whose refresh Stripe allows
    now (``Assessment.needs_refresh``), each once."""
    found: dict[str, None] = {}
    for debit in debits:
        account_id = targets[debit.target].account_id
        if account_id is None or account_id in found:
            continue
        account = accounts[account_id]
        verdict = assess_debit(account, debit.amount, debit.currency, now=now, policy=policy)
        if verdict.needs_refresh:  # stale, or never fetched, and Stripe allows a refresh now
            found[account_id] = None
    return list(found)


@dataclass
class _Reads:
    """How a batch learns a refresh finished: ``engine`` set (the mirror is live) waits on the
    mirror up to ``event_wait`` seconds, then reads each late account from Stripe once; else it
    polls Stripe up to ``wait`` seconds. ``retrieved``: the accounts read from Stripe."""

    engine: Any | None
    wait: float
    event_wait: float
    retrieved: set[str] = field(default_factory=set)


def _refresh_many(
    gateway: Any,
    account_ids: Sequence[str],
    accounts: dict[str, dict[str, Any]],
    read: _Reads,
    *,
    now: int,
    notes: dict[str, str],
) -> list[str]:
    """Start every refresh, then learn when the pending ones finish, or run out of time.

    An account whose refresh Stripe refused or did not start gets a sentence in ``notes``;
    its rows keep the stale verdict and say why.
    """
    started: list[str] = []
    for account_id, account, note in _start_refreshes(gateway, account_ids, accounts, now):
        if account is None:
            notes[account_id] = note
        else:
            accounts[account_id] = account
            started.append(account_id)
    clock: Clock = gateway.clock
    deadline = clock.monotonic() + read.wait
    if read.engine is None:
        _poll_stripe(gateway, started, accounts, deadline, clock, read.retrieved)
        return started
    pending = [a for a in started if is_pending(accounts[a])]
    late = _await_mirror(read.engine, pending, accounts, clock.monotonic() + read.event_wait, clock)
    for account_id in late:  # its event is late or lost: Stripe once, never a poll loop
        try:
            accounts[account_id] = gateway.retrieve_account(account_id)
            read.retrieved.add(account_id)
        except StripeUnavailable:
            continue
    still = [a for a in late if is_pending(accounts[a])]
    _await_mirror(read.engine, still, accounts, deadline, clock)
    return started


class _Unsure(str):
    """A refresh's note when Stripe did not confirm it and no read showed whether it started."""


def _start_refreshes(
    gateway: Any, account_ids: Sequence[str], accounts: Mapping[str, dict[str, Any]], now: int
) -> Iterator[tuple[str, dict[str, Any] | None, str]]:
    """Start each refresh, up to ``REFRESH_STARTERS`` at once (the gateway's bucket still sets
    the rate: a request's own round trip no longer does), and yield in the accounts' order
    (account ID, the account Stripe answered or None, why not). Any other error (Stripe refusing
    our key) ends the batch: no refresh not yet sent is sent."""

    def start(account_id: str) -> tuple[str, dict[str, Any] | None, str]:
        try:
            key = gateway.fresh_key(refresh_key(accounts[account_id]))
            return account_id, start_refresh(gateway, accounts[account_id], key, now=now), ""
        except (ReadBackFailed, OutcomeStillUnknown) as err:  # no read said: it may have started
            return account_id, None, _Unsure(err)
        except (RefreshNotAllowed, StripeRequestError, StripeUnavailable) as err:
            return account_id, None, str(err)  # a 5xx the account read back shows did nothing

    pool = ThreadPoolExecutor(max(1, min(REFRESH_STARTERS, len(account_ids))), "fcops-refresh")
    try:
        yield from pool.map(start, account_ids)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _await_mirror(
    engine: Any,
    account_ids: Sequence[str],
    accounts: dict[str, dict[str, Any]],
    deadline: float,
    clock: Clock,
) -> list[str]:
    """Wait for the mirror to show each refresh finished (its ``refreshed_balance`` event
    applied); reads only our store. Returns the accounts still waiting at ``deadline``."""
    waiting = {a: accounts[a] for a in account_ids}
    while waiting:
        for account_id, account in mirror_live.refreshed(engine, waiting).items():
            accounts[account_id] = account
            del waiting[account_id]
        if not waiting or clock.monotonic() >= deadline:
            break
        clock.sleep(MIRROR_POLL_SECONDS)
    return list(waiting)


def _poll_stripe(
    gateway: Any,
    started: Sequence[str],
    accounts: dict[str, dict[str, Any]],
    deadline: float,
    clock: Clock,
    retrieved: set[str],
) -> None:
    """Poll the pending refreshes together until done or out of time (no live mirror)."""
    delay = 0.25
    while True:
        pending = [a for a in started if is_pending(accounts[a])]
        for account_id in pending:
            try:
                accounts[account_id] = gateway.retrieve_account(account_id)
                retrieved.add(account_id)
            except StripeUnavailable:
                continue
        if not any(is_pending(accounts[a]) for a in started) or clock.monotonic() >= deadline:
            return
        clock.sleep(delay)
        delay = min(delay * 2, 2.0)


def _row_result(
    debit: PlannedDebit,
    target: _Target,
    accounts: Mapping[str, dict[str, Any]],
    policy: DebitPolicy,
    now: int,
    refreshed: frozenset[str],
    notes: Mapping[str, str],
    earlier: tuple[int, tuple[int, ...]] = (0, ()),
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
    together, others = earlier
    total = together + debit.amount
    result = assess_target(
        account, total, debit.currency, now, policy, target.missing, debits=len(others) + 1
    )
    reasons = result.reasons
    if others:
        rows = wording.listed(others)
        said = f"Row {rows} debits" if len(others) == 1 else f"Rows {rows} debit"
        joint = (
            f"{said} the same account in this batch: "
            f"{format_plain(total, debit.currency)} in all with this one, judged together."
        )
        # First when it is why the row falls short; else after the row's own reasons.
        reasons = (joint, *reasons) if result.verdict == INSUFFICIENT else (*reasons, joint)
    note = notes.get(target.account_id or "")
    return BatchRow(
        **base,
        verdict=result.verdict,
        reasons=(*reasons, note) if note else reasons,
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
    # The ID cell as typed ("acct_nope" too); for a row whose cells do not line up, a cell that
    # reads as an ID
    target = error.target_text or next((v for v in ids if v.startswith(("fca_", "pm_", "cus_"))), "")
    return BatchRow(
        row=error.row,
        target=target,
        target_kind="",
        amount=error.amount,
        currency=error.currency,
        reference=error.reference,
        verdict=ERROR,
        error=error.message,
        amount_text=error.amount_text,
        currency_text=error.currency_text,
    )


def results_csv(svc: Services, actor: Actor, result: BatchResult) -> str:
    """The batch result as the CSV finance downloads (text cells formula-escaped), built on the
    click and audited as ``balances.batch_export`` (refusals too): the rows leave the app."""
    with audited(svc.engine, actor=actor, action="balances.batch_export") as ctx:
        require(actor, "balances.check")
        text = result.to_csv()
        ctx.params["rows"] = len(result.rows)
        ctx.message = f"Exported {len(result.rows)} batch check rows as CSV."
    return text


def policy_in_force(svc: Services, actor: Actor) -> StoredPolicy:
    """The debit policy the next batch check will apply (finance compares it with a result's)."""
    require(actor, "balances.check")
    return load_policy(svc.engine)
