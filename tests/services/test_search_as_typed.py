"""Search text is compared as people mean it, whichever keyboard typed it: a phone's curly
apostrophe (``o’connor``) finds O'Connor, a doubled space (``Ana  García``) finds Ana García, on
both sides (the term, and stored names and descriptions), for the customer search and the
Transactions description filter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.adapters import account_mirror, transaction_store
from services.context import Services
from services.rules import input_limits
from services.rules.people import fold
from services.rules.transactions import filter_transactions
from services.usecases import browse_accounts

NAMES = {"cus_typ1": "Francesca O'Connor", "cus_typ2": "Ana García", "cus_typ3": "Seán O’Brien",
         "cus_typ4": "Bo  Lee"}


@pytest.mark.parametrize(
    ("typed", "searched"),
    [("o’connor", "o'connor"), ("  Ana   García ", "Ana García"), ("“quoted”", '"quoted"'),
     ("trader joe‘s", "trader joe's"), ("plain", "plain")],
)
def test_a_search_term_has_straight_quotes_and_single_spaces(typed: str, searched: str) -> None:
    assert input_limits.search_term(typed) == searched


def test_a_name_folds_to_straight_quotes_and_single_spaces() -> None:
    assert fold("Seán O’Brien") == fold("sean o'brien") == "sean o'brien"
    assert fold("Bo  Lee") == "bo lee"


def _found(svc: Services, ops: Any, term: str) -> set[str]:
    page = browse_accounts.search_customers_page(svc, ops, term)
    return {h.id for h in page.hits}


def test_the_customer_search_finds_names_however_quotes_and_spaces_were_typed(
    services_ctx: Services, ops: Any
) -> None:
    for cid, name in NAMES.items():
        account_mirror.upsert_customer(
            services_ctx.engine, {"id": cid, "name": name, "email": f"{cid}@ex.com", "created": 1}
        )
    assert _found(services_ctx, ops, "o’connor") == {"cus_typ1"}
    assert _found(services_ctx, ops, "O'Connor") == {"cus_typ1"}
    assert _found(services_ctx, ops, "Ana  García") == {"cus_typ2"}
    assert _found(services_ctx, ops, "o'brien") == {"cus_typ3"}  # stored with a curly one
    assert _found(services_ctx, ops, "bo lee") == {"cus_typ4"}  # stored with two spaces


def _txn(n: int, text: str) -> dict[str, Any]:
    ts_ = int(datetime(2026, 3, n, 12, tzinfo=UTC).timestamp())
    return {
        "id": f"fctxn_typ{n}", "object": "financial_connections.transaction",
        "account": "fca_typed", "amount": -1200, "currency": "usd", "description": text,
        "status": "posted", "status_transitions": {"posted_at": ts_, "void_at": None},
        "transacted_at": ts_, "transaction_refresh": "fctxnref_1", "updated": ts_,
    }


ROWS = [_txn(1, "Trader Joe's #552"), _txn(2, "CAFÉ  “LUNA”"), _txn(3, "Joe’s Garage")]


@pytest.mark.parametrize(
    ("typed", "ids"),
    [("trader joe’s", ["1"]), ("Trader Joe's", ["1"]), ("joe's garage", ["3"]),
     ('  "luna"', ["2"]), ("É   “LUNA”", ["2"]), ("joe’s", ["3", "1"])],
)
def test_the_description_filter_compares_quotes_and_spaces_as_typed(
    sqlite_engine: Any, typed: str, ids: list[str]
) -> None:
    transaction_store.upsert_transactions(sqlite_engine, ROWS)
    term = input_limits.search_term(typed)
    stored = transaction_store.load_transactions(sqlite_engine, "fca_typed", text=term)
    assert [t["id"][-1] for t in stored] == ids
    in_memory = filter_transactions(ROWS, text=term)  # the rows Stripe answered directly
    assert sorted(t["id"][-1] for t in in_memory) == sorted(ids)
