"""The store and the audit log on SQLite and PostgreSQL (the ``engine`` fixture runs both)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect

from services import audit
from services.adapters.models import AccountRecord, BalanceSnapshot
from services.adapters.store import normalise_url, session_scope
from services.auth import Actor, require
from services.errors import Forbidden, StripeUnavailable

ADMIN = Actor(username="alice", role="admin")
OPS = Actor(username="omar", role="ops")


def test_schema_is_created_on_start(engine) -> None:  # type: ignore[no-untyped-def]
    tables = set(inspect(engine).get_table_names())
    assert {"audit_log", "customers", "fc_accounts", "balance_history", "settings_docs",
            "settings_history", "intents", "fc_transactions", "ownership_checks"} <= tables


def test_an_account_row_round_trips_with_its_raw_json(engine) -> None:  # type: ignore[no-untyped-def]
    raw = {"id": "fca_1", "balance": {"current": {"usd": 12_345_678_901}}, "permissions": ["balances"]}
    with session_scope(engine) as s:
        s.add(AccountRecord(id="fca_1", institution_name="Bank", category="cash", subcategory="checking",
                            status="active", created=1_700_000_000, balance_current=12_345_678_901, raw=raw))
    with session_scope(engine) as s:
        row = s.get(AccountRecord, "fca_1")
        assert row is not None
        assert row.raw == raw
        assert row.balance_current == 12_345_678_901  # beyond 32-bit: BIGINT on both databases


def test_the_same_balance_is_kept_once(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        s.add(BalanceSnapshot(account_id="fca_1", as_of=100, currency="usd", current=5))
    with pytest.raises(Exception), session_scope(engine) as s:  # noqa: B017 - driver-specific error
        s.add(BalanceSnapshot(account_id="fca_1", as_of=100, currency="usd", current=5))


def test_a_successful_action_writes_one_ok_audit_row(engine) -> None:  # type: ignore[no-untyped-def]
    with audit.audited(engine, actor=OPS, action="account.refresh", target="fca_1",
                       params={"features": ["balance"]}, idempotency_key="k1") as ctx:
        ctx.request_id = "req_123"
        ctx.message = "pending"
    page = audit.query(engine, actor=ADMIN)
    assert page.total == 1
    row = page.rows[0]
    assert (row.actor, row.role, row.action, row.target, row.outcome) == (
        "omar", "ops", "account.refresh", "fca_1", "ok")
    assert row.stripe_request_id == "req_123"
    assert row.params == {"features": ["balance"]}
    assert row.idempotency_key == "k1"


def test_a_failed_action_is_audited_as_error_and_the_error_still_raised(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StripeUnavailable), audit.audited(engine, actor=OPS, action="x", target="t"):
        raise StripeUnavailable("down", request_id="req_9")
    row = audit.query(engine, actor=ADMIN).rows[0]
    assert row.outcome == "error"
    assert row.message == "down"
    assert row.stripe_request_id == "req_9"


def test_a_refused_role_is_audited_as_refused(engine) -> None:  # type: ignore[no-untyped-def]
    finance = Actor(username="fay", role="finance")
    with pytest.raises(Forbidden), audit.audited(
        engine, actor=finance, action="flow.save", target="setup_intent", params={}
    ):
        require(finance, "flows.edit")
    row = audit.query(engine, actor=ADMIN).rows[0]
    assert (row.actor, row.outcome, row.action) == ("fay", "refused", "flow.save")


def test_secrets_never_reach_the_audit_log(engine) -> None:  # type: ignore[no-untyped-def]
    audit.record(engine, actor=OPS, action="collect.create", target="seti_1", outcome="ok",
                 params={"client_secret": "seti_1_secret_abc", "password": "hunter2",
                         "nested": {"api_key": "sk_test_x"}, "note": "seti_1_secret_zzz", "amount": 5})
    row = audit.query(engine, actor=ADMIN).rows[0]
    blob = str(row.params)
    assert "secret_abc" not in blob and "hunter2" not in blob and "sk_test_x" not in blob
    assert "secret_zzz" not in blob
    assert row.params["amount"] == 5


def test_audit_query_filters_and_pages_newest_first(engine) -> None:  # type: ignore[no-untyped-def]
    for i in range(7):
        audit.record(engine, actor=OPS if i % 2 else ADMIN, action=f"a{i % 3}", target=f"fca_{i}",
                     outcome="ok" if i < 5 else "error")
    assert audit.query(engine, actor=ADMIN, outcome="error").total == 2
    assert audit.query(engine, actor=ADMIN, actor_name="omar").total == 3
    assert audit.query(engine, actor=ADMIN, actor_name="OMA").total == 3  # part of it, any case
    assert audit.query(engine, actor=ADMIN, actor_name="m%r").total == 0  # % is literal
    assert audit.query(engine, actor=ADMIN, actions=["a0"]).total == 3
    first = audit.query(engine, actor=ADMIN, limit=3)
    second = audit.query(engine, actor=ADMIN, limit=3, offset=3)
    assert [r.target for r in first.rows] == ["fca_6", "fca_5", "fca_4"]
    assert [r.target for r in second.rows] == ["fca_3", "fca_2", "fca_1"]
    future = datetime.now(UTC) + timedelta(days=1)
    assert audit.query(engine, actor=ADMIN, since=future).total == 0
    assert audit.distinct_actions(engine) == ["a0", "a1", "a2"]


def test_only_admins_read_the_audit_log(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Forbidden):
        audit.query(engine, actor=OPS)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls_people_paste_use_psycopg3(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


def test_a_sync_cursor_is_created_on_first_mark_and_read_back(engine) -> None:  # type: ignore[no-untyped-def]
    from services.adapters.store import mark_sync, read_sync_cursor

    assert read_sync_cursor(engine, "demo") is None
    mark_sync(engine, "demo", cursor="1700000000")
    mark_sync(engine, "demo", details={"events": 3})
    assert read_sync_cursor(engine, "demo") == 1_700_000_000
    mark_sync(engine, "demo", cursor="not a number")
    assert read_sync_cursor(engine, "demo") is None
