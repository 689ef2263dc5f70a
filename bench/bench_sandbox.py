"""Sandbox start-up time, memory and request latency through the real SDK.

    .venv/bin/python bench/bench_sandbox.py [--customers 20000] [--requests 300]

Prints numbers; asserts nothing (targets live here, not in timed tests).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import stripe

from sandbox.server import start_background


def _ms(samples: list[float]) -> str:
    qs = statistics.quantiles(samples, n=20)
    return f"p50 {statistics.median(samples) * 1000:.1f} ms, p95 {qs[18] * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    started = time.perf_counter()
    handle = start_background(port=0, seed=42, customers=args.customers, refresh_delay=0)
    boot = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"sandbox with {args.customers} customers: started in {boot:.2f} s, max RSS {rss_mb:.0f} MB")

    client = stripe.StripeClient("sk_test_bench", base_addresses={"api": handle.base_url})
    customers = client.v1.customers.list(params={"limit": 100}).data
    ids = [c.id for c in customers]

    lists, retrieves, txns = [], [], []
    for i in range(args.requests):
        cid = ids[i % len(ids)]
        t = time.perf_counter()
        accounts = client.v1.financial_connections.accounts.list(
            params={"account_holder": {"customer": cid}}
        ).data
        lists.append(time.perf_counter() - t)
        if accounts:
            t = time.perf_counter()
            client.v1.financial_connections.accounts.retrieve(accounts[0].id, params={"expand": ["ownership"]})
            retrieves.append(time.perf_counter() - t)
        # Stripe lists transactions only after a transaction refresh succeeded.
        listable = [a for a in accounts if a.transaction_refresh and a.transaction_refresh.status == "succeeded"]
        if listable:
            t = time.perf_counter()
            client.v1.financial_connections.transactions.list(params={"account": listable[0].id, "limit": 100})
            txns.append(time.perf_counter() - t)
    events, intents = [], []
    for i in range(min(args.requests, 100)):
        t = time.perf_counter()
        client.v1.events.list(params={"type": "setup_intent.succeeded", "limit": 100})
        events.append(time.perf_counter() - t)
        t = time.perf_counter()
        client.v1.setup_intents.list(params={"customer": ids[i % len(ids)], "limit": 100})
        intents.append(time.perf_counter() - t)
    print(f"list accounts by customer:      {_ms(lists)}")
    print(f"list events of one type:        {_ms(events)}")
    print(f"list setup intents of customer: {_ms(intents)}")
    print(f"retrieve account + ownership:   {_ms(retrieves)}")
    print(f"list 100 transactions (lazy):   {_ms(txns)}")

    t = time.perf_counter()
    n = sum(1 for _ in client.v1.customers.list(params={"limit": 100}).auto_paging_iter())
    print(f"page through all {n} customers: {time.perf_counter() - t:.2f} s")
    handle.stop()


if __name__ == "__main__":
    main()
