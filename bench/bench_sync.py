"""Syncs as jobs against bare HTTP loops, measured in one run. Numbers for people; no assertions.

    .venv/bin/python -m bench.bench_sync                     # 500 customers (~2 min here)
    .venv/bin/python -m bench.bench_sync --customers 20000 --no-faults   # the issue's size
    .venv/bin/python -m bench.bench_sync --rate 100 --sandbox-rate 100  # plus phase 1b

One process: a sandbox seeded with ``--customers``, the job engine (DBOS on SQLite files) and a
fresh SQLite store per phase. Every /v1 request the sandbox serves is recorded (method, path,
query), so "the same calls" is exact: the bare loop replays the recorded GETs one after another
over one keep-alive HTTP connection, with no SDK, no store and no queue. The SDK loop makes the
same calls through our gateway (the ``stripe`` SDK), one after another, with no store and no
queue: job ÷ SDK loop is our own overhead, SDK loop ÷ bare loop the SDK's (its request
building, retries and error handling over ``sdk.KeepAliveClient``; lists are read as JSON
without ``StripeObject``s: ``bench.bench_sdk`` compares the two per call).

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
4. Webhook ingestion is measured by ``bench.bench_webhooks`` (events/s accepted, lag p50/p95);
   the batch check's request ratio by ``bench.bench_batch``.

The queue's rate (``--rate``, default 1000 req/s) is set high so the comparison with a
sequential loop measures the job path, not the limiter. SQL statements and commits are counted
on the store's engine (DBOS's own database is not counted). The sandbox runs in this process,
so the job's threads, the sandbox and the loops share one interpreter (and here two shared
cores): concurrency cannot make the job beat a sequential loop of cheaper calls.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import event
from sqlalchemy.engine import Engine

import bootstrap
import sandbox.server as sandbox_server
from services.adapters import account_mirror as mirror
from services.adapters import jobs as engine
from services.adapters.models import DataVersion
from services.adapters.settings import load_settings
from services.adapters.store import open_store, session_scope
from services.auth import Actor
from services.context import Services
from services.usecases import jobs, sync_intents

ADMIN = Actor("bench", "admin")


@dataclass
class Calls:
    """The /v1 requests the sandbox served while recording."""

    on: bool = False
    refused: int = 0  # 429s answered while recording (the rate-limited phase's overshoot)
    log: list[tuple[str, str, str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def recording(self) -> Iterator[list[tuple[str, str, str, dict[str, str]]]]:
        with self.lock:
            self.log = []
            self.refused = 0
            self.on = True
        try:
            yield self.log
        finally:
            with self.lock:
                self.on = False


def install_recorder() -> Calls:
    calls = Calls()
    original: Callable[..., Any] = sandbox_server.core.handle

    def handle(state: Any, method: str, path: str, **kw: Any) -> Any:
        if calls.on and path.startswith("/v1/"):
            headers = kw.get("headers") or {}
            keep = {
                k: v
                for k, v in headers.items()
                if k.lower() in ("authorization", "stripe-version", "stripe-account")
            }
            with calls.lock:
                calls.log.append((method, path, str(kw.get("query") or ""), keep))
        answer = original(state, method, path, **kw)
        if calls.on and getattr(answer, "status", None) == 429:
            with calls.lock:
                calls.refused += 1
        return answer

    sandbox_server.core.handle = handle
    return calls


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
        time.sleep(0.05)
    return time.perf_counter() - began, view


def full_sync(timeout: float) -> tuple[float, Any]:
    return run_job(lambda: jobs.start_account_sync(ADMIN, full=True), timeout)


@contextmanager
def sandbox_set(config: Any, name: str, value: float) -> Iterator[None]:
    """The sandbox's ``name`` (fault rate, rate limit) at ``value`` for the block, then 0."""
    setattr(config, name, value)
    try:
        yield
    finally:
        setattr(config, name, 0.0)


def replay(base_url: str, recorded: list[tuple[str, str, str, dict[str, str]]]) -> float:
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
    list(gw.iter_setup_intents(created_gte=since, expand=["payment_method"]))
    list(gw.iter_payment_intents(created_gte=since, expand=["payment_method"]))
    return time.perf_counter() - began


Row = tuple[str, str, str, bool | None]


def intent_phase(app: Any, base_url: str, calls: Calls, sql: SqlCount, timeout: float) -> list[Row]:
    """3. The first intent sync: job path vs bare loop and SDK loop (on phase 2's store:
    accounts, no intents)."""
    before = sql.commits
    with calls.recording() as log3:
        job3_s, view3 = run_job(lambda: jobs.start_intent_sync(ADMIN), timeout)
    commits3 = sql.commits - before
    bare3_s = replay(base_url, log3)
    since3 = Services(gateway=app.gateway, engine=app.engine, mode=app.mode).now()
    with calls.recording() as sdk3_log:
        sdk3_s = sdk_intents_loop(app.gateway, since3 - sync_intents.FULL_WINDOW_SECONDS)
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
    ]


def verdict(met: bool | None) -> str:
    return "-" if met is None else "MET" if met else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--rate", type=float, default=1000, help="the queue's Stripe req/s")
    parser.add_argument("--fault-rate", type=float, default=0.5)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per job")
    parser.add_argument("--no-faults", action="store_true", help="skip phase 2 (long at 20,000)")
    parser.add_argument("--skip-intents", action="store_true", help="skip phase 3")
    parser.add_argument(
        "--sandbox-rate", type=float, default=0,
        help="also run phase 1b: the sandbox rate-limited to this many req/s (429 beyond)",
    )
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="fcops-bench-sync-"))
    settings = load_settings(
        {
            "FCOPS_DATA_DIR": str(data),
            "FCOPS_SANDBOX_CUSTOMERS": str(args.customers),
            "FCOPS_SANDBOX_REFRESH_DELAY": "0",
            "FCOPS_STRIPE_RATE_LIMIT": str(args.rate),
            "FCOPS_SAFETY_SYNC_MINUTES": "0",
        },
        secrets_path=data / "absent.toml",
    )
    began = time.perf_counter()
    app = bootstrap.build_app(settings)
    bootstrap.start_background(app, serve_webhooks=False)
    assert app.sandbox is not None
    handle = app.sandbox
    logging.getLogger("dbos").setLevel(logging.ERROR)  # retried steps' tracebacks: expected here
    calls = install_recorder()
    print(
        f"setup: sandbox with {args.customers:,} customers and job engine in "
        f"{time.perf_counter() - began:.1f} s; queue rate {args.rate:g} req/s"
    )

    def bound(name: str, version: int) -> tuple[Engine, SqlCount]:
        store = fresh_store(data, name, version)
        engine.bind(Services(gateway=app.gateway, engine=store, mode=app.mode))
        return store, count_sql(store)

    # 1. full account sync: job path vs bare loop
    _, sql1 = bound("accounts", 1_000)
    with calls.recording() as log1:
        job1_s, view1 = full_sync(args.timeout)
    bare1_s = replay(handle.base_url, log1)
    with calls.recording() as sdk1_log:
        sdk1_s = sdk_accounts_loop(app.gateway)
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
        with (
            sandbox_set(handle.state.config, "rate_limit", args.sandbox_rate),
            calls.recording() as log1b,
        ):
            job1b_s, view1b = full_sync(args.timeout)
        limited = (job1b_s, len(log1b), view1b, calls.refused)
        print(
            f"account sync job, sandbox at {args.sandbox_rate:g} req/s, queue at {args.rate:g}: "
            f"{job1b_s:.2f} s, {len(log1b):,} calls ({calls.refused} answered 429); "
            f"{view1b.status if view1b else '?'}: {view1b.message if view1b else ''}"
        )

    # 2. the same sync at a fault rate, fresh store
    _, sql2 = bound("accounts-faults", 2_000)
    log2: list[Any] = []
    job2_s, view2 = 0.0, None
    if not args.no_faults:
        with (
            sandbox_set(handle.state.config, "fault_rate", args.fault_rate),
            calls.recording() as log2,
        ):
            job2_s, view2 = full_sync(args.timeout)
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
        lines += intent_phase(app, handle.base_url, calls, sql2, args.timeout)
    width = max(len(name) for name, *_ in lines)
    print()
    print(f"{'measure':<{width}}  {'measured':<50}  {'target':<8}  result")
    for name, measured, target, met in lines:
        print(f"{name:<{width}}  {measured:<50}  {target:<8}  {verdict(met)}")
    print(
        f"{'4. webhook ingestion (events/s, lag p50/p95)':<{width}}  "
        f"{'see: python -m bench.bench_webhooks':<50}  {'-':<8}  -"
    )
    engine.shutdown()
    handle.stop()


if __name__ == "__main__":
    main()
