"""Home page: each role's overview cards, counts from the store, no PII where it must not be."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from sqlmodel import delete, func, select
from streamlit.testing.v1 import AppTest

from services.adapters.models import (
    AccountRecord,
    BalanceSnapshot,
    CustomerRecord,
    DebitChainDayRecord,
    DebitChainRecord,
    DebitOutcomeRecord,
    IntentDay,
    IntentRecord,
    OwnershipCheck,
    SyncState,
)
from services.adapters.store import session_scope
from services.auth import SYSTEM, Actor
from services.usecases import browse_accounts, collect_lists, sync_accounts, sync_intents
from tests.app.conftest import no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app

OPS_CARDS = {
    "Inactive or disconnected",
    "Last refresh failed",
    "Ownership to review",
    "Open collection requests",
}
FINANCE_CARDS = {"Stale balances", "Balances never fetched", "Debit policy"}
MANAGER_CARDS = {"Intents last synced"}
EMPTY = "The store is empty"




def labels(at: AppTest) -> set[str]:
    return {m.label for m in at.metric}


def metric(at: AppTest, label: str) -> str:
    return str(next(m.value for m in at.metric if m.label == label))


def links(at: AppTest) -> set[str]:
    return {el.proto.label for el in at.get("page_link")}


@pytest.fixture(scope="module")
def mirrored() -> Iterator[Any]:
    """The app's store holds the sandbox's accounts and intents, plus one stored mismatch."""
    a = app()
    sync_accounts.sync_accounts(a.services, SYSTEM)
    sync_intents.sync_intents(a.services, SYSTEM)
    sync_accounts.sync_accounts(a.services, SYSTEM)
    sync_intents.sync_intents(a.services, SYSTEM)
    with session_scope(a.engine) as session:
        account_id = session.exec(  # one with the ownership permission, as a check needs
            select(AccountRecord.id)
            .where(AccountRecord.permissions.contains(",ownership,"))  # type: ignore[union-attr]
            .limit(1)
        ).one()
        session.merge(
            OwnershipCheck(
                account_id=account_id,
                verdict="mismatch",
                score=5,
                reason="Owner Jenny Rosen does not match the customer.",
                detail={"public_reason": "No owner matches the customer."},
            )
        )
    yield a


def store_pii(a: Any) -> list[str]:
    with session_scope(a.engine) as session:
        rows = session.exec(select(CustomerRecord.email, CustomerRecord.name)).all()
    return [v for row in rows for v in row if v and len(v) > 4]


def test_ops_sees_account_review_and_collection_cards_with_links(mirrored: Any) -> None:
    at = open_page(None, "ops")

    no_exceptions(at)
    assert labels(at) >= OPS_CARDS
    assert not (FINANCE_CARDS | MANAGER_CARDS) & labels(at)
    with session_scope(mirrored.engine) as session:
        review = session.exec(
            select(func.count())
            .select_from(OwnershipCheck)
            .where(OwnershipCheck.verdict.in_(["mismatch", "partial"]))  # type: ignore[attr-defined]
        ).one()
    figure = metric(at, "Ownership to review")  # "N so far" unless every account was checked
    assert int(figure.removesuffix(" so far").replace(",", "")) == review >= 1
    assert {"Review ownership", "Open accounts", "Open requests on Collect"} <= links(at)
    assert EMPTY not in texts(at)


def test_finance_sees_balance_cards_and_no_owner_data(mirrored: Any) -> None:
    at = open_page(None, "finance")

    no_exceptions(at)
    assert labels(at) >= FINANCE_CARDS
    assert not (OPS_CARDS | MANAGER_CARDS) & labels(at)
    shown = texts(at).lower()
    assert "ownership to review" not in shown and "mismatch" not in shown
    assert "jenny rosen" not in shown
    assert "Check a debit" in links(at)
    assert "Edit the policy" not in links(at)  # finance cannot open the policy page
    assert "max age" in metric(at, "Debit policy")


def count(at: AppTest, label: str) -> int:
    return int(metric(at, label).replace(",", ""))


def test_finance_balance_cards_count_what_their_links_list_and_say_a_check_only_marks_them(
    mirrored: Any,
) -> None:
    """The cards counted cards, inactive and disconnected accounts, linked to the unfiltered
    list, and said "a check refreshes them first" (the box starts unticked): now each counts
    what a refresh can update and links to exactly those accounts."""
    at = open_page(None, "finance")

    no_exceptions(at)
    finance = Actor("finance", "finance")
    for label, kind in (("Stale balances", "stale"), ("Balances never fetched", "never")):
        listed = browse_accounts.list_accounts(mirrored.services, finance, balance=kind).total
        assert count(at, label) == listed
    queries = {el.proto.query_string for el in at.get("page_link") if el.proto.page == "accounts"}
    assert queries - {""} == {"balance=stale", "balance=never"}  # "": the Pages grid
    shown = texts(at)
    assert "a check refreshes them first" not in shown
    assert "A check marks them STALE unless “Refresh stale balances” is ticked" in shown
    assert "Cards, inactive and disconnected accounts are not counted" in shown


def test_ops_open_requests_card_counts_as_collect_and_links_to_its_open_requests_tab(
    mirrored: Any,
) -> None:
    """Home said 3 waiting (requires_action only) where Collect's Open requests said 8."""
    at = open_page(None, "ops")

    no_exceptions(at)
    ops = Actor("ops", "ops")
    assert count(at, "Open collection requests") == collect_lists.open_request_count(
        mirrored.services, ops
    )
    [link] = [el.proto for el in at.get("page_link") if el.proto.label == "Open requests on Collect"]
    assert link.query_string == "tab=open"
    assert link.page == next(
        el.proto.page for el in at.get("page_link") if el.proto.label == "Collect accounts"
    )


def test_manager_sees_conversion_per_method_and_no_customer_data(mirrored: Any) -> None:
    at = open_page(None, "manager")

    no_exceptions(at)
    assert labels(at) >= MANAGER_CARDS
    assert any(label.endswith(" verification") for label in labels(at))
    assert not (OPS_CARDS | FINANCE_CARDS) & labels(at)
    assert metric(at, "Intents last synced") != "never"
    shown = texts(at)
    assert not [v for v in store_pii(mirrored) if v in shown]
    assert "Jenny Rosen" not in shown
    assert links(at) == {"Conversion", "See the funnel", "Sync on Conversion", "Returns"}
    # intents paid by card or Link (dynamic payment methods) are named apart, not as usable
    from services.usecases import overview
    methods = overview.manager_overview(mirrored.engine, now=mirrored.services.now()).methods
    for method in methods:
        if method.other_method:
            assert (
                f"{method.other_method:,} paid by another method (card or Link, not counted)"
                in shown
            )
        # the same base as Conversion's cards: card and Link payers are not "ended"
        ended = method.started - method.pending - method.other_method
        if ended > 0:
            assert f"{method.succeeded:,} of {ended:,} ended became usable" in shown
            assert metric(at, f"{method.verification_method.capitalize()} verification") == (
                f"{100 * method.succeeded / ended:.0f} %"  # as Conversion's cards say it
            )


def test_the_managers_cards_link_to_conversion_on_the_same_30_days(mirrored: Any) -> None:
    """Home's "last 30 days" counted 31 (from the day 30 days back), and "See the funnel" opened
    Conversion on its default 90 days: the manager saw other figures there."""
    from datetime import UTC, datetime, timedelta
    from urllib.parse import parse_qs

    at = open_page(None, "manager")
    no_exceptions(at)
    today = datetime.fromtimestamp(mirrored.services.now(), UTC).date()
    funnels = [el.proto for el in at.get("page_link") if el.proto.label == "See the funnel"]
    assert funnels
    for proto in funnels:
        query = {k: v[0] for k, v in parse_qs(proto.query_string).items()}
        assert query["from"] == (today - timedelta(days=29)).isoformat()
        assert query["to"] == today.isoformat()
        home_card = metric(at, f"{query['method'].capitalize()} verification")
        conversion = open_page("pages/conversion.py", "manager")
        for name, value in query.items():
            conversion.query_params[name] = value
        conversion.run()
        no_exceptions(conversion)
        assert not conversion.warning, [w.value for w in conversion.warning]
        shown = {m.label: m.value for m in conversion.metric}
        assert shown.get(f"Conversion · {query['method']}") == home_card


def test_admin_sees_every_card_the_audit_tail_and_flow_versions(mirrored: Any) -> None:
    at = open_page(None, "admin")

    no_exceptions(at)
    assert labels(at) >= OPS_CARDS | FINANCE_CARDS | MANAGER_CARDS
    [audit_table] = [d for d in at.dataframe if "action" in d.value.columns]
    assert 1 <= len(audit_table.value) <= 5
    assert "intents.sync" in set(audit_table.value["action"])  # the fixture's sync
    assert pd.api.types.is_datetime64_any_dtype(audit_table.value["when"])
    assert any("Flow configurations" in m.value for m in at.markdown)
    assert {"Open the audit log", "Configure flows", "Edit the policy"} <= links(at)


def test_cached_account_counts_follow_an_account_a_webhook_made_inactive(mirrored: Any) -> None:
    """The account counts are cached on the accounts' data version: the next rerun after the
    mirror wrote a change (here as a webhook would) shows it, without waiting for the minute."""
    from services.adapters import account_mirror

    at = open_page(None, "ops")
    before = int(metric(at, "Inactive or disconnected").replace(",", ""))
    with session_scope(mirrored.engine) as session:
        stored = session.exec(
            select(AccountRecord).where(AccountRecord.status == "active").limit(1)
        ).one()
    account_mirror.upsert_account(mirrored.engine, {**stored.raw, "status": "inactive"})
    try:
        at.run()
        no_exceptions(at)
        assert int(metric(at, "Inactive or disconnected").replace(",", "")) == before + 1
    finally:
        account_mirror.upsert_account(mirrored.engine, {**stored.raw, "status": "active"})


@pytest.fixture
def emptied(mirrored: Any) -> Iterator[Any]:
    """The store as a new data folder has it; refilled afterwards for the tests that follow."""
    with session_scope(mirrored.engine) as session:
        for model in (
            AccountRecord, CustomerRecord, BalanceSnapshot, OwnershipCheck, IntentRecord, DebitOutcomeRecord,
            IntentDay,  # the day counts the intent writers keep: a new folder has none either
            DebitChainRecord, DebitChainDayRecord,
        ):
            session.execute(delete(model))
        session.execute(delete(SyncState))
    yield mirrored
    sync_accounts.sync_accounts(mirrored.services, SYSTEM)
    sync_intents.sync_intents(mirrored.services, SYSTEM)
    sync_accounts.sync_accounts(mirrored.services, SYSTEM)
    sync_intents.sync_intents(mirrored.services, SYSTEM)


@pytest.mark.parametrize("role", ["ops", "finance", "manager", "admin"])
def test_an_empty_store_says_so_in_one_line_with_what_to_do(emptied: Any, role: str) -> None:
    at = open_page(None, role)

    no_exceptions(at)
    [line] = [i.value for i in at.info if EMPTY in i.value]
    assert "first visit" in line
    assert not at.metric


@pytest.mark.parametrize("role", ["ops", "finance"])
def test_debits_before_any_account_show_the_returns_cards_and_no_account_zeros(
    emptied: Any, role: str
) -> None:
    """The outcome sync (Returns' first visit) may fill the store before any account sync: the
    account cards would count zero stale balances of zero accounts, so they say why instead."""
    from services.usecases.debit_outcomes import record_payment_intent

    now = emptied.services.now()
    pm = {"id": "pm_homefirst", "type": "us_bank_account", "us_bank_account": {"bank_name": "B"}}
    record_payment_intent(
        emptied.engine,
        {
            "id": "pi_homefirst", "object": "payment_intent", "amount": 1_000,
            "currency": "usd", "created": now - 86_400, "customer": "cus_homefirst",
            "status": "succeeded", "payment_method": pm,
            "payment_method_options": {"us_bank_account": {"verification_method": "instant"}},
            "last_payment_error": None, "metadata": {},
        },  # fmt: skip
        at=now,
    )
    at = open_page(None, role)
    no_exceptions(at)
    assert not any(EMPTY in i.value for i in at.info)
    [line] = [i.value for i in at.info if "No bank accounts in the store yet" in i.value]
    assert "first visit" in line
    labels = {str(m.label) for m in at.metric}
    assert "Overall return rate" in labels  # the debits are counted
    assert not labels & {"Stale balances", "Balances never fetched"}
