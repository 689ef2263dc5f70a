"""Every page's AppTest rerun at 1x and 100x the demo store, in one run, with the ratio.

    .venv/bin/python -m bench.bench_pages                     # SQLite, then PostgreSQL; 20,000 customers
    .venv/bin/python -m bench.bench_pages --db sqlite         # one backend (or --db postgres)
    .venv/bin/python -m bench.bench_pages --customers 2000    # a quicker look (10x)
    .venv/bin/python -m bench.bench_pages --db postgres --database-url postgresql://…/db

Two worker processes each fill a store by direct bulk inserts (not the sandbox's generation): one
to 1/100 of ``--customers``, at most 200 (the "1x" demo size), the other to ``--customers``. Per
customer: 1.5 FC accounts, 2.3 intents, ``--transactions`` / ``--customers`` transactions, one
ownership check per account, 5 debits of the last 90 days (4 % returned, some retried, some
blocking the account) with a pre-debit check before most and a webhook event each, 4 background
jobs (bench/page_fill.py). Syncs are marked as done so no page syncs on its own. Each state is
opened in both workers and their reruns alternate (1x, 100x, 100x, 1x, ...), so load from
anything else on the machine falls on both sides of a ratio alike. Each state is timed twice:
"warm", the median of reruns as they come (figures cached on a data version hit), and "cold", the
median of reruns each right after every data version moved on, as when a sync or webhook lands
(every cached figure is computed again), so a cache cannot hide work proportional to what is
stored. A page holding only a title
is the floor. Each worker runs its app in-process (AppTest), so the peak RSS printed is the 100x
server process's. On PostgreSQL each worker creates a private schema and drops it afterwards, and
its filled tables are vacuumed and analysed after the fill (as autovacuum would be soon after a
bulk load). ``--db both`` (the default) runs SQLite and then PostgreSQL and prints one table per
backend. ``--profile`` prints where the Home and Conversion store reads spend their time at 100x.
Numbers are for people; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.page_fill import DAY, NOW, fill, fill_debits, mark_synced  # noqa: E402

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


# --------------------------------------------------------------------------- states

State = tuple[str, str | None, str, Callable[[Any], None] | None]
# (label, page file or None for the floor, role, how to reach the state from the opened page)


def _query(key: str, value: str) -> Callable[[Any], None]:
    def go(at: Any) -> None:
        at.query_params[key] = value
        at.run()

    return go


def _set(kind: str, key: str, value: Any) -> Callable[[Any], None]:
    def go(at: Any) -> None:
        getattr(at, kind)(key=key).set_value(value)
        at.run()

    return go


def _first(key: str) -> Callable[[Any], None]:
    def go(at: Any) -> None:
        at.selectbox(key=key).select_index(0)
        at.run()

    return go


def _returns_filtered(at: Any) -> None:
    at.segmented_control(key="returns_by").set_value("institution")
    at.run()
    at.selectbox(key="returns_show").set_value("administrative")
    at.run()


def _retry_open(at: Any) -> None:
    at.text_input(key="returns_retry_search").set_value(PICKED["retry"])
    at.run()
    at.selectbox(key="returns_retry_pick").set_value(PICKED["retry"])
    at.run()


def _look_up(at: Any) -> None:
    at.text_input(key="lookup_id").set_value(PICKED["lookup"])
    at.button[0].click()  # the form's "Look up"
    at.run()


# IDs the "one record open" states choose, found once the store is filled (the same at 1x and
# 100x: a returned debit of the first customers, a PaymentIntent of the sandbox)
PICKED: dict[str, str] = {}


def pick_records(engine: Any) -> None:
    from sqlalchemy import select

    from services.adapters.models import DebitOutcomeRecord as D
    from tests.app.conftest import shared_app

    with engine.connect() as conn:
        first = select(D.id).where(D.id == D.original_id, D.status == "returned").order_by(D.id)
        retryable = first.where(D.return_code.in_(["R01", "R09", "R01/R09"]))
        PICKED["retry"] = (
            conn.execute(retryable.where(D.created > NOW - 50 * DAY).limit(1)).scalar()
            or conn.execute(first.limit(1)).scalar()  # a small store may have no recent R01
            or ""
        )
    gateway = shared_app().services.gateway
    PICKED["lookup"] = str(next(iter(gateway.iter_payment_intents(created_gte=0)))["id"])


def states() -> list[State]:
    one = "fca_b00000010"
    return [
        ("Home (admin)", "pages/home.py", "admin", None),
        ("Home (ops)", "pages/home.py", "ops", None),
        ("Accounts", "pages/accounts.py", "ops", None),
        ("Accounts, one account open", "pages/accounts.py", "ops", _query("account", one)),
        ("Payment lookup", "pages/payment_lookup.py", "ops", None),
        ("Payment lookup, one intent found", "pages/payment_lookup.py", "ops", _look_up),
        ("Ownership review", "pages/ownership.py", "ops", None),
        (
            "Ownership review list",
            "pages/ownership.py",
            "ops",
            _set("segmented_control", "own_view", "Review list"),
        ),
        ("Transactions", "pages/transactions.py", "ops", None),
        ("Transactions, one account open", "pages/transactions.py", "ops", _query("account", one)),
        ("Blocked accounts", "pages/blocked.py", "ops", None),
        ("Blocked accounts, search", "pages/blocked.py", "ops", _set("text_input", "blocked_search", "harbor")),
        ("Blocked accounts, one open", "pages/blocked.py", "ops", _first("blocked_pick")),
        ("Collect", "pages/collect.py", "ops", None),
        ("Balance check", "pages/balance_check.py", "finance", None),
        ("Batch check", "pages/batch_check.py", "finance", None),
        ("Returns", "pages/returns.py", "finance", None),
        ("Returns (admin: policy options)", "pages/returns.py", "admin", None),
        ("Returns, by bank, administrative", "pages/returns.py", "finance", _returns_filtered),
        ("Returns, one return to retry", "pages/returns.py", "finance", _retry_open),
        ("Conversion", "pages/conversion.py", "manager", None),
        ("Conversion, one method", "pages/conversion.py", "manager", None),
        ("Flow configuration", "pages/flows.py", "admin", None),
        ("Debit policy", "pages/policy.py", "admin", None),
        ("Jobs", "pages/jobs.py", "admin", None),
        ("Jobs, failed", "pages/jobs.py", "admin", _set("segmented_control", "jobs_filter", "failed")),
        ("Audit log", "pages/audit.py", "admin", None),
    ]


def open_state(state: State, floor_file: str) -> Any:
    """An AppTest of the page, signed in as the state's role, brought to the state (run once)."""
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import open_page

    label, page, role, reach = state
    if page is None:
        at = AppTest.from_file(floor_file, default_timeout=600)
        at.run()
        return at
    at = open_page(page, role, timeout=600)
    if reach is not None:
        reach(at)
    if label == "Conversion, one method":
        box = [m for m in at.multiselect if "method" in (m.label or "").lower()]
        if box:
            box[0].set_value(["instant"])
            at.run()
    return at


def land_writes(engine: Any) -> None:
    """What a sync or webhook landing does to the pages' caches: every data version moves on
    (in one transaction, as a writer bumps the version of what it changed), so each cached
    figure keyed on one is computed again on the next rerun."""
    from services.adapters import data_version
    from services.adapters.store import session_scope

    with session_scope(engine) as session:
        for name in data_version.ALL:
            data_version.bump(session, name)


def rerun(at: Any) -> float:
    """One rerun of the page as it stands, in ms."""
    began = time.perf_counter()
    at.run()
    return (time.perf_counter() - began) * 1000


def profile_services(engine: Any) -> None:
    """cProfile what the Home (admin) and Conversion reruns ask of the store, called directly
    (AppTest runs the script in a thread a profiler in this one would not see), uncached."""
    import cProfile
    import pstats
    from datetime import UTC, datetime, timedelta

    from services.auth import Actor
    from services.usecases import conversion_report, overview

    today = datetime.fromtimestamp(NOW, UTC).date()
    admin = Actor("admin", "admin")

    def rerun_work() -> None:
        overview.overview_from_store(engine, admin, now=NOW)
        conversion_report.store_info(engine)
        for by in (None, "week"):
            conversion_report.conversion(
                engine, now=NOW, start=today - timedelta(days=90), end=today, by=by
            )

    rerun_work()  # warm the database's page cache first
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(3):
        rerun_work()
    profiler.disable()
    print("\nprofile: Home (admin) overview + Conversion figures, 3 times", file=sys.stderr)
    pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(15)


FLOOR: State = ("Title only (floor)", None, "", None)


def chosen_states(only: str) -> list[State]:
    wanted = [w.strip().lower() for w in only.split(",") if w.strip()]
    return [FLOOR] + [st for st in states() if not wanted or any(w in st[0].lower() for w in wanted)]


def run_backends(args: argparse.Namespace, backends: list[str]) -> None:
    """Each backend in turn, so their tables print one below the other."""
    for db in backends:
        run_pair(args, db)


# --------------------------------------------------------------------------- the paired run
#
# Two worker processes, one per store size, each with its own store and its own app: the 1x
# worker filled to the demo size, the 100x worker to --customers. The parent opens the same
# state in both and then alternates their reruns (1x, 100x, 100x, 1x, ...), so whatever else the
# machine does at a moment lands on both sides of a ratio alike, instead of on whichever size
# happened to be measured then (a sequential 1x-then-100x run on a shared 2-core machine put
# the floor itself at 2.2x).

ANSWER = "@@ "  # a worker's answers; anything else it prints (Streamlit's logging) is passed through


class Worker:
    def __init__(self, args: argparse.Namespace, db: str, customers: int, now: int) -> None:
        import subprocess

        command = [sys.executable, "-m", "bench.bench_pages", "--serve", "--db", db]
        command += ["--customers", str(customers), "--transactions", str(args.transactions)]
        command += ["--per-customer", str(per_customer(args)), "--database-url", args.database_url]
        command += ["--only", args.only]  # the worker numbers the states as the parent does
        command += ["--profile"] if args.profile and customers == args.customers else []
        env = os.environ | {"FCOPS_BENCH_NOW": str(now)}
        self.proc = subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )

    def ask(self, line: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if line:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        while True:
            got = self.proc.stdout.readline()
            if not got:
                raise RuntimeError(f"the bench worker stopped (exit {self.proc.wait()})")
            if got.startswith(ANSWER):
                return got[len(ANSWER):].strip()
            sys.stderr.write(got)

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.ask("quit")
        finally:
            self.proc.wait(timeout=120)


def per_customer(args: argparse.Namespace) -> int:
    return max(0, args.transactions // max(1, args.customers))


def run_pair(args: argparse.Namespace, db: str) -> None:
    import json

    small = min(200, max(1, args.customers // 100))
    now = int(time.time())
    one, big = Worker(args, db, small, now), Worker(args, db, args.customers, now)
    try:
        counts_1x, counts = json.loads(one.ask("")), json.loads(big.ask(""))
        print(f"1x: {counts_1x}\n100x: {counts}", file=sys.stderr)
        rows: list[tuple[str, float, float, float, float]] = []
        for index, state in enumerate(chosen_states(args.only)):
            for side in (one, big):
                problem = side.ask(f"open {index}")
                if problem:
                    print(f"  ! {state[0]}: {problem}", file=sys.stderr)
            medians = []
            for how in ("warm", "cold"):
                small_ms: list[float] = []
                big_ms: list[float] = []
                for r in range(args.repeat):
                    pair = [(one, small_ms), (big, big_ms)]
                    for side, into in pair if r % 2 == 0 else pair[::-1]:
                        into.append(float(side.ask(f"rerun {how}")))
                medians += [statistics.median(small_ms), statistics.median(big_ms)]
            a, b, c, d = medians
            rows.append((state[0], a, b, c, d))
            print(
                f"  {state[0]:<34} warm {a:6.0f} {b:6.0f} ms {b / a:5.2f}x"
                f"   cold {c:6.0f} {d:6.0f} ms {d / c:5.2f}x",
                file=sys.stderr,
            )
        peak = float(big.ask("peak"))
    finally:
        one.close()
        big.close()
    kind = "PostgreSQL" if db == "postgres" else "SQLite"
    print(
        f"\n{kind}: {small:,} vs {args.customers:,} customers "
        f"({counts['transactions']:,} transactions), median of {args.repeat} reruns, 1x and "
        "100x reruns alternating; warm: reruns as they come (cached figures hit), cold: each "
        "right after every data version moved on (a sync or webhook landed; every cached "
        "figure computed again)\n"
    )
    print(
        f"| page | {small:,} warm | {args.customers:,} warm | ratio "
        f"| {small:,} cold | {args.customers:,} cold | cold ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, a, b, c, d in rows:
        print(f"| {label} | {a:.0f} ms | {b:.0f} ms | {b / a:.2f}x | {c:.0f} ms | {d:.0f} ms | {d / c:.2f}x |")
    print(f"\npeak memory of the 100x server process: {peak:.0f} MB")


def serve(args: argparse.Namespace) -> None:
    """A worker: fill a store to --customers, then answer the parent's commands on stdin
    (``open N``: bring state N up; ``rerun``: one rerun in ms; ``peak``: peak RSS in MB)."""
    import json

    def answer(text: str) -> None:
        print(ANSWER + text, flush=True)

    data = tempfile.mkdtemp(prefix="fcops-bench-pages-")
    schema = None
    url = args.database_url if args.db == "postgres" else f"sqlite:///{data}/store.db"
    if args.db == "postgres":
        import psycopg

        from services.adapters.store import normalise_url

        schema = f"bench_{secrets.token_hex(5)}"
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in url else "?"
        url = f"{normalise_url(url)}{sep}options=-csearch_path%3D{schema}"
    os.environ.pop("STRIPE_API_KEY", None)
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    os.environ.update(
        FCOPS_DATA_DIR=data,
        DATABASE_URL=url,
        FCOPS_SANDBOX_CUSTOMERS="2",
        FCOPS_SANDBOX_REFRESH_DELAY="0",
    )
    floor_file = str(Path(data) / "floor.py")
    Path(floor_file).write_text("import streamlit as st\n\nst.title('Floor')\n")
    try:
        from tests.app.conftest import shared_app

        engine = shared_app().services.engine
        small = min(200, args.customers)
        began = time.perf_counter()
        counts = fill(engine, 0, small, args.per_customer)[1]
        counts |= fill_debits(engine, 0, small, now=NOW)
        if args.customers > small:
            more = fill(engine, small, args.customers, args.per_customer)[1]
            more |= fill_debits(engine, small, args.customers, now=NOW)
            counts = {k: counts[k] + more[k] for k in counts}
        mark_synced(engine)
        pick_records(engine)
        print(f"{args.customers:,} customers filled in {time.perf_counter() - began:.1f} s", file=sys.stderr)
        if args.profile:
            profile_services(engine)
        answer(json.dumps(counts))
        all_states = chosen_states(args.only)
        at: Any = None
        for line in sys.stdin:
            command, _, rest = line.strip().partition(" ")
            if command == "open":
                at = open_state(all_states[int(rest)], floor_file)
                answer(str(at.exception[0].value)[:160] if at.exception else "")
            elif command == "rerun":
                if rest == "cold":
                    land_writes(engine)
                ms = rerun(at)
                answer(f"{ms:.3f}")
            elif command == "peak":
                answer(f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
            elif command == "quit":
                answer("bye")
                break
    finally:
        if schema:
            import psycopg

            with psycopg.connect(
                args.database_url.replace("+psycopg", ""), autocommit=True
            ) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument(
        "--db",
        choices=["sqlite", "postgres", "both"],
        default="both",
        help="which store to fill and time (both: SQLite, then PostgreSQL)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("FCOPS_TEST_POSTGRES_URL", POSTGRES_URL),
        help="the PostgreSQL server for --db postgres (a private schema is created and dropped)",
    )
    parser.add_argument("--only", default="", help="only the states whose name contains this (several: comma-separated)")
    parser.add_argument("--profile", action="store_true", help="cProfile the 100x store reads")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # a worker
    parser.add_argument("--per-customer", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
    elif args.db == "both":
        run_backends(args, ["sqlite", "postgres"])
    else:
        run_pair(args, args.db)


if __name__ == "__main__":
    main()
