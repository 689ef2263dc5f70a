"""Home overview: counts per role from hand-inserted rows, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from services.adapters.models import AccountRecord, AuditEntry, IntentRecord, OwnershipCheck
from services.adapters.store import session_scope
from services.auth import Actor
from services.context import Services
from services.errors import ValidationError
from services.rules.debit import DebitPolicy
from services.rules.owners.views import CheckCoverage
from services.usecases import browse_accounts, collect_lists
from services.usecases import overview as ov
from services.usecases.debit_policy import save_policy
from services.usecases.edit_flows import save_flow

NOW = 1_750_000_000
DAY = 86_400
ADMIN = Actor("admin", "admin")
OPS = Actor("ops", "ops")
FINANCE = Actor("finance", "finance")
MANAGER = Actor("manager", "manager")


def account(n: int, **values: Any) -> AccountRecord:
    defaults: dict[str, Any] = {
        "id": f"fca_test{n:04d}",
        "customer_id": f"cus_test{n:04d}",
        "institution_name": "StripeBank",
        "category": "cash",
        "subcategory": "checking",
        "status": "active",
        "permissions": ",balances,payment_method,",
        "created": NOW - 90 * DAY,
    }
    return AccountRecord(**{**defaults, **values})


def intent(n: int, *, method: str, status: str, created: int) -> IntentRecord:
    return IntentRecord(
        id=f"seti_test{n:04d}",
        kind="setup_intent",
        status=status,
        verification_method=method,
        created=created,
        raw={
            "id": f"seti_test{n:04d}",
            "object": "setup_intent",
            "status": status,
            "created": created,
            "payment_method_options": {"us_bank_account": {"verification_method": method}},
        },
    )


def insert(engine: Engine, *rows: Any) -> None:
    with session_scope(engine) as session:
        session.add_all(rows)


def test_an_empty_store_is_reported_empty_with_zero_counts(engine: Engine) -> None:
    result = ov.overview_from_store(engine, ADMIN, now=NOW)

    assert result.empty
    assert result.ops is not None and result.ops.inactive == 0 and result.ops.mismatches == 0
    assert result.finance is not None and result.finance.stale_balances == 0
    assert result.manager is not None and all(m.started == 0 for m in result.manager.methods)
    assert result.admin is not None and result.admin.recent_audit == []


def test_ops_counts_problem_accounts_review_verdicts_and_waiting_microdeposits(
    engine: Engine,
) -> None:
    insert(
        engine,
        account(1, status="inactive"),
        account(2, status="disconnected"),
        account(3, status="disconnected", ownership_refresh_status="failed"),
        account(4, balance_refresh_status="failed", transaction_refresh_status="failed"),
        account(5, balance_refresh_status="succeeded"),
        OwnershipCheck(account_id="fca_test0001", verdict="mismatch", score=10),
        OwnershipCheck(account_id="fca_test0002", verdict="partial", score=60),
        OwnershipCheck(account_id="fca_test0003", verdict="partial", score=70),
        OwnershipCheck(account_id="fca_test0004", verdict="match", score=95),
        intent(1, method="microdeposits", status="requires_action", created=NOW - DAY),
        intent(3, method="instant", status="succeeded", created=NOW - DAY),
    )

    result = ov.overview_from_store(engine, OPS, now=NOW)

    assert result.ops == ov.OpsOverview(
        inactive=1,
        disconnected=2,
        refresh_failed=2,
        mismatches=1,
        partials=2,
        open_requests=1,
        requests_read=False,  # intents written here, no intent sync ever finished
        ownership_coverage=CheckCoverage(0, 0),  # none of these has the ownership permission
    )
    assert not result.empty


def test_ops_says_how_many_accounts_the_review_count_covers_not_a_bare_zero(
    engine: Engine,
) -> None:
    """A fresh store said "Ownership to review 0" with 1 account of 164 checked (tester)."""
    with_ownership = ",balances,ownership,payment_method,"
    insert(
        engine,
        *(account(n, permissions=with_ownership) for n in range(1, 5)),
        account(5),  # no ownership permission: not checkable
        OwnershipCheck(account_id="fca_test0001", verdict="match", score=95),
    )

    ops = ov.overview_from_store(engine, OPS, now=NOW).ops

    assert ops is not None and ops.mismatches + ops.partials == 0
    assert ops.ownership_coverage == CheckCoverage(checked=1, checkable=4)
    assert not ops.ownership_coverage.complete
    assert ops.ownership_coverage.line(0) == (
        "1 of 4 accounts checked · 0 to review so far — use Check all accounts to check the rest."
    )
    assert CheckCoverage(0, 4).line(0).startswith("Not checked yet: 0 of 4 accounts checked")
    assert CheckCoverage(4, 4).line(2) == "All 4 accounts checked · 2 to review."


def test_finance_counts_balances_older_than_the_policy_and_never_refreshed_ones(
    engine: Engine,
) -> None:
    save_policy(
        engine,
        ADMIN,
        DebitPolicy(buffer_amount=500, max_age_seconds=6 * 3600),
        expected_version=0,
    )
    insert(
        engine,
        account(1, balance_as_of=NOW - 7 * 3600, balance_current=100, balance_currency="usd"),
        account(2, balance_as_of=NOW - 5 * 3600, balance_current=100, balance_currency="usd"),
        account(3),  # balances granted, never fetched
        account(4, balance_refresh_status="pending"),  # first refresh on its way
        account(5, permissions=",payment_method,"),  # no balances permission
    )

    result = ov.overview_from_store(engine, FINANCE, now=NOW)

    assert result.finance is not None
    assert (result.finance.stale_balances, result.finance.never_refreshed) == (1, 1)
    assert result.finance.policy.max_age_seconds == 6 * 3600
    assert result.finance.policy.buffer_amount == 500
    assert result.finance.policy_version == 1


def store_services(engine: Engine) -> Services:
    """The store alone, at NOW: no test here asks Stripe."""
    return Services(gateway=None, engine=engine, mode="sandbox", now=lambda: NOW)  # type: ignore[arg-type]


def test_ops_counts_the_open_requests_collect_lists_with_its_own_count(engine: Engine) -> None:
    """Home said 3 "waiting for the customer" (requires_action only) where Collect's Open
    requests said 8 (links still to finish too): Home now counts with Collect's function."""
    payment = IntentRecord(
        id="pi_test0001", kind="payment_intent", status="requires_action", created=NOW - DAY,
        verification_method="microdeposits", raw={"id": "pi_test0001", "created": NOW - DAY},
    )  # fmt: skip
    insert(
        engine,
        intent(1, method="microdeposits", status="requires_action", created=NOW - DAY),
        intent(2, method="automatic", status="requires_payment_method", created=NOW - 2 * DAY),
        intent(3, method="instant", status="processing", created=NOW - 3 * DAY),
        intent(4, method="automatic", status="requires_payment_method", created=NOW - 4 * DAY),
        intent(5, method="automatic", status="requires_action", created=NOW - 50 * DAY),  # older
        intent(6, method="instant", status="succeeded", created=NOW - DAY),
        intent(7, method="instant", status="canceled", created=NOW - DAY),
        payment,  # a debit's PaymentIntent is not a collection request
    )
    svc = store_services(engine)

    result = ov.overview_from_store(engine, OPS, now=NOW)

    assert result.ops is not None
    listed = {r.id for r in collect_lists.open_requests(svc, OPS)}
    assert listed == {f"seti_test{n:04d}" for n in (1, 2, 3, 4)}
    assert result.ops.open_requests == collect_lists.open_request_count(svc, OPS) == len(listed)


def test_finance_counts_only_balances_a_refresh_can_update_and_accounts_lists_the_same(
    engine: Engine,
) -> None:
    """The cards counted credit cards, inactive and disconnected accounts; now they count active
    cash accounts with balance access and no refresh running, and ?balance= lists exactly them."""
    save_policy(engine, ADMIN, DebitPolicy(max_age_seconds=6 * 3600), expected_version=0)
    old = NOW - 7 * 3600
    card = {"category": "credit", "subcategory": "credit_card"}
    insert(
        engine,
        account(1, balance_as_of=old),  # stale
        account(2, balance_as_of=old, balance_refresh_status="failed"),  # stale, bank failed
        account(3, balance_as_of=NOW - 5 * 3600),  # fresh enough
        account(4, balance_as_of=old, **card),
        account(5, balance_as_of=old, status="inactive"),
        account(6, balance_as_of=old, status="disconnected"),
        account(7, balance_as_of=old, balance_refresh_status="pending"),  # refresh on its way
        account(8, balance_as_of=old, permissions=",payment_method,"),
        account(11),  # never fetched
        account(12, balance_refresh_status="failed"),  # never fetched: the first one failed
        account(13, status="disconnected"),
        account(14, status="inactive"),
        account(15, **card),
        account(16, balance_refresh_status="pending"),
        account(17, permissions=",payment_method,"),
    )
    svc = store_services(engine)

    result = ov.overview_from_store(engine, FINANCE, now=NOW)

    def listed(kind: str) -> set[str]:
        return {
            r.id
            for r in browse_accounts.list_accounts(svc, FINANCE, balance=kind, page_size=500).rows
        }

    assert result.finance is not None
    assert listed("stale") == {"fca_test0001", "fca_test0002"}
    assert listed("never") == {"fca_test0011", "fca_test0012"}
    assert (result.finance.stale_balances, result.finance.stale_failed) == (2, 1)
    assert (result.finance.never_refreshed, result.finance.never_failed) == (2, 1)
    with pytest.raises(ValidationError, match="balance filter"):
        browse_accounts.list_accounts(svc, FINANCE, balance="old")


def test_manager_sees_the_last_30_days_per_method_and_the_last_sync(engine: Engine) -> None:
    insert(
        engine,
        intent(1, method="instant", status="succeeded", created=NOW - 2 * DAY),
        intent(2, method="instant", status="canceled", created=NOW - 3 * DAY),
        intent(3, method="microdeposits", status="requires_action", created=NOW - 4 * DAY),
        intent(4, method="instant", status="succeeded", created=NOW - 45 * DAY),  # too old
    )

    result = ov.overview_from_store(engine, MANAGER, now=NOW)

    assert result.manager is not None
    by_method = {m.verification_method: m for m in result.manager.methods}
    assert (by_method["instant"].started, by_method["instant"].succeeded) == (2, 1)
    assert by_method["instant"].conversion_rate == 0.5
    assert by_method["microdeposits"].started == 1
    assert by_method["microdeposits"].conversion_rate == 0.0
    assert result.manager.last_intents_sync is None
    # the 30 days including today: from the start of the day 29 days back
    assert result.manager.since == (NOW // DAY - 29) * DAY


def test_each_role_gets_only_its_own_sections(engine: Engine) -> None:
    sections = {
        role.role: ov.overview_from_store(engine, role, now=NOW) for role in (OPS, FINANCE, MANAGER, ADMIN)
    }

    def present(o: ov.Overview) -> set[str]:
        return {name for name in ("ops", "finance", "manager", "admin") if getattr(o, name)}

    assert present(sections["ops"]) == {"ops"}
    assert present(sections["finance"]) == {"finance"}
    assert present(sections["manager"]) == {"manager"}
    assert present(sections["admin"]) == {"ops", "finance", "manager", "admin"}


def test_admin_sees_the_five_newest_audit_entries_and_the_flow_versions(engine: Engine) -> None:
    insert(
        engine,
        *(
            AuditEntry(
                at=datetime(2100, 1, 1, 0, 0, i, tzinfo=UTC),  # newer than the flow save
                actor="ops",
                role="ops",
                action=f"test.action{i}",
                outcome="ok",
            )
            for i in range(7)
        ),
    )
    save_flow(
        engine,
        ADMIN,
        "setup_intent",
        permissions=["balances", "payment_method"],
        prefetch=[],
        verification_method="instant",
        expected_version=0,
    )

    result = ov.overview_from_store(engine, ADMIN, now=NOW)

    assert result.admin is not None
    actions = [line.action for line in result.admin.recent_audit]
    assert actions == [f"test.action{i}" for i in (6, 5, 4, 3, 2)]
    assert result.admin.flow_versions["setup_intent"] == 1
    assert result.admin.flow_versions["payment_intent"] == 0
