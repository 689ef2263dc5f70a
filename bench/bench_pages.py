"""Every page's AppTest rerun at 1x and 100x the demo store, in one run, with the ratio.

    .venv/bin/python -m bench.bench_pages                     # SQLite, then PostgreSQL; 20,000 customers
    .venv/bin/python -m bench.bench_pages --db sqlite         # one backend (or --db postgres)
    .venv/bin/python -m bench.bench_pages --customers 2000    # a quicker look (10x)
    .venv/bin/python -m bench.bench_pages --db postgres --database-url postgresql://…/db

The store is filled by direct bulk inserts (not the sandbox's generation): first to 1/100 of
``--customers``, at most 200 (the "1x" demo size), each page state is timed, then the rest is inserted and
every state is timed again. Per customer: 1.5 FC accounts, 2.3 intents, ``--transactions``
/ ``--customers`` transactions, one ownership check per account. Syncs are marked as done so no
page syncs on its own. A page holding only a title is the floor. The app runs in this process
(AppTest), so the peak RSS printed is the server process's. On PostgreSQL a private schema is
created and dropped afterwards, and its filled tables are vacuumed and analysed after each fill
(as autovacuum would be soon after a bulk load). ``--db both`` (the default) runs SQLite and then PostgreSQL, each
in its own process, and prints one table per backend; each ratio compares two timings of the
same run. ``--profile`` prints where the Home and Conversion store reads spend their time.
Numbers are for people; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import random
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

BANKS = ["StripeBank", "Test Institution", "First Harbor Bank", "Evergreen Federal"]
METHODS = ["automatic", "instant", "microdeposits"]
FLOWS = ["setup_intent", "payment_intent", "unknown"]
NOW = int(time.time())
DAY = 86_400
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


# --------------------------------------------------------------------------- fill


def _intent(i: int, cus: str, fca: str, rng: random.Random) -> dict[str, Any]:
    kind = "setup_intent" if rng.random() < 0.7 else "payment_intent"
    ident = f"{'seti' if kind == 'setup_intent' else 'pi'}_b{i:08d}"
    method = rng.choice(METHODS)
    created = NOW - rng.randint(0, 120 * DAY)
    roll = rng.random()
    status = "succeeded" if roll < 0.6 else "requires_payment_method"
    if 0.6 <= roll < 0.7:
        status = "canceled"
    elif 0.7 <= roll < 0.8:
        status = "requires_action"
    manual = method == "microdeposits" or (method == "automatic" and rng.random() < 0.3)
    pm: dict[str, Any] | None = None
    if status in ("succeeded", "requires_action"):
        bank = {} if manual else {"financial_connections_account": fca}
        pm = {
            "id": f"pm_b{i:08d}",
            "type": "us_bank_account",
            "created": created + rng.randint(30, 3 * DAY),
            "us_bank_account": bank,
        }
    raw: dict[str, Any] = {
        "id": ident,
        "object": kind,
        "created": created,
        "customer": cus,
        "status": status,
        "payment_method": pm,
        "payment_method_types": ["us_bank_account"],
        "payment_method_options": {"us_bank_account": {"verification_method": method}},
        "metadata": {"fcops_flow": rng.choice(FLOWS)},
    }
    if status == "canceled":
        raw["cancellation_reason"] = rng.choice(["abandoned", "requested_by_customer"])
    if status == "requires_action" and manual:
        raw["next_action"] = {
            "type": "verify_with_microdeposits",
            "verify_with_microdeposits": {
                "arrival_date": created + 2 * DAY,
                "microdeposit_type": "descriptor_code",
                "hosted_verification_url": "https://payments.stripe.com/microdeposit/x",
            },
        }
    return raw


def fill(engine: Any, start: int, stop: int, txn_per_customer: int) -> tuple[float, dict[str, int]]:
    """Insert customers ``start``..``stop`` with their accounts, intents, transactions, checks."""
    from sqlalchemy import insert

    from services.adapters.models import (
        AccountRecord,
        CustomerRecord,
        IntentRecord,
        OwnershipCheck,
        TransactionRecord,
    )
    from services.usecases.sync_intents import record_values

    rng = random.Random(start)
    began = time.perf_counter()
    counts = dict.fromkeys(("customers", "accounts", "intents", "transactions"), 0)
    chunk = 1000
    for lo in range(start, stop, chunk):
        hi = min(stop, lo + chunk)
        customers, accounts, intents, txns, checks = [], [], [], [], []
        for c in range(lo, hi):
            cus = f"cus_b{c:07d}"
            customers.append(
                {
                    "id": cus,
                    "email": f"c{c}@example.com",
                    "email_lower": f"c{c}@example.com",
                    "name": f"Customer {c}",
                    "name_lower": f"customer {c}",
                    "created": NOW - c,
                    "raw": {},
                }
            )
            n_acc = 1 if c % 2 else 2
            fcas = []
            for k in range(n_acc):
                fca = f"fca_b{c:07d}{k}"
                fcas.append(fca)
                perms = ",balances,ownership,payment_method,transactions,"
                if rng.random() < 0.3:
                    perms = ",payment_method,"
                accounts.append(
                    {
                        "id": fca,
                        "customer_id": cus,
                        "institution_name": rng.choice(BANKS),
                        "display_name": "Checking",
                        "last4": f"{rng.randint(0, 9999):04d}",
                        "category": "cash",
                        "subcategory": "checking",
                        "status": "active",
                        "permissions": perms,
                        "subscriptions": "",
                        "balance_currency": "usd",
                        "balance_current": rng.randint(0, 5_000_000),
                        "balance_as_of": NOW - rng.randint(0, 30 * DAY),
                        "balance_refresh_status": "succeeded",
                        "transaction_refresh_status": "succeeded",
                        "created": NOW - rng.randint(0, 400 * DAY),
                        "raw": {"id": fca, "object": "financial_connections.account"},
                    }
                )
                checks.append(
                    {
                        "account_id": fca,
                        "customer_id": cus,
                        "verdict": rng.choice(["match", "match", "partial", "mismatch", "no_data"]),
                        "score": rng.randint(0, 100),
                        "reason": "bench",
                        "detail": {},
                    }
                )
            for k in range(2 if c % 10 < 3 else 3 if c % 10 == 3 else 2):
                raw = _intent(c * 4 + k, cus, fcas[0], rng)
                values = record_values(raw, succeeded_at=None)
                intents.append(values)
            for t in range(txn_per_customer):
                fca = fcas[t % len(fcas)]
                txns.append(
                    {
                        "id": f"fctxn_b{c:07d}{t:04d}",
                        "account_id": fca,
                        "amount": rng.choice([-1, 1]) * rng.randint(100, 300_000),
                        "currency": "usd",
                        "description": rng.choice(["PAYROLL ACME", "RENT", "GROCERY", "UTILITY"]),
                        "status": "posted",
                        "transacted_at": NOW - rng.randint(0, 180 * DAY),
                        "raw": {},
                    }
                )
        with engine.begin() as conn:
            conn.execute(insert(CustomerRecord), customers)
            conn.execute(insert(AccountRecord), accounts)
            conn.execute(insert(OwnershipCheck), checks)
            conn.execute(insert(IntentRecord), intents)
            if txns:
                conn.execute(insert(TransactionRecord), txns)
        for name, rows in (
            ("customers", customers),
            ("accounts", accounts),
            ("intents", intents),
            ("transactions", txns),
        ):
            counts[name] += len(rows)
    return time.perf_counter() - began, counts


def mark_synced(engine: Any) -> None:
    """As the syncs would: their state is "done", and the data versions move on (the bulk
    inserts bypass the writers that bump them), so no page serves figures cached at 1x."""
    from datetime import UTC, datetime

    from services.adapters import data_version
    from services.adapters.store import mark_sync, session_scope

    done = datetime.now(UTC)
    for name in ("accounts", "intents"):
        mark_sync(engine, name, cursor=str(NOW), last_started_at=done, last_finished_at=done)
    with session_scope(engine) as session:
        data_version.bump(session, data_version.INTENTS)
        data_version.bump(session, data_version.ACCOUNTS)
    if engine.dialect.name == "postgresql":
        settle_postgres(engine)


def settle_postgres(engine: Any) -> None:
    """What autovacuum does after a bulk load, done now so it neither runs during the timings
    nor is missing from them: the planner's statistics and the visibility map (index-only
    scans). Only the tables filled here, in this schema."""
    from sqlalchemy import text

    from services.adapters.models import (
        AccountRecord,
        CustomerRecord,
        IntentRecord,
        OwnershipCheck,
        TransactionRecord,
    )

    models = (CustomerRecord, AccountRecord, OwnershipCheck, IntentRecord, TransactionRecord)
    names = ", ".join(f'"{m.__tablename__}"' for m in models)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM ANALYZE {names}"))


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


def states() -> list[State]:
    one = "fca_b00000010"
    return [
        ("Home (admin)", "pages/home.py", "admin", None),
        ("Home (ops)", "pages/home.py", "ops", None),
        ("Accounts", "pages/accounts.py", "ops", None),
        ("Accounts, one account open", "pages/accounts.py", "ops", _query("account", one)),
        ("Payment lookup", "pages/payment_lookup.py", "ops", None),
        ("Ownership review", "pages/ownership.py", "ops", None),
        (
            "Ownership review list",
            "pages/ownership.py",
            "ops",
            _set("segmented_control", "own_view", "Review list"),
        ),
        ("Transactions", "pages/transactions.py", "ops", None),
        ("Transactions, one account open", "pages/transactions.py", "ops", _query("account", one)),
        ("Collect", "pages/collect.py", "ops", None),
        ("Balance check", "pages/balance_check.py", "finance", None),
        ("Batch check", "pages/batch_check.py", "finance", None),
        ("Conversion", "pages/conversion.py", "manager", None),
        ("Conversion, one method", "pages/conversion.py", "manager", None),
        ("Flow configuration", "pages/flows.py", "admin", None),
        ("Debit policy", "pages/policy.py", "admin", None),
        ("Audit log", "pages/audit.py", "admin", None),
    ]


def measure(state: State, repeat: int, floor_file: str) -> float:
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import open_page

    label, page, role, reach = state
    if page is None:
        at = AppTest.from_file(floor_file, default_timeout=600)
        at.run()
    else:
        at = open_page(page, role, timeout=600)
        if reach is not None:
            reach(at)
        if label == "Conversion, one method":
            box = [m for m in at.multiselect if "method" in (m.label or "").lower()]
            if box:
                box[0].set_value(["instant"])
                at.run()
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        at.run()
        samples.append((time.perf_counter() - began) * 1000)
    if at.exception:
        print(f"  ! {label}: {at.exception[0].value[:120]}", file=sys.stderr)
    return statistics.median(samples)


def run_all(engine: Any, repeat: int, floor_file: str, only: str = "") -> dict[str, float]:
    timings = {"Title only (floor)": measure(("floor", None, "", None), repeat, floor_file)}
    for state in states():
        if only and only.lower() not in state[0].lower():
            continue
        timings[state[0]] = measure(state, repeat, floor_file)
        print(f"  {state[0]:<34} {timings[state[0]]:9.0f} ms", file=sys.stderr)
    return timings


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


def run_backends(args: argparse.Namespace, backends: list[str]) -> None:
    """Each backend in its own process (the app is built once per process), one after the
    other, so their tables print one below the other."""
    import subprocess

    for db in backends:
        command = [sys.executable, "-m", "bench.bench_pages", "--db", db]
        command += ["--customers", str(args.customers), "--transactions", str(args.transactions)]
        command += ["--repeat", str(args.repeat), "--database-url", args.database_url]
        command += ["--only", args.only] + (["--profile"] if args.profile else [])
        subprocess.run(command, cwd=ROOT, check=True)


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
    parser.add_argument("--only", default="", help="only the states whose name contains this")
    parser.add_argument("--profile", action="store_true", help="cProfile the 100x reruns")
    args = parser.parse_args()
    if args.db == "both":
        run_backends(args, ["sqlite", "postgres"])
        return

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
        small = min(200, max(1, args.customers // 100))
        per = max(0, args.transactions // max(1, args.customers))
        seconds, counts = fill(engine, 0, small, per)
        mark_synced(engine)
        print(f"1x: {counts} filled in {seconds:.1f} s", file=sys.stderr)
        at_1x = run_all(engine, args.repeat, floor_file, args.only)
        seconds, more = fill(engine, small, args.customers, per)
        mark_synced(engine)
        total = {k: counts[k] + more[k] for k in counts}
        print(f"100x: {total} filled in {seconds:.1f} s", file=sys.stderr)
        if args.profile:
            profile_services(engine)
        at_100x = run_all(engine, args.repeat, floor_file, args.only)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        kind = "PostgreSQL" if schema else "SQLite"
        print(
            f"\n{kind}: {small:,} vs {args.customers:,} customers "
            f"({total['transactions']:,} transactions), median of {args.repeat} reruns\n"
        )
        print(f"| page | {small:,} customers | {args.customers:,} customers | ratio |")
        print("|---|---|---|---|")
        for label, ms in at_1x.items():
            big = at_100x[label]
            print(f"| {label} | {ms:.0f} ms | {big:.0f} ms | {big / ms:.2f}x |")
        print(f"\npeak memory of the server process: {peak:.0f} MB")
    finally:
        if schema:
            import psycopg

            with psycopg.connect(
                args.database_url.replace("+psycopg", ""), autocommit=True
            ) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
