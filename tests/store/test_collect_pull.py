"""Collect's "Sync from Stripe" (``collect_common.pull_recent_intents``) on SQLite and PostgreSQL.

It reads the recent intents with their customers expanded and writes them a page at a time:
what it stores must be what Stripe lists (every bank intent, naming its customer by ID; every
customer listed), in a transaction or two per page rather than one per intent."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select

from services.adapters.models import CustomerRecord, IntentRecord
from services.adapters.store import session_scope
from services.rules.intent_fields import is_bank_intent
from services.usecases import collect_common

LOOKBACK = collect_common.LOOKBACK_SECONDS


def listed(svc: Any, since: int) -> list[dict[str, Any]]:
    expand = ("customer",)
    return [
        *svc.gateway.iter_setup_intents(created_gte=since, expand=expand),
        *svc.gateway.iter_payment_intents(created_gte=since, expand=expand),
    ]


def stored(svc: Any) -> tuple[dict[str, str | None], set[str]]:
    with session_scope(svc.engine) as session:
        intents = {r.id: r.customer_id for r in session.exec(select(IntentRecord))}
        customers = {c.id for c in session.exec(select(CustomerRecord))}
    return intents, customers


@pytest.mark.parametrize("page", [3, collect_common.PULL_PAGE])
def test_sync_from_stripe_stores_what_stripe_lists_a_page_at_a_time(
    store_svc: Any, monkeypatch: pytest.MonkeyPatch, page: int
) -> None:
    monkeypatch.setattr(collect_common, "PULL_PAGE", page)
    since = store_svc.now() - LOOKBACK
    want = listed(store_svc, since)[: collect_common.MAX_SCAN]
    assert len(want) > 3, "the sandbox has recent intents to read"
    commits: list[int] = []
    event.listen(store_svc.engine, "commit", lambda *_: commits.append(1))

    n = collect_common.pull_recent_intents(
        store_svc, customer=None, since=since, payment_intents=True
    )

    assert n == len(want)
    intents, customers = stored(store_svc)
    bank = [i for i in want if is_bank_intent(i)]
    assert bank, "some of them are ACH intents"
    for intent in bank:
        person = intent["customer"]
        assert intents[intent["id"]] == (person["id"] if isinstance(person, dict) else person)
    assert not {i["id"] for i in want if not is_bank_intent(i)} & set(intents)
    named = {
        str(i["customer"]["id"])
        for i in want
        if isinstance(i["customer"], dict) and not i["customer"].get("deleted")
    }
    assert named and named <= customers, "the lists can name the people"
    pages = -(-n // page)
    assert len(commits) <= 2 * (pages + 1), f"{len(commits)} commits for {pages} pages"


def test_sync_from_stripe_again_changes_nothing(store_svc: Any) -> None:
    since = store_svc.now() - LOOKBACK
    collect_common.pull_recent_intents(store_svc, customer=None, since=since, payment_intents=True)
    first = stored(store_svc)
    collect_common.pull_recent_intents(store_svc, customer=None, since=since, payment_intents=True)
    assert stored(store_svc) == first
