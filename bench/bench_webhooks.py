"""Webhook ingestion on one process: events accepted per second on POST /webhooks/stripe, and the
lag from delivery to the mirror being updated (p50, p95). Numbers for people; no assertions.

    .venv/bin/python -m bench.bench_webhooks                  # 500 events over 50 accounts
    .venv/bin/python -m bench.bench_webhooks --events 2000 --senders 16
    .venv/bin/python -m bench.bench_webhooks --sender-processes   # senders outside the process
    .venv/bin/python -m bench.bench_webhooks --database-url "postgresql://postgres@127.0.0.1/test?options=-csearch_path%3Dbench"

Each event is a signed ``financial_connections.account.refreshed_balance`` carrying a new balance
for one of the mirrored accounts, posted by ``--senders`` threads at once (as Stripe delivers).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import secrets
import statistics
import tempfile
import time
import urllib.request
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import stripe
from sqlmodel import col, select

import bootstrap
from services.adapters.job_models import WebhookEventRecord
from services.adapters.settings import load_settings
from services.adapters.store import session_scope
from services.auth import Actor
from services.usecases import browse_accounts, sync_accounts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--customers", type=int, default=30)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--database-url", default="", help="PostgreSQL (else SQLite files)")
    parser.add_argument("--dbos-schema", default="dbos_bench")
    parser.add_argument("--sender-processes", action="store_true",
                        help="senders in processes of their own (Stripe is not in ours), "
                             "not threads sharing the measured process's interpreter")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="fcops-bench-webhooks-"))
    settings = load_settings(
        {"FCOPS_DATA_DIR": str(data), "FCOPS_SANDBOX_CUSTOMERS": str(args.customers),
         "FCOPS_SANDBOX_REFRESH_DELAY": "0", "DATABASE_URL": args.database_url,
         "FCOPS_DBOS_SCHEMA": args.dbos_schema},
        secrets_path=data / "absent.toml",
    )
    app = bootstrap.build_app(settings)
    background = bootstrap.start_background(app)
    sync_accounts.sync_accounts(app.services, Actor("bench", "admin"), full=True)
    ids = [r.id for r in browse_accounts.list_accounts(app.services, Actor("bench", "admin"), page_size=200).rows]
    base = {a: app.gateway.retrieve_account(a) for a in ids}
    now = int(time.time())
    bodies: list[bytes] = []
    for n in range(args.events):
        account = base[ids[n % len(ids)]]
        obj = {**account, "balance": {"as_of": now + n, "current": {"usd": n}, "type": "cash",
                                      "cash": {"available": {"usd": n}}, "credit": None}}
        bodies.append(json.dumps({
            "id": "evt_" + secrets.token_hex(12), "object": "event", "created": now + n,
            "api_version": "2026-10-28.endive", "data": {"object": obj}, "livemode": False,
            "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
            "type": "financial_connections.account.refreshed_balance",
        }).encode())
    sent: dict[str, float] = {}
    url, secret = str(background.webhook_url), str(background.secret)
    senders: Executor = (
        ProcessPoolExecutor(args.senders, mp_context=multiprocessing.get_context("spawn"))
        if args.sender_processes else ThreadPoolExecutor(args.senders)
    )
    with senders as pool:
        list(pool.map(_ready, range(args.senders)))  # processes started before the clock
        started = time.monotonic()
        results = list(pool.map(_send, [url] * len(bodies), [secret] * len(bodies), bodies))
        accepted_seconds = time.monotonic() - started
    statuses = [status for _, _, status in results]
    sent.update({event_id: at for event_id, at, _ in results})
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        # This run's events only (a reused schema has more), and two columns, not the payloads:
        # the watching loop shares the CPU with the endpoint and the workers it measures.
        with session_scope(app.engine) as session:
            rows = session.exec(
                select(WebhookEventRecord.id, WebhookEventRecord.processed_at)
                .where(col(WebhookEventRecord.id).in_(list(sent)))
                .where(col(WebhookEventRecord.processed_at).is_not(None))
            ).all()
            done = {event_id: at for event_id, at in rows if at is not None}
        if len(done) >= len(bodies):
            break
        time.sleep(0.2)
    all_seconds = time.monotonic() - started
    lags = sorted(done[e].timestamp() - sent[e] for e in sent if e in done)
    print(f"events: {len(bodies)}  senders: {args.senders}  accepted 2xx: {statuses.count(200)}")
    print(f"accepted: {len(bodies) / accepted_seconds:.1f} events/s ({accepted_seconds:.2f} s)")
    print(f"applied:  {len(done)} in {all_seconds:.2f} s ({len(done) / all_seconds:.1f} events/s)")
    if lags:
        p95 = lags[min(len(lags) - 1, int(0.95 * len(lags)))]
        print(f"lag delivery → mirror: p50 {statistics.median(lags) * 1000:.0f} ms, "
              f"p95 {p95 * 1000:.0f} ms")


def _ready(_n: int) -> None:
    """A no-op run by every sender first, so a process pool has started before timing."""


def _send(url: str, secret: str, body: bytes) -> tuple[str, float, int]:
    """Sign and POST one event, as Stripe does; (event id, when sent, HTTP status)."""
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret)
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )
    at = time.time()
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(body)["id"], at, int(response.status)


if __name__ == "__main__":
    main()
