"""POST /webhooks/stripe: signature checked on the raw body, each event stored and processed
once, older events never overwrite newer data, and the sandbox delivers to the registered
endpoint (registered through ``webhook_endpoints`` when the app starts)."""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from typing import Any

import stripe
from dbos import DBOS
from sqlmodel import func, select

from services.adapters import account_mirror
from services.adapters.job_models import WebhookEventRecord
from services.adapters.models import AccountRecord
from services.adapters.store import session_scope
from services.auth import SYSTEM, Actor
from services.rules.bank_account import applied_event_created
from services.rules.stripe_api import API_VERSION
from services.usecases import browse_accounts, sync_accounts, webhooks

ADMIN = Actor("admin", "admin")


def post(url: str, body: bytes, signature: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def signed(body: bytes, secret: str) -> str:
    return stripe.WebhookSignature.generate_signature_header(body.decode(), secret)


def event(kind: str, obj: dict[str, Any], created: int, version: str = API_VERSION) -> bytes:
    payload = {
        "id": "evt_" + secrets.token_hex(12),
        "object": "event",
        "api_version": version,
        "created": created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
    }
    return json.dumps(payload).encode()


def stored_events(engine: Any) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(WebhookEventRecord)).one())


def wait_processed(engine: Any, event_id: str, timeout: float = 20) -> WebhookEventRecord:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(engine) as session:
            row = session.get(WebhookEventRecord, event_id)
            if row is not None and row.status != "received":
                return row
        time.sleep(0.05)
    raise AssertionError(f"{event_id} was not processed")


def mirrored(engine: Any, account_id: str) -> AccountRecord:
    with session_scope(engine) as session:
        row = session.get(AccountRecord, account_id)
        assert row is not None
        return row


def an_account(app: Any) -> dict[str, Any]:
    if not account_mirror.mirrored_account_count(app.engine):
        sync_accounts.sync_accounts(app.services, ADMIN, full=True)
    # One whose mirror row no event has written yet (an earlier module's nightly refresh, say,
    # leaves newer event stamps than the events these tests send) and with no refresh running.
    for row in browse_accounts.list_accounts(app.services, ADMIN, page_size=100).rows:
        if row.status != "active" or "balances" not in row.permissions:
            continue
        if applied_event_created(mirrored(app.engine, row.id).raw) is not None:
            continue
        account = app.gateway.retrieve_account(row.id)
        if (account.get("balance_refresh") or {}).get("status") != "pending":
            return account
    raise AssertionError("no active account with balances that no event has written")


def with_balance(account: dict[str, Any], amount: int, as_of: int) -> dict[str, Any]:
    return {
        **account,
        "balance": {
            "as_of": as_of,
            "current": {"usd": amount},
            "type": "cash",
            "cash": {"available": {"usd": amount}},
            "credit": None,
        },
    }


def test_a_bad_signature_gets_400_and_changes_nothing(fcops: Any) -> None:
    app, background = fcops
    before = stored_events(app.engine)
    body = event("customer.updated", {"id": "cus_x", "object": "customer"}, int(time.time()))
    assert post(background.webhook_url, body, signed(body, "whsec_not_the_secret"))[0] == 400
    assert post(background.webhook_url, body, None)[0] == 400
    tampered = body.replace(b"cus_x", b"cus_y")
    assert post(background.webhook_url, tampered, signed(body, background.secret))[0] == 400
    old = stripe.WebhookSignature.generate_signature_header(
        body.decode(), background.secret, timestamp=int(time.time()) - 301
    )
    assert post(background.webhook_url, body, old)[0] == 400  # outside the 300 s tolerance
    assert stored_events(app.engine) == before


def test_a_duplicated_event_is_stored_and_processed_once(fcops: Any) -> None:
    app, background = fcops
    account = an_account(app)
    now = int(time.time())
    body = event("financial_connections.account.refreshed_balance",
                 with_balance(account, 77_001, now - 60), now - 60)
    event_id = json.loads(body)["id"]
    first = post(background.webhook_url, body, signed(body, background.secret))
    second = post(background.webhook_url, body, signed(body, background.secret))
    assert first == (200, {"received": True, "id": event_id, "duplicate": False})
    assert second == (200, {"received": True, "id": event_id, "duplicate": True})
    row = wait_processed(app.engine, event_id)
    assert row.status == "processed" and row.deliveries == 2
    assert [w.workflow_id for w in DBOS.list_workflows(workflow_id_prefix=f"event-{event_id}")] == [
        f"event-{event_id}"
    ]
    assert mirrored(app.engine, account["id"]).balance_current == 77_001


def test_an_older_event_does_not_overwrite_a_newer_one(fcops: Any) -> None:
    app, background = fcops
    account = an_account(app)
    now = int(time.time())
    newer = event("financial_connections.account.refreshed_balance",
                  with_balance(account, 50_000, now - 30), now - 20)
    older = event("financial_connections.account.refreshed_balance",
                  with_balance(account, 10_000, now - 100), now - 40)
    for body in (newer, older):  # delivered out of order
        assert post(background.webhook_url, body, signed(body, background.secret))[0] == 200
    for body in (newer, older):
        wait_processed(app.engine, json.loads(body)["id"])
    assert mirrored(app.engine, account["id"]).balance_current == 50_000


def test_the_sandbox_delivers_signed_events_to_the_registered_endpoint(fcops: Any) -> None:
    app, background = fcops
    endpoints = app.gateway.list_webhook_endpoints()
    assert [e["url"] for e in endpoints if e["id"] == background.webhook_endpoint_id] == [
        background.webhook_url
    ]
    assert all("secret" not in e for e in endpoints)  # only the create answer carries it
    # Registered in our version: Stripe renders its events in it, not the account's default.
    assert [e["api_version"] for e in endpoints if e["id"] == background.webhook_endpoint_id] == [
        API_VERSION
    ]
    account = an_account(app)
    with session_scope(app.engine) as session:
        seen = set(session.exec(select(WebhookEventRecord.id)).all())
    refreshed = app.gateway.refresh_account(account["id"], ["balance"], idempotency_key=None)
    assert refreshed["balance_refresh"]["status"] == "pending"
    deadline = time.monotonic() + 30
    got: list[WebhookEventRecord] = []
    while time.monotonic() < deadline:
        with session_scope(app.engine) as session:
            got = [
                r for r in session.exec(
                    select(WebhookEventRecord).where(
                        WebhookEventRecord.type == "financial_connections.account.refreshed_balance"
                    )
                ).all()
                if r.id not in seen and r.payload["data"]["object"]["id"] == account["id"]
            ]
        if got and got[0].status == "processed":
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the sandbox's refreshed_balance event was not processed: {got}")
    # The mirror holds the refreshed balance the event carried.
    balance = got[0].payload["data"]["object"]["balance"]
    assert mirrored(app.engine, account["id"]).balance_as_of == balance["as_of"]
    status = webhooks.status(SYSTEM)
    assert status.last_received_at is not None and status.last_type is not None


def test_relink_warnings_arrive_live_with_upcoming_deactivation_and_deactivation(
    fcops: Any,
) -> None:
    app, background = fcops
    account = an_account(app)
    now = int(time.time())
    by = now + 14 * 86_400
    warned = {
        **account,
        "status": "active",
        "status_details": {"active": {"action": "relink_required",
                                      "expected_deactivation_date": by, "cause": "institution"}},
    }
    body = event("financial_connections.account.upcoming_deactivation", warned, now + 2)
    assert post(background.webhook_url, body, signed(body, background.secret))[0] == 200
    wait_processed(app.engine, json.loads(body)["id"])
    assert mirrored(app.engine, account["id"]).relink_required_by == by
    gone = {**account, "status": "inactive", "status_details": {"inactive": {"action": "relink_required"}}}
    body = event("financial_connections.account.deactivated", gone, now + 3)
    assert post(background.webhook_url, body, signed(body, background.secret))[0] == 200
    wait_processed(app.engine, json.loads(body)["id"])
    row = mirrored(app.engine, account["id"])
    assert row.status == "inactive" and row.relink_required_by is None


def test_an_event_from_the_same_second_as_the_last_one_applied_rereads_the_account(
    fcops: Any,
) -> None:
    app, background = fcops
    account = an_account(app)
    at = int(time.time()) + 30  # later than anything this account applied so far
    first = event("financial_connections.account.refreshed_balance",
                  with_balance(account, 11_111, at), at)
    same_second = event("financial_connections.account.refreshed_balance",
                        with_balance(account, 22_222, at), at)
    # What Stripe says now is at least as new as its events (a read is never older than an
    # event already sent, or the mirror keeps the newer copy: bank_account.read_earlier).
    state = app.sandbox.state
    with state.lock:
        state.lookup(account["id"])["balance"] = with_balance(account, 33_333, at)["balance"]
    marks = []
    for body in (first, same_second):
        assert post(background.webhook_url, body, signed(body, background.secret))[0] == 200
        wait_processed(app.engine, json.loads(body)["id"])
        marks.append(mirrored(app.engine, account["id"]).event_mark)
    # The tie cannot be ordered by `created`: the mirror holds what Stripe says now.
    now = app.gateway.retrieve_account(account["id"])["balance"]["current"]["usd"]
    assert mirrored(app.engine, account["id"]).balance_current == now == 33_333
    # and the re-read is marked as the event's: a walk that listed the account before it
    # began cannot write its older copy over it (account_mirror.read_mark)
    assert marks[0] is not None and marks[1] > marks[0]


def test_an_event_rendered_in_another_api_version_makes_the_mirror_read_the_account_again(
    fcops: Any,
) -> None:
    """An event's data keeps the version it was rendered in (an endpoint registered elsewhere
    without ``api_version`` gets the account's default): its copy may lack what this version
    has, so the account is read from Stripe instead of taken from the event."""
    app, background = fcops
    account = an_account(app)
    now = int(time.time())
    # As an older version rendered it: no status_details, and a status Stripe no longer has.
    older = {k: v for k, v in account.items() if k != "status_details"} | {"status": "inactive"}
    body = event("financial_connections.account.deactivated", older, now, "2025-03-31.basil")
    assert post(background.webhook_url, body, signed(body, background.secret))[0] == 200
    assert wait_processed(app.engine, json.loads(body)["id"]).status == "processed"
    row = mirrored(app.engine, account["id"])
    assert row.status == app.gateway.retrieve_account(account["id"])["status"] == "active"
    # The same copy in our version is taken as it is (the event is Stripe's word).
    body = event("financial_connections.account.deactivated", older, now + 1)
    assert post(background.webhook_url, body, signed(body, background.secret))[0] == 200
    wait_processed(app.engine, json.loads(body)["id"])
    assert mirrored(app.engine, account["id"]).status == "inactive"
    sync_accounts.sync_accounts(app.services, ADMIN, full=True)  # as Stripe has it, for the next
    assert mirrored(app.engine, account["id"]).status == "active"
