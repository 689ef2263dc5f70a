"""Syncs as jobs against bare HTTP loops, measured in one run. Numbers for people; no assertions.

    .venv/bin/python -m bench.bench_sync                     # 500 customers (~2 min here)
    .venv/bin/python -m bench.bench_sync --customers 20000 --no-faults   # the issue's size
    .venv/bin/python -m bench.bench_sync --rate 100 --sandbox-rate 100  # plus phase 1b
    .venv/bin/python -m bench.bench_sync --in-process        # the sandbox in this process

The sandbox runs in a process of its own (``python -m sandbox``, seeded with ``--customers``;
the setup line says how long seeding took), as Stripe is a remote server: the job's threads can
then overlap their client work with the server's, which they cannot when both share one
interpreter (one GIL). ``--in-process`` runs it in this process instead (the earlier way), to
show the difference. This process holds the job engine (DBOS on SQLite files) and a fresh
SQLite store per phase. The bench reaches the sandbox only over HTTP, through its ``/_sandbox``
hooks (``sandbox.client.Simulator``): the fault rate, the rate limit and the request log.

Every /v1 request the sandbox serves while recording is logged (method, path, query and the
headers a replay needs: ``/_sandbox/requests``), so "the same calls" is exact: the bare loop
replays the recorded GETs one after another over one keep-alive HTTP connection, with no SDK,
no store and no queue. The SDK loop makes the same calls through our gateway (the ``stripe``
SDK), one after another, with no store and no queue: job ÷ SDK loop is our own overhead, SDK
loop ÷ bare loop the SDK's (its request building, retries and error handling over
``sdk.KeepAliveClient``; lists are read as JSON without ``StripeObject``s: ``bench.bench_sdk``
compares the two per call).

1. Full account sync through the job path (``jobs.start_account_sync(full=True)``: one step per
   customer page, its customers in chunks of k (k = rate // 5, 1 to 100), each chunk a child
   workflow on the rate-limited queue that fetches its k account lists concurrently and writes
   them in one transaction) vs the bare loop and the SDK loop.
1b. With ``--sandbox-rate R``: the same sync on a fresh store against the sandbox rate-limited to
   R req/s (its token bucket answers 429 beyond), wall time against calls ÷ ``--rate``, and how
   many calls were answered 429.
2. The same sync on a fresh store with the sandbox failing 50 % of requests (429, 500, slow):
   does it finish as one job, and how many calls did it take against the fault-free count
   (``--no-faults`` skips it: long at 20,000 customers).
3. The first intent sync (``jobs.start_intent_sync``) vs the bare loop and the SDK loop.
3b. The same sync on a fresh store at the fault rate of phase 2: one job, and its calls against
   phase 3's (``--no-faults`` skips it too).
4. Webhook ingestion is measured by ``bench.bench_webhooks`` (events/s accepted, lag p50/p95);
   the batch check's request ratio by ``bench.bench_batch``.

The queue's rate (``--rate``, default 10,000 req/s) is set high so the comparison with a
sequential loop measures the job path, not the limiter (at 1,000, 5,000 customers' 5,051 calls
could not take under 5.05 s, about what the job took: the limiter and the job's CPU bound it
alike; 10,000 shows the job's own time). SQL statements and commits are counted
on the store's engine (DBOS's own database is not counted). Every timed part also gets its CPU
time: this process's (all its threads; the sandbox's too with ``--in-process``) against wall,
and the sandbox process's (from ``/proc``); and job ÷ bare loop, SDK loop ÷ bare loop in CPU of
both processes, which other work on the shared cores moves far less than wall time (the setup
and CPU lines print the load average). Two shared cores here, and the job's Python threads
share one GIL: its wall time cannot drop much below its own process's CPU time (only C code
that lets go of the GIL, such as SQLite and socket calls, runs beside the Python).
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import event
from sqlalchemy.engine import Engine

import bootstrap
from bench.sandbox_process import BenchSandbox, Call, Cost, in_process, measured, start_process
from sandbox.client import Simulator
from services.adapters import account_mirror as mirror
from services.adapters import jobs as engine
from services.adapters.gateway import StripeGateway
from services.adapters.models import DataVersion
from services.adapters.settings import Settings, load_settings
from services.adapters.store import open_store, session_scope
from services.auth import Actor
from services.context import Services
from services.usecases import jobs, sync_intents

ADMIN = Actor("bench", "admin")
# How often the bench reads the job's row to see it end. Pages follow a job every second or
# two; every 50 ms (before) the reads cost the job's process 7-10 % of its CPU here (they
# share its GIL), and 0.2 s adds at most 0.2 s (0.1 on average) to a job's measured time.
WATCH_SECONDS = 0.2


@dataclass
class SqlCount:
    statements: int = 0
    commits: int = 0


def count_sql(store: Engine) -> SqlCount:
    counted = SqlCount()
    watcher = threading.get_ident()  # the bench's own polling of the job row is not counted

    def on_statement(*_: Any) -> None:
        if threading.get_ident() != watcher:
            counted.statements += 1

    def on_commit(*_: Any) -> None:
        if threading.get_ident() != watcher:
            counted.commits += 1

    event.listen(store, "before_cursor_execute", on_statement)
    event.listen(store, "commit", on_commit)
    return counted


def fresh_store(data: Path, name: str, version: int) -> Engine:
    """A new SQLite store whose data versions start at ``version``: the job IDs (derived from
    kind, minute and data version) then differ from earlier phases' in this minute."""
    store = open_store(f"sqlite:///{data / f'{name}.db'}")
    with session_scope(store) as session:
        for kind in ("accounts", "intents"):
            session.add(DataVersion(name=kind, version=version))
    return store


def run_job(start: Callable[[], str], timeout: float) -> tuple[float, Any]:
    began = time.perf_counter()
    job_id = start()
    deadline = time.monotonic() + timeout
    view = jobs.job(job_id)
    while time.monotonic() < deadline:
        view = jobs.job(job_id)
        if view is not None and not view.active:
            break
        time.sleep(WATCH_SECONDS)
    return time.perf_counter() - began, view


def full_sync(timeout: float) -> tuple[float, Any]:
    return run_job(lambda: jobs.start_account_sync(ADMIN, full=True), timeout)


def replay(base_url: str, recorded: list[Call]) -> float:
    """The recorded GETs, one after another on one keep-alive connection, each body parsed."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
    began = time.perf_counter()
    for method, path, query, headers in recorded:
        if method != "GET":
            continue
        conn.request("GET", f"{path}?{query}" if query else path, headers=headers)
        json.loads(conn.getresponse().read())  # a client reads what it asked for
    seconds = time.perf_counter() - began
    conn.close()
    return seconds


def sdk_accounts_loop(gw: Any) -> float:
    """The full walk's calls through our gateway (the SDK), one after another: no store, no
    queue. The job's own overhead is job ÷ this; this ÷ the bare loop is the SDK's."""
    began = time.perf_counter()
    next(iter(gw.iter_events(types=mirror.SYNC_EVENTS)), None)
    after: str | None = None
    while True:
        page, more = gw.list_customers_page(limit=100, starting_after=after)
        for customer in page:
            gw.list_accounts(customer=customer["id"])
        if not more or not page:
            return time.perf_counter() - began
        after = str(page[-1]["id"])


def sdk_intents_loop(gw: Any, since: int) -> float:
    """The first intent sync's calls through our gateway, one after another."""
    began = time.perf_counter()
    list(gw.iter_events(types=sync_intents.CHANGE_EVENTS, created_gte=since))
    list(gw.iter_setup_intents(created_gte=since, expand=sync_intents.SETUP_EXPAND))
    list(gw.iter_payment_intents(created_gte=since, expand=sync_intents.PAYMENT_EXPAND))
    return time.perf_counter() - began


Row = tuple[str, str, str, bool | None]


def intent_phase(
    app: Any, sb: BenchSandbox, sql: SqlCount, timeout: float, costs: list[Cost]
) -> tuple[list[Row], int]:
    """3. The first intent sync: job path vs bare loop and SDK loop (on phase 2's store:
    accounts, no intents)."""
    before = sql.commits
    with sb.recording() as log3:
        job3_s, view3 = measured(
            costs, sb, "3. intent sync job", lambda: run_job(lambda: jobs.start_intent_sync(ADMIN), timeout)
        )
    commits3 = sql.commits - before
    bare3_s = measured(costs, sb, "3. intent sync bare loop", lambda: replay(sb.base_url, log3))
    since3 = Services(gateway=app.gateway, engine=app.engine, mode=app.mode).now()
    with sb.recording() as sdk3_log:
        sdk3_s = measured(
            costs, sb, "3. intent sync SDK loop",
            lambda: sdk_intents_loop(app.gateway, since3 - sync_intents.FULL_WINDOW_SECONDS),
        )
    print(
        f"intent sync job: {job3_s:.2f} s, {len(log3):,} calls, {commits3:,} commits; "
        f"{view3.status if view3 else '?'}: {view3.message if view3 else ''}"
    )
    print(f"intent sync bare loop: {bare3_s:.2f} s, {len(log3):,} calls")
    print(f"intent sync SDK loop: {sdk3_s:.2f} s, {len(sdk3_log):,} calls")
    ratio3 = job3_s / bare3_s
    return [
        (
            "3. first intent sync: job ÷ bare HTTP loop (same calls)",
            f"{ratio3:.2f}x ({job3_s:.2f} s ÷ {bare3_s:.2f} s; {len(log3):,} calls; "
            f"{commits3:,} commits)",
            "≤ 1.2x",
            ratio3 <= 1.2,
        ),
        (
            "3. first intent sync: job ÷ SDK loop (our overhead)",
            f"{job3_s / sdk3_s:.2f}x ({sdk3_s:.2f} s; SDK ÷ bare {sdk3_s / bare3_s:.2f}x)",
            "-",
            None,
        ),
    ], len(log3)


def intent_fault_phase(
    sb: BenchSandbox, fault_rate: float, timeout: float, costs: list[Cost], fault_free: int
) -> list[Row]:
    """3b. The first intent sync at a fault rate, on a fresh store: one job, its calls against
    the fault-free job's (phase 3)."""
    name = f"3b. intent sync job at {fault_rate:.0%} faults"
    with sb.fault_rate(fault_rate), sb.recording() as log:
        job_s, view = measured(
            costs, sb, name, lambda: run_job(lambda: jobs.start_intent_sync(ADMIN), timeout)
        )
    done = view is not None and view.status == "succeeded"
    print(
        f"intent sync job at {fault_rate:.0%} faults: {job_s:.2f} s, {len(log):,} calls; "
        f"{view.status if view else '?'}: {(view.message or view.error) if view else ''}"
    )
    ratio = len(log) / max(1, fault_free)
    return [
        (
            f"3b. first intent sync at {fault_rate:.0%} faults: one job",
            "finished" if done else f"did not finish ({view.status if view else '-'})",
            "finishes",
            done,
        ),
        (
            f"3b. first intent sync at {fault_rate:.0%} faults: calls ÷ fault-free",
            f"{ratio:.2f}x ({len(log):,} ÷ {fault_free:,})",
            "≤ 2.5x",
            ratio <= 2.5,
        ),
    ]


def load() -> str:
    """The machine's 1/5/15-minute load: other work on the shared cores shows as wall > CPU."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def verdict(met: bool | None) -> str:
    return "-" if met is None else "MET" if met else "MISSED"


def remote_app(settings: Settings, base_url: str) -> bootstrap.App:
    """The app as ``bootstrap.build_app`` builds it in sandbox mode, but pointed at a sandbox
    already running elsewhere (no demo users, no seeded check history: the bench needs neither)."""
    gateway = StripeGateway(
        bootstrap.SANDBOX_KEY,
        base_url=base_url,
        timeout_seconds=settings.stripe_timeout_seconds,
        max_network_retries=settings.stripe_max_retries,
    )
    store = open_store(settings.resolved_database_url)
    return bootstrap.App(
        settings=settings,
        services=Services(gateway=gateway, engine=store, mode=settings.mode),
        simulator=Simulator(base_url),
        sandbox=None,
        cookie_key="bench",
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--rate", type=float, default=10_000, help="the queue's Stripe req/s")
    parser.add_argument("--fault-rate", type=float, default=0.5)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per job")
    parser.add_argument("--no-faults", action="store_true", help="skip phase 2 (long at 20,000)")
    parser.add_argument("--skip-intents", action="store_true", help="skip phase 3")
    parser.add_argument(
        "--sandbox-rate", type=float, default=0,
        help="also run phase 1b: the sandbox rate-limited to this many req/s (429 beyond)",
    )
    parser.add_argument(
        "--in-process", action="store_true",
        help="run the sandbox in this process (one interpreter for job, loops and server)",
    )
    return parser.parse_args()


def bench_settings(prefix: str, customers: int, rate: float) -> tuple[Path, Settings]:
    """A new data folder and the settings a sync bench runs with (no safety-net schedule)."""
    data = Path(tempfile.mkdtemp(prefix=prefix))
    env = {
        "FCOPS_DATA_DIR": str(data),
        "FCOPS_SANDBOX_CUSTOMERS": str(customers),
        "FCOPS_SANDBOX_REFRESH_DELAY": "0",
        "FCOPS_STRIPE_RATE_LIMIT": str(rate),
        "FCOPS_SAFETY_SYNC_MINUTES": "0",
    }
    return data, load_settings(env, secrets_path=data / "absent.toml")


def main() -> None:
    args = parse_args()
    data, settings = bench_settings("fcops-bench-sync-", args.customers, args.rate)
    began = time.perf_counter()
    if args.in_process:
        app = bootstrap.build_app(settings)  # starts and seeds the sandbox in this process
        assert app.sandbox is not None
        sb = in_process(app.sandbox, time.perf_counter() - began)
    else:
        sb = start_process(args.customers, seed=settings.sandbox_seed)
        app = remote_app(settings, sb.base_url)
    try:
        run(args, data, app, sb, began)
    finally:
        engine.shutdown()
        sb.stop()


def run(args: argparse.Namespace, data: Path, app: bootstrap.App, sb: BenchSandbox, began: float) -> None:
    bootstrap.start_background(app, serve_webhooks=False)
    logging.getLogger("dbos").setLevel(logging.ERROR)  # retried steps' tracebacks: expected here
    # DBOS starts a queue's worker thread up to a second after the queue is registered: the
    # first job must not wait for that (a one-off per process, not the job path's cost)
    serving = engine.serving()
    print(
        f"setup: sandbox with {args.customers:,} customers in {sb.where}, seeded and answering "
        f"in {sb.seed_seconds:.1f} s; with the job engine "
        f"{'serving' if serving else 'NOT serving (queue workers missing)'} "
        f"{time.perf_counter() - began:.1f} s; "
        f"queue rate {args.rate:g} req/s; load average {load()}"
    )
    costs: list[Cost] = []

    def bound(name: str, version: int) -> tuple[Engine, SqlCount]:
        store = fresh_store(data, name, version)
        engine.bind(Services(gateway=app.gateway, engine=store, mode=app.mode))
        return store, count_sql(store)

    def sync(name: str) -> tuple[float, Any]:
        return measured(costs, sb, name, lambda: full_sync(args.timeout))

    # 1. full account sync: job path vs bare loop
    _, sql1 = bound("accounts", 1_000)
    with sb.recording() as log1:
        job1_s, view1 = sync("1. account sync job")
    bare1_s = measured(costs, sb, "1. account sync bare loop", lambda: replay(sb.base_url, log1))
    with sb.recording() as sdk1_log:
        sdk1_s = measured(costs, sb, "1. account sync SDK loop", lambda: sdk_accounts_loop(app.gateway))
    print(
        f"account sync job: {job1_s:.2f} s, {len(log1):,} calls, {sql1.statements:,} SQL "
        f"statements, {sql1.commits:,} commits; {view1.status if view1 else '?'}: "
        f"{view1.message if view1 else ''}"
    )
    print(f"account sync bare loop: {bare1_s:.2f} s, {len(log1):,} calls")
    print(f"account sync SDK loop: {sdk1_s:.2f} s, {len(sdk1_log):,} calls")

    # 1b. the same sync against a rate-limited sandbox: wall vs calls ÷ the queue's rate
    limited: tuple[float, int, Any, int] | None = None
    if args.sandbox_rate > 0:
        bound("accounts-limited", 1_500)
        with sb.rate_limit(args.sandbox_rate), sb.recording() as log1b:
            job1b_s, view1b = sync("1b. account sync job, rate-limited sandbox")
        limited = (job1b_s, len(log1b), view1b, sb.refused)
        print(
            f"account sync job, sandbox at {args.sandbox_rate:g} req/s, queue at {args.rate:g}: "
            f"{job1b_s:.2f} s, {len(log1b):,} calls ({sb.refused} answered 429); "
            f"{view1b.status if view1b else '?'}: {view1b.message if view1b else ''}"
        )

    # 2. the same sync at a fault rate, fresh store
    _, sql2 = bound("accounts-faults", 2_000)
    log2: list[Call] = []
    job2_s, view2 = 0.0, None
    if not args.no_faults:
        with sb.fault_rate(args.fault_rate), sb.recording() as log2:
            job2_s, view2 = sync(f"2. account sync job at {args.fault_rate:.0%} faults")
        print(
            f"account sync job at {args.fault_rate:.0%} faults: {job2_s:.2f} s, {len(log2):,} "
            f"calls, {sql2.commits:,} commits; {view2.status if view2 else '?'}: "
            f"{(view2.message or view2.error) if view2 else ''}"
        )
    done2 = view2 is not None and view2.status == "succeeded"

    ratio1 = job1_s / bare1_s
    calls2 = len(log2) / max(1, len(log1))
    lines: list[Row] = [
        (
            "1. account sync: job ÷ bare HTTP loop (same calls)",
            f"{ratio1:.2f}x ({job1_s:.2f} s ÷ {bare1_s:.2f} s; {len(log1):,} calls each)",
            "≤ 1.2x",
            ratio1 <= 1.2,
        ),
        (
            "1. account sync: job ÷ SDK loop (our overhead over the SDK)",
            f"{job1_s / sdk1_s:.2f}x ({sdk1_s:.2f} s; SDK ÷ bare {sdk1_s / bare1_s:.2f}x)",
            "-",
            None,
        ),
        *(
            [(
                f"1b. account sync, sandbox at {args.sandbox_rate:g} req/s: wall ÷ (calls ÷ rate)",
                f"{limited[0] / (limited[1] / args.rate):.2f}x ({limited[0]:.2f} s ÷ "
                f"({limited[1]:,} ÷ {args.rate:g}/s))",
                "≤ 1.2x",
                limited[0] / (limited[1] / args.rate) <= 1.2,
            )]
            if limited
            else []
        ),
        *(
            []
            if args.no_faults
            else [
                (
                    f"2. account sync at {args.fault_rate:.0%} faults: one job",
                    "finished" if done2 else f"did not finish ({view2.status if view2 else '-'})",
                    "finishes",
                    done2,
                ),
                (
                    f"2. account sync at {args.fault_rate:.0%} faults: calls ÷ fault-free",
                    f"{calls2:.2f}x ({len(log2):,} ÷ {len(log1):,})",
                    "≤ 2.5x",
                    calls2 <= 2.5,
                ),
            ]
        ),
    ]
    if not args.skip_intents:
        rows3, calls3 = intent_phase(app, sb, sql2, args.timeout, costs)
        lines += rows3
        if not args.no_faults:
            bound("intents-faults", 3_000)
            lines += intent_fault_phase(sb, args.fault_rate, args.timeout, costs, calls3)
    width = max(len(name) for name, *_ in lines)
    print()
    print(f"{'measure':<{width}}  {'measured':<50}  {'target':<8}  result")
    for name, measured_, target, met in lines:
        print(f"{name:<{width}}  {measured_:<50}  {target:<8}  {verdict(met)}")
    print(
        f"{'4. webhook ingestion (events/s, lag p50/p95)':<{width}}  "
        f"{'see: python -m bench.bench_webhooks':<50}  {'-':<8}  -"
    )
    print()
    print(f"CPU time (sandbox in {sb.where}; load average now {load()}):")
    for cost in costs:
        print(f"  {cost.line()}")
    print_cpu_ratios(costs)


def print_cpu_ratios(costs: list[Cost]) -> None:
    """Job and SDK loop ÷ bare loop in CPU of both processes: what each costs the machine,
    which other work on shared cores changes far less than it changes wall time."""
    by_name = {cost.name: cost for cost in costs}
    for phase in ("1. account sync", "3. intent sync"):
        bare = by_name.get(f"{phase} bare loop")
        if bare is None or bare.total <= 0:
            continue
        ratios = [
            f"{what} ÷ bare loop {by_name[f'{phase} {what}'].total / bare.total:.2f}x "
            f"({by_name[f'{phase} {what}'].total:.2f} s ÷ {bare.total:.2f} s)"
            for what in ("job", "SDK loop")
            if f"{phase} {what}" in by_name
        ]
        print(f"  {phase}, CPU of both processes: {'; '.join(ratios)}")


if __name__ == "__main__":
    main()
