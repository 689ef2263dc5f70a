"""Ownership review on sandbox demo data, checked against the truth the generator planted.

A private sandbox (seed 5) is used because its world plants a mismatch on an account with the
ownership permission; the session sandbox's world has none that is readable.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import select

from services.adapters.models import AuditEntry, OwnershipCheck
from services.adapters.store import session_scope
from services.auth import PERMISSIONS
from services.context import Services
from services.errors import Forbidden, NotFound, RefreshNotAllowed, ValidationError
from services.rules.owners.views import VERDICTS, AccountPick
from services.usecases import review_ownership as orv

SEED, CUSTOMERS = 5, 30


@dataclass(frozen=True)
class Known:
    account: dict[str, Any]
    customer: dict[str, Any]
    truth: str  # exact | variant | joint | mismatch
    owner_names: list[str]
    institution_fails: bool


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Any, dict[str, Known]]]:
    from bootstrap import SANDBOX_KEY
    from sandbox import demo
    from sandbox.server import start_background
    from services.adapters.gateway import StripeGateway

    handle = start_background(
        port=0, seed=SEED, customers=CUSTOMERS, refresh_delay=0, refresh_cooldown=60
    )
    planted = demo.generate(seed=SEED, customers=CUSTOMERS, now=handle.state.now())
    failing = {i.name for i in planted.institutions if i.refresh_fails}
    truth = {(c.email, a.last4): (c, a) for c in planted.customers for a in c.accounts}
    gateway = StripeGateway(SANDBOX_KEY, base_url=handle.base_url, max_network_retries=0)
    known: dict[str, Known] = {}
    for customer in gateway.iter_customers():
        for account in gateway.list_accounts(customer=customer["id"]):
            _, demo_account = truth[(customer["email"], account["last4"])]
            known[account["id"]] = Known(
                account,
                customer,
                demo_account.ownership_truth,
                [o.name for o in demo_account.owners],
                demo_account.institution in failing,
            )
    yield handle, known
    handle.stop()


@pytest.fixture
def svc(world, sqlite_engine) -> Services:  # type: ignore[no-untyped-def]
    from bootstrap import SANDBOX_KEY
    from services.adapters.gateway import StripeGateway

    handle, _ = world
    gateway = StripeGateway(SANDBOX_KEY, base_url=handle.base_url, max_network_retries=0)
    return Services(gateway=gateway, engine=sqlite_engine, mode="sandbox", now=handle.state.now)


def _readable(known: dict[str, Known], truth: str) -> list[Known]:
    return [
        k
        for k in known.values()
        if k.truth == truth and "ownership" in k.account["permissions"] and not k.institution_fails
    ]


def test_planted_mismatches_are_reported_as_mismatch_and_listed_for_review(world, svc, ops) -> None:  # type: ignore[no-untyped-def]
    _, known = world
    planted = _readable(known, "mismatch")
    assert planted, "the seed-5 world should plant a readable mismatch"

    reports = [orv.check_account(svc, ops, k.account["id"]) for k in planted]

    assert [r.verdict for r in reports] == ["mismatch"] * len(planted)
    listed = {r.account_id for r in orv.review_list(svc, ops).rows}
    assert {k.account["id"] for k in planted} <= listed


def test_exactly_written_owners_match_and_are_stored(world, svc, ops) -> None:  # type: ignore[no-untyped-def]
    _, known = world
    exact = _readable(known, "exact")

    reports = {k.account["id"]: orv.check_account(svc, ops, k.account["id"]) for k in exact}

    assert {r.verdict for r in reports.values()} == {"match"}
    with session_scope(svc.engine) as session:
        stored = {c.account_id: c for c in session.exec(select(OwnershipCheck)).all()}
    assert {a: (c.verdict, c.score) for a, c in stored.items()} == {
        a: (r.verdict, r.score) for a, r in reports.items()
    }
    assert all(c.checked_by == ops.username for c in stored.values())


def test_ops_see_owner_names_and_a_role_without_personal_data_only_scores(
    world, svc, ops, finance, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _, known = world
    target = _readable(known, "mismatch")[0]
    with pytest.raises(Forbidden):  # finance does not review ownership (issue 10)
        orv.check_account(svc, finance, target.account["id"])

    for_ops = orv.check_account(svc, ops, target.account["id"])
    # A reviewer without owners.view_pii (none today; the masking must still hold).
    monkeypatch.setitem(PERMISSIONS, "owners.view_pii", frozenset({"admin"}))
    for_finance = orv.check_account(svc, ops, target.account["id"])

    owner = target.owner_names[0]
    assert for_ops.pii_visible and [o.name for o in for_ops.owners] == target.owner_names
    assert owner in for_ops.reason
    assert not for_finance.pii_visible
    assert [o.name for o in for_finance.owners] == [None] * len(target.owner_names)
    shown = repr(for_finance)
    for secret in (owner, target.customer["name"], target.customer["email"]):
        assert secret not in shown
    assert [f.score for f in for_finance.fields] == [f.score for f in for_ops.fields]
    assert for_finance.verdict == for_ops.verdict == "mismatch"
    review_for_finance = orv.review_list(svc, ops).rows
    assert all(owner not in r.reason for r in review_for_finance)


def test_an_account_linked_without_ownership_is_no_data_with_the_reason(world, svc, ops) -> None:  # type: ignore[no-untyped-def]
    _, known = world
    target = next(k for k in known.values() if "ownership" not in k.account["permissions"])

    report = orv.check_account(svc, ops, target.account["id"])

    assert report.verdict == "no_data"
    assert "ownership permission" in report.reason
    assert report.refresh_blocker is not None


def test_bad_and_unknown_account_ids_raise_sentences(svc, ops) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        orv.check_account(svc, ops, "cus_123456 is not an account")
    with pytest.raises(NotFound, match="no Financial Connections account"):
        orv.check_account(svc, ops, "fca_doesnotexist123")


def test_check_all_checks_every_account_with_ownership_and_audits_once(world, svc, admin) -> None:  # type: ignore[no-untyped-def]
    _, known = world
    calls: list[tuple[int, int | None]] = []

    result = orv.check_all(svc, admin, progress=lambda done, total, _: calls.append((done, total)))

    with_ownership = {a for a, k in known.items() if "ownership" in k.account["permissions"]}
    assert result.checked + len(result.errors) == len(with_ownership)
    assert result.discovered == len(known)  # the mirror was empty, so accounts were found first
    assert calls[-1] == (len(with_ownership), len(with_ownership))
    with session_scope(svc.engine) as session:
        stored = set(session.exec(select(OwnershipCheck.account_id)).all())
        audits = session.exec(
            select(AuditEntry).where(AuditEntry.action == "ownership.check_all")
        ).all()
    assert stored == with_ownership
    assert len(audits) == 1 and audits[0].outcome == "ok"
    page = orv.review_list(svc, admin, verdicts=VERDICTS, page_size=5)
    assert page.total == len(with_ownership) and len(page.rows) == 5
    assert sum(page.counts.values()) == len(with_ownership)
    assert [r.score for r in page.rows] == sorted(r.score for r in page.rows)


def test_finance_may_not_check_all_accounts(svc, finance) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Forbidden):
        orv.check_all(svc, finance)
    with session_scope(svc.engine) as session:
        audit = session.exec(select(AuditEntry)).one()
        assert session.exec(select(OwnershipCheck)).all() == []
    assert (audit.action, audit.outcome) == ("ownership.check_all", "refused")


def test_refresh_ownership_waits_for_the_cooldown_then_brings_a_new_snapshot(
    world, svc, ops
) -> None:  # type: ignore[no-untyped-def]
    from sandbox.client import Simulator

    handle, known = world
    simulator = Simulator(handle.base_url)
    target = next(k for k in _readable(known, "exact") if k.account["status"] == "active")
    before = orv.check_account(svc, ops, target.account["id"])
    simulator.advance_clock(120)

    started = orv.refresh_ownership(
        svc, ops, target.account["id"], idempotency_key=f"own-{secrets.token_hex(4)}"
    )
    assert started["ownership_refresh"]["status"] == "pending"
    with pytest.raises(RefreshNotAllowed):  # already running
        orv.refresh_ownership(
            svc, ops, target.account["id"], idempotency_key=f"test-{secrets.token_hex(6)}"
        )
    simulator.complete_refreshes()
    after = orv.check_account(svc, ops, target.account["id"])

    assert after.ownership_id and after.ownership_id != before.ownership_id
    assert after.refresh_status == "succeeded" and after.verdict == "match"
    assert after.refresh_blocker is not None  # cooling down again


def test_review_list_pages_worst_first_and_hides_reasons_with_names_on_both_databases(
    engine, ops, finance, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        for n, (verdict, score) in enumerate(
            [("mismatch", 10), ("partial", 70), ("match", 100), ("mismatch", 0), ("no_data", 0)]
        ):
            session.add(
                OwnershipCheck(
                    account_id=f"fca_{n}",
                    verdict=verdict,
                    score=score,
                    reason=f"Owner 'Person {n}' differs",
                    detail={"public_reason": f"verdict {verdict}"},
                )
            )

    store = Services(gateway=None, engine=engine, mode="sandbox")  # type: ignore[arg-type]  # the list reads only the store
    first = orv.review_list(store, ops, page_size=2)
    second = orv.review_list(store, ops, page=2, page_size=2)
    with pytest.raises(Forbidden):
        orv.review_list(store, finance)
    monkeypatch.setitem(PERMISSIONS, "owners.view_pii", frozenset({"admin"}))
    hidden = orv.review_list(store, ops)  # a reviewer without personal data
    monkeypatch.undo()

    assert [r.account_id for r in first.rows + second.rows] == ["fca_3", "fca_0", "fca_1"]
    assert first.total == 3 and first.pages == 2
    assert first.counts == {"mismatch": 2, "partial": 1, "match": 1, "no_data": 1}
    assert first.rows[0].reason == "Owner 'Person 3' differs"
    assert [r.reason for r in hidden.rows] == ["verdict mismatch"] * 2 + ["verdict partial"]
    with pytest.raises(ValidationError, match=r"^Unknown verdict: 'maybe'; "):  # "verdict(s)"
        orv.review_list(store, ops, verdicts=["maybe"])


def test_the_review_list_checks_the_role_like_every_other_read(svc, manager) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Forbidden):
        orv.review_list(svc, manager)
    with pytest.raises(Forbidden):
        orv.eligible_accounts(svc, manager)


def test_a_pasted_customer_id_leads_to_its_account_or_a_choice(world, svc, ops) -> None:  # type: ignore[no-untyped-def]
    _, known = world
    by_customer: dict[str, list[str]] = {}
    for account_id, k in known.items():
        by_customer.setdefault(k.customer["id"], []).append(account_id)
    single = next(c for c, ids in by_customer.items() if len(ids) == 1)
    several = next((c for c, ids in by_customer.items() if len(ids) > 1), None)

    assert orv.find_account(svc, ops, " fca_typed ") == AccountPick("fca_typed")
    assert orv.find_account(svc, ops, single) == AccountPick(by_customer[single][0])
    if several is not None:
        pick = orv.find_account(svc, ops, several)
        assert pick.account_id is None and sorted(pick.choices) == sorted(by_customer[several])
    with pytest.raises(ValidationError):
        orv.find_account(svc, ops, "not an id")


def test_eligible_accounts_counts_the_mirrored_accounts_with_ownership(world, svc, admin) -> None:  # type: ignore[no-untyped-def]
    _, known = world
    assert orv.eligible_accounts(svc, admin) == 0  # nothing mirrored yet
    orv.check_all(svc, admin)
    with_ownership = [a for a, k in known.items() if "ownership" in k.account["permissions"]]
    assert orv.eligible_accounts(svc, admin) == len(with_ownership)
