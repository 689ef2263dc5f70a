"""Customers, Financial Connections and events, through the real SDK (§2-§5 of the reference)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from sandbox.api import financial_connections as fc
from sandbox.server import SandboxHandle, start_background
from tests.contract.conftest import TEST_KEY, hook, linked_accounts, raw


def _events(client: stripe.StripeClient, type: str, account_id: str) -> list[Any]:
    found = client.v1.events.list(params={"type": type, "limit": 100}).auto_paging_iter()
    return [e for e in found if e.data.object.id == account_id]


def _refresh(client: stripe.StripeClient, fca_id: str, *features: str) -> Any:
    return client.v1.financial_connections.accounts.refresh(
        fca_id,
        params={"features": list(features)},  # type: ignore[typeddict-item]
    )


def _code(err: pytest.ExceptionInfo[stripe.InvalidRequestError]) -> str | None:
    return err.value.code


# --------------------------------------------------------------------------- refresh jobs


def test_a_balance_refresh_is_pending_then_succeeds_with_cooldown_and_event(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    [fca] = linked_accounts(client, sandbox)
    assert fca.balance is None and fca.balance_refresh is None
    started = _refresh(client, fca.id, "balance")
    assert started.balance_refresh.status == "pending"
    assert started.balance_refresh.next_refresh_available_at is None
    attempted = started.balance_refresh.last_attempted_at
    done = client.v1.financial_connections.accounts.retrieve(fca.id)
    assert done.balance_refresh.status == "succeeded"
    cooldown = sandbox.state.config.refresh_cooldown
    assert done.balance_refresh.next_refresh_available_at >= attempted + cooldown
    assert done.balance.as_of >= attempted
    assert isinstance(done.balance.current["usd"], int)
    [event] = _events(client, "financial_connections.account.refreshed_balance", fca.id)
    assert event.data.object.balance_refresh.status == "succeeded"


def test_a_refresh_at_a_failing_bank_ends_failed_and_still_emits_its_event(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    [fca] = linked_accounts(client, sandbox, institution="Refresh Errors Bank")
    _refresh(client, fca.id, "balance")
    done = client.v1.financial_connections.accounts.retrieve(fca.id)
    assert done.balance_refresh.status == "failed"
    assert done.balance is None
    [event] = _events(client, "financial_connections.account.refreshed_balance", fca.id)
    assert event.data.object.balance_refresh.status == "failed"


def test_a_second_refresh_inside_the_cooldown_starts_nothing_until_the_clock_moves(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    [fca] = linked_accounts(client, sandbox)
    first = _refresh(client, fca.id, "balance")
    done = client.v1.financial_connections.accounts.retrieve(fca.id)
    # Stripe documents no error for a throttled refresh: the account comes back unchanged,
    # with no new pending refresh and the same last_attempted_at (sandbox/README.md).
    throttled = _refresh(client, fca.id, "balance")
    assert throttled.balance_refresh.to_dict() == done.balance_refresh.to_dict()
    assert throttled.balance_refresh.status == "succeeded"
    assert throttled.balance.to_dict() == done.balance.to_dict()
    hook(sandbox, "clock/advance", seconds=sandbox.state.config.refresh_cooldown + 1)
    again = _refresh(client, fca.id, "balance")
    assert again.balance_refresh.status == "pending"
    assert again.balance_refresh.last_attempted_at > first.balance_refresh.last_attempted_at


def test_balance_refresh_moves_as_of_and_drifts_the_figures(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    [fca] = linked_accounts(client, sandbox, prefetch=["balances"])
    before = client.v1.financial_connections.accounts.retrieve(fca.id).balance
    hook(sandbox, "clock/advance", seconds=sandbox.state.config.refresh_cooldown + 5)
    _refresh(client, fca.id, "balance")
    after = client.v1.financial_connections.accounts.retrieve(fca.id).balance
    assert after.as_of > before.as_of
    assert after.current["usd"] != before.current["usd"]
    assert abs(after.current["usd"] - before.current["usd"]) <= abs(before.current["usd"]) * 0.031


def test_refreshing_a_feature_without_its_permission_is_refused(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    [fca] = linked_accounts(client, sandbox, permissions=["payment_method", "balances"])
    for feature in ("ownership", "transactions"):
        with pytest.raises(stripe.InvalidRequestError) as err:
            _refresh(client, fca.id, feature)
        # No invented code: a generic invalid_request_error whose message names the permission.
        assert _code(err) is None and err.value.http_status == 400
        assert f"`{fc.FEATURE_PERMISSION[feature]}` permission" in str(err.value.user_message)
    with pytest.raises(stripe.InvalidRequestError) as sub:
        client.v1.financial_connections.accounts.subscribe(
            fca.id, params={"features": ["transactions"]}
        )
    assert _code(sub) is None and "`transactions` permission" in str(sub.value.user_message)
    # a refused multi-feature call starts nothing
    with pytest.raises(stripe.InvalidRequestError):
        _refresh(client, fca.id, "balance", "ownership")
    assert client.v1.financial_connections.accounts.retrieve(fca.id).balance_refresh is None


def test_refresh_needs_features(client: stripe.StripeClient, sandbox: SandboxHandle) -> None:
    [fca] = linked_accounts(client, sandbox)
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.financial_connections.accounts.refresh(fca.id, params={})  # type: ignore[typeddict-item]
    assert _code(err) == "parameter_missing"
    assert err.value.param == "features"


def test_an_inactive_account_refuses_refresh_and_subscribe_until_reactivated(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    [fca] = linked_accounts(client, sandbox)
    hook(sandbox, f"financial_connections/accounts/{fca.id}/deactivate")
    got = client.v1.financial_connections.accounts.retrieve(fca.id)
    assert got.status == "inactive"
    assert _events(client, "financial_connections.account.deactivated", fca.id)
    with pytest.raises(stripe.InvalidRequestError) as err:
        _refresh(client, fca.id, "balance")
    assert _code(err) == "financial_connections_account_inactive"
    with pytest.raises(stripe.InvalidRequestError) as sub:
        client.v1.financial_connections.accounts.subscribe(
            fca.id, params={"features": ["transactions"]}
        )
    assert _code(sub) == "financial_connections_account_inactive"
    hook(sandbox, f"financial_connections/accounts/{fca.id}/reactivate")
    assert _events(client, "financial_connections.account.reactivated", fca.id)
    assert _refresh(client, fca.id, "balance").balance_refresh.status == "pending"


def test_disconnect_nulls_the_balance_keeps_history_and_blocks_refresh(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    [fca] = linked_accounts(client, sandbox, prefetch=["balances", "ownership", "transactions"])
    linked = client.v1.financial_connections.accounts.retrieve(fca.id)
    assert linked.balance is not None
    gone = client.v1.financial_connections.accounts.disconnect(fca.id)
    assert gone.status == "disconnected"
    assert gone.balance is None
    assert _events(client, "financial_connections.account.disconnected", fca.id)
    txns = client.v1.financial_connections.transactions.list(params={"account": fca.id})
    assert txns.data
    owners = client.v1.financial_connections.accounts.owners.list(
        fca.id, params={"ownership": linked.ownership}
    )
    assert owners.data
    with pytest.raises(stripe.InvalidRequestError) as err:
        _refresh(client, fca.id, "balance")
    assert _code(err) is None and "disconnected" in str(err.value.user_message)


def test_an_ownership_refresh_makes_a_new_snapshot_of_the_same_people(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    [fca] = linked_accounts(client, sandbox, prefetch=["ownership"], name="Olive Owner")
    first = client.v1.financial_connections.accounts.retrieve(
        fca.id, params={"expand": ["ownership"]}
    )
    assert first.ownership.object == "financial_connections.account_ownership"
    hook(sandbox, "clock/advance", seconds=sandbox.state.config.refresh_cooldown + 1)
    _refresh(client, fca.id, "ownership")
    second = client.v1.financial_connections.accounts.retrieve(
        fca.id, params={"expand": ["ownership"]}
    )
    assert second.ownership.id != first.ownership.id
    old_ids = {o.id for o in first.ownership.owners.data}
    new_ids = {o.id for o in second.ownership.owners.data}
    assert old_ids.isdisjoint(new_ids)
    assert [o.name for o in second.ownership.owners.data] == ["Olive Owner"]
    assert {o.ownership for o in second.ownership.owners.data} == {second.ownership.id}
    old = client.v1.financial_connections.accounts.owners.list(
        fca.id, params={"ownership": first.ownership.id}
    )
    assert {o.id for o in old.data} == old_ids


def test_listing_owners_needs_the_ownership_param(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    [fca] = linked_accounts(client, sandbox)
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.financial_connections.accounts.owners.list(fca.id, params={})  # type: ignore[typeddict-item]
    assert err.value.param == "ownership"


def test_transaction_refresh_after_returns_only_rows_from_later_refreshes(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    [fca] = linked_accounts(client, sandbox, prefetch=["transactions"])
    txns = client.v1.financial_connections.transactions
    ref1 = client.v1.financial_connections.accounts.retrieve(fca.id).transaction_refresh.id
    everything_before = {t.id for t in txns.list(params={"account": fca.id, "limit": 100}).data}
    hook(sandbox, "clock/advance", seconds=sandbox.state.config.refresh_cooldown + 1)
    _refresh(client, fca.id, "transactions")
    ref2 = client.v1.financial_connections.accounts.retrieve(fca.id).transaction_refresh.id
    assert ref2 != ref1
    changed = list(
        txns.list(
            params={"account": fca.id, "transaction_refresh": {"after": ref1}, "limit": 100}
        ).auto_paging_iter()
    )
    assert changed
    assert {t.transaction_refresh for t in changed} == {ref2}
    assert {t.id for t in changed} - everything_before  # new rows arrived
    nothing = txns.list(params={"account": fca.id, "transaction_refresh": {"after": ref2}})
    assert nothing.data == []
    one = txns.retrieve(changed[0].id)
    assert one.account == fca.id


def test_transactions_filter_by_transacted_at_range(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    [fca] = linked_accounts(client, sandbox, prefetch=["transactions"])
    txns = client.v1.financial_connections.transactions
    every = txns.list(params={"account": fca.id, "limit": 100}).data
    pivot = sorted(t.transacted_at for t in every)[len(every) // 2]
    late = txns.list(params={"account": fca.id, "transacted_at": {"gte": pivot}, "limit": 100})
    assert {t.id for t in late.data} == {t.id for t in every if t.transacted_at >= pivot}
    exact = txns.list(params={"account": fca.id, "transacted_at": pivot, "limit": 100})
    assert {t.id for t in exact.data} == {t.id for t in every if t.transacted_at == pivot}


def test_subscribe_starts_a_transaction_refresh_and_unsubscribe_stops_it(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    [fca] = linked_accounts(client, sandbox)
    accounts = client.v1.financial_connections.accounts
    sub = accounts.subscribe(fca.id, params={"features": ["transactions"]})
    assert sub.subscriptions == ["transactions"]
    assert sub.transaction_refresh.status == "pending"
    assert accounts.retrieve(fca.id).transaction_refresh.status == "succeeded"
    off = accounts.unsubscribe(fca.id, params={"features": ["transactions"]})
    assert off.subscriptions == []
    with pytest.raises(stripe.InvalidRequestError):
        accounts.subscribe(fca.id, params={"features": ["balance"]})  # type: ignore[list-item]


def test_a_subscribed_account_refreshes_transactions_daily(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    [fca] = linked_accounts(client, sandbox)
    client.v1.financial_connections.accounts.subscribe(
        fca.id, params={"features": ["transactions"]}
    )
    client.v1.financial_connections.accounts.retrieve(fca.id)
    before = _events(client, "financial_connections.account.refreshed_transactions", fca.id)
    hook(sandbox, "clock/advance", seconds=86400)
    client.v1.financial_connections.accounts.retrieve(fca.id)
    after = _events(client, "financial_connections.account.refreshed_transactions", fca.id)
    assert len(after) == len(before) + 1


@pytest.fixture(scope="module")
def slow_sandbox() -> Iterator[SandboxHandle]:
    handle = start_background(port=0, seed=9, customers=0, refresh_delay=600)
    yield handle
    handle.stop()


def test_a_refresh_while_one_is_pending_starts_nothing_until_the_complete_hook_runs(
    slow_sandbox: SandboxHandle,
) -> None:
    client = stripe.StripeClient(TEST_KEY, base_addresses={"api": slow_sandbox.base_url})
    [fca] = linked_accounts(client, slow_sandbox)
    first = _refresh(client, fca.id, "balance")
    assert client.v1.financial_connections.accounts.retrieve(fca.id).balance_refresh.status == (
        "pending"
    )
    again = _refresh(client, fca.id, "balance")  # 200, the same pending refresh
    assert again.balance_refresh.to_dict() == first.balance_refresh.to_dict()
    assert hook(slow_sandbox, "refreshes/complete")["completed"] == 1
    done = client.v1.financial_connections.accounts.retrieve(fca.id)
    assert done.balance_refresh.status == "succeeded"


# --------------------------------------------------------------------------- sessions


def test_completing_a_session_links_accounts_with_its_permissions_and_holder(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    cus = client.v1.customers.create(params={"name": "Sam Session"})
    session = client.v1.financial_connections.sessions.create(
        params={
            "account_holder": {"type": "customer", "customer": cus.id},
            "permissions": ["payment_method", "balances"],
            "prefetch": ["balances"],
            "filters": {"account_subcategories": ["savings"]},
            "limits": {"accounts": 2},
        }
    )
    assert session.accounts.data == []
    assert session.client_secret.startswith(f"{session.id}_secret_")
    hook(sandbox, f"financial_connections/sessions/{session.id}/complete", accounts=2)
    again = client.v1.financial_connections.sessions.retrieve(session.id)
    assert len(again.accounts.data) == 2
    for account in again.accounts.data:
        assert account.permissions == ["payment_method", "balances"]
        assert account.account_holder.customer == cus.id
        assert account.subcategory == "savings"
        assert account.balance_refresh.status in ("pending", "succeeded")
        assert _events(client, "financial_connections.account.created", account.id)
    by_session = client.v1.financial_connections.accounts.list(params={"session": session.id})
    assert {a.id for a in by_session.data} == {a.id for a in again.accounts.data}


def test_a_session_needs_an_account_holder_and_permissions(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(params={"name": "Nope"})
    sessions = client.v1.financial_connections.sessions
    with pytest.raises(stripe.InvalidRequestError) as no_perm:
        sessions.create(params={"account_holder": {"type": "customer", "customer": cus.id}})  # type: ignore[typeddict-item]
    assert no_perm.value.param == "permissions"
    with pytest.raises(stripe.InvalidRequestError) as no_holder:
        sessions.create(params={"permissions": ["balances"]})  # type: ignore[typeddict-item]
    assert no_holder.value.param == "account_holder"  # required by SessionCreateParams
    with pytest.raises(stripe.InvalidRequestError) as bad:
        sessions.create(
            params={
                "account_holder": {"type": "customer", "customer": cus.id},
                "permissions": ["everything"],  # type: ignore[list-item]
            }
        )
    assert bad.value.param == "permissions[0]"


def test_a_down_bank_cannot_be_linked_and_a_session_completes_once(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    cus = client.v1.customers.create(params={"name": "Dana Down"})
    session = client.v1.financial_connections.sessions.create(
        params={
            "account_holder": {"type": "customer", "customer": cus.id},
            "permissions": ["balances"],
        }
    )
    path = f"/_sandbox/financial_connections/sessions/{session.id}/complete"
    status, body, _ = raw(sandbox.base_url, "POST", path, {"institution": "Down Bank (Error)"})
    assert status == 400
    assert "Down Bank" in body["error"]["message"]
    hook(sandbox, path.removeprefix("/_sandbox/"))
    status, _, _ = raw(sandbox.base_url, "POST", path, {})
    assert status == 400


def test_listing_accounts_needs_a_holder_or_session(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.financial_connections.accounts.list()
    assert err.value.code == "parameter_missing"


# --------------------------------------------------------------------------- customers


def test_customer_search_supports_exact_substring_metadata_and_or(
    client: stripe.StripeClient,
) -> None:
    a = client.v1.customers.create(
        params={"name": "Quentin Quartz", "email": "qq@example.com", "metadata": {"uid": "q1"}}
    )
    b = client.v1.customers.create(params={"name": "Quinn Quartzite", "phone": "+15550001"})
    search = client.v1.customers.search
    assert [c.id for c in search(params={"query": "email:'qq@example.com'"}).data] == [a.id]
    assert {c.id for c in search(params={"query": "name~'Quartz'"}).data} == {a.id, b.id}
    assert [c.id for c in search(params={"query": "metadata['uid']:'q1'"}).data] == [a.id]
    either = search(params={"query": "phone:'+15550001' OR email:'qq@example.com'"})
    assert {c.id for c in either.data} == {a.id, b.id}
    both = search(params={"query": "name~'Quartz' AND metadata['uid']:'q1'"})
    assert [c.id for c in both.data] == [a.id]
    with pytest.raises(stripe.InvalidRequestError):
        search(params={"query": "name~'Qu' AND email:'x' OR phone:'y'"})


def test_customer_search_pages_with_next_page(client: stripe.StripeClient) -> None:
    made = {client.v1.customers.create(params={"name": f"Pager Person {i}"}).id for i in range(5)}
    first = client.v1.customers.search(params={"query": "name~'Pager Person'", "limit": 2})
    assert first.object == "search_result"
    assert first.has_more and first.next_page
    assert {c.id for c in first.auto_paging_iter()} == made


def test_customer_list_filters_by_exact_email(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(params={"email": "Exact@Example.com"})
    assert [c.id for c in client.v1.customers.list(params={"email": "Exact@Example.com"}).data] == [
        cus.id
    ]
    assert client.v1.customers.list(params={"email": "exact@example.com"}).data == []


def test_customer_update_merges_metadata_and_delete_leaves_a_stub(
    client: stripe.StripeClient,
) -> None:
    cus = client.v1.customers.create(params={"name": "Meta", "metadata": {"a": "1", "b": "2"}})
    upd = client.v1.customers.update(cus.id, params={"metadata": {"b": "", "c": "3"}, "name": "M"})
    assert upd.metadata.to_dict() == {"a": "1", "c": "3"}
    updated = client.v1.events.list(params={"type": "customer.updated", "limit": 5}).data
    assert any(e.data.object.id == cus.id for e in updated)
    gone = client.v1.customers.delete(cus.id)
    assert gone.to_dict() == {"id": cus.id, "object": "customer", "deleted": True}
    # §2.9: retrieving a deleted customer is a 200 with the same stub, not a 404
    assert client.v1.customers.retrieve(cus.id).to_dict() == gone.to_dict()
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.customers.delete(cus.id)
    assert again.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.update(cus.id, params={"name": "Back"})


def test_an_empty_world_has_no_customers() -> None:
    handle = start_background(port=0, customers=0)
    try:
        status, body, _ = raw(handle.base_url, "GET", "/v1/customers")
        assert status == 200
        assert body["data"] == []
    finally:
        handle.stop()


def test_the_seeded_world_has_the_requested_customers() -> None:
    # Start-up time is printed by bench/bench_sandbox.py, not asserted here.
    handle = start_background(port=0, seed=5, customers=200)
    try:
        client = stripe.StripeClient(TEST_KEY, base_addresses={"api": handle.base_url})
        every = list(client.v1.customers.list(params={"limit": 100}).auto_paging_iter())
        assert len(every) == 200
        linked = client.v1.financial_connections.accounts.list(
            params={"account_holder": {"customer": every[0].id}}
        )
        assert all(a.account_holder.customer == every[0].id for a in linked.data)
    finally:
        handle.stop()


# --------------------------------------------------------------------------- events


def test_events_filter_by_types_and_created_and_can_be_retrieved(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    [fca] = linked_accounts(client, sandbox, prefetch=["balances"])
    client.v1.financial_connections.accounts.retrieve(fca.id)
    wanted = [
        "financial_connections.account.created",
        "financial_connections.account.refreshed_balance",
    ]
    found = client.v1.events.list(params={"types": wanted, "limit": 100})
    mine = [e for e in found.data if e.data.object.id == fca.id]
    assert {e.type for e in mine} == set(wanted)
    created = mine[0].created
    later = client.v1.events.list(params={"created": {"gt": created}, "limit": 100})
    assert all(e.created > created for e in later.data)
    again = client.v1.events.retrieve(mine[0].id)
    assert again.type == mine[0].type
    assert again.api_version == "2026-10-28.endive"


# --------------------------------------------------------------------------- transactions (B4)


def test_transactions_are_listed_only_after_a_transaction_refresh_succeeded(
    slow_sandbox: SandboxHandle,
) -> None:
    client = stripe.StripeClient(TEST_KEY, base_addresses={"api": slow_sandbox.base_url})
    [fca] = linked_accounts(client, slow_sandbox, permissions=["transactions"])
    fc_api = client.v1.financial_connections

    def listing_code() -> str | None:
        with pytest.raises(stripe.InvalidRequestError) as err:
            fc_api.transactions.list(params={"account": fca.id})
        assert err.value.http_status == 400 and err.value.param == "account"
        return err.value.code

    assert listing_code() == fc.CODE_NO_TRANSACTION_REFRESH  # never refreshed
    _refresh(client, fca.id, "transactions")
    assert listing_code() == fc.CODE_NO_TRANSACTION_REFRESH  # the first one is still pending
    hook(slow_sandbox, "refreshes/complete")
    rows = fc_api.transactions.list(params={"account": fca.id, "limit": 100}).data
    assert rows and {t.account for t in rows} == {fca.id}
    # one transaction can be retrieved by id whatever the refresh state (only listing is refused)
    assert fc_api.transactions.retrieve(rows[0].id).id == rows[0].id


def test_a_bank_whose_refreshes_fail_never_has_transactions_to_list(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    [fca] = linked_accounts(
        client,
        sandbox,
        permissions=["transactions"],
        prefetch=["transactions"],
        institution="Refresh Errors Bank",
    )
    assert client.v1.financial_connections.accounts.retrieve(fca.id).transaction_refresh.status == (
        "failed"
    )
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.financial_connections.transactions.list(params={"account": fca.id})
    assert err.value.code == fc.CODE_NO_TRANSACTION_REFRESH


# --------------------------------------------------------------------------- upcoming deactivation (B7)


@pytest.fixture
def own_sandbox() -> Iterator[SandboxHandle]:
    """For tests that move the clock by days (the shared sandbox's clock stays near now)."""
    handle = start_background(port=0, seed=13, customers=0, refresh_delay=0)
    yield handle
    handle.stop()


def test_an_announced_deactivation_sets_status_details_emits_events_and_happens_on_the_date(
    own_sandbox: SandboxHandle,
) -> None:
    sandbox = own_sandbox
    client = stripe.StripeClient(TEST_KEY, base_addresses={"api": sandbox.base_url})
    [fca] = linked_accounts(client, sandbox)
    assert fca.status_details is None
    first_date = sandbox.state.now() + 10 * 86_400
    hook(
        sandbox,
        f"financial_connections/accounts/{fca.id}/upcoming_deactivation",
        expected_deactivation_date=first_date,
        cause="institution_requirement",
    )
    got = client.v1.financial_connections.accounts.retrieve(fca.id)
    active = got.status_details.active
    assert (active.action, active.cause, active.expected_deactivation_date) == (
        "relink_required",
        "institution_requirement",
        first_date,
    )
    assert got.status == "active"  # it keeps working until then
    [upcoming] = _events(client, "financial_connections.account.upcoming_deactivation", fca.id)
    assert upcoming.data.object.status_details.active.expected_deactivation_date == first_date
    later = first_date + 5 * 86_400
    hook(sandbox, f"financial_connections/accounts/{fca.id}/upcoming_deactivation",
         expected_deactivation_date=later)  # fmt: skip
    [moved] = _events(
        client, "financial_connections.account.expected_deactivation_date_updated", fca.id
    )
    assert moved.data.object.status_details.active.expected_deactivation_date == later
    assert (
        moved.data.previous_attributes["status_details"]["active"]["expected_deactivation_date"]
        == first_date
    )
    hook(sandbox, "clock/advance", seconds=first_date - sandbox.state.now() + 60)
    assert client.v1.financial_connections.accounts.retrieve(fca.id).status == "active"
    hook(sandbox, "clock/advance", seconds=later - sandbox.state.now() + 60)
    gone = client.v1.financial_connections.accounts.retrieve(fca.id)
    assert gone.status == "inactive" and gone.status_details is None
    assert _events(client, "financial_connections.account.deactivated", fca.id)


def test_the_demo_world_has_accounts_stripe_expects_to_deactivate(sandbox: SandboxHandle) -> None:
    big = start_background(port=0, seed=42, customers=120, refresh_delay=0)
    try:
        client = stripe.StripeClient(TEST_KEY, base_addresses={"api": big.base_url})
        events = client.v1.events.list(
            params={"type": "financial_connections.account.upcoming_deactivation", "limit": 100}
        ).data
        assert events
        for event in events:
            account = client.v1.financial_connections.accounts.retrieve(event.data.object.id)
            active = account.status_details.active
            assert active.action == "relink_required"
            assert active.cause in ("access_expired", "institution_requirement", "unspecified")
            assert active.expected_deactivation_date > big.state.now()
    finally:
        big.stop()


def test_an_empty_account_limit_allows_any_number_of_accounts(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    """The pinned SDK's SessionCreateParamsLimits.accounts is ``Literal[''] | int``: "Pass an
    empty value to allow any number of accounts." It was refused as an invalid integer."""
    cus = client.v1.customers.create(params={"name": "Ann Anymany"})
    session = client.v1.financial_connections.sessions.create(
        params={
            "account_holder": {"type": "customer", "customer": cus.id},
            "permissions": ["balances"],
            "limits": {"accounts": ""},
        }
    )
    assert session.to_dict().get("limits") is None
    hook(sandbox, f"financial_connections/sessions/{session.id}/complete", accounts=3)
    again = client.v1.financial_connections.sessions.retrieve(session.id)
    assert len(again.accounts.data) == 3
