"""Payment lookup through the real SDK against the sandbox: the Dashboard's details of a payment
(amount, status, customer, bank, mandate, verification, Dashboard link) from one expanded read."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from services.adapters.gateway import StripeGateway
from services.context import Services
from services.usecases import lookup_account
from tests.conftest import actor_for

OPS = actor_for("ops")
ACH: Any = ["us_bank_account"]


def _customer(gateway: StripeGateway) -> dict[str, Any]:
    return gateway.create_customer(
        {"name": "Lee Park", "email": "lee.park@example.org"}, idempotency_key=None
    )


def _payment_intent(gateway: StripeGateway, customer: str, amount: int) -> dict[str, Any]:
    return gateway.create_payment_intent(
        {
            "amount": amount,
            "currency": "usd",
            "customer": customer,
            "allowed_payment_method_types": ACH,
        },
        idempotency_key=None,
    )


def test_a_paid_intent_shows_amount_customer_bank_mandate_and_its_test_mode_dashboard_link(
    gateway: StripeGateway, simulator: Any, sqlite_engine: Engine
) -> None:
    cus = _customer(gateway)
    pi = _payment_intent(gateway, cus["id"], 12_345)
    simulator.link_bank(pi["id"], institution="Test Institution")
    svc = Services(gateway=gateway, engine=sqlite_engine, mode="test")
    details = lookup_account.lookup(svc, OPS, pi["id"]).details
    assert details is not None
    assert (details.amount, details.currency) == (12_345, "usd")
    assert details.status == pi_status(gateway, pi["id"])
    assert (details.customer_name, details.customer_email) == ("Lee Park", "lee.park@example.org")
    assert details.bank_label and details.bank_label.endswith(details.last4 or "")
    assert details.last4 and details.bank_name
    assert details.mandate_id and details.mandate_id.startswith("mandate_")
    assert details.mandate_status == "active"
    assert "Financial Connections" in details.verification
    assert details.dashboard_url == f"https://dashboard.stripe.com/test/payments/{pi['id']}"


def pi_status(gateway: StripeGateway, intent_id: str) -> str:
    return str(gateway.retrieve_payment_intent(intent_id)["status"])


def test_a_manual_account_waiting_for_microdeposits_is_not_called_verified_and_has_no_mandate(
    gateway: StripeGateway, simulator: Any, services_ctx: Services
) -> None:
    cus = _customer(gateway)
    pi = _payment_intent(gateway, cus["id"], 5_000)
    simulator.manual_entry(pi["id"])
    found = lookup_account.lookup(services_ctx, OPS, pi["id"])
    details = found.details
    assert details is not None and details.status == "requires_action"
    assert "not verified yet" in details.verification
    assert "verified by microdeposits" not in found.message + details.verification
    assert details.mandate_id is None
    assert details.dashboard_url is None  # sandbox mode: no Dashboard page


def test_a_setup_intent_verified_by_microdeposits_says_so_and_reads_its_mandate(
    gateway: StripeGateway, simulator: Any, services_ctx: Services
) -> None:
    cus = _customer(gateway)
    si = gateway.create_setup_intent(
        {"customer": cus["id"], "allowed_payment_method_types": ACH}, idempotency_key=None
    )
    simulator.manual_entry(si["id"])
    simulator.microdeposits_arrive(si["id"])
    gateway.verify_microdeposits(si["id"], descriptor_code="SM11AA", idempotency_key=None)
    details = lookup_account.lookup(services_ctx, OPS, si["id"]).details
    assert details is not None and details.status == "succeeded"
    assert details.amount is None
    assert details.verification.endswith("verified by microdeposits.")
    assert details.mandate_status == "active" and details.mandate_type == "multi_use"


def test_a_payment_method_shows_its_customer_and_bank(
    gateway: StripeGateway, simulator: Any, services_ctx: Services
) -> None:
    cus = _customer(gateway)
    si = gateway.create_setup_intent(
        {"customer": cus["id"], "allowed_payment_method_types": ACH}, idempotency_key=None
    )
    simulator.link_bank(si["id"], institution="Test Institution")
    pm_id = gateway.retrieve_setup_intent(si["id"])["payment_method"]
    details = lookup_account.lookup(services_ctx, OPS, pm_id).details
    assert details is not None and details.kind == "payment_method"
    assert details.customer_name == "Lee Park" and details.bank_label
    assert details.dashboard_url is None


def test_a_payment_id_py_leads_to_its_intent_and_bank_account(
    gateway: StripeGateway, simulator: Any, sqlite_engine: Engine
) -> None:
    """Bank statements, Stripe's Dashboard and payouts name the payment (py_…) of a debit, not
    its PaymentIntent: looking it up shows the same account and details as the intent."""
    cus = _customer(gateway)
    pi = _payment_intent(gateway, cus["id"], 4_200)
    simulator.link_bank(pi["id"], institution="Test Institution")
    payment = gateway.retrieve_payment_intent(pi["id"])["latest_charge"]
    assert str(payment).startswith("py_")
    svc = Services(gateway=gateway, engine=sqlite_engine, mode="test")
    by_intent = lookup_account.lookup(svc, OPS, pi["id"])
    by_payment = lookup_account.lookup(svc, OPS, f" {payment} ")
    assert by_payment.linked is not None and by_intent.linked is not None
    assert by_payment.linked.id == by_intent.linked.id
    assert by_payment.details == by_intent.details
    assert by_payment.message.startswith(f"{payment} is a payment of {pi['id']}.")


def test_a_canceled_setup_intent_says_it_was_canceled_not_that_a_method_is_yet_to_come(
    gateway: StripeGateway, sqlite_engine: Engine
) -> None:
    """It said "No payment method is attached yet", as if the customer might still link one."""
    cus = _customer(gateway)
    made = gateway.create_setup_intent(
        {"customer": cus["id"], "allowed_payment_method_types": ACH}, idempotency_key=None
    )
    svc = Services(gateway=gateway, engine=sqlite_engine, mode="test")
    waiting = lookup_account.lookup(svc, OPS, made["id"])
    assert waiting.message.startswith("No payment method is attached yet")
    gateway.cancel_setup_intent(made["id"], reason="abandoned", idempotency_key=None)
    canceled = lookup_account.lookup(svc, OPS, made["id"])
    assert canceled.message.startswith("This SetupIntent was canceled before the customer linked")
    assert "yet" not in canceled.message


def _returned_debit(
    gateway: StripeGateway, simulator: Any, box: Any, *, metadata: dict[str, str] | None = None
) -> tuple[str, str]:
    """A linked account with $10 debited $50: back R01. Returns (pi id, fca id)."""
    cus = _customer(gateway)
    si = gateway.create_setup_intent(
        {"customer": cus["id"], "allowed_payment_method_types": ACH}, idempotency_key=None
    )
    simulator.link_bank(si["id"], institution="StripeBank")
    pm = gateway.retrieve_setup_intent(si["id"], expand=["payment_method"])["payment_method"]
    fca = pm["us_bank_account"]["financial_connections_account"]
    with box.state.lock:
        box.state.lookup(fca)["balance"] = {
            "as_of": box.state.now(),
            "type": "cash",
            "current": {"usd": 1_000},
            "cash": {"available": {"usd": 1_000}},
        }
    pi = gateway.create_payment_intent(
        {"amount": 5_000, "currency": "usd", "customer": cus["id"], "payment_method": pm["id"],
         "allowed_payment_method_types": ACH, "confirm": True, "off_session": True,
         "metadata": metadata or {}},
        idempotency_key=None,
    )  # fmt: skip
    return str(pi["id"]), str(fca)


def test_a_returned_debit_shows_the_account_it_debited_and_says_it_came_back_r01(
    gateway: StripeGateway, simulator: Any, sandbox_handle: Any, services_ctx: Services
) -> None:
    """It said "No payment method is attached yet: the customer has not linked a bank account"
    (and "Verification: No bank account yet") next to "Mandate: active": Stripe empties a
    returned debit's payment_method, and the lookup read only that field."""
    pi_id, fca = _returned_debit(gateway, simulator, sandbox_handle)
    raw = gateway.retrieve_payment_intent(pi_id)
    assert raw["status"] == "requires_payment_method" and raw["payment_method"] is None

    found = lookup_account.lookup(services_ctx, OPS, pi_id)

    assert found.linked is not None and found.linked.id == fca
    assert found.has_payment_method and "not linked" not in found.message
    assert found.message.startswith("Linked through Financial Connections: StripeBank ••")
    details = found.details
    assert details is not None and details.status == "requires_payment_method"
    assert details.bank_label and details.last4 == found.linked.last4
    assert "Financial Connections" in details.verification
    assert details.mandate_status == "active"
    failure = found.failure
    assert failure is not None and failure == details.failure
    assert failure.code == "insufficient_funds" and failure.returned
    assert failure.returned.startswith("R01 (insufficient funds)")
    assert "The bank returned this debit: R01 (insufficient funds)" in failure.sentence
    assert "`insufficient_funds`" in failure.sentence and "insufficient funds" in failure.sentence
    assert found.retry_original == pi_id


def test_a_returned_retry_leads_to_its_original_and_the_debit_check_finds_its_account(
    gateway: StripeGateway, simulator: Any, sandbox_handle: Any, services_ctx: Services
) -> None:
    """fcops' own retry, once it came back, led nowhere either; the balance check before the
    next retry goes through the same resolver."""
    from services.rules.returns import RETRY_OF
    from services.usecases.resolve_account import debit_target

    retry_id, fca = _returned_debit(
        gateway, simulator, sandbox_handle, metadata={RETRY_OF: "pi_original123"}
    )
    found = lookup_account.lookup(services_ctx, OPS, retry_id)
    assert found.linked is not None and found.linked.id == fca
    assert found.retry_original == "pi_original123"
    target = debit_target(gateway, retry_id)
    assert target.account is not None and target.account["id"] == fca and target.missing is None


def test_a_return_not_yet_in_the_store_is_recorded_from_what_stripe_says_and_planned_at_once(
    gateway: StripeGateway, simulator: Any, sandbox_handle: Any, services_ctx: Services
) -> None:
    """A return whose webhook had not arrived (or whose outcomes were never synced) read "No
    debit pi_… is known to fcops yet. Sync the debit outcomes on the Returns page" next to the
    lookup that had just read the return from Stripe; one still stored as processing read "is
    still processing; there is nothing to retry". The lookup keeps what Stripe says, as the
    webhook does, and a second lookup changes nothing."""
    from services.usecases import retry_debit
    from services.usecases.debit_outcomes import record_payment_intent, stored_rows

    finance = actor_for("finance")
    pi_id, fca = _returned_debit(gateway, simulator, sandbox_handle)
    assert "known to fcops" in str(retry_debit.why_not_plannable(services_ctx, finance, pi_id))

    found = lookup_account.lookup(services_ctx, OPS, pi_id)  # ops: may look up, not plan

    assert found.retry_original == pi_id
    assert retry_debit.why_not_plannable(services_ctx, finance, pi_id) is None
    row = stored_rows(services_ctx.engine, [pi_id])[pi_id]
    assert (row.status, row.return_code, row.account_id) == ("returned", "R01/R09", fca)
    before = row.model_dump(exclude={"synced_at"})
    lookup_account.lookup(services_ctx, OPS, pi_id)
    assert (
        stored_rows(services_ctx.engine, [pi_id])[pi_id].model_dump(exclude={"synced_at"}) == before
    )

    # The webhook on its way: the store still has the debit processing, from an older event.
    other, _ = _returned_debit(gateway, simulator, sandbox_handle)
    processing = {**gateway.retrieve_payment_intent(other, expand=["payment_method"])}
    pm = processing["last_payment_error"]["payment_method"]
    processing.update(status="processing", last_payment_error=None, payment_method=pm)
    # Seen before the lookup's own reading (fcops' clock): the shared sandbox's clock may run
    # ahead of it once other tests have moved it on, so its ``created`` may not be earlier.
    seen = min(int(processing["created"]), int(services_ctx.now()) - 60)
    record_payment_intent(services_ctx.engine, processing, at=seen)
    said = str(retry_debit.why_not_plannable(services_ctx, finance, other))
    assert "still processing" in said
    lookup_account.lookup(services_ctx, OPS, other)
    assert retry_debit.why_not_plannable(services_ctx, finance, other) is None


def _updated_after_its_attempt(sandbox_handle: Any, pi_id: str) -> Any:
    """The PaymentIntent updated after its failed attempt (another system writes its metadata),
    through the real SDK: Stripe clears ``last_payment_error`` (the pinned SDK's docstring) and
    the failed charge keeps ``failure_code`` (a free ``str`` on ``Charge``) and
    ``failure_message``. Returns the intent as the SDK reads it, its latest charge expanded."""
    import stripe

    from bootstrap import SANDBOX_KEY

    client = stripe.StripeClient(SANDBOX_KEY, base_addresses={"api": sandbox_handle.base_url})
    client.v1.payment_intents.update(pi_id, params={"metadata": {"crm_note": "called"}})
    pi = client.v1.payment_intents.retrieve(pi_id, params={"expand": ["latest_charge"]})
    assert pi.status == "requires_payment_method" and pi.payment_method is None
    assert pi.last_payment_error is None
    assert isinstance(pi.latest_charge, stripe.Charge) and pi.latest_charge.status == "failed"
    return pi


def test_a_return_whose_intent_was_updated_since_reads_its_reason_from_the_failed_charge(
    gateway: StripeGateway, simulator: Any, sandbox_handle: Any, services_ctx: Services
) -> None:
    """Updated after its return, the intent had no last_payment_error: the lookup said "No
    payment method is attached yet" and nothing of the return, and kept no outcome for it."""
    from services.usecases.debit_outcomes import stored_rows

    pi_id, fca = _returned_debit(gateway, simulator, sandbox_handle)
    pi = _updated_after_its_attempt(sandbox_handle, pi_id)
    assert pi.latest_charge.failure_code == "insufficient_funds"

    found = lookup_account.lookup(services_ctx, OPS, pi_id)

    assert found.linked is not None and found.linked.id == fca  # the account the charge debited
    failure = found.failure
    assert failure is not None and failure == (found.details and found.details.failure)
    assert (failure.code, failure.charge) == ("insufficient_funds", pi.latest_charge.id)
    assert failure.returned and failure.returned.startswith("R01 (insufficient funds)")
    assert failure.message == pi.latest_charge.failure_message
    assert "The bank returned this debit: R01 (insufficient funds)" in failure.sentence
    assert f"on the failed payment `{pi.latest_charge.id}`" in failure.sentence
    assert found.retry_original == pi_id
    row = stored_rows(services_ctx.engine, [pi_id])[pi_id]
    assert (row.status, row.failure_code, row.return_code, row.account_id) == (
        "returned", "insufficient_funds", "R01/R09", fca
    )


def test_a_charge_failure_code_fcops_has_no_return_for_is_said_in_stripes_words(
    gateway: StripeGateway, simulator: Any, services_ctx: Services, sandbox_handle: Any
) -> None:
    """A charge's failure_code is a free string: only the codes fcops maps to Nacha returns are
    read as returns; any other is Stripe's code and message, no return code guessed."""
    from services.usecases.debit_outcomes import stored_rows

    cus = _customer(gateway)
    si = gateway.create_setup_intent(
        {"customer": cus["id"], "allowed_payment_method_types": ACH}, idempotency_key=None
    )
    simulator.manual_entry(si["id"], account_number="000444444440")  # §7.1: invalid currency
    simulator.microdeposits_arrive(si["id"])
    pm = gateway.verify_microdeposits(si["id"], descriptor_code="SM11AA", idempotency_key=None)[
        "payment_method"
    ]
    pi_id = gateway.create_payment_intent(
        {"amount": 2_500, "currency": "usd", "customer": cus["id"], "payment_method": pm,
         "allowed_payment_method_types": ACH, "confirm": True, "off_session": True},
        idempotency_key=None,
    )["id"]  # fmt: skip
    pi = _updated_after_its_attempt(sandbox_handle, pi_id)
    assert pi.latest_charge.failure_code == "invalid_currency"

    found = lookup_account.lookup(services_ctx, OPS, pi_id)
    failure = found.failure

    assert failure is not None and failure.ret is None and not failure.returned
    # The debit was sent (a charge is made on a verified account only): not "not verified yet".
    assert "was entered manually (verified by microdeposits)" in found.message
    assert found.details and "verified by microdeposits" in found.details.verification
    assert "not verified" not in found.details.verification
    assert failure.code == "invalid_currency"
    assert failure.sentence.startswith(
        "The last attempt to collect this payment failed. Stripe's code `invalid_currency` on "
        f"the failed payment `{pi.latest_charge.id}`: “{pi.latest_charge.failure_message.rstrip('.')}.”"
    )
    assert "R0" not in failure.sentence
    assert pi_id not in stored_rows(services_ctx.engine, [pi_id])  # no return to count
