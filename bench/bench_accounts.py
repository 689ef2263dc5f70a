"""How fast the Accounts browser reads a big mirror: list with each filter, deep pages, CSV export.

    .venv/bin/python -m bench.bench_accounts                      # SQLite in a temp folder
    .venv/bin/python -m bench.bench_accounts --accounts 50000 --database-url postgresql://…

Prints p50/p95 milliseconds per query shape; no assertions (numbers are for people).
On PostgreSQL the tables are created in a private schema that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine

from services.adapters import account_mirror
from services.adapters.models import AccountRecord, CustomerRecord
from services.adapters.store import make_engine, normalise_url, open_store
from services.auth import Actor
from services.context import Services
from services.rules import bank_account
from services.usecases import browse_accounts, export_accounts

BANKS = [
    "StripeBank",
    "Test Institution",
    "First Harbor Bank",
    "Evergreen Federal",
    "Pacific Coast Bank",
]
NOW = int(time.time())
OPS = Actor(username="bench", role="ops")


def fake_rows(n: int, *, seed: int = 7) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    customers = [
        {
            "id": f"cus_b{i:07d}",
            "email": f"c{i}@example.com",
            "email_lower": f"c{i}@example.com",
            "name": f"Customer {i}",
            "name_lower": f"customer {i}",
            "created": NOW - i,
            "raw": {},
        }
        for i in range(max(1, n // 2))
    ]
    rows = []
    for i in range(n):
        perms = sorted(
            rng.sample(
                ["balances", "ownership", "payment_method", "transactions"], rng.randint(1, 4)
            )
        )
        has_balance = "balances" in perms and rng.random() < 0.9
        rows.append(
            {
                "id": f"fca_b{i:07d}",
                "customer_id": customers[i % len(customers)]["id"],
                "institution_name": rng.choice(BANKS),
                "display_name": "Checking",
                "last4": f"{rng.randint(0, 9999):04d}",
                "category": "cash",
                "subcategory": rng.choice(["checking", "savings"]),
                "status": rng.choices(["active", "inactive", "disconnected"], [90, 7, 3])[0],
                "permissions": f",{','.join(perms)},",
                "subscriptions": "",
                "balance_currency": "usd" if has_balance else None,
                "balance_current": rng.randint(0, 5_000_000) if has_balance else None,
                "balance_available": None,
                "balance_as_of": NOW - rng.randint(0, 30 * 86400) if has_balance else None,
                "balance_refresh_status": "succeeded" if has_balance else None,
                "created": NOW - rng.randint(0, 400 * 86400),
                "raw": {},
            }
        )
    return customers, rows


def fill(engine: Engine, n: int) -> float:
    customers, rows = fake_rows(n)
    started = time.perf_counter()
    with engine.begin() as conn:
        for chunk in range(0, len(customers), 5000):
            conn.execute(insert(CustomerRecord), customers[chunk : chunk + 5000])
        for chunk in range(0, len(rows), 5000):
            conn.execute(insert(AccountRecord), rows[chunk : chunk + 5000])
    return time.perf_counter() - started


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    samples = []
    result = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
    return statistics.median(samples), p95, result


def run(engine: Engine, n: int, repeat: int, *, skip_index: bool = False) -> None:
    print(f"filling {n:,} accounts… {fill(engine, n):.1f} s")
    if not skip_index:
        account_mirror.ensure_indexes(engine)
    svc = Services(gateway=cast(Any, None), engine=engine, mode="bench")
    last_page = max(1, n // 50)
    shapes: list[tuple[str, Callable[[], Any]]] = [
        ("first page, no filter", lambda: browse_accounts.list_accounts(svc, OPS)),
        ("status=inactive", lambda: browse_accounts.list_accounts(svc, OPS, status="inactive")),
        (
            "institution",
            lambda: browse_accounts.list_accounts(svc, OPS, institution="Evergreen Federal"),
        ),
        (
            "permission=ownership",
            lambda: browse_accounts.list_accounts(svc, OPS, permission="ownership"),
        ),
        (
            "stale > 7 days",
            lambda: browse_accounts.list_accounts(svc, OPS, stale_after_seconds=7 * 86400),
        ),
        (
            "one customer",
            lambda: browse_accounts.list_accounts(svc, OPS, customer_id="cus_b0000042"),
        ),
        (
            "all filters",
            lambda: browse_accounts.list_accounts(
                svc,
                OPS,
                status="active",
                institution="StripeBank",
                permission="balances",
                stale_after_seconds=86400,
            ),
        ),
        (
            f"deep page {last_page // 2}",
            lambda: browse_accounts.list_accounts(svc, OPS, page=last_page // 2),
        ),
        (f"last page {last_page}", lambda: browse_accounts.list_accounts(svc, OPS, page=last_page)),
        ("search name substring", lambda: browse_accounts.search_customers(svc, OPS, "omer 123")),
        ("institutions()", lambda: account_mirror.institutions(engine)),
    ]
    print(f"{'query':32} {'p50 ms':>9} {'p95 ms':>9} {'rows/total':>14}")
    for name, fn in shapes:
        p50, p95, result = timed(fn, repeat)
        size = (
            f"{len(result.rows)}/{result.total}" if hasattr(result, "total") else str(len(result))
        )
        print(f"{name:32} {p50:9.1f} {p95:9.1f} {size:>14}")
    p50, p95, data = timed(
        lambda: b"".join(
            export_accounts.iter_accounts_csv(engine, bank_account.AccountFilters(), now=NOW)
        ),
        max(1, repeat // 5),
    )
    print(f"{'CSV export, all rows':32} {p50:9.1f} {p95:9.1f} {len(data) / 1e6:11.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--no-index", action="store_true", help="skip accounts.ensure_indexes")
    args = parser.parse_args()
    if not args.database_url:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            print(f"database: SQLite ({url})")
            engine = open_store(url)
            run(engine, args.accounts, args.repeat, skip_index=args.no_index)
            engine.dispose()
        return
    base = normalise_url(args.database_url)
    schema = f"bench_{secrets.token_hex(4)}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    print(f"database: {base.split('@')[-1]} (schema {schema})")
    engine = open_store(f"{base}{sep}options=-csearch_path%3D{schema}")
    try:
        run(engine, args.accounts, args.repeat, skip_index=args.no_index)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
