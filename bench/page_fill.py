"""The page benchmark's fill (bench/bench_pages.py): direct bulk inserts, not the sandbox's generation.

Per customer: 1.5 FC accounts, 2.3 intents, a number of transactions, one ownership check per
account (:func:`fill`); and over the last 90 days (:func:`fill_debits`) 5 ACH debits (``debit_outcomes``; about 4 % come back,
mostly R01/R09, half of those retried once; the administrative and unauthorized returns block
the payment method), a pre-debit check before 60 % of them (``debit_checks``), one webhook
event per debit (``webhook_events``); and 4 background jobs per
customer (``jobs``: about 900 a day at 20,000 customers, a few failed or retried).
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime
from typing import Any

BANKS = ["StripeBank", "Test Institution", "First Harbor Bank", "Evergreen Federal"]
METHODS = ["automatic", "instant", "microdeposits"]
FLOWS = ["setup_intent", "payment_intent", "unknown"]
# one clock for the paired runs of bench_pages (two processes fill two stores as of the same second)
NOW = int(os.environ.get("FCOPS_BENCH_NOW") or time.time())
DAY = 86_400
DEBITS_PER_CUSTOMER = 5
DAYS = 90
JOBS_PER_CUSTOMER = 4  # over the 90 days: 800 jobs at 200 customers, 80,000 at 20,000
JOB_KINDS = ("accounts.sync", "intents.sync", "balances.batch_check", "ownership.check_all")
# (Stripe failure code, Nacha code, category, block reason or None), with their shares of debits
RETURNS = (
    (0.025, "insufficient_funds", "R01", "other", None),
    (0.003, "insufficient_funds", "R09", "other", None),
    (0.005, "no_account", "R03", "administrative", "bank_account_invalid_details"),
    (0.004, "account_closed", "R02", "administrative", "bank_account_closed"),
    (0.003, "debit_not_authorized", "R10", "unauthorized", "debit_not_authorized"),
)
DEBIT_FLOWS = ("payment_intent", "setup_intent", None)


def _returned(rng: random.Random) -> tuple[str, str, str, str | None] | None:
    roll = rng.random()
    for share, failure, code, category, blocked in RETURNS:
        if roll < share:
            return failure, code, category, blocked
        roll -= share
    return None


def _debit(
    ident: str, customer: int, created: int, now: int, rng: random.Random
) -> dict[str, Any]:
    cus = f"cus_b{customer:07d}"
    returned = _returned(rng) if created < now - 3 * DAY else None
    if customer % 100 == 7 and ident.endswith("0"):  # a blocked account in every 100 customers
        returned = RETURNS[3][1:]
    status = "returned" if returned else "settled" if created < now - 4 * DAY else "pending"
    failure, code, category, blocked = returned or (None, None, None, None)
    return_code = "R01/R09" if code == "R01" and rng.random() < 0.5 else code
    return {
        "id": ident,
        "original_id": ident,
        "customer_id": cus,
        "payment_method": f"pm_bd{customer:07d}",
        "account_id": f"fca_b{customer:07d}0",
        "institution": BANKS[customer % len(BANKS)],
        "last4": f"{customer % 10_000:04d}",
        "verification_method": rng.choice(METHODS),
        "flow": rng.choice(DEBIT_FLOWS),
        "amount": rng.randint(1_000, 250_000),
        "currency": "usd",
        "created": created,
        "status": status,
        "failure_code": failure,
        "return_code": return_code,
        "category": category,
        "blocked_reason": blocked,
        "blocked_code": code if blocked else None,
        "processing_at": created,
        "settled_at": created + 4 * DAY if status == "settled" else None,
        "returned_at": min(now, created + rng.randint(2, 6) * DAY) if status == "returned" else None,
        "observed_at": min(now, created + 6 * DAY),
    }


def _check(debit: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    at = debit["created"] - rng.randint(600, 3 * DAY)
    short = debit["return_code"] in ("R01", "R01/R09", "R09") and rng.random() < 0.6
    balance = debit["amount"] // 2 if short else debit["amount"] * rng.randint(2, 20)
    return {
        "account_id": debit["account_id"],
        "source": rng.choice(("single", "batch", "batch")),
        "target": debit["id"],
        "reference": None,
        "amount": debit["amount"],
        "currency": "usd",
        "verdict": "insufficient" if short and rng.random() < 0.5 else "ok",
        "balance": balance,
        "balance_source": "stored",
        "as_of": at - rng.randint(0, 2 * DAY),
        "required": debit["amount"],
        "buffer_amount": 0,
        "buffer_percent": 0.0,
        "max_age_seconds": 2 * DAY,
        "checked_at": at,
        "checked_by": "finance",
    }


def _event(debit: dict[str, Any], now: int) -> dict[str, Any]:
    kind = {"returned": "payment_failed", "settled": "succeeded"}.get(debit["status"], "processing")
    at = min(now, debit["observed_at"])
    return {
        "id": f"evt_{debit['id']}",
        "type": f"payment_intent.{kind}",
        "created": at,
        "livemode": False,
        "status": "processed",
        "deliveries": 1,
        "error": None,
        "payload": {},
        "received_at": datetime.fromtimestamp(at, UTC),
        "processed_at": datetime.fromtimestamp(at + 1, UTC),
    }


def _job(n: int, now: int, rng: random.Random) -> dict[str, Any]:
    at = datetime.fromtimestamp(now - rng.randint(60, DAYS * DAY), UTC)
    failed = rng.random() < 0.03
    kind = JOB_KINDS[n % len(JOB_KINDS)]
    return {
        "id": f"job_b{n:08d}",
        "kind": kind,
        "label": kind.replace(".", " "),
        "actor": "ops",
        "role": "ops",
        "status": "failed" if failed else "succeeded",
        "done": 10,
        "total": 10,
        "message": "done",
        "error": "Stripe was unreachable" if failed else None,
        "attempts": 2 if rng.random() < 0.02 else 1,
        "params": {},
        "result": None,
        "created_at": at,
        "started_at": at,
        "updated_at": at,
        "finished_at": at,
    }


def fill_debits(
    engine: Any, start: int, stop: int, *, now: int, background: bool = True
) -> dict[str, int]:
    """Insert the debits, checks, webhook events and jobs of customers ``start``..``stop``
    (without ``background``: no webhook events, no jobs)."""
    from sqlalchemy import insert

    from services.adapters import (
        debit_chains,
        last_checks,
        latest_blocks,
        original_dates,
        verdict_days,
    )
    from services.adapters.job_models import JobRecord, WebhookEventRecord
    from services.adapters.models import DebitCheckRecord, DebitOutcomeRecord

    rng = random.Random(start + 7)
    counts = dict.fromkeys(("debits", "checks", "events", "jobs"), 0)
    chunk = 1000
    for lo in range(start, stop, chunk):
        debits, checks = [], []
        for c in range(lo, min(stop, lo + chunk)):
            for k in range(DEBITS_PER_CUSTOMER):
                created = now - rng.randint(0, DAYS * DAY)
                debit = _debit(f"pi_bd{c:07d}{k}", c, created, now, rng)
                debits.append(debit)
                if debit["return_code"] in ("R01", "R01/R09", "R09") and rng.random() < 0.5:
                    retry = _debit(f"pi_bd{c:07d}{k}r", c, debit["returned_at"], now, rng)
                    retry["original_id"] = debit["id"]
                    debits.append(retry)
                if rng.random() < 0.6:
                    checks.append(_check(debit, rng))
        with engine.begin() as conn:
            conn.execute(insert(DebitOutcomeRecord), debits)
            if checks:
                conn.execute(insert(DebitCheckRecord), checks)
            if background:
                conn.execute(insert(WebhookEventRecord), [_event(d, now) for d in debits])
                counts["events"] += len(debits)
        counts["debits"] += len(debits)
        counts["checks"] += len(checks)
    for lo in range(start * JOBS_PER_CUSTOMER, stop * JOBS_PER_CUSTOMER if background else 0, chunk):
        last = min(stop * JOBS_PER_CUSTOMER, lo + chunk)
        jobs = [_job(n, now, rng) for n in range(lo, last)]
        with engine.begin() as conn:
            conn.execute(insert(JobRecord), jobs)
        counts["jobs"] += len(jobs)
    # as opening the store would (a migration on an existing store): the bulk inserts bypass
    # the writers that keep each debit's last check
    last_checks.backfill(engine)
    original_dates.backfill(engine)
    # as a migration would on an existing store: the chains of the debits inserted above
    debit_chains.rebuild(engine)
    verdict_days.rebuild(engine)  # and the day counts of their verdicts
    latest_blocks.rebuild(engine)  # and each payment method's latest block
    return counts


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

    from services.adapters import intent_days
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
    intent_days.rebuild(engine)  # the bulk inserts bypass the writers that keep the day counts
    return time.perf_counter() - began, counts


def mark_synced(engine: Any) -> None:
    """As the syncs would: their state is "done", and the data versions move on (the bulk
    inserts bypass the writers that bump them), so no page serves figures cached at 1x."""
    from datetime import UTC, datetime

    from services.adapters import data_version
    from services.adapters.store import mark_sync, session_scope

    done = datetime.now(UTC)
    for name in ("accounts", "intents", "debit_outcomes"):
        mark_sync(engine, name, cursor=str(NOW), last_started_at=done, last_finished_at=done)
    with session_scope(engine) as session:
        for name in data_version.ALL:
            data_version.bump(session, name)
    if engine.dialect.name == "postgresql":
        settle_postgres(engine)


def settle_postgres(engine: Any) -> None:
    """What autovacuum does after a bulk load, done now so it neither runs during the timings
    nor is missing from them: the planner's statistics and the visibility map (index-only
    scans). Only the tables filled here, in this schema."""
    from sqlalchemy import text

    from services.adapters.job_models import JobRecord, WebhookEventRecord
    from services.adapters.models import (
        AccountRecord,
        CustomerRecord,
        DebitChainDayRecord,
        DebitChainRecord,
        DebitCheckRecord,
        DebitHeadroomDayRecord,
        DebitOutcomeRecord,
        DebitVerdictDayRecord,
        IntentRecord,
        LatestBlockRecord,
        OwnershipCheck,
        TransactionRecord,
    )

    models = (
        CustomerRecord,
        AccountRecord,
        OwnershipCheck,
        IntentRecord,
        TransactionRecord,
        DebitOutcomeRecord,
        DebitChainRecord,
        DebitChainDayRecord,
        DebitCheckRecord,
        DebitVerdictDayRecord,
        DebitHeadroomDayRecord,
        LatestBlockRecord,
        WebhookEventRecord,
        JobRecord,
    )
    names = ", ".join(f'"{m.__tablename__}"' for m in models)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM ANALYZE {names}"))
