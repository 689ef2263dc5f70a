"""The batch check reads a live mirror instead of Stripe, and learns refreshes from events.

A private sandbox (refresh_delay 0: a refresh finishes on the sandbox's next tick) whose events
are "delivered" to the store as the webhook workflow would: stored as received and applied to the
mirror (``account_mirror.apply_events``), synchronously, from a sandbox event hook. A test can
drop an event (a lost webhook) or deliver none (no endpoint registered). On SQLite and
PostgreSQL (``engine``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bench.bench_batch import Counting  # the bench's gateway proxy counting Stripe calls by method
from services.adapters import account_mirror, mirror_live
from services.adapters.job_models import WebhookEventRecord
from services.adapters.models import AccountRecord, utcnow
from services.adapters.store import session_scope
from services.auth import Actor
from services.context import Services
from services.rules.debit_csv import parse_debits_csv
from services.usecases import check_batch

DAY = 86_400
FINANCE = Actor("finance", "finance")
_names = itertools.count(1)


class Deliveries:
    """Sandbox event hook: each event stored and applied to the mirror, unless dropped."""

    def __init__(self) -> None:
        self.engine: Any = None
        self.drop: set[tuple[str, str]] = set()  # (event type, object ID) lost on the way
        self.dropped = 0

    def __call__(self, evt: dict[str, Any]) -> None:
        if self.engine is None:
            return  # no endpoint registered: nothing arrives
        event = json.loads(json.dumps(evt))
        if (event["type"], event["data"]["object"].get("id")) in self.drop:
            self.dropped += 1
            return
        with session_scope(self.engine) as session:
            session.add(
                WebhookEventRecord(
                    id=event["id"], type=event["type"], created=event["created"],
                    payload=event, status="processed", processed_at=utcnow(),
                )
            )
        account_mirror.apply_events(self.engine, [event])


@pytest.fixture(scope="module")
def box() -> Iterator[Any]:
    from sandbox.server import start_background

    handle = start_background(port=0, seed=5, customers=0, refresh_delay=0, refresh_cooldown=60)
    handle.state.event_hooks.append(Deliveries())
    yield handle
    handle.stop()


@pytest.fixture
def delivered(box: Any) -> Iterator[Deliveries]:
    hook = box.state.event_hooks[-1]
    assert isinstance(hook, Deliveries)
    yield hook
    hook.engine, hook.drop, hook.dropped = None, set(), 0


@pytest.fixture
def gw(box: Any) -> Any:
    from bootstrap import SANDBOX_KEY
    from services.adapters.gateway import StripeGateway

    return StripeGateway(SANDBOX_KEY, base_url=box.base_url, max_network_retries=0)


def link(gw: Any, box: Any) -> str:
    from sandbox.client import Simulator

    n = next(_names)
    cus = gw.create_customer({"name": f"Live {n}"}, idempotency_key=None)["id"]
    session = gw.create_fc_session(
        {"account_holder": {"type": "customer", "customer": cus},
         "permissions": ["balances", "payment_method"]},
        idempotency_key=None,
    )
    Simulator(box.base_url).complete_session(session["id"], institution="StripeBank")
    return str(gw.list_accounts(session=session["id"])[0]["id"])


def set_balance(box: Any, account_id: str, *, amount: int, age: int, next_in: int) -> None:
    """The bank's last figure, ``age`` seconds old; the next refresh allowed in ``next_in`` s.
    Announced as Stripe would after a refresh (an event), so a live mirror holds it too."""
    with box.state.lock:
        account = box.state.lookup(account_id)
        now = box.state.now()
        account["balance"] = {
            "as_of": now - age, "type": "cash", "current": {"usd": amount},
            "cash": {"available": {"usd": amount}},
        }
        account["balance_refresh"] = {
            "status": "succeeded", "last_attempted_at": now - age,
            "next_refresh_available_at": now + next_in,
        }
        box.state.emit("financial_connections.account.refreshed_balance", account)


def world(gw: Any, box: Any) -> tuple[str, str, str, str]:
    """A fresh account, a stale refreshable one, a stale one Stripe will not refresh yet, and
    the CSV of a batch over them (the stale refreshable one twice)."""
    fresh, stale, throttled = link(gw, box), link(gw, box), link(gw, box)
    set_balance(box, fresh, amount=900_000, age=60, next_in=-1)
    set_balance(box, stale, amount=900_000, age=2 * DAY, next_in=-1)
    set_balance(box, throttled, amount=900_000, age=2 * DAY, next_in=900)
    text = f"id,amount\n{fresh},10.00\n{stale},10.00\n{stale},20.00\n{throttled},10.00\n"
    return fresh, stale, throttled, text


def run(svc: Services, text: str, **options: Any) -> Any:
    planned, _ = parse_debits_csv(text)
    return check_batch.run_batch(svc, FINANCE, planned, refresh_stale=True, **options)


def verdicts(result: Any) -> list[tuple[str | None, str, bool]]:
    return [(r.account_id, r.verdict, r.refreshed) for r in result.rows]


def test_a_live_mirror_means_no_retrieves_one_refresh_per_stale_account_and_events_complete_it(
    engine: Any, gw: Any, box: Any, delivered: Deliveries
) -> None:
    delivered.engine = engine
    fresh, stale, throttled, text = world(gw, box)
    counting = Counting(gw)
    svc = Services(gateway=counting, engine=engine, mode="sandbox", now=box.state.now)
    result = run(svc, text)
    assert dict(counting.calls) == {"refresh_account": 1}  # no retrieve at all
    assert result.requests == 1 and result.refreshed == [stale] and result.from_mirror == 3
    assert verdicts(result) == [
        (fresh, "ok", False), (stale, "ok", True), (stale, "ok", True), (throttled, "stale", False),
    ]  # fmt: skip
    assert "allows the next balance refresh from" in " ".join(result.rows[3].reasons)
    # the refreshed balance is the one the event brought (now, not two days old)
    assert result.rows[1].as_of is not None and result.rows[1].as_of >= box.state.now() - 5


def test_a_lost_event_falls_back_to_one_retrieve_after_the_bound(
    engine: Any, gw: Any, box: Any, delivered: Deliveries
) -> None:
    delivered.engine = engine
    fresh, stale, throttled, text = world(gw, box)
    delivered.drop.add(("financial_connections.account.refreshed_balance", stale))
    counting = Counting(gw)
    svc = Services(gateway=counting, engine=engine, mode="sandbox", now=box.state.now)
    result = run(svc, text, event_wait_seconds=1.0)
    assert delivered.dropped == 1
    assert dict(counting.calls) == {"refresh_account": 1, "retrieve_account": 1}
    assert verdicts(result) == [
        (fresh, "ok", False), (stale, "ok", True), (stale, "ok", True), (throttled, "stale", False),
    ]  # fmt: skip
    with session_scope(engine) as session:  # what Stripe answered is kept in the mirror
        row = session.get(AccountRecord, stale)
        assert row is not None and row.balance_refresh_status == "succeeded"


def test_without_a_live_mirror_every_account_is_read_from_stripe_as_before(
    engine: Any, gw: Any, box: Any, delivered: Deliveries
) -> None:
    fresh, stale, throttled, text = world(gw, box)  # no endpoint: no event reaches the store
    for account_id in (fresh, stale, throttled):  # rows from an old sync, not kept current
        account_mirror.upsert_account(engine, gw.retrieve_account(account_id))
    counting = Counting(gw)
    svc = Services(gateway=counting, engine=engine, mode="sandbox", now=box.state.now)
    result = run(svc, text)
    assert counting.calls["refresh_account"] == 1
    assert counting.calls["retrieve_account"] >= 4  # three accounts, then the refresh polled
    assert result.from_mirror == 0
    assert verdicts(result) == [
        (fresh, "ok", False), (stale, "ok", True), (stale, "ok", True), (throttled, "stale", False),
    ]  # fmt: skip


def test_a_row_written_before_a_gap_in_the_events_is_read_from_stripe(
    engine: Any, gw: Any, box: Any, delivered: Deliveries
) -> None:
    delivered.engine = engine
    fresh, stale, throttled, text = world(gw, box)
    with session_scope(engine) as session:  # the stream began after these rows were written
        for row in session.exec(select(WebhookEventRecord)).all():
            row.received_at = utcnow() - timedelta(hours=2)
            session.add(row)
        session.add(WebhookEventRecord(id="evt_after_gap", type="customer.updated", created=1,
                                       status="processed"))
    counting = Counting(gw)
    svc = Services(gateway=counting, engine=engine, mode="sandbox", now=box.state.now)
    result = run(svc, text)
    assert dict(counting.calls) == {"retrieve_account": 3, "refresh_account": 1}
    assert result.from_mirror == 0
    assert [v[1] for v in verdicts(result)] == ["ok", "ok", "ok", "stale"]


# --------------------------------------------------------------------------- liveness


REFRESHED = "financial_connections.account.refreshed_balance"


def _event(
    engine: Any, event_id: str, ago: timedelta, status: str = "processed", kind: str = REFRESHED
) -> None:
    with session_scope(engine) as session:
        session.add(WebhookEventRecord(id=event_id, type=kind, created=1,
                                       status=status, received_at=utcnow() - ago))


def test_no_webhook_ever_received_means_not_live(engine: Any) -> None:
    assert mirror_live.live_since(engine) is None


def test_the_stream_starts_after_the_last_gap_longer_than_the_silence(engine: Any) -> None:
    for n, minutes in enumerate((1, 4, 8, 30, 34)):
        _event(engine, f"evt_{n}", timedelta(minutes=minutes))
    since = mirror_live.live_since(engine, silence=timedelta(minutes=10))
    assert since is not None
    assert timedelta(minutes=7) < utcnow() - since < timedelta(minutes=9)  # the 8-minute one


def test_silence_a_stuck_event_or_a_failed_one_means_not_live(engine: Any) -> None:
    _event(engine, "evt_old", timedelta(minutes=20))
    assert mirror_live.live_since(engine, silence=timedelta(minutes=10)) is None
    _event(engine, "evt_new", timedelta(seconds=5))
    assert mirror_live.live_since(engine, silence=timedelta(minutes=10)) is not None
    _event(engine, "evt_waiting", timedelta(seconds=2), status="received")  # within the grace
    assert mirror_live.live_since(engine, silence=timedelta(minutes=10)) is not None
    # an intent event that failed or waits does not touch the account rows
    _event(engine, "evt_pi", timedelta(minutes=2), "failed", "payment_intent.succeeded")
    _event(engine, "evt_si", timedelta(minutes=2), "received", "setup_intent.succeeded")
    assert mirror_live.live_since(engine, silence=timedelta(minutes=10)) is not None
    _event(engine, "evt_stuck", timedelta(minutes=2), status="received")
    assert mirror_live.live_since(engine, silence=timedelta(minutes=10)) is None
    with session_scope(engine) as session:
        stuck = session.get(WebhookEventRecord, "evt_stuck")
        assert stuck is not None
        stuck.status = "failed"
        session.add(stuck)
    assert mirror_live.live_since(engine, silence=timedelta(minutes=10)) is None


def test_a_row_with_an_event_waiting_to_be_applied_is_read_from_stripe(
    engine: Any, gw: Any, box: Any, delivered: Deliveries
) -> None:
    delivered.engine = engine
    fresh, stale, throttled, text = world(gw, box)
    with session_scope(engine) as session:  # received a moment ago, its workflow not done yet
        session.add(WebhookEventRecord(
            id="evt_waiting", type=REFRESHED, created=1, status="received",
            payload={"type": REFRESHED, "data": {"object": {"id": fresh}}},
        ))
    counting = Counting(gw)
    svc = Services(gateway=counting, engine=engine, mode="sandbox", now=box.state.now)
    result = run(svc, text)
    assert dict(counting.calls) == {"retrieve_account": 1, "refresh_account": 1}
    assert result.from_mirror == 2
    assert [v[1] for v in verdicts(result)] == ["ok", "ok", "ok", "stale"]


def test_a_balance_never_fetched_is_fetched_by_one_request_and_its_event_completes_it(
    engine: Any, gw: Any, box: Any, delivered: Deliveries
) -> None:
    delivered.engine = engine
    fresh, stale, throttled, text = world(gw, box)
    never = link(gw, box)  # linked, no balance yet; its account.created event fills the mirror
    counting = Counting(gw)
    svc = Services(gateway=counting, engine=engine, mode="sandbox", now=box.state.now)
    result = run(svc, text + f"{never},10.00\n")
    assert dict(counting.calls) == {"refresh_account": 2}  # no read per row, no poll
    assert sorted(result.refreshed) == sorted([stale, never]) and result.from_mirror == 4
    assert verdicts(result)[-1] == (never, "ok", True)
    figure = gw.retrieve_account(never)["balance"]["cash"]["available"]["usd"]
    assert result.rows[-1].balance == figure  # the one its refreshed_balance event brought
