"""Shapes our sandbox never makes, served by a local stub to the real SDK (issue 7, §C).

Stripe's own example objects (``../shared/stripe/fixtures-fc.json``) and variants the pinned
types allow go through the same gateway, SDK and HTTP code as production: the account sync
(full and from events), the transaction sync, the ownership check, the intent sync, the
payment lookup, the debit check and the collection path. Each must give the answer Stripe's
semantics call for — not merely "no crash".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from services.adapters import transaction_store
from services.context import Services
from services.errors import NotFound
from services.usecases import (
    browse_accounts,
    check_debit,
    collection_requests,
    conversion_report,
    review_ownership,
    sync_accounts,
    sync_intents,
    sync_transactions,
    view_transactions,
)
from services.usecases.resolve_account import resolve
from tests.conftest import actor_for
from tests.stripe_shapes import (
    ALL_PERMISSIONS,
    DAY,
    NOW,
    account,
    credit_balance,
    fixture,
    refresh,
    relink_required,
)
from tests.stripe_stub import Reply, Seen, StripeStub, list_of

ADMIN = actor_for("admin")
CUS = "cus_QXg1o8vcGmoR32"  # Stripe's example customer (the example account's holder)
ACCOUNTS = "/v1/financial_connections/accounts"


@pytest.fixture
def stub() -> Iterator[StripeStub]:
    with StripeStub() as served:
        served.on("GET", "/v1/events", list_of([], "/v1/events"))
        yield served


def services_on(stub: StripeStub, engine: Engine) -> Services:
    return Services(gateway=stub.gateway(), engine=engine, mode="test", now=lambda: NOW)


def example_customer(**fields: Any) -> dict[str, Any]:
    return {**fixture("customer"), "name": "Jane Smith", "email": "jane@example.com", **fields}


def deleted(customer_id: str) -> dict[str, Any]:
    """Stripe's answer for a deleted customer: ``{id, object, deleted: true}`` only."""
    return {"id": customer_id, "object": "customer", "deleted": True}


def accounts_by_holder(by_customer: dict[str, list[dict[str, Any]]]) -> Any:
    def answer(seen: Seen) -> Reply:
        return Reply(
            list_of(by_customer.get(seen.value("account_holder[customer]") or "", []), ACCOUNTS)
        )

    return answer


# --------------------------------------------------------------------------- account sync


def test_a_full_sync_mirrors_stripes_example_account_and_variants_as_stripe_means_them(
    stub: StripeStub, sqlite_engine: Engine
) -> None:
    example = fixture("financial_connections.account")  # "undefined" currency, failed refreshes
    credit = account(
        "fca_credit", category="credit", subcategory="credit_card", balance=credit_balance(),
        supported_payment_method_types=[],
    )  # fmt: skip
    no_balance = account("fca_none", status="inactive", balance=None, balance_refresh=None)
    relinking = account("fca_relink", status_details=relink_required(NOW + 7 * DAY))
    stub.on("GET", "/v1/customers", list_of([example_customer()], "/v1/customers"))
    stub.on("GET", ACCOUNTS, accounts_by_holder({CUS: [example, credit, no_balance, relinking]}))
    svc = services_on(stub, sqlite_engine)

    result = sync_accounts.sync_accounts(svc, ADMIN)

    assert (result.customers, result.accounts) == (1, 4)
    rows = {r.id: r for r in browse_accounts.list_accounts(svc, ADMIN, page_size=10).rows}
    mirrored = rows[example["id"]]
    assert mirrored.balance_currency is None  # the "undefined" placeholder is not a currency
    assert mirrored.balance_refresh_status == "failed" and mirrored.permissions == []
    assert (rows["fca_credit"].balance_current, rows["fca_credit"].balance_currency) == (
        -50_000, "usd",
    )  # fmt: skip
    assert rows["fca_credit"].balance_available is None  # credit.used is not cash available
    assert rows["fca_none"].balance_as_of is None and rows["fca_none"].status == "inactive"
    assert rows["fca_relink"].relink_required_by == NOW + 7 * DAY
    assert {r.id for r in browse_accounts.list_accounts(svc, ADMIN, relink_needed=True).rows} == {
        "fca_relink"
    }
    assert rows[example["id"]].relink_required_by is None  # no status_details at all


def test_events_naming_a_deleted_customer_keep_the_account_and_forget_the_customer(
    stub: StripeStub, sqlite_engine: Engine
) -> None:
    stub.on("GET", "/v1/customers", list_of([example_customer()], "/v1/customers"))
    stub.on("GET", ACCOUNTS, accounts_by_holder({CUS: []}))
    svc = services_on(stub, sqlite_engine)
    sync_accounts.sync_accounts(svc, ADMIN)  # the first (full) walk sets the cursor
    orphan = account("fca_orphan", account_holder={"customer": "cus_gone", "type": "customer"})
    created = {
        **fixture("event"), "id": "evt_1", "type": "financial_connections.account.created",
        "created": NOW, "data": {"object": orphan},
    }  # fmt: skip
    gone = {
        **fixture("event"), "id": "evt_2", "type": "customer.deleted", "created": NOW + 1,
        "data": {"object": example_customer()},
    }  # fmt: skip
    stub.on("GET", "/v1/events", list_of([gone, created], "/v1/events"))
    stub.on("GET", "/v1/customers/cus_gone", deleted("cus_gone"))

    result = sync_accounts.sync_accounts(svc, ADMIN)

    assert not result.full and result.events == 2
    [row] = browse_accounts.list_accounts(svc, ADMIN, customer_id="cus_gone").rows
    assert row.id == "fca_orphan" and row.customer_email is None
    assert browse_accounts.search_customers(svc, ADMIN, "jane") == []  # the deleted one is gone
    with pytest.raises(NotFound, match="was deleted in Stripe"):
        browse_accounts.search_customers(svc, ADMIN, "cus_gone")


def test_the_detail_of_an_account_whose_customer_was_deleted_shows_no_customer(
    stub: StripeStub, sqlite_engine: Engine
) -> None:
    stub.on("GET", f"{ACCOUNTS}/fca_shape", account("fca_shape"))
    stub.on("GET", "/v1/customers/cus_shape", deleted("cus_shape"))
    detail = browse_accounts.account_detail(services_on(stub, sqlite_engine), ADMIN, "fca_shape")
    assert detail.customer is None
    assert detail.blockers["balance"] is None  # failed refresh, next time null: may be asked


# --------------------------------------------------------------------------- transactions


def test_void_pending_and_posted_transactions_sync_and_void_ones_stay_out_of_figures(
    stub: StripeStub, sqlite_engine: Engine
) -> None:
    fca = account("fca_txn", transaction_refresh=refresh("succeeded", id="fctxnref_ok"))
    posted = {**fixture("financial_connections.transaction"), "id": "fctxn_posted",
              "account": "fca_txn", "transacted_at": NOW - 2 * DAY}  # fmt: skip
    void = {
        **posted, "id": "fctxn_void", "amount": -125_000, "status": "void",
        "status_transitions": {"posted_at": None, "void_at": NOW - DAY}, "description": "HOLD",
    }  # fmt: skip
    pending = {**posted, "id": "fctxn_pending", "amount": -700, "status": "pending",
               "status_transitions": {"posted_at": None, "void_at": None}}  # fmt: skip
    stub.on("GET", f"{ACCOUNTS}/fca_txn", fca)
    stub.on("GET", "/v1/financial_connections/transactions",
            list_of([pending, void, posted], "/v1/financial_connections/transactions"))  # fmt: skip
    svc = services_on(stub, sqlite_engine)

    summary = sync_transactions.sync_transactions(svc, ADMIN, "fca_txn")

    assert (summary.inserted, summary.cursor_after) == (3, "fctxnref_ok")
    shown = {t["id"] for t in transaction_store.load_transactions(sqlite_engine, "fca_txn")}
    assert shown == {"fctxn_posted", "fctxn_pending"}  # a void row is no money movement
    assert [t["id"] for t in transaction_store.load_transactions(sqlite_engine, "fca_txn", status="void")] == [
        "fctxn_void"
    ]
    insight = view_transactions.insight(sqlite_engine, fca, now=NOW)
    assert insight.transaction_count == 2
    assert posted["amount"] == 300  # Stripe's example: money in is positive


# --------------------------------------------------------------------------- ownership


def test_owners_with_only_a_name_are_matched_on_the_name(
    stub: StripeStub, sqlite_engine: Engine
) -> None:
    """Only ``name`` is always present (reference §2.2): null email, phone and address leave
    the name to decide, and a missing refreshed_at is not an error."""
    owner = {**fixture("financial_connections.account_owner"), "email": None, "phone": None,
             "raw_address": None, "refreshed_at": None}  # fmt: skip
    ownership = {**fixture("financial_connections.account_ownership"),
                 "owners": list_of([owner], f"{ACCOUNTS}/fca_own/owners")}  # fmt: skip
    stub.on("GET", f"{ACCOUNTS}/fca_own",
            account("fca_own", ownership=ownership,
                    account_holder={"customer": CUS, "type": "customer"}))  # fmt: skip
    stub.on("GET", f"/v1/customers/{CUS}", example_customer())
    report = review_ownership.check_account(services_on(stub, sqlite_engine), ADMIN, "fca_own")
    assert report.verdict in ("match", "partial") and report.score > 0
    assert "could not be read" not in report.reason
    assert report.owner_count == 1 and report.owners[0].refreshed_at is None


# --------------------------------------------------------------------------- intents


def card_paid_intent(**fields: Any) -> dict[str, Any]:
    """A PaymentIntent that offered card, Link and a bank account and was paid by card."""
    body = {
        **fixture("payment_intent"), "id": "pi_card", "status": "succeeded", "customer": CUS,
        "created": NOW - DAY, "payment_method": {**fixture("payment_method"), "customer": CUS},
        "payment_method_types": ["card", "link", "us_bank_account"], "last_payment_error": None,
        "payment_method_options": {"us_bank_account": {"verification_method": "automatic"}},
        "next_action": None,
    }  # fmt: skip
    body.update(fields)
    return body


def test_the_intent_sync_keeps_dynamic_offers_and_counts_card_payments_apart(
    stub: StripeStub, sqlite_engine: Engine
) -> None:
    card_only = {**fixture("setup_intent"), "created": NOW - DAY}  # payment_method_types [card]
    stub.on("GET", "/v1/setup_intents", list_of([card_only], "/v1/setup_intents"))
    stub.on("GET", "/v1/payment_intents", list_of([card_paid_intent()], "/v1/payment_intents"))
    svc = services_on(stub, sqlite_engine)

    result = sync_intents.sync_intents(svc, ADMIN)

    assert (result.setup_intents, result.payment_intents) == (0, 1)  # a card-only SI is no ACH
    [row] = (
        conversion_report.conversion(sqlite_engine, now=NOW)
        .query("verification_method == 'automatic'")
        .to_dict("records")
    )
    assert (row["started"], row["other_method"], row["succeeded"], row["verified"]) == (1, 1, 0, 0)


def test_the_lookup_of_card_paid_unexpanded_and_manual_payments_says_what_stripe_knows(
    stub: StripeStub, sqlite_engine: Engine
) -> None:
    svc = services_on(stub, sqlite_engine)
    stub.on("GET", "/v1/payment_intents/pi_card", card_paid_intent())
    card = resolve(svc.gateway, "pi_card")
    assert card.account is None and not card.manual_entry
    assert card.message.startswith("Paid by another method: card (visa ••4242)")

    manual_pm = {**fixture("payment_method"), "id": "pm_manual", "type": "us_bank_account",
                 "card": None, "us_bank_account": {"financial_connections_account": None,
                 "bank_name": "STRIPE TEST BANK", "last4": "6789"}}  # fmt: skip
    # Expansion not honoured (only the id): the lookup reads the payment method itself.
    stub.on("GET", "/v1/payment_intents/pi_manual", card_paid_intent(id="pi_manual",
            payment_method="pm_manual", payment_method_types=["us_bank_account"]))  # fmt: skip
    stub.on("GET", "/v1/payment_methods/pm_manual", manual_pm)
    manual = resolve(svc.gateway, "pi_manual")
    assert manual.manual_entry and "entered manually" in manual.message
    assert stub.calls("GET", "/v1/payment_methods/pm_manual") == 1

    check = check_debit.check_debit(svc, ADMIN, "pi_card", 1000, "usd")
    assert check.verdict == "unavailable"
    assert "Paid by another method: card (visa ••4242)" in " ".join(check.final.reasons)


def test_a_setup_intent_answered_without_bank_options_is_still_a_collection_request(
    stub: StripeStub, sqlite_engine: Engine
) -> None:
    """Stripe's example SetupIntent has ``payment_method_options: {}``; the request the page
    shows then has no verification method rather than a made-up one."""
    answer = {**fixture("setup_intent"), "customer": CUS, "created": NOW,
              "payment_method_types": ["us_bank_account"]}  # fmt: skip
    stub.on("POST", "/v1/setup_intents", answer)
    stub.on("GET", f"/v1/customers/{CUS}", example_customer())
    request = collection_requests.create_setup_intent(
        services_on(stub, sqlite_engine), ADMIN, customer_id=CUS, idempotency_key="shape-si-1"
    )
    assert (request.id, request.status, request.verification_method) == (
        answer["id"], "requires_payment_method", None,
    )  # fmt: skip
    assert request.payment_method_options == {}
    [sent] = stub.requests("POST", "/v1/setup_intents")
    assert sent.headers["idempotency-key"] == "shape-si-1"
    assert set(
        sent.values("payment_method_options[us_bank_account][financial_connections][permissions]")
    ) <= set(ALL_PERMISSIONS)
