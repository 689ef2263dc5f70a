"""Searching by a customer's name or email (issue 9) runs in SQL and finds what Python would,
on SQLite and PostgreSQL: the Transactions picker, the ownership review list and Collect's
intent lists."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bench.page_fill import NOW, fill
from services.adapters import ownership_checks, transaction_store
from services.adapters.models import AccountRecord, CustomerRecord, IntentRecord, OwnershipCheck
from services.adapters.store import session_scope
from services.context import Services
from services.usecases.collect_common import count_stored_intents, stored_intents

TERMS = ["Customer 1", "C12@EXAMPLE", "stomer 2"]


def _rows(engine: Engine, model: Any) -> list[Any]:
    with session_scope(engine) as session:
        return list(session.exec(select(model)).all())


def _people(engine: Engine, term: str) -> set[str]:
    needle = term.lower()
    return {
        c.id
        for c in _rows(engine, CustomerRecord)
        if needle in (c.name or "").lower() or needle in (c.email or "").lower()
    }


@pytest.fixture
def filled(engine: Engine) -> Engine:
    fill(engine, 0, 40, 0)
    return engine


@pytest.mark.parametrize("term", TERMS)
def test_the_account_picker_finds_accounts_by_their_customer(filled: Engine, term: str) -> None:
    people = _people(filled, term)
    needle = term.lower()
    expected = {
        a.id
        for a in _rows(filled, AccountRecord)
        if ",transactions," in a.permissions
        and (
            a.customer_id in people
            or needle in a.id.lower()
            or needle in a.institution_name.lower()
            or needle in (a.last4 or "")
            or needle in (a.customer_id or "").lower()
        )
    }
    assert expected, "the case should match some accounts"
    found = transaction_store.known_accounts(filled, permission="transactions", search=term)
    assert {c.id for c in found} == expected
    assert transaction_store.count_known_accounts(
        filled, permission="transactions", search=term
    ) == len(expected)
    names = {c.id: c.label for c in found}
    first = sorted(expected)[0]
    customer = next(a.customer_id for a in _rows(filled, AccountRecord) if a.id == first)
    number = customer.removeprefix("cus_b").lstrip("0") or "0"
    assert names[first].startswith(f"Customer {number} · c{number}@example.com · ")


@pytest.mark.parametrize("term", TERMS)
def test_the_review_list_finds_checks_by_their_customer_only_with_pii(
    filled: Engine, term: str
) -> None:
    people = _people(filled, term)
    banks = {a.id: a.institution_name.lower() for a in _rows(filled, AccountRecord)}
    verdicts = ["match", "mismatch", "partial", "no_data"]
    expected = {
        c.account_id
        for c in _rows(filled, OwnershipCheck)
        if c.customer_id in people or term.lower() in banks.get(c.account_id, "")
    }
    assert expected
    page = ownership_checks.review_page(
        filled, verdicts=verdicts, page=1, page_size=500, pii=True, search=term
    )
    assert {r.account_id for r in page.rows} == expected and page.total == len(expected)
    assert all(r.customer_name and r.customer_email for r in page.rows)
    hidden = ownership_checks.review_page(
        filled, verdicts=verdicts, page=1, page_size=500, pii=False, search=term
    )
    assert not hidden.rows  # without PII no name or email is searched (nor shown)


@pytest.mark.parametrize("term", TERMS)
def test_stored_intents_are_found_by_their_customer(filled: Engine, term: str) -> None:
    people = _people(filled, term)
    intents = _rows(filled, IntentRecord)
    statuses = tuple(sorted({i.status for i in intents}))
    expected = {i.id for i in intents if i.customer_id in people}
    assert expected
    svc = Services(gateway=None, engine=filled, mode="sandbox", now=lambda: NOW)  # type: ignore[arg-type]
    found = stored_intents(
        svc, customer=None, since=0, payment_intents=True, statuses=statuses, search=term
    )
    assert {str(i["id"]) for i in found} == expected
    assert count_stored_intents(
        svc, customer=None, since=0, payment_intents=True, statuses=statuses, search=term
    ) == len(expected)
