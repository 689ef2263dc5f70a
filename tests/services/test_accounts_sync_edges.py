"""Incremental account sync edge cases: deleted customers, and never an older copy over a newer one."""

from __future__ import annotations

import json
import secrets
import urllib.request
from typing import Any

import pytest
from sqlmodel import select

from bootstrap import SANDBOX_KEY
from services.adapters import account_mirror
from services.adapters.models import AccountRecord, CustomerRecord, SyncState
from services.adapters.store import session_scope
from services.rules import bank_account
from services.rules.stripe_api import API_VERSION
from services.usecases import browse_accounts, sync_accounts
from tests.services.test_accounts import make_customer


def delete_customer_in_stripe(base_url: str, customer_id: str) -> dict[str, Any]:
    """The gateway has no delete call (the app never deletes customers); the test plays Stripe."""
    request = urllib.request.Request(
        f"{base_url}/v1/customers/{customer_id}",
        method="DELETE",
        headers={"Authorization": f"Bearer {SANDBOX_KEY}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body: dict[str, Any] = json.loads(response.read())
    return body


def stored(engine: Any, model: Any, key: str) -> Any:
    with session_scope(engine) as session:
        return session.get(model, key)


def account_obj(account_id: str, *, status: str, customer: str = "cus_edge") -> dict[str, Any]:
    return {
        "id": account_id,
        "object": "financial_connections.account",
        "account_holder": {"type": "customer", "customer": customer},
        "institution_name": "StripeBank",
        "display_name": "Checking",
        "last4": "6789",
        "category": "cash",
        "subcategory": "checking",
        "status": status,
        "permissions": ["balances", "payment_method"],
        "subscriptions": [],
        "balance": None,
        "created": 1_700_000_000,
    }


def event(kind: str, obj: dict[str, Any], created: int) -> dict[str, Any]:
    return {
        "id": f"evt_{secrets.token_hex(6)}",
        "type": kind,
        "created": created,
        "data": {"object": obj},
    }


# --------------------------------------------------------------------------- sandbox


def test_a_customer_deleted_in_stripe_leaves_search_but_keeps_their_accounts(
    services_ctx: Any, gateway: Any, simulator: Any, sandbox_handle: Any, ops: Any
) -> None:
    customer, linked = make_customer(gateway, simulator, accounts=1)
    sync_accounts.sync_accounts(services_ctx, ops)
    name_part = customer["name"].split()[-1]
    found_before = browse_accounts.search_customers(services_ctx, ops, name_part)
    delete_customer_in_stripe(sandbox_handle.base_url, customer["id"])
    result = sync_accounts.sync_accounts(services_ctx, ops)
    found_after = browse_accounts.search_customers(services_ctx, ops, name_part)
    by_email = browse_accounts.search_customers(services_ctx, ops, customer["email"])
    kept = stored(services_ctx.engine, AccountRecord, linked[0]["id"])
    assert [h.id for h in found_before] == [customer["id"]]
    assert not result.full and result.events >= 1
    assert found_after == [] and by_email == []
    assert stored(services_ctx.engine, CustomerRecord, customer["id"]) is None
    assert kept is not None and kept.customer_id == customer["id"]


def test_a_full_re_read_removes_customers_deleted_while_nobody_synced_incrementally(
    store_svc: Any, gateway: Any, simulator: Any, sandbox_handle: Any, ops: Any
) -> None:
    customer, linked = make_customer(gateway, simulator, accounts=1)
    kept_customer, _ = make_customer(gateway, simulator, accounts=1)
    sync_accounts.sync_accounts(store_svc, ops)
    delete_customer_in_stripe(sandbox_handle.base_url, customer["id"])
    result = sync_accounts.sync_accounts(store_svc, ops, full=True)  # no replay of the event
    assert result.full and result.removed == 1
    assert "1 customer deleted in Stripe was removed from the list; its accounts are kept" in (
        sync_accounts.sync_message(result)
    )
    assert stored(store_svc.engine, CustomerRecord, customer["id"]) is None
    assert stored(store_svc.engine, CustomerRecord, kept_customer["id"]) is not None
    kept = stored(store_svc.engine, AccountRecord, linked[0]["id"])
    assert kept is not None and kept.customer_id == customer["id"]  # as customer.deleted does
    again = sync_accounts.sync_accounts(store_svc, ops, full=True)
    assert again.removed == 0 and "deleted in Stripe" not in sync_accounts.sync_message(again)


def test_a_customer_made_while_a_full_walk_runs_is_not_taken_for_a_deleted_one(
    store_svc: Any, gateway: Any, simulator: Any, ops: Any
) -> None:
    """A walk forgets the customers it did not see; one made after it read the first page (Collect's
    "New customer", or its ``customer.created`` event, mirrored meanwhile) was no deleted one. At
    20,000 customers a walk runs for minutes: the new customer vanished from search until the
    next sync."""
    make_customer(gateway, simulator, accounts=1)
    newest = next(iter(gateway.iter_events(types=account_mirror.SYNC_EVENTS)))["created"]
    made_during = {
        "id": f"cus_{secrets.token_hex(7)}",
        "object": "customer",
        "name": "Nia Park",
        "email": None,
        "created": int(newest) + 5,
    }
    deleted_before = {**made_during, "id": f"cus_{secrets.token_hex(7)}", "created": int(newest)}
    account_mirror.upsert_customers(store_svc.engine, [made_during, deleted_before])
    result = sync_accounts.sync_accounts(store_svc, ops, full=True)
    assert stored(store_svc.engine, CustomerRecord, made_during["id"]) is not None
    assert stored(store_svc.engine, CustomerRecord, deleted_before["id"]) is None
    assert result.removed >= 1


def test_a_replay_applies_events_oldest_first_so_the_latest_status_wins(
    services_ctx: Any, gateway: Any, simulator: Any, ops: Any
) -> None:
    _, linked = make_customer(gateway, simulator, accounts=1)
    account_id = linked[0]["id"]
    sync_accounts.sync_accounts(services_ctx, ops)
    with session_scope(services_ctx.engine) as session:
        cursor = int(session.get(SyncState, sync_accounts.SYNC_NAME).cursor or 0)  # type: ignore[union-attr]
    simulator.deactivate_account(account_id)
    simulator.reactivate_account(account_id)
    sync_accounts.sync_accounts(services_ctx, ops)
    # Replay the same window again (a rewound cursor): the older "deactivated" copy must not win.
    with session_scope(services_ctx.engine) as session:
        state = session.get(SyncState, sync_accounts.SYNC_NAME)
        assert state is not None
        state.cursor = str(cursor)
    again = sync_accounts.sync_accounts(services_ctx, ops)
    row = stored(services_ctx.engine, AccountRecord, account_id)
    assert not again.full and again.events >= 2
    assert row is not None and row.status == "active"
    assert row.status == gateway.retrieve_account(account_id)["status"]
    assert bank_account.applied_event_created(row.raw) is not None


def test_events_rendered_in_another_api_version_are_read_again_not_copied(
    services_ctx: Any, gateway: Any, simulator: Any, sandbox_handle: Any
) -> None:
    """Stripe's events list answers each event in the version it was rendered in when it
    happened (the account's default then), whatever version asks: such a copy may lack fields
    this version has, so the replay reads the object again."""
    customer, linked = make_customer(gateway, simulator, accounts=1)
    gone, _ = make_customer(gateway, simulator, accounts=0)
    delete_customer_in_stripe(sandbox_handle.base_url, gone["id"])
    account = gateway.retrieve_account(linked[0]["id"])
    stale = {k: v for k, v in account.items() if k != "status_details"} | {"status": "inactive"}
    events = [
        event("financial_connections.account.deactivated", stale, 1_700_000_100),
        event("customer.updated", {**customer, "name": "Old Name"}, 1_700_000_101),
        event("customer.updated", gone, 1_700_000_102),
    ]
    for e in events:
        e["api_version"] = "2025-03-31.basil"
    changes = account_mirror.changes_in(events)
    assert changes.accounts == {} and changes.customers == {}  # no copy taken as it is
    assert changes.reread == {
        account["id"]: "account",
        customer["id"]: "customer",
        gone["id"]: "customer",
    }
    sync_accounts.reread(services_ctx, changes)
    assert changes.accounts == {account["id"]: gateway.retrieve_account(account["id"])}
    assert changes.accounts[account["id"]]["status"] == "active"
    assert account["id"] not in changes.stamps  # read now: no event's date to guard it with
    assert changes.customers[customer["id"]]["name"] == customer["name"]
    assert gone["id"] in changes.deleted and gone["id"] not in changes.customers
    # In our own version the same events are Stripe's word, taken as they are.
    for e in events:
        e["api_version"] = API_VERSION
    ours = account_mirror.changes_in(events)
    assert ours.reread == {} and ours.accounts[account["id"]]["status"] == "inactive"


# --------------------------------------------------------------------------- both databases


def test_an_older_event_never_overwrites_an_account_stored_from_a_newer_one(engine: Any) -> None:
    fca = f"fca_{secrets.token_hex(6)}"
    account_mirror.apply_events(
        engine,
        [
            event(
                "financial_connections.account.deactivated",
                account_obj(fca, status="inactive"),
                2_000,
            )
        ],
    )
    account_mirror.apply_events(
        engine,
        [event("financial_connections.account.created", account_obj(fca, status="active"), 1_000)],
    )
    row = stored(engine, AccountRecord, fca)
    assert row is not None and row.status == "inactive"
    assert bank_account.applied_event_created(row.raw) == 2_000


def test_an_event_as_new_as_the_stored_one_is_applied(engine: Any) -> None:
    fca = f"fca_{secrets.token_hex(6)}"
    account_mirror.apply_events(
        engine,
        [event("financial_connections.account.created", account_obj(fca, status="active"), 1_500)],
    )
    account_mirror.apply_events(
        engine,
        [
            event(
                "financial_connections.account.disconnected",
                account_obj(fca, status="disconnected"),
                1_500,
            )
        ],
    )
    row = stored(engine, AccountRecord, fca)
    assert row is not None and row.status == "disconnected"


def test_events_listed_newest_first_are_applied_oldest_first(engine: Any) -> None:
    fca = f"fca_{secrets.token_hex(6)}"
    newest_first = [
        event("financial_connections.account.reactivated", account_obj(fca, status="active"), 30),
        event("financial_connections.account.deactivated", account_obj(fca, status="inactive"), 20),
        event("financial_connections.account.created", account_obj(fca, status="active"), 10),
    ]
    account_mirror.apply_events(engine, newest_first[1:])  # the state as of time 20
    middle = stored(engine, AccountRecord, fca)
    account_mirror.apply_events(engine, newest_first)
    row = stored(engine, AccountRecord, fca)
    assert middle is not None and middle.status == "inactive"
    assert row is not None and row.status == "active"
    assert bank_account.applied_event_created(row.raw) == 30


def test_a_direct_read_updates_the_row_but_keeps_the_event_guard(engine: Any) -> None:
    fca = f"fca_{secrets.token_hex(6)}"
    account_mirror.apply_events(
        engine,
        [
            event(
                "financial_connections.account.deactivated",
                account_obj(fca, status="inactive"),
                2_000,
            )
        ],
    )
    account_mirror.upsert_account(engine, account_obj(fca, status="active"))  # e.g. a full walk
    after_read = stored(engine, AccountRecord, fca)
    account_mirror.apply_events(
        engine,
        [
            event(
                "financial_connections.account.deactivated",
                account_obj(fca, status="inactive"),
                1_000,
            )
        ],
    )
    row = stored(engine, AccountRecord, fca)
    assert after_read is not None and after_read.status == "active"
    assert row is not None and row.status == "active"
    assert bank_account.applied_event_created(row.raw) == 2_000


def refreshed_obj(
    account_id: str, *, attempted: int, status: str, as_of: int | None
) -> dict[str, Any]:
    """An account whose balance refresh began at ``attempted`` (a balance as of ``as_of``)."""
    balance = (
        None
        if as_of is None
        else {
            "as_of": as_of,
            "type": "cash",
            "current": {"usd": 5_000},
            "cash": {"available": {"usd": 5_000}},
        }
    )
    return {
        **account_obj(account_id, status="active"),
        "balance": balance,
        "balance_refresh": {
            "status": status,
            "last_attempted_at": attempted,
            "next_refresh_available_at": None,
        },
    }


def test_a_walk_read_before_a_refresh_ended_does_not_blank_the_balance_an_event_wrote(
    engine: Any,
) -> None:
    """CI48: a full walk listed the account while its balance refresh was pending, the
    ``refreshed_balance`` event was applied, then the walk wrote its copy: no balance, "pending".
    A copy Stripe's refresh clocks show was read earlier leaves the row as it is."""
    fca = f"fca_{secrets.token_hex(6)}"
    read_by_walk = refreshed_obj(fca, attempted=1_000, status="pending", as_of=None)
    account_mirror.apply_events(
        engine,
        [
            event(
                "financial_connections.account.refreshed_balance",
                refreshed_obj(fca, attempted=1_000, status="succeeded", as_of=1_001),
                1_001,
            )
        ],
    )
    account_mirror.upsert_account(engine, read_by_walk)  # written after the event
    row = stored(engine, AccountRecord, fca)
    assert row.balance_as_of == 1_001 and row.balance_refresh_status == "succeeded"
    # A copy read before a later refresh began is older too; a newer read still wins.
    account_mirror.upsert_account(
        engine, refreshed_obj(fca, attempted=900, status="succeeded", as_of=901)
    )
    assert stored(engine, AccountRecord, fca).balance_as_of == 1_001
    account_mirror.upsert_account(
        engine, refreshed_obj(fca, attempted=2_000, status="pending", as_of=1_001)
    )
    row = stored(engine, AccountRecord, fca)
    assert row.balance_refresh_status == "pending" and row.balance_as_of == 1_001


def test_read_earlier_compares_only_what_both_copies_carry() -> None:
    fca = "fca_x"
    done = refreshed_obj(fca, attempted=10, status="succeeded", as_of=11)
    older = [
        refreshed_obj(fca, attempted=10, status="pending", as_of=None),  # before the first ended
        refreshed_obj(fca, attempted=10, status="succeeded", as_of=5),
        refreshed_obj(fca, attempted=9, status="succeeded", as_of=11),
    ]
    assert all(bank_account.read_earlier(done, copy) for copy in older)
    not_older = [
        done,
        refreshed_obj(fca, attempted=11, status="pending", as_of=11),  # a new refresh began
        refreshed_obj(fca, attempted=10, status="pending", as_of=11),  # again, in the same second
        refreshed_obj(fca, attempted=12, status="pending", as_of=None),  # later, without a balance
    ]
    assert not any(bank_account.read_earlier(done, copy) for copy in not_older)
    plain = account_obj(fca, status="inactive")  # no refresh clocks, no balance on either side
    assert not bank_account.read_earlier(plain, plain) and not bank_account.read_earlier(None, done)


def test_a_deleted_customer_event_removes_the_customer_and_leaves_the_accounts(
    engine: Any,
) -> None:
    cus = f"cus_{secrets.token_hex(6)}"
    fca = f"fca_{secrets.token_hex(6)}"
    customer = {
        "id": cus,
        "object": "customer",
        "email": "x@example.com",
        "name": "X",
        "created": 5,
    }
    account_mirror.apply_events(
        engine,
        [
            event("customer.created", customer, 10),
            event(
                "financial_connections.account.created",
                account_obj(fca, status="active", customer=cus),
                11,
            ),
        ],
    )
    present = stored(engine, CustomerRecord, cus)
    counts = account_mirror.apply_events(engine, [event("customer.deleted", customer, 12)])
    with session_scope(engine) as session:
        holders = session.exec(
            select(AccountRecord.customer_id).where(AccountRecord.id == fca)
        ).all()
    assert present is not None
    assert stored(engine, CustomerRecord, cus) is None
    assert counts[0] == 1
    assert holders == [cus]


@pytest.mark.parametrize("created_then_deleted", [True, False])
def test_a_customer_deleted_in_the_same_batch_is_not_mirrored(
    engine: Any, created_then_deleted: bool
) -> None:
    cus = f"cus_{secrets.token_hex(6)}"
    customer = {"id": cus, "object": "customer", "email": None, "name": "Y", "created": 5}
    batch = [event("customer.deleted", customer, 21), event("customer.created", customer, 20)]
    account_mirror.apply_events(engine, batch if created_then_deleted else batch[::-1])
    assert stored(engine, CustomerRecord, cus) is None


def test_the_everyday_sync_message_counts_in_words() -> None:
    from services.rules.bank_account import SyncResult

    one = SyncResult(customers=0, accounts=1, snapshots=0, seconds=0.06, full=False, events=1)
    assert sync_accounts.sync_message(one) == (
        "Applied 1 change from Stripe: 0 customers and 1 account updated in 0.06 s."
    )
    many = SyncResult(customers=2, accounts=1_200, snapshots=0, seconds=1.5, full=False, events=3)
    assert sync_accounts.sync_message(many) == (
        "Applied 3 changes from Stripe: 2 customers and 1,200 accounts updated in 1.5 s."
    )


def test_the_full_sync_message_writes_thousands_as_the_cards_do() -> None:
    """ "Synced 20000 customers and 28734 accounts" beside cards that write 20,000."""
    from services.rules.bank_account import SyncResult

    full = SyncResult(customers=20_000, accounts=28_734, snapshots=0, seconds=61.2, full=True)
    assert sync_accounts.sync_message(full) == (
        "Synced 20,000 customers and 28,734 accounts in 61.2 s."
    )
