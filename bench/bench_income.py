"""How fast ``detect_income`` reads one account's year of transactions.

    .venv/bin/python -m bench.bench_income                  # 200 demo customers, seed 1
    .venv/bin/python -m bench.bench_income --customers 50 --repeat 5 --profile

Histories come from the demo world (``sandbox.demo``) and are built before the clock starts,
so only detection is timed. Prints milliseconds per account (mean, p50, p95, max) for every
account and for checking accounts (the ones paid into), plus how many transactions a history
holds; ``--profile`` adds the top of a cProfile run. No assertions: numbers are for people.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from sandbox import demo
from sandbox.demo.model import DemoAccount
from services.rules.income import detect_income

NOW = int(datetime(2026, 6, 15, 12, tzinfo=UTC).timestamp())


def stripe_transactions(account: DemoAccount, *, now: int) -> list[dict[str, Any]]:
    """The account's history shaped like Stripe's ``financial_connections.transaction``."""
    return [
        {
            "amount": t.amount,
            "currency": "usd",
            "description": t.description,
            "status": t.status,
            "transacted_at": t.transacted_at,
            "status_transitions": {"posted_at": t.posted_at, "void_at": t.void_at},
        }
        for t in demo.transactions_for(account, now=now)
    ]


def histories(*, seed: int, customers: int, now: int) -> list[tuple[DemoAccount, list[dict]]]:
    world = demo.generate(seed=seed, customers=customers, now=now)
    accounts = [a for c in world.customers for a in c.accounts]
    return [(a, stripe_transactions(a, now=now)) for a in accounts]


def time_each(rows: list[list[dict]], *, now: int, repeat: int) -> list[float]:
    """Best-of-``repeat`` milliseconds per history (the minimum hides scheduler noise)."""
    out = []
    for history in rows:
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            detect_income(history, now=now)
            best = min(best, time.perf_counter() - start)
        out.append(best * 1000)
    return out


def summary(label: str, ms: list[float], sizes: list[int]) -> str:
    if not ms:
        return f"{label}: no accounts"
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"{label:<10} {len(ms):>5} accounts  ~{statistics.fmean(sizes):>4.0f} txns  "
        f"mean {statistics.fmean(ms):6.2f} ms  p50 {statistics.median(ms):6.2f}  "
        f"p95 {p95:6.2f}  max {ordered[-1]:6.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    built = time.perf_counter()
    rows = histories(seed=args.seed, customers=args.customers, now=NOW)
    print(f"built {len(rows)} histories in {time.perf_counter() - built:.1f} s (not timed)")
    ms = time_each([h for _, h in rows], now=NOW, repeat=args.repeat)
    sizes = [len(h) for _, h in rows]
    checking = [i for i, (a, _) in enumerate(rows) if a.subcategory == "checking"]
    print(summary("all", ms, sizes))
    print(summary("checking", [ms[i] for i in checking], [sizes[i] for i in checking]))
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _, history in rows:
            detect_income(history, now=NOW)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
