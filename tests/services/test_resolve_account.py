"""One resolver "pasted ID → bank account": payment lookup, the single debit check and the batch
give the same account and the same reason for the same pasted ID (issue 8).

Before, the batch had its own payment-method walk with its own sentences ("The payment method
is a card, not a US bank account.") while the single check said "Paid by another method: card
(visa ••4242) …", and a deleted customer was worded differently by lookup and the debit check.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from services.errors import NotFound, ValidationError
from services.rules.debit_csv import parse_debits_csv
from services.usecases import check_batch, check_debit, lookup_account
from tests.conftest import actor_for
from tests.services.test_stripe_shapes import (
    accounts_by_holder,
    card_paid_intent,
    example_customer,
    services_on,
)
from tests.stripe_shapes import account, fixture
from tests.stripe_stub import StripeStub

ADMIN = actor_for("admin")
ACCOUNTS = "/v1/financial_connections/accounts"


def bank_pm(id: str, fca: str | None) -> dict[str, Any]:
    bank = {"financial_connections_account": fca, "bank_name": "STRIPE TEST BANK", "last4": "6789"}
    return {**fixture("payment_method"), "id": id, "type": "us_bank_account", "card": None,
            "customer": "cus_two", "us_bank_account": bank}  # fmt: skip


@pytest.fixture
def stub() -> Iterator[StripeStub]:
    with StripeStub() as served:
        linked = account("fca_linked", account_holder={"customer": "cus_two", "type": "customer"})
        other = account("fca_closed", status="inactive")
        served.on("GET", f"{ACCOUNTS}/fca_linked", linked)
        served.on("GET", "/v1/payment_methods/pm_linked", bank_pm("pm_linked", "fca_linked"))
        served.on("GET", "/v1/payment_methods/pm_manual", bank_pm("pm_manual", None))
        served.on("GET", "/v1/payment_methods/pm_card", {**fixture("payment_method"), "id": "pm_card"})
        served.on("GET", "/v1/setup_intents/seti_linked", {**fixture("setup_intent"),
                  "id": "seti_linked", "payment_method": bank_pm("pm_linked", "fca_linked")})  # fmt: skip
        served.on("GET", "/v1/setup_intents/seti_empty", {**fixture("setup_intent"),
                  "id": "seti_empty", "payment_method": None})  # fmt: skip
        served.on("GET", "/v1/payment_intents/pi_card", card_paid_intent())
        served.on("GET", "/v1/customers/cus_two", example_customer(id="cus_two"))
        served.on("GET", "/v1/customers/cus_none", example_customer(id="cus_none"))
        served.on("GET", ACCOUNTS, accounts_by_holder({"cus_two": [other, linked]}))
        yield served


PASTED = ["fca_linked", "pm_linked", "pm_manual", "pm_card", "seti_linked", "seti_empty",
          "pi_card", "cus_two", "cus_none"]  # fmt: skip


@pytest.mark.parametrize("pasted", PASTED)
def test_lookup_and_the_debit_check_find_the_same_account_and_reason(
    stub: StripeStub, sqlite_engine: Engine, pasted: str
) -> None:
    svc = services_on(stub, sqlite_engine)
    found = lookup_account.lookup(svc, ADMIN, pasted)
    check = check_debit.check_debit(svc, ADMIN, pasted, 1_000, "usd")
    checked = check.account.id if check.account else None
    if found.kind == "customer":
        listed = [a["id"] for a in found.accounts]
        assert (checked in listed) if listed else checked is None
        if checked:
            assert checked == "fca_linked"  # the active cash account, not the inactive one
        else:
            assert check.final.reasons == (check.note,) and "no linked bank accounts" in check.note
    elif found.account is not None:
        assert checked == found.account["id"] == "fca_linked"
        assert check.note == found.message
    elif found.manual_entry:
        assert checked is None and "entered manually" in found.message
        assert "entered manually" in " ".join(check.final.reasons)
    else:
        assert checked is None and check.final.reasons == (found.message,)


def test_the_batch_gives_each_row_the_single_checks_account_and_reasons(
    stub: StripeStub, sqlite_engine: Engine
) -> None:
    svc = services_on(stub, sqlite_engine)
    ids = [p for p in PASTED if p.startswith(("fca_", "pm_", "cus_"))]  # what a CSV may name
    csv = "id,amount\n" + "".join(f"{p},10.00\n" for p in ids)
    debits, errors = parse_debits_csv(csv)
    assert not errors
    batch = check_batch.run_batch(svc, ADMIN, debits, refresh_stale=False)
    on_account: dict[str, int] = {}  # rows so far per account: they go out together
    for row, pasted in zip(batch.rows, ids, strict=True):
        n = on_account[row.account_id] = on_account.get(row.account_id, 0) + 1 if row.account_id else 1
        single = check_debit.check_debit(svc, ADMIN, pasted, 1_000 * n, "usd")
        assert row.target == pasted
        assert row.account_id == (single.account.id if single.account else None)
        joint = [r for r in row.reasons if "judged together" in r]  # "Row 2 debits the same …"
        assert len(joint) == (1 if n > 1 else 0)
        # The same sentences, the total named as these rows' ("$20.00 of these 2 debits")
        total = f"{10 * n}.00"
        own = tuple(
            r.replace(f"{total} of these {n} debits", f"{total} debit")
            for r in row.reasons
            if r not in joint
        )
        assert n == 1 or any(f"of these {n} debits" in r for r in row.reasons), row.reasons
        assert (row.verdict, own) == (single.verdict, single.final.reasons), pasted
    assert max(on_account.values()) > 1  # the pasted IDs name one account more than once


@pytest.mark.parametrize(
    ("pasted", "error"),
    [("ba_1234567890", ValidationError), ("hello there", ValidationError), ("", ValidationError),
     ("fca_unknown1234", NotFound), ("pm_unknown1234", NotFound), ("cus_unknown1234", NotFound)],
)  # fmt: skip
def test_bad_and_unknown_ids_fail_the_same_way_on_both_paths(
    stub: StripeStub, sqlite_engine: Engine, pasted: str, error: type[Exception]
) -> None:
    svc = services_on(stub, sqlite_engine)
    with pytest.raises(error) as looked_up:
        lookup_account.lookup(svc, ADMIN, pasted, what="Payment lookup")
    with pytest.raises(error) as checked:
        check_debit.check_debit(svc, ADMIN, pasted, 1_000, "usd", what="Balance check")
    if error is ValidationError and pasted:  # the same sentence, but for the page each names
        looked, check = str(looked_up.value), str(checked.value)
        assert "Payment lookup accepts" in looked and "Balance check accepts" in check
        assert looked.replace("Payment lookup", "Balance check") == check
    elif error is ValidationError:  # nothing typed: "Enter an ID", the same on both
        assert str(looked_up.value) == str(checked.value)
    else:
        assert pasted in str(looked_up.value) and pasted in str(checked.value)


def test_a_returned_debit_without_the_method_in_its_error_is_found_through_its_charge(
    stub: StripeStub, sqlite_engine: Engine
) -> None:
    """Stripe empties a failed debit's ``payment_method``; when ``last_payment_error`` carries no
    copy of it, ``latest_charge.payment_method`` still names it."""
    error = {"code": "insufficient_funds", "type": "card_error", "message": "Insufficient funds."}
    returned = {**fixture("payment_intent"), "id": "pi_back", "status": "requires_payment_method",
                "customer": "cus_two", "payment_method": None, "last_payment_error": error,
                "latest_charge": "py_back", "metadata": {}}  # fmt: skip
    stub.on("GET", "/v1/payment_intents/pi_back", returned)
    stub.on("GET", "/v1/charges/py_back", {"id": "py_back", "object": "charge",
            "payment_intent": "pi_back", "payment_method": "pm_linked"})  # fmt: skip
    svc = services_on(stub, sqlite_engine)
    found = lookup_account.lookup(svc, ADMIN, "pi_back")
    assert found.account is not None and found.account["id"] == "fca_linked"
    assert found.failure is not None and found.failure.returned
    assert found.retry_original == "pi_back"
    check = check_debit.check_debit(svc, ADMIN, "pi_back", 1_000, "usd")
    assert check.account is not None and check.account.id == "fca_linked"
