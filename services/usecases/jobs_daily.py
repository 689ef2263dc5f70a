"""Daily jobs: the transaction sync of every subscribed account, and the optional nightly
refresh of the balances of tomorrow's debits (the accounts of the last uploaded batch).

Same shape as :mod:`services.usecases.jobs`: durable DBOS workflows with deterministic IDs, a
``jobs`` row pages follow, ``jobs.start`` / ``jobs.end`` audit rows, and the per-account Stripe
work in chunks of accounts, each a child workflow (ID ``<job>:<first fca_…>``) on the shared
rate-limited queue with one checkpointed step per account, so a crash resumes with the accounts
not yet done and no account is done twice by one job. The transaction sync runs in rounds (an
account's pages after the first go in later rounds' chunks, IDs ``<job>:r<n>:<first fca_…>``),
so the limiter counts every request however many pages an account has.

The nightly refresh is off unless ``FCOPS_NIGHTLY_REFRESH_HOUR`` (an hour, UTC) is set; it is
one DBOS schedule for the whole deployment. "Tomorrow's debits" are the rows of the newest batch
check that finished within the last 24 hours (the CSV carries no debit date: the batch finance
checked today is the one debited next).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dbos import DBOS, SetEnqueueOptions, SetWorkflowID
from sqlmodel import col, select

from services.adapters import jobs as engine
from services.adapters import transaction_store
from services.adapters.backoff import key_variant
from services.adapters.job_models import JobRecord
from services.adapters.models import utcnow
from services.adapters.store import session_scope
from services.auth import SYSTEM, Actor
from services.errors import ChangeNotMade, RefreshNotAllowed
from services.rules.batch_result import BatchResult
from services.rules.wording import counted
from services.usecases import refresh_balance, sync_transactions
from services.usecases.job_runs import (
    _actor,
    _count_run,
    _job_ended,
    _job_started,
    _reason,
    _record_progress,
    _requests_per_start,
    _retry_unless_refused,
)
from services.usecases.jobs import _allowed, _start, _window

NIGHTLY_SCHEDULE = "fcops-nightly-refresh"
BATCH_MAX_AGE = timedelta(hours=24)  # an older batch is not tomorrow's debits
PROGRESS_EVERY = 10  # accounts between progress writes


# --------------------------------------------------------------------------- transaction sync


@DBOS.step(name="fcops.transactions.subscribed")
def _subscribed() -> list[str]:
    return transaction_store.subscribed_account_ids(engine.bound().engine)


@DBOS.step(name="fcops.transactions.account", retries_allowed=True, max_attempts=5,
           should_retry=_retry_unless_refused)
def _sync_account(
    username: str, role: str, fca: str, state: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One part of an account's sync (:func:`sync_transactions.sync_part`): the account and its
    first page, then :data:`PAGES_PER_PART` pages a part, each part counted by the limiter."""
    return sync_transactions.sync_part(
        engine.bound(), _actor(username, role), fca, state,
        pages=1 if state is None else PAGES_PER_PART,
    )


PAGES_PER_PART = 2  # after the first part (the account and a page): a part is two pages


@DBOS.workflow(name="fcops.jobs.transactions_sync")
def transactions_sync_workflow(username: str, role: str, window: int) -> dict[str, Any]:
    """Every subscribed account's transactions, in rounds: the first reads each account and its
    first page; each later round the next pages of the accounts that have more. A round's
    parts are chunks on the Stripe queue like every fan-out's, so the limiter counts an
    account's pages however many it has (listed in one step, an account of 5,000 transactions
    made 51 requests the limiter counted as 2)."""
    job_id = DBOS.workflow_id or ""
    kind = "transactions.sync"
    _count_run(job_id)
    _job_started(job_id, kind, username, role)
    accounts = _subscribed()
    total = len(accounts)
    _record_progress(job_id, 0, f"Syncing {counted(total, 'subscribed account')}", total)
    ended: list[dict[str, Any]] = []
    parts: list[tuple[str, dict[str, Any] | None]] = [(fca, None) for fca in accounts]
    round_ = turns = 0  # turns: chunks queued in earlier rounds
    while parts:
        results, turns = _fan_out(
            job_id, "transactions", [fca for fca, _ in parts], username, role,
            states=[state for _, state in parts], round_=round_, done=len(ended), total=total,
            first_turn=turns,
        )
        ended += [r for r in results if _over(r)]
        parts = [(str(r["account"]), r) for r in results if not _over(r)]
        round_ += 1
    result = sync_summary(total, ended)
    result["rounds"] = round_
    message = str(result["message"])
    failed = message if accounts and result["errors"] == total else None
    _job_ended(job_id, kind, username, role, failed, None if failed else message, result)
    return result


def sync_summary(total: int, ended: list[dict[str, Any]]) -> dict[str, Any]:
    """The transaction sync's result from its accounts' ends (synced, waiting for a first
    refresh, or an error), with the sentence the Jobs page shows."""
    errors = [r for r in ended if "error" in r]
    waiting = sum(1 for r in ended if r.get("waiting"))
    inserted = sum(int(r.get("inserted", 0)) for r in ended)
    fetched = sum(int(r.get("fetched", 0)) for r in ended)
    message = (
        f"Synced the transactions of {len(ended) - len(errors) - waiting:,} of "
        f"{counted(total, 'subscribed account')}: {fetched:,} received, {inserted:,} new"
        + (f"; {waiting} wait for their first refresh" if waiting else "")
        + (f"; {len(errors)} could not be read ({errors[0]['error']})" if errors else "")
        + "."
    )
    if not total:
        message = ("No account in the store is subscribed to transactions. If the accounts were "
                   "never synced, run “Full account sync” first, then sync transactions.")
    return {"accounts": total, "fetched": fetched, "inserted": inserted,
            "waiting": waiting, "errors": len(errors), "message": message}


def start_transaction_sync(actor: Actor) -> str:
    """Queue the transaction sync of every subscribed account; returns the job ID (the same
    one while it runs or within the minute)."""
    _allowed(actor, "transactions.sync")
    window = _window(engine.bound().now())
    return _start(
        actor, "transactions.sync", {"window": window},
        transactions_sync_workflow, actor.username, actor.role, window,
    )


# --------------------------------------------------------------------------- nightly refresh


@DBOS.step(name="fcops.nightly.open")
def _open_nightly(job_id: str, username: str, role: str) -> None:
    engine.create_job(  # a no-op when a person started it (the row exists)
        engine.bound().engine, job_id, kind="balances.nightly_refresh",
        label="Nightly refresh of tomorrow's debits", actor=username, role=role,
        params={"scheduled": username == SYSTEM.username},
    )


@DBOS.step(name="fcops.nightly.last_batch")
def _last_batch() -> str | None:
    """The newest batch check that finished within :data:`BATCH_MAX_AGE`, if any."""
    with session_scope(engine.bound().engine) as session:
        row = session.exec(
            select(JobRecord.id)
            .where(JobRecord.kind == "balances.batch_check", JobRecord.status == "succeeded")
            .where(col(JobRecord.finished_at) >= utcnow() - BATCH_MAX_AGE)
            .order_by(col(JobRecord.finished_at).desc())
        ).first()
    return str(row) if row else None


@DBOS.step(name="fcops.nightly.refresh_account", retries_allowed=True, max_attempts=5,
           should_retry=_retry_unless_refused)
def _refresh_account(
    job_id: str, username: str, role: str, fca: str, variant: int = 1
) -> dict[str, Any]:
    """One request to start the account's balance refresh, keyed ``<job>:<fca>`` (its
    ``variant``-th key: ``~2``, ``~3`` … as the gateway's ``fresh_key`` spells them). DBOS's
    retries of this step (no answer, the read back failing) repeat the same key, so Stripe
    starts it at most once; a 5xx that made nothing returns ``not_made``: Stripe saved the 5xx
    under this key, so :func:`_refresh_until_made` asks again under the next variant."""
    key = key_variant(f"{job_id}:{fca}", variant)
    try:
        refresh_balance.refresh(
            engine.bound(), _actor(username, role), fca, "balance", idempotency_key=key
        )
    except RefreshNotAllowed as err:  # Stripe's throttle, an inactive account: said, not retried
        return {"account": fca, "started": False, "reason": str(err)}
    except ChangeNotMade as err:  # the same key would only replay the 5xx
        return {"account": fca, "started": False, "not_made": str(err)}
    return {"account": fca, "started": True}


NEW_KEYS = 3  # requests (keys) a refresh gets while Stripe answers 5xx having made nothing
NEW_KEY_PAUSE_SECONDS = 1.0


def _refresh_until_made(job_id: str, username: str, role: str, fca: str) -> dict[str, Any]:
    """The account's refresh, asked again under a new key (the next variant) after each 5xx
    that made nothing, up to :data:`NEW_KEYS` requests. The variant is the count of such
    answers checkpointed before (each try is a step), so a recovered or replayed workflow sends
    the same key for the same try."""
    result = _refresh_account(job_id, username, role, fca)
    variant = 1
    while "not_made" in result and variant < NEW_KEYS:
        DBOS.sleep(NEW_KEY_PAUSE_SECONDS)
        variant += 1
        result = _refresh_account(job_id, username, role, fca, variant)
    if "not_made" in result:
        return {"account": fca, "error": result["not_made"]}
    return result


REQUESTS_PER_ACCOUNT = 2  # an account's work: a refresh, or a transaction page or two


def _over(result: dict[str, Any]) -> bool:
    """Whether an account's work is over: it failed, or it is done (a refresh always is; a
    transaction sync part says ``done`` False while the account has pages left)."""
    return "error" in result or bool(result.get("done", True))


def _fan_out(
    job_id: str, work: str, accounts: list[str], *args: Any,
    states: list[Any] | None = None, round_: int = 0, done: int = 0, total: int | None = None,
    first_turn: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """The accounts in chunks, each a child workflow on the Stripe queue (the limiter counts a
    start as k requests: a chunk holds k // REQUESTS_PER_ACCOUNT accounts); their results, in
    the accounts' order, and the job's next turn. Each account is a checkpointed step, so a
    crash resumes at the first account not yet done. ``states``: each account's part state (the transaction sync's later
    rounds, ``round_`` > 0, whose chunk IDs carry the round); ``done`` of ``total`` accounts
    ended before this round, for the progress line; ``first_turn``: the chunks the job queued
    in earlier rounds, so its turns on the queue (``engine.background_priority``) count on."""
    queue = DBOS.retrieve_queue(engine.STRIPE_QUEUE)
    assert queue is not None
    size = max(1, _requests_per_start() // REQUESTS_PER_ACCOUNT)
    given = states if states is not None else [None] * len(accounts)
    handles: list[Any] = []
    for i in range(0, len(accounts), size):
        chunk = accounts[i : i + size]
        name = f"{job_id}:{chunk[0]}" if round_ == 0 else f"{job_id}:r{round_}:{chunk[0]}"
        turn = first_turn + len(handles)  # the job's chunks so far, earlier rounds' included
        with SetWorkflowID(name), SetEnqueueOptions(priority=engine.background_priority(turn)):
            handles.append(queue.enqueue(
                accounts_chunk_workflow, work, list(args), chunk,
                given[i : i + size] if states is not None else None,
            ))
    results: list[dict[str, Any]] = []
    total = len(accounts) if total is None else total
    for handle in handles:
        before = done + sum(1 for r in results if _over(r))
        results += handle.get_result(polling_interval_sec=0.1)
        now = done + sum(1 for r in results if _over(r))
        if now // PROGRESS_EVERY > before // PROGRESS_EVERY or now == total:
            _record_progress(job_id, now, f"{now:,} of {total:,} accounts done", total)
    return results, first_turn + len(handles)


@DBOS.workflow(name="fcops.daily.accounts_chunk")
def accounts_chunk_workflow(
    work: str, args: list[Any], accounts: list[str], states: list[Any] | None = None
) -> list[dict[str, Any]]:
    """A chunk of accounts, one step each (``work``: 'transactions' or 'refresh'); an account
    that fails is recorded with its reason and the others go on. ``states``: the transaction
    sync's part state per account (None on the first round)."""
    step: Any = {
        "transactions": _sync_account, "refresh": _refresh_until_made
    }[work]
    results: list[dict[str, Any]] = []
    for n, fca in enumerate(accounts):
        try:
            extra = (states[n],) if states is not None else ()
            results.append(step(*args, fca, *extra))
        except Exception as err:  # recorded per account; the other accounts go on
            results.append({"account": fca, "error": _reason(err)})
    return results


@DBOS.workflow(name="fcops.jobs.nightly_refresh")
def nightly_refresh_workflow(scheduled_at: datetime, context: Any) -> None:
    """Start a balance refresh of every account in the last uploaded batch (Stripe finishes them
    asynchronously; their ``refreshed_balance`` events update the mirror)."""
    job_id = DBOS.workflow_id or ""
    kind = "balances.nightly_refresh"
    who = context if isinstance(context, dict) else {}
    username, role = str(who.get("by", SYSTEM.username)), str(who.get("role", SYSTEM.role))
    _open_nightly(job_id, username, role)
    _count_run(job_id)
    _job_started(job_id, kind, username, role)
    batch_id = _last_batch()
    accounts: list[str] = []
    if batch_id is not None:
        batch: BatchResult | None = DBOS.retrieve_workflow(batch_id).get_result()
        seen = [r.account_id for r in (batch.rows if batch else []) if r.account_id]
        accounts = sorted(set(seen))
    results, _ = _fan_out(job_id, "refresh", accounts, job_id, username, role)
    started = sum(1 for r in results if r.get("started"))
    errors = [r for r in results if "error" in r]
    if batch_id is None:
        message = "No batch check finished in the last 24 hours: nothing to refresh."
    else:
        message = (
            f"Started balance refreshes of {started:,} of {counted(len(accounts), 'account')} in "
            f"tomorrow's debits" + (f"; {len(errors)} failed" if errors else "") + "."
        )
    result = {"batch": batch_id, "accounts": len(accounts), "started": started,
              "skipped": len(results) - started - len(errors), "errors": len(errors),
              "message": message}
    _job_ended(job_id, kind, username, role, None, message, result)


def start_nightly_refresh(actor: Actor) -> str:
    """Run the nightly refresh now (at most once a day per person: the same ID for the day)."""
    _allowed(actor, "balances.nightly_refresh")
    day = engine.bound().now() // 86_400
    return _start(
        actor, "balances.nightly_refresh", {"window": day, "by": actor.username},
        nightly_refresh_workflow, utcnow(), {"by": actor.username, "role": actor.role},
        reuse_active=False,
    )


def schedule_nightly_refresh(hour: int) -> bool:
    """Run :func:`nightly_refresh_workflow` daily at ``hour`` UTC (-1: never). One schedule for
    the deployment (DBOS keeps it in its database); True when this call changed it."""
    wanted = f"0 {hour} * * *" if 0 <= hour <= 23 else None
    current = DBOS.get_schedule(NIGHTLY_SCHEDULE)
    if current is not None and (wanted is None or current["schedule"] != wanted):
        DBOS.delete_schedule(NIGHTLY_SCHEDULE)
        current = None
    if wanted is None or current is not None:
        return False
    try:
        DBOS.create_schedule(
            schedule_name=NIGHTLY_SCHEDULE, workflow_fn=nightly_refresh_workflow,
            schedule=wanted, queue_name=engine.JOBS_QUEUE,
        )
    except Exception:  # another process created it between our read and write
        return False
    return True
