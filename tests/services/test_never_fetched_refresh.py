"""A balance never fetched is the stalest of all: asking to refresh stale balances fetches it.

Single check and batch alike refresh an account with no balance yet when Stripe allows a
refresh now (balances permission, active, no cooldown) and judge the debit on the figure the
bank gives; an account a refresh cannot reach keeps its sentences and is not refreshed.
"""

from __future__ import annotations

from typing import Any

import pytest

from services.auth import Actor
from services.context import Services
from services.rules.debit_csv import parse_debits_csv
from services.usecases import check_batch, check_debit
from tests.services.test_debits import (
    FakeClock,
    account_field,
    audit_rows,
    customer,
    link,
)


def never_fetched(gw: Any, sim: Any, box: Any, setup: str = "refreshable") -> str:
    """A linked account whose balance was never fetched, made unreachable by ``setup``."""
    permissions = ("payment_method",) if setup == "no_permission" else None
    fca = (
        link(gw, sim, customer(gw), permissions=permissions)
        if permissions
        else link(gw, sim, customer(gw))
    )
    if setup == "inactive":
        sim.deactivate_account(fca)
    if setup == "cooldown":  # a first refresh failed a moment ago; the next one not yet allowed
        now = box.state.now()
        refresh = {"status": "failed", "last_attempted_at": now - 10,
                   "next_refresh_available_at": now + 3_600}  # fmt: skip
        account_field(box, fca, "balance_refresh", refresh)
    account = gw.retrieve_account(fca)
    assert account["balance"] is None
    return fca


def bank_figure(gw: Any, fca: str) -> int:
    return int(gw.retrieve_account(fca)["balance"]["cash"]["available"]["usd"])


def test_a_balance_never_fetched_is_fetched_when_refreshing_is_asked_for_and_judged_on_it(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    fca = never_fetched(gw, sim, box)
    check = check_debit.check_debit(svc, finance, fca, 10_000, "usd", refresh_stale=True)
    assert check.before.verdict == "unavailable" and check.before.needs_refresh
    assert check.refresh is not None and check.refresh.status == "succeeded"
    assert check.after is not None and check.after.verdict == "ok"
    assert check.after.balance == bank_figure(gw, fca)
    # a first fetch is not called a refresh (it said "The balance was refreshed and …")
    assert check.refresh.message == (
        "The balance was fetched for the first time and the debit checked against it."
    )
    assert [(r.target, r.outcome) for r in audit_rows(svc.engine, "account.refresh")
            if r.target == fca] == [(fca, "ok")]  # fmt: skip


def test_a_balance_never_fetched_is_not_fetched_unless_asked(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    fca = never_fetched(gw, sim, box)
    check = check_debit.check_debit(svc, finance, fca, 10_000, "usd")
    assert check.verdict == "unavailable" and check.refresh is None
    assert check.final.needs_refresh  # the page offers "Fetch the balance now"
    assert "A balance refresh can be requested now." in check.final.reasons
    assert gw.retrieve_account(fca)["balance_refresh"] is None


def test_a_first_fetch_the_bank_fails_says_there_is_still_no_figure(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    fca = link(gw, sim, customer(gw), institution="Refresh Errors Bank")
    check = check_debit.check_debit(svc, finance, fca, 10_000, "usd", refresh_stale=True)
    assert check.refresh is not None and check.refresh.status == "failed"
    assert check.refresh.message == (
        "The bank could not provide a balance, so there is still no figure."
    )
    assert check.after is not None and check.after.verdict == "unavailable"


@pytest.mark.parametrize(
    ("setup", "sentence"),
    [
        ("no_permission", "did not grant access to balances"),
        ("inactive", "inactive"),
        ("cooldown", "allows the next balance refresh from"),
    ],
)
def test_a_balance_never_fetched_that_cannot_be_refreshed_keeps_its_sentence(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor, setup: str, sentence: str
) -> None:
    fca = never_fetched(gw, sim, box, setup)
    before = gw.retrieve_account(fca)["balance_refresh"]
    check = check_debit.check_debit(svc, finance, fca, 10_000, "usd", refresh_stale=True)
    assert check.verdict == "unavailable" and check.refresh is None and check.after is None
    assert not check.final.needs_refresh
    assert sentence in " ".join(check.final.reasons)
    assert "A balance refresh can be requested now." not in check.final.reasons
    assert gw.retrieve_account(fca)["balance_refresh"] == before
    assert not [r for r in audit_rows(svc.engine, "account.refresh") if r.target == fca]


def test_a_batch_fetches_balances_never_fetched_where_it_may_and_judges_on_them(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    fetchable = never_fetched(gw, sim, box)
    no_access = never_fetched(gw, sim, box, "no_permission")
    inactive = never_fetched(gw, sim, box, "inactive")
    waiting = never_fetched(gw, sim, box, "cooldown")
    text = "id,amount\n" + "".join(
        f"{a},{amount}\n"
        for a, amount in [(fetchable, "10.00"), (fetchable, "20.00"), (no_access, "10.00"),
                          (inactive, "10.00"), (waiting, "10.00")]
    )  # fmt: skip
    planned, _ = parse_debits_csv(text)
    before = {a: gw.retrieve_account(a)["balance_refresh"] for a in (no_access, inactive, waiting)}
    result = check_batch.run_batch(svc, finance, planned, refresh_stale=True, clock=FakeClock())
    assert result.refreshed == [fetchable]
    assert [(r.account_id, r.verdict, r.refreshed) for r in result.rows] == [
        (fetchable, "ok", True), (fetchable, "ok", True), (no_access, "unavailable", False),
        (inactive, "unavailable", False), (waiting, "unavailable", False),
    ]  # fmt: skip
    assert result.rows[0].balance == bank_figure(gw, fetchable)
    assert "allows the next balance refresh from" in " ".join(result.rows[4].reasons)
    assert {a: gw.retrieve_account(a)["balance_refresh"] for a in before} == before
    said = " ".join(r for row in result.rows for r in row.reasons)
    assert "Stripe refused" not in said and "did not start" not in said  # none was asked for
    assert result.summary().refreshed == 1
