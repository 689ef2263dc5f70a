"""Webhooks scaled out: two app replicas on one PostgreSQL share the signing secret (as
``STRIPE_WEBHOOK_SECRET`` in test and live mode) and Stripe may post an event to either. A bad
signature gets 400 and changes nothing; the same event delivered to both is stored once and
processed once; an older event delivered to the other replica does not overwrite a newer one."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import psycopg
import stripe
from sqlmodel import col, select

from services.adapters.job_models import WebhookEventRecord
from services.adapters.models import AccountRecord
from services.adapters.store import make_engine, session_scope
from tests.background.test_postgres_workers import spawn
from tests.background.test_webhooks import event, post, wait_processed, with_balance
from tests.conftest import PG_URL

SECRET = "whsec_two_replicas_share_this_secret"


def test_two_replicas_verify_store_once_process_once_and_keep_the_newer_event(
    pg_env: dict[str, str], tmp_path: Path
) -> None:
    first = spawn("serve", tmp_path / "a", pg_env, "app-1", SECRET)
    procs = [first]
    try:
        # One process first: it creates the schemas and mirrors the accounts.
        assert first.stdout is not None
        url_a = first.stdout.readline().strip()
        second = spawn("serve", tmp_path / "b", pg_env, "app-2", SECRET)
        procs.append(second)
        assert second.stdout is not None
        url_b = second.stdout.readline().strip()
        assert url_a.endswith("/webhooks/stripe") and url_b.endswith("/webhooks/stripe")
        assert url_a != url_b
        store = make_engine(pg_env["DATABASE_URL"])
        with session_scope(store) as session:
            row = session.exec(
                select(AccountRecord)
                .where(AccountRecord.status == "active")
                .where(col(AccountRecord.permissions).like("%,balances,%"))
                .order_by(col(AccountRecord.id))
            ).first()
            assert row is not None
            account: dict[str, Any] = dict(row.raw)

        now = int(time.time())
        newer = event("financial_connections.account.refreshed_balance",
                      with_balance(account, 50_000, now - 30), now - 20)
        event_id = json.loads(newer)["id"]
        # A bad signature, on either replica: 400, the event not stored, the balance unchanged.
        unchanged = balance(store, account["id"])
        assert unchanged != 50_000
        for url in (url_a, url_b):
            assert post(url, newer, sign(newer, "whsec_not_the_secret"))[0] == 400
        assert stored_event(store, event_id) is None
        assert balance(store, account["id"]) == unchanged

        # The same event to both replicas: stored once, processed once.
        assert post(url_a, newer, sign(newer, SECRET)) == (
            200, {"received": True, "id": event_id, "duplicate": False}
        )
        assert post(url_b, newer, sign(newer, SECRET)) == (
            200, {"received": True, "id": event_id, "duplicate": True}
        )
        stored = wait_processed(store, event_id, timeout=30)
        assert stored.status == "processed" and stored.deliveries == 2
        assert workflows(pg_env, f"event-{event_id}") == 1
        assert balance(store, account["id"]) == 50_000

        # An older event to the other replica: applied after, and still the newer balance.
        older = event("financial_connections.account.refreshed_balance",
                      with_balance(account, 10_000, now - 100), now - 40)
        assert post(url_b, older, sign(older, SECRET))[0] == 200
        wait_processed(store, json.loads(older)["id"], timeout=30)
        assert balance(store, account["id"]) == 50_000
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


def sign(body: bytes, secret: str) -> str:
    return stripe.WebhookSignature.generate_signature_header(body.decode(), secret)


def stored_event(store: Any, event_id: str) -> WebhookEventRecord | None:
    with session_scope(store) as session:
        row: WebhookEventRecord | None = session.get(WebhookEventRecord, event_id)
        return row


def balance(store: Any, account_id: str) -> int | None:
    with session_scope(store) as session:
        row = session.get(AccountRecord, account_id)
        return row.balance_current if row else None


def workflows(env: dict[str, str], workflow_id: str) -> int:
    with psycopg.connect(PG_URL.replace("+psycopg", "")) as conn:
        row = conn.execute(
            f'SELECT count(*) FROM "{env["FCOPS_DBOS_SCHEMA"]}".workflow_status '
            "WHERE workflow_uuid = %s",
            (workflow_id,),
        ).fetchone()
    return int(row[0]) if row else 0
