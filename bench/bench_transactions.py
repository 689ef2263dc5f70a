"""The transaction sync job at a fault rate, measured in one run. Numbers for people; no assertions.

    .venv/bin/python -m bench.bench_transactions                  # 500 customers (~2 min here)
    .venv/bin/python -m bench.bench_transactions --customers 2000

The issue asks that each sync complete in one job with Stripe failing half its requests, with
calls within 2.5x of the fault-free count; ``bench.bench_sync`` measures the account and intent
syncs, this the transaction sync of every subscribed account (``jobs_daily.start_transaction_sync``:
in rounds, each a workflow per chunk of accounts on the Stripe queue and a step per account's
part: the account and its first page, then two pages a round). Phase 1's requests per second
against ``--rate`` show whether the shared limit holds.

1. A full account sync first (the mirror says which accounts are subscribed), then the
   transaction sync job on that store, fault-free: its time and calls, against the bare loop
   (the recorded GETs replayed on one keep-alive connection, as ``bench_sync``'s).
2. The same sync again from scratch (transactions and cursors removed, so every account lists
   everything again) with the sandbox failing ``--fault-rate`` of requests (429, 500, slow):
   one job or not, its calls against phase 1's, and the failed attempts: error rows beyond
   phase 1's (an account whose first refresh has not finished writes one each run). Each is an
   account's step that failed and was run again, reading the account again.

The queue's rate (``--rate``) sets the chunks: k ÷ 2 accounts each (k = rate ÷ 5), read one
after another. At 100 req/s (the default) that is 10 accounts, 17 chunks here; at 1000, 100
accounts in 2 chunks, so the sandbox's 3-second slow answers are waited for mostly one at a time
(319 s at 50 % faults against 91 s at 100 req/s, same calls).

The job IDs come from the minute (a second start within it is the same job), so phase 2 waits
for the next minute before it starts.
"""

from __future__ import annotations

import argparse
import logging
import time

from sqlmodel import col, delete, func, select

import bootstrap
from bench.bench_sync import (
    ADMIN,
    bench_settings,
    fresh_store,
    full_sync,
    remote_app,
    replay,
    run_job,
    verdict,
)
from bench.sandbox_process import Call, Cost, measured, start_process
from services.adapters import jobs as engine
from services.adapters import transaction_store
from services.adapters.models import AuditEntry, SyncState, TransactionRecord
from services.adapters.store import session_scope
from services.context import Services
from services.usecases.jobs_daily import start_transaction_sync


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--rate", type=float, default=100, help="the queue's Stripe req/s")
    parser.add_argument("--fault-rate", type=float, default=0.5)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per job")
    return parser.parse_args()


def sync_errors(store: object) -> int:
    with session_scope(store) as session:  # type: ignore[arg-type]
        return int(session.exec(
            select(func.count()).select_from(AuditEntry)
            .where(AuditEntry.action == "transactions.sync", AuditEntry.outcome == "error")
        ).one())


def forget_transactions(store: object) -> None:
    """Every account lists everything again: no transactions, no cursors."""
    with session_scope(store) as session:  # type: ignore[arg-type]
        session.exec(delete(TransactionRecord))  # type: ignore[call-overload]
        session.exec(delete(SyncState).where(col(SyncState.name).startswith("txns:")))  # type: ignore[call-overload]


def next_minute() -> None:
    time.sleep(60 - time.time() % 60 + 0.5)


def main() -> None:
    args = parse_args()
    data, settings = bench_settings("fcops-bench-txns-", args.customers, args.rate)
    sb = start_process(args.customers, seed=settings.sandbox_seed)
    app = remote_app(settings, sb.base_url)
    try:
        bootstrap.start_background(app, serve_webhooks=False)
        logging.getLogger("dbos").setLevel(logging.ERROR)  # retried steps' tracebacks: expected
        engine.serving()
        store = fresh_store(data, "transactions", 1_000)
        engine.bind(Services(gateway=app.gateway, engine=store, mode=app.mode))
        _, accounts = full_sync(args.timeout)
        subscribed = len(transaction_store.subscribed_account_ids(store))
        print(
            f"setup: {args.customers:,} customers, {subscribed:,} accounts subscribed to "
            f"transactions; account sync {accounts.status if accounts else '?'}"
        )
        costs: list[Cost] = []

        def sync(name: str) -> tuple[float, object]:
            return measured(
                costs, sb, name, lambda: run_job(lambda: start_transaction_sync(ADMIN), args.timeout)
            )

        log1: list[Call]
        errors0 = sync_errors(store)
        with sb.recording() as log1:
            job1_s, view1 = sync("1. transaction sync job")
        bare1_s = measured(costs, sb, "1. bare loop", lambda: replay(sb.base_url, log1))
        print(f"1. fault-free: {job1_s:.2f} s, {len(log1):,} calls; "
              f"{getattr(view1, 'status', '?')}: {getattr(view1, 'message', '')}")
        print(f"1. bare loop: {bare1_s:.2f} s; the job's requests/s {len(log1) / job1_s:.0f} "
              f"against the limit {args.rate:g}")

        # Accounts whose first refresh has not finished answer "nothing to list yet", which
        # the audit log keeps as an error row each run: those are not failed attempts.
        waiting_rows = sync_errors(store) - errors0
        forget_transactions(store)
        errors = sync_errors(store)
        next_minute()
        with sb.fault_rate(args.fault_rate), sb.recording() as log2:
            job2_s, view2 = sync(f"2. transaction sync job at {args.fault_rate:.0%} faults")
        failed_attempts = sync_errors(store) - errors - waiting_rows
        # Finished means every account synced: the job also "succeeds" when some accounts
        # could not be read (it says which), and that is not getting through the faults.
        unread = int((getattr(view2, "result", None) or {}).get("errors", -1))
        done = getattr(view2, "status", None) == "succeeded" and unread == 0
        print(f"2. at {args.fault_rate:.0%} faults: {job2_s:.2f} s, {len(log2):,} calls, "
              f"{failed_attempts} failed attempts; {getattr(view2, 'status', '?')}: "
              f"{getattr(view2, 'message', None) or getattr(view2, 'error', '')}")
        ratio = len(log2) / max(1, len(log1))
        rows = [
            ("1. transaction sync: job ÷ bare HTTP loop",
             f"{job1_s / bare1_s:.2f}x ({job1_s:.2f} s ÷ {bare1_s:.2f} s; {len(log1):,} calls)",
             "-", None),
            (f"2. transaction sync at {args.fault_rate:.0%} faults: one job",
             "finished, every account read" if done
             else f"{getattr(view2, 'status', '-')}, {unread} account(s) not read",
             "finishes", done),
            (f"2. transaction sync at {args.fault_rate:.0%} faults: calls ÷ fault-free",
             f"{ratio:.2f}x ({len(log2):,} ÷ {len(log1):,}; {failed_attempts} failed attempts)",
             "≤ 2.5x", ratio <= 2.5),
        ]
        width = max(len(r[0]) for r in rows)
        print()
        print(f"{'measure':<{width}}  {'measured':<50}  {'target':<8}  result")
        for name, value, target, met in rows:
            print(f"{name:<{width}}  {value:<50}  {target:<8}  {verdict(met)}")
        print()
        for cost in costs:
            print(f"  {cost.line()}")
    finally:
        engine.shutdown()
        sb.stop()


if __name__ == "__main__":
    main()
