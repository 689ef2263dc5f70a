"""The accounts browser use cases, against the shared sandbox and both databases."""

from __future__ import annotations

import csv
import io
import secrets
import time
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select

from bootstrap import SANDBOX_KEY
from services.adapters import account_mirror
from services.adapters.gateway import StripeGateway
from services.adapters.models import (
    AccountRecord,
    AuditEntry,
    BalanceSnapshot,
    CustomerRecord,
    SyncState,
)
from services.adapters.store import session_scope
from services.context import Services
from services.errors import (
    Forbidden,
    NotFound,
    RateLimited,
    RefreshNotAllowed,
    StripeAuthError,
    StripeUnavailable,
    ValidationError,
)
from services.rules import bank_account
from services.usecases import (
    browse_accounts,
    export_accounts,
    lookup_account,
    refresh_balance,
    sync_accounts,
)

ALL_PERMISSIONS = ["balances", "ownership", "payment_method", "transactions"]


def make_customer(
    gateway: Any,
    simulator: Any,
    *,
    name: str | None = None,
    accounts: int = 2,
    permissions: list[str] | None = None,
    institution: str = "StripeBank",
    prefetch: list[str] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A new customer with ``accounts`` linked FC accounts (unique, so shared-sandbox safe)."""
    tag = secrets.token_hex(4)
    customer = gateway.create_customer(
        {"email": f"Pat.{tag}@Example.com", "name": name or f"Pat Quill {tag}"},
        idempotency_key=None,
    )
    if accounts:
        session = gateway.create_fc_session(
            {
                "account_holder": {"type": "customer", "customer": customer["id"]},
                "permissions": permissions or ALL_PERMISSIONS,
                "prefetch": ["balances"] if prefetch is None else prefetch,
            },
            idempotency_key=None,
        )
        simulator.complete_session(session["id"], institution=institution, accounts=accounts)
        simulator.complete_refreshes()
    return customer, gateway.list_accounts(customer=customer["id"])


def fake_account(n: int, **overrides: Any) -> dict[str, Any]:
    """A Stripe-shaped FC account for store-only tests (no sandbox needed)."""
    account: dict[str, Any] = {
        "id": f"fca_fake{n:06d}",
        "object": "financial_connections.account",
        "account_holder": {"type": "customer", "customer": f"cus_fake{n % 7:04d}"},
        "balance": {
            "as_of": 1_700_000_000 + n,
            "type": "cash",
            "current": {"usd": 10_000 + n},
            "cash": {"available": {"usd": 9_000 + n}},
        },
        "balance_refresh": {
            "status": "succeeded",
            "last_attempted_at": 1,
            "next_refresh_available_at": None,
        },
        "ownership_refresh": None,
        "transaction_refresh": None,
        "category": "cash",
        "subcategory": "checking",
        "created": 1_600_000_000 + n,
        "display_name": f"Checking {n}",
        "institution_name": ["StripeBank", "Test Institution", "Sandbox Bank (OAuth)"][n % 3],
        "last4": f"{n % 10000:04d}",
        "livemode": False,
        "ownership": None,
        "permissions": ["balances", "payment_method"] if n % 2 else ["payment_method"],
        "status": "active" if n % 5 else "inactive",
        "subscriptions": [],
        "supported_payment_method_types": ["us_bank_account"],
    }
    account.update(overrides)
    return account


def audit_rows(engine: Any, action: str, target: str | None = None) -> list[AuditEntry]:
    with session_scope(engine) as session:
        stmt = select(AuditEntry).where(AuditEntry.action == action)
        if target:
            stmt = stmt.where(AuditEntry.target == target)
        return list(session.exec(stmt.order_by(AuditEntry.id)).all())  # type: ignore[arg-type]


def wait_for(fn: Any, *, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


# --------------------------------------------------------------------------- mirror


def test_upsert_account_inserts_then_updates_and_keeps_each_balance_once(engine: Any) -> None:
    first = fake_account(1)
    account_mirror.upsert_account(engine, first)
    account_mirror.upsert_account(engine, first)
    moved = fake_account(1, status="disconnected")
    moved["balance"] = {
        **first["balance"],
        "as_of": first["balance"]["as_of"] + 60,
        "current": {"usd": 5},
    }
    account_mirror.upsert_account(engine, moved)
    with session_scope(engine) as session:
        rows = session.exec(select(AccountRecord)).all()
        snaps = session.exec(select(BalanceSnapshot).order_by(BalanceSnapshot.as_of)).all()  # type: ignore[arg-type]
    assert [(r.id, r.status, r.balance_current) for r in rows] == [
        ("fca_fake000001", "disconnected", 5)
    ]
    assert rows[0].permissions == ",balances,payment_method,"
    assert [(s.current, s.available) for s in snaps] == [(10_001, 9_001), (5, 9_001)]


def test_mirrored_account_never_keeps_expanded_owner_details(engine: Any) -> None:
    ownership = {
        "id": "fcaowns_1",
        "object": "financial_connections.account_ownership",
        "owners": {
            "object": "list",
            "data": [{"id": "fcaown_1", "name": "Jenny Rosen", "email": "j@x.io"}],
        },
    }
    account_mirror.upsert_account(engine, fake_account(2, ownership=ownership))
    with session_scope(engine) as session:
        row = session.get(AccountRecord, "fca_fake000002")
    assert row is not None and row.raw["ownership"] == "fcaowns_1"
    assert "Jenny" not in str(row.raw)


def test_sync_mirrors_customers_and_accounts_and_is_safe_to_rerun(
    services_ctx: Services, gateway: Any, simulator: Any, ops: Any
) -> None:
    customer, linked = make_customer(gateway, simulator, accounts=2)
    seen: list[tuple[int, int | None, str]] = []
    result = sync_accounts.sync_accounts(services_ctx, ops, progress=lambda *a: seen.append(a))
    again = sync_accounts.sync_accounts(services_ctx, ops, full=True)
    with session_scope(services_ctx.engine) as session:
        stored = session.exec(
            select(AccountRecord).where(AccountRecord.customer_id == customer["id"])
        ).all()
        n_accounts = len(session.exec(select(AccountRecord)).all())
        n_customers = len(session.exec(select(CustomerRecord)).all())
        state = session.get(SyncState, "accounts")
        snaps = session.exec(
            select(BalanceSnapshot).where(BalanceSnapshot.account_id == linked[0]["id"])
        ).all()
    assert sorted(r.id for r in stored) == sorted(a["id"] for a in linked)
    assert (
        (n_accounts, n_customers)
        == (again.accounts, again.customers)
        == (result.accounts, result.customers)
    )
    assert len(snaps) == 1 and snaps[0].current == linked[0]["balance"]["current"]["usd"]
    assert state is not None and state.last_finished_at is not None
    assert state.details["accounts"] == n_accounts
    assert seen[-1][0] == result.customers and "accounts" in seen[-1][2]
    rows = audit_rows(services_ctx.engine, "accounts.sync")
    assert [r.outcome for r in rows] == ["ok", "ok"] and rows[0].actor == ops.username


def test_sync_by_a_role_without_permission_is_refused_and_audited(
    services_ctx: Services, ops: Any
) -> None:
    from services.auth import Actor

    nobody = Actor(username="x", role="guest")
    with pytest.raises(Forbidden):
        sync_accounts.sync_accounts(services_ctx, nobody)
    assert [r.outcome for r in audit_rows(services_ctx.engine, "accounts.sync")] == ["refused"]


# --------------------------------------------------------------------------- search


def test_search_finds_a_customer_by_id_email_in_any_case_and_part_of_the_name(
    services_ctx: Services, gateway: Any, simulator: Any, ops: Any
) -> None:
    customer, linked = make_customer(gateway, simulator, name=f"Zora Quint {secrets.token_hex(3)}")
    # A mixed-case email typed in another case is found only by Stripe's Search, which lags
    # writes (the sandbox models it): let the index catch up first, as a minute would.
    simulator.advance_clock(3)
    by_email = browse_accounts.search_customers(
        services_ctx, ops, customer["email"].upper()
    )  # API fallback
    by_id = browse_accounts.search_customers(services_ctx, ops, f"  {customer['id']} ")
    by_name = browse_accounts.search_customers(services_ctx, ops, customer["name"].split()[-1].upper())
    by_email_again = browse_accounts.search_customers(
        services_ctx, ops, customer["email"].lower()
    )  # store
    assert [h.id for h in by_email] == [customer["id"]]
    assert by_email[0].accounts == len(linked)
    assert (
        [h.id for h in by_id]
        == [h.id for h in by_name]
        == [h.id for h in by_email_again]
        == [customer["id"]]
    )


@pytest.mark.parametrize("term", ["", "   ", "x", None])
def test_search_needs_at_least_two_characters(services_ctx: Services, ops: Any, term: Any) -> None:
    with pytest.raises(ValidationError, match="at least 2 characters"):
        browse_accounts.search_customers(services_ctx, ops, term)


def test_search_explains_unknown_malformed_and_non_customer_ids(
    services_ctx: Services, ops: Any
) -> None:
    with pytest.raises(NotFound, match="no customer `cus_doesnotexist`"):
        browse_accounts.search_customers(services_ctx, ops, "cus_doesnotexist")
    with pytest.raises(ValidationError, match="`cus_bad id!` is not a complete customer ID"):
        browse_accounts.search_customers(services_ctx, ops, "cus_bad id!")
    with pytest.raises(ValidationError, match="^`cus_` is not a complete customer ID: it is cut "
                       "short or has characters IDs never have; copy the whole ID.$"):
        browse_accounts.search_customers(services_ctx, ops, "cus_")
    with pytest.raises(ValidationError, match="a PaymentIntent \\(`pi_3Nabcdef`\\).*Payment lookup"):
        browse_accounts.search_customers(services_ctx, ops, "pi_3Nabcdef")
    with pytest.raises(ValidationError, match="a Financial Connections account .*, not a customer"):
        browse_accounts.search_customers(services_ctx, ops, "fca_1Nabcdef")
    with pytest.raises(ValidationError, match="^`a@@b.com` has 2 @ signs and an email address has one"):
        browse_accounts.search_customers(services_ctx, ops, "a@@b.com")


@pytest.mark.parametrize(
    "url",
    [
        "https://dashboard.stripe.com/test/customers/{id}",
        "https://dashboard.stripe.com/acct_1Nabcdef/test/customers/{id}?tab=payments",
    ],
)
def test_a_pasted_dashboard_url_of_a_customer_finds_that_customer(
    services_ctx: Services, gateway: Any, simulator: Any, ops: Any, url: str
) -> None:
    """The paged search (Accounts', Collect's) searched the URL as text and found nobody."""
    customer, linked = make_customer(gateway, simulator, accounts=1)
    found = browse_accounts.search_customers_page(services_ctx, ops, url.format(id=customer["id"]))
    assert [h.id for h in found.hits] == [customer["id"]] and found.total == 1
    assert found.hits[0].accounts == len(linked) == 1


def test_a_pasted_dashboard_url_of_a_payment_says_where_to_open_it(
    services_ctx: Services, ops: Any
) -> None:
    url = "https://dashboard.stripe.com/test/payments/pi_3Nabcdef"
    with pytest.raises(ValidationError, match=r"^That is a PaymentIntent \(`pi_3Nabcdef`\), not a "
                       "customer: open it in Payment lookup"):
        browse_accounts.search_customers_page(services_ctx, ops, url)


def test_part_of_an_email_is_searched_as_text_and_a_malformed_one_gets_a_sentence(
    sqlite_engine: Any, ops: Any
) -> None:
    """A person types what they remember of an address: the mirror is searched for it, as for
    part of a name (Stripe is not asked: its list filter takes whole addresses only)."""
    svc = Services(gateway=None, engine=sqlite_engine, mode="sandbox")  # type: ignore[arg-type]
    for n, email in enumerate(("anagarcia@gmail.com", "ana.garcia@example.com", "bo@gmail.com")):
        account_mirror.upsert_customer(
            sqlite_engine, {"id": f"cus_part{n:04d}", "email": email, "created": n}
        )
    for term, found in [
        ("anagarcia@gmail", ["cus_part0000"]),
        ("AnaGarcia@Gmail", ["cus_part0000"]),
        ("@gmail", ["cus_part0002", "cus_part0000"]),
        ("garcia@", ["cus_part0001", "cus_part0000"]),
        ("@example.co", ["cus_part0001"]),
        ("nobody@", []),
    ]:
        assert [h.id for h in browse_accounts.search_customers(svc, ops, term)] == found, term
        page = browse_accounts.search_customers_page(svc, ops, term)
        assert ([h.id for h in page.hits], page.total) == (found, len(found)), term
    for term, sentence in [
        ("ana@@gmail.com", "has 2 @ signs and an email address has one"),
        ("ana@gmail@", "has 2 @ signs"),
        ("ana garcia@gmail", "has a space and an email address has none"),
    ]:
        for search in (browse_accounts.search_customers, browse_accounts.search_customers_page):
            with pytest.raises(ValidationError, match=sentence):
                search(svc, ops, term)


def test_a_name_search_counts_every_match_and_pages_through_them(
    store_svc: Services, ops: Any
) -> None:
    for n in range(30):
        account_mirror.upsert_customer(
            store_svc.engine, {"id": f"cus_many{n:04d}", "name": f"Manyname {n}", "created": n}
        )
    first = browse_accounts.search_customers_page(store_svc, ops, "manyname", page_size=25)
    assert (first.total, first.pages, first.first, first.last) == (30, 2, 1, 25)
    second = browse_accounts.search_customers_page(store_svc, ops, "manyname", page=2, page_size=25)
    assert (len(second.hits), second.first, second.last) == (5, 26, 30)
    seen = [h.id for h in first.hits + second.hits]
    assert len(set(seen)) == 30 and seen == sorted(seen, reverse=True)  # newest first, no overlap
    beyond = browse_accounts.search_customers_page(store_svc, ops, "manyname", page=9, page_size=25)
    assert beyond.page == 2  # clamps to the last page
    assert browse_accounts.search_customers_page(store_svc, ops, "nomatchatall").total == 0
    with pytest.raises(ValidationError, match="at least 2 characters"):
        browse_accounts.search_customers_page(store_svc, ops, "x")


def test_search_by_name_treats_percent_and_underscore_literally(
    services_ctx: Services, ops: Any
) -> None:
    account_mirror.upsert_customer(
        services_ctx.engine, {"id": "cus_lit1", "name": "Ann 100% Lee", "created": 1}
    )
    account_mirror.upsert_customer(
        services_ctx.engine, {"id": "cus_lit2", "name": "Ann 1000 Lee", "created": 2}
    )
    assert [h.id for h in browse_accounts.search_customers(services_ctx, ops, "0%")] == ["cus_lit1"]
    assert browse_accounts.search_customers(services_ctx, ops, "a_n") == []


def test_manager_cannot_search_or_list(services_ctx: Services, manager: Any) -> None:
    with pytest.raises(Forbidden):
        browse_accounts.search_customers(services_ctx, manager, "pat")
    with pytest.raises(Forbidden):
        browse_accounts.list_accounts(services_ctx, manager)


# --------------------------------------------------------------------------- listing and export


def _fill(engine: Any, n: int = 40) -> list[dict[str, Any]]:
    made = [fake_account(i) for i in range(n)]
    for a in made:
        account_mirror.upsert_account(engine, a)
    return made


def test_list_accounts_filters_and_pages_in_sql(store_svc: Services, ops: Any) -> None:
    made = _fill(store_svc.engine)

    def ids(**kw: Any) -> set[str]:
        page = browse_accounts.list_accounts(store_svc, ops, page_size=500, **kw)
        assert page.total == len(page.rows)
        return {r.id for r in page.rows}

    assert ids(status="inactive") == {a["id"] for a in made if a["status"] == "inactive"}
    assert ids(institution="Test Institution") == {
        a["id"] for a in made if a["institution_name"] == "Test Institution"
    }
    assert ids(permission="balances") == {a["id"] for a in made if "balances" in a["permissions"]}
    assert ids(customer_id="cus_fake0003") == {
        a["id"] for a in made if a["account_holder"]["customer"] == "cus_fake0003"
    }
    cutoff_age = store_svc.now() - (1_700_000_000 + 20)
    assert ids(stale_after_seconds=cutoff_age) == {
        a["id"] for a in made if a["balance"]["as_of"] < 1_700_000_020
    }
    pages = [browse_accounts.list_accounts(store_svc, ops, page=p, page_size=15) for p in (1, 2, 3, 99)]
    assert [len(p.rows) for p in pages] == [15, 15, 10, 10]  # page 99 clamps to the last page
    assert pages[0].total == 40 and pages[0].pages == 3
    seen = [r.id for p in pages[:3] for r in p.rows]
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == 40  # newest first, no overlap


def test_sorting_by_balance_is_numeric_over_the_whole_result_with_no_balance_last(
    store_svc: Services, ops: Any
) -> None:
    # Amounts whose text order differs from their numeric order ($919.76 vs $9,233.32).
    amounts = [91_976, 923_332, 7_00, 19_00, 100_000_00, 5]
    for n, amount in enumerate(amounts):
        account = fake_account(n)
        account["balance"]["current"] = {"usd": amount}
        account_mirror.upsert_account(store_svc.engine, account)
    account_mirror.upsert_account(store_svc.engine, fake_account(50, balance=None))

    def listed(sort: str, page_size: int) -> list[int | None]:
        first = browse_accounts.list_accounts(store_svc, ops, page_size=page_size, sort=sort)
        rows = [r for p in range(1, first.pages + 1) for r in browse_accounts.list_accounts(
            store_svc, ops, page=p, page_size=page_size, sort=sort).rows]
        assert len({r.id for r in rows}) == first.total == 7  # every account once across pages
        return [r.balance_current for r in rows]

    assert listed("balance_desc", 3) == [*sorted(amounts, reverse=True), None]
    assert listed("balance_asc", 2) == [*sorted(amounts), None]
    with pytest.raises(ValidationError, match="Unknown sort"):
        browse_accounts.list_accounts(store_svc, ops, sort="balance; drop table")


def test_stale_filter_counts_accounts_never_refreshed_only_when_balances_were_granted(
    store_svc: Services, ops: Any
) -> None:
    account_mirror.upsert_account(store_svc.engine, fake_account(1, balance=None))  # balances granted
    account_mirror.upsert_account(store_svc.engine, fake_account(2, balance=None))  # no balances
    page = browse_accounts.list_accounts(store_svc, ops, stale_after_seconds=3600)
    assert [r.id for r in page.rows] == ["fca_fake000001"]


def test_list_accounts_rejects_unknown_filter_values(store_svc: Services, ops: Any) -> None:
    with pytest.raises(ValidationError, match="Unknown status"):
        browse_accounts.list_accounts(store_svc, ops, status="closed")
    with pytest.raises(ValidationError, match="Unknown permission"):
        browse_accounts.list_accounts(store_svc, ops, permission="everything")


def test_institutions_lists_each_name_once(store_svc: Services) -> None:
    _fill(store_svc.engine, 9)
    assert account_mirror.institutions(store_svc.engine) == [
        "Sandbox Bank (OAuth)",
        "StripeBank",
        "Test Institution",
    ]


def test_csv_export_has_every_filtered_account_with_money_as_decimals_like_other_files(
    store_svc: Services, finance: Any
) -> None:
    made = _fill(store_svc.engine, 30)
    data = export_accounts.export_accounts_csv(store_svc, finance, permission="balances")
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    expected = {a["id"]: a for a in made if "balances" in a["permissions"]}
    assert {r["id"] for r in rows} == set(expected)
    one = rows[0]
    # As Transactions' and the batch's files: 1770.07, not 177007 (cents in one file, dollars
    # in another read as a hundred times the money)
    cents = expected[one["id"]]["balance"]["current"]["usd"]
    assert Decimal(one["balance_current"]) * 100 == cents
    assert one["balance_current"] == f"{cents / 100:.2f}"
    assert one["balance_currency"] == "USD" and one["permissions"] == "balances payment_method"
    [entry] = audit_rows(store_svc.engine, "accounts.export")
    assert entry.params["rows"] == len(expected) and entry.actor == finance.username


def test_csv_export_follows_the_order_the_list_shows(store_svc: Services, finance: Any) -> None:
    _fill(store_svc.engine, 30)
    listed = browse_accounts.list_accounts(
        store_svc, finance, page_size=100, sort="balance_asc"
    ).rows
    data = export_accounts.export_accounts_csv(store_svc, finance, sort="balance_asc")
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert [r["id"] for r in rows] == [r.id for r in listed]
    assert [r["id"] for r in rows] != [r.id for r in browse_accounts.list_accounts(
        store_svc, finance, page_size=100).rows]  # the sort changed the order
    [entry] = audit_rows(store_svc.engine, "accounts.export")
    assert entry.params["sort"] == "balance_asc"


def test_csv_export_defuses_formulas_in_bank_names_but_keeps_negative_balances_numeric(
    store_svc: Services, finance: Any
) -> None:
    overdrawn = {"as_of": 1, "type": "cash", "current": {"usd": -500}, "cash": {}}
    account_mirror.upsert_account(
        store_svc.engine, fake_account(1, display_name="=cmd|' /C calc'!A0", balance=overdrawn)
    )
    data = export_accounts.export_accounts_csv(store_svc, finance)
    [row] = list(csv.DictReader(io.StringIO(data.decode())))
    assert row["display_name"] == "'=cmd|' /C calc'!A0"
    assert row["balance_current"] == "-5.00" and row["balance_available"] == ""


def test_the_paging_index_can_be_ensured_repeatedly(engine: Any) -> None:
    from sqlalchemy import inspect

    account_mirror.ensure_indexes(engine)
    account_mirror.ensure_indexes(engine)
    names = {ix["name"] for ix in inspect(engine).get_indexes("fc_accounts")}
    assert "ix_fca_created_id" in names


def test_csv_export_streams_in_chunks(store_svc: Services) -> None:
    _fill(store_svc.engine, 25)
    chunks = list(
        export_accounts.iter_accounts_csv(
            store_svc.engine, bank_account.AccountFilters(), now=0, chunk_rows=10
        )
    )
    assert len(chunks) == 3
    assert b"".join(chunks).count(b"\n") == 26


# --------------------------------------------------------------------------- detail


def _with_ownership(gateway: Any, simulator: Any, account_id: str) -> None:
    gateway.refresh_account(account_id, ["ownership"], idempotency_key=None)
    simulator.complete_refreshes()


def test_detail_shows_owner_details_to_ops_and_hides_them_from_finance(
    services_ctx: Services, gateway: Any, simulator: Any, ops: Any, finance: Any
) -> None:
    customer, linked = make_customer(gateway, simulator, accounts=1, name="Mara Vance")
    account_id = linked[0]["id"]
    _with_ownership(gateway, simulator, account_id)
    as_ops = browse_accounts.account_detail(services_ctx, ops, account_id)
    as_finance = browse_accounts.account_detail(services_ctx, finance, account_id)
    assert [o.name for o in as_ops.owners] == ["Mara Vance"] and not as_ops.owners_hidden
    assert [o.name for o in as_finance.owners] == [None] and as_finance.owners_hidden
    assert "Mara" not in repr(as_finance.owners) and "Mara" not in repr(as_finance.account)
    assert as_ops.customer is not None and as_ops.customer.id == customer["id"]
    assert as_ops.row.balance_current == linked[0]["balance"]["current"]["usd"]
    assert as_ops.snapshots and as_ops.account["ownership"].startswith("fcaowns_")


def test_detail_of_unknown_or_malformed_account_says_so(services_ctx: Services, ops: Any) -> None:
    with pytest.raises(NotFound, match="no Financial Connections account `fca_nope123`"):
        browse_accounts.account_detail(services_ctx, ops, "fca_nope123")
    for bad in ("", "cus_123456", "fca_ bad"):
        with pytest.raises(ValidationError):
            browse_accounts.account_detail(services_ctx, ops, bad)


def test_refresh_blocker_explains_each_reason() -> None:
    from services.auth import Actor

    now = 1_000_000
    base = fake_account(1)
    assert browse_accounts.refresh_blocker(base, "balance", now=now) is None
    throttled = {
        **base,
        "balance_refresh": {"status": "succeeded", "next_refresh_available_at": now + 300},
    }
    assert "from 1970-01-12 13:51 UTC (in 5 min)" in (
        browse_accounts.refresh_blocker(throttled, "balance", now=now) or ""
    )
    assert "already running" in (
        browse_accounts.refresh_blocker(
            {**base, "balance_refresh": {"status": "pending"}}, "balance", now=now
        )
        or ""
    )
    assert "'ownership' permission" in (browse_accounts.refresh_blocker(base, "ownership", now=now) or "")
    assert "inactive" in (
        browse_accounts.refresh_blocker({**base, "status": "inactive"}, "balance", now=now) or ""
    )
    assert "disconnected" in (
        browse_accounts.refresh_blocker({**base, "status": "disconnected"}, "balance", now=now) or ""
    )
    assert "may not refresh" in (
        browse_accounts.refresh_blocker(base, "balance", now=now, actor=Actor("m", "manager")) or ""
    )


# --------------------------------------------------------------------------- refresh


def test_refresh_starts_pending_then_polling_sees_it_succeed_and_audits_both(
    services_ctx: Services, gateway: Any, simulator: Any, ops: Any
) -> None:
    _, linked = make_customer(gateway, simulator, accounts=1, prefetch=[])
    account_id = linked[0]["id"]
    started = refresh_balance.refresh(
        services_ctx, ops, account_id, "ownership", idempotency_key=f"t-{account_id}"
    )
    assert started["ownership_refresh"]["status"] == "pending"
    assert (
        browse_accounts.list_accounts(
            services_ctx, ops, customer_id=linked[0]["account_holder"]["customer"]
        )
        .rows[0]
        .ownership_refresh_status
        == "pending"
    )
    final = wait_for(
        lambda: (
            (s := refresh_balance.refresh_status(services_ctx, ops, account_id, "ownership")).status
            != "pending"
            and s
        )
    )
    assert final.status == "succeeded" and final.next_refresh_available_at is not None
    [start] = audit_rows(services_ctx.engine, "account.refresh", account_id)
    assert (start.outcome, start.params["feature"], start.actor) == (
        "ok",
        "ownership",
        ops.username,
    )
    assert start.idempotency_key == f"t-{account_id}" and start.stripe_request_id
    [result] = audit_rows(services_ctx.engine, "account.refresh.result", account_id)
    assert result.params["status"] == "succeeded"


def test_refresh_while_throttled_says_until_when_and_sends_nothing(
    services_ctx: Services, gateway: Any, simulator: Any, ops: Any
) -> None:
    _, linked = make_customer(gateway, simulator, accounts=1)  # prefetched: cooldown running
    account_id = linked[0]["id"]
    before = gateway.retrieve_account(account_id)["balance_refresh"]
    with pytest.raises(RefreshNotAllowed, match=r"next balance refresh from .* UTC"):
        refresh_balance.refresh(
            services_ctx, ops, account_id, "balance", idempotency_key=f"test-{secrets.token_hex(6)}"
        )
    assert gateway.retrieve_account(account_id)["balance_refresh"] == before
    [entry] = audit_rows(services_ctx.engine, "account.refresh", account_id)
    assert entry.outcome == "error" and "UTC" in (entry.message or "")


def test_refresh_without_the_granted_permission_is_refused_before_stripe(
    services_ctx: Services, gateway: Any, simulator: Any, finance: Any
) -> None:
    _, linked = make_customer(
        gateway, simulator, accounts=1, permissions=["payment_method"], prefetch=[]
    )
    account_id = linked[0]["id"]
    with pytest.raises(RefreshNotAllowed, match="'balances' permission was not granted"):
        refresh_balance.refresh(
            services_ctx,
            finance,
            account_id,
            "balance",
            idempotency_key=f"test-{secrets.token_hex(6)}",
        )
    assert gateway.retrieve_account(account_id)["balance_refresh"] is None


def test_refresh_by_manager_is_refused_and_audited(services_ctx: Services, manager: Any) -> None:
    with pytest.raises(Forbidden):
        refresh_balance.refresh(
            services_ctx,
            manager,
            "fca_whatever1",
            "balance",
            idempotency_key=f"test-{secrets.token_hex(6)}",
        )
    assert [r.outcome for r in audit_rows(services_ctx.engine, "account.refresh")] == ["refused"]


def test_refresh_of_an_unknown_feature_is_a_validation_error(
    services_ctx: Services, ops: Any
) -> None:
    with pytest.raises(ValidationError, match="not a refresh"):
        refresh_balance.refresh(
            services_ctx,
            ops,
            "fca_whatever1",
            "everything",
            idempotency_key=f"test-{secrets.token_hex(6)}",
        )


# --------------------------------------------------------------------------- Stripe errors


@pytest.mark.parametrize(
    ("mode", "error", "words"),
    [("429", RateLimited, "rate-limiting"), ("500", StripeUnavailable, "temporary problem")],
)
def test_stripe_faults_become_sentences(
    services_ctx: Services,
    simulator: Any,
    sandbox_handle: Any,
    ops: Any,
    mode: str,
    error: type,
    words: str,
) -> None:
    # The gateway backs off on 429s (bounded): only a limit that outlasts every retry shows.
    simulator.force_faults(mode, services_ctx.gateway.backoff.retries + 1 if mode == "429" else 1)
    with pytest.raises(error, match=words):
        browse_accounts.search_customers(services_ctx, ops, "cus_anything1")
    assert sandbox_handle.state.forced_faults_pending() == 0  # every attempt was made


def test_a_rejected_api_key_and_a_timeout_become_sentences(
    sandbox_handle: Any, sqlite_engine: Any, simulator: Any, ops: Any
) -> None:
    bad_key = StripeGateway("sk_live_nope", base_url=sandbox_handle.base_url, max_network_retries=0)
    with pytest.raises(StripeAuthError, match="rejected the API key"):
        browse_accounts.account_detail(Services(bad_key, sqlite_engine, "sandbox"), ops, "fca_abc123")
    impatient = StripeGateway(
        SANDBOX_KEY, base_url=sandbox_handle.base_url, max_network_retries=0, timeout_seconds=0.3
    )
    simulator.force_faults("slow", 1)  # the sandbox answers after 3 s
    with pytest.raises(StripeUnavailable, match="timed out"):
        browse_accounts.account_detail(Services(impatient, sqlite_engine, "sandbox"), ops, "fca_abc123")


# --------------------------------------------------------------------------- lookup


def test_lookup_of_a_setup_intent_finds_the_linked_account_and_mirrors_it(
    services_ctx: Services, gateway: Any, simulator: Any, ops: Any
) -> None:
    customer, _ = make_customer(gateway, simulator, accounts=0)
    si = gateway.create_setup_intent(
        {"customer": customer["id"], "allowed_payment_method_types": ["us_bank_account"]},
        idempotency_key=None,
    )
    simulator.link_bank(si["id"], institution="StripeBank")
    found = lookup_account.lookup(services_ctx, ops, si["id"])
    assert found.account is not None and not found.manual_entry
    with session_scope(services_ctx.engine) as session:
        assert session.get(AccountRecord, found.account["id"]) is not None


def test_lookup_of_a_manually_entered_account_says_it_has_no_data(
    services_ctx: Services, gateway: Any, simulator: Any, ops: Any
) -> None:
    customer, _ = make_customer(gateway, simulator, accounts=0)
    si = gateway.create_setup_intent(
        {"customer": customer["id"], "allowed_payment_method_types": ["us_bank_account"]},
        idempotency_key=None,
    )
    simulator.manual_entry(si["id"])
    found = lookup_account.lookup(services_ctx, ops, si["id"])
    assert found.account is None and found.manual_entry
    assert (
        "entered manually" in found.message
        and "no balance, ownership or transaction" in found.message
    )


@pytest.mark.parametrize("key", [None, "", "   "])
def test_a_refresh_without_an_idempotency_key_is_refused_before_stripe(
    services_ctx: Services, gateway: Any, simulator: Any, ops: Any, key: str | None
) -> None:
    _, linked = make_customer(gateway, simulator, accounts=1, prefetch=[])
    account_id = linked[0]["id"]
    with pytest.raises(ValidationError, match="idempotency key"):
        refresh_balance.refresh(services_ctx, ops, account_id, "balance", idempotency_key=key)  # type: ignore[arg-type]
    assert gateway.retrieve_account(account_id)["balance_refresh"] is None
    assert audit_rows(services_ctx.engine, "account.refresh", account_id) == []


def test_a_started_refresh_writes_one_audit_row_with_its_key_and_request_id(
    services_ctx: Services, gateway: Any, simulator: Any, ops: Any
) -> None:
    _, linked = make_customer(gateway, simulator, accounts=1, prefetch=[])
    account_id = linked[0]["id"]
    key = f"test-{secrets.token_hex(6)}"
    refresh_balance.refresh(services_ctx, ops, account_id, "balance", idempotency_key=key)
    [row] = audit_rows(services_ctx.engine, "account.refresh", account_id)
    assert row.outcome == "ok" and row.idempotency_key == key and row.stripe_request_id
    assert row.actor == ops.username and row.role == "ops"


def test_a_customer_created_a_moment_ago_is_found_while_search_still_lags(sqlite_engine, ops) -> None:  # type: ignore[no-untyped-def]
    """Stripe's Search lags writes (the sandbox here by an hour): email look-ups go through the
    list first (as typed, then in lower case), so a fresh customer is found by ID or email."""
    from bootstrap import SANDBOX_KEY
    from sandbox.server import start_background

    handle = start_background(port=0, seed=6, customers=0, refresh_delay=0, search_lag=3600)
    try:
        gw = StripeGateway(SANDBOX_KEY, base_url=handle.base_url, max_network_retries=0)
        svc = Services(gateway=gw, engine=sqlite_engine, mode="sandbox")
        fresh = gw.create_customer({"email": "fresh@example.com", "name": "Fresh Fern"}, idempotency_key=None)
        assert gw.search_customers("email:'fresh@example.com'") == []  # not indexed yet
        for term in ("fresh@example.com", "Fresh@Example.com", fresh["id"]):
            assert [h.id for h in browse_accounts.search_customers(svc, ops, term)] == [fresh["id"]], term
    finally:
        handle.stop()
