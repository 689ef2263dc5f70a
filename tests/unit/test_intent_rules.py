"""Typed intent views and the microdeposit input rules (services/rules/intents.py, intent_checks.py)."""

from __future__ import annotations

import pytest

from services.errors import StripeRequestError, ValidationError
from services.rules.intent_checks import verification_input, verification_refusal
from services.rules.intents import view_of


def _refused(code: str, message: str = "refused") -> StripeRequestError:
    return StripeRequestError(message, request_id="req_1", code=code)


def test_a_mismatch_keeps_its_idempotency_key_and_counts_the_attempts_left() -> None:
    err = verification_refusal(
        _refused("setup_intent_descriptor_code_mismatch", "7 verification attempts remaining"),
        "seti_1",
        "descriptor_code",
    )
    assert err.keep_idempotency_key
    assert "7 of 10 attempts left" in str(err)


@pytest.mark.parametrize(
    "code", ["setup_intent_verification_attempts_exceeded", "setup_intent_verification_timeout"]
)
def test_a_final_refusal_starts_a_new_request_and_says_what_to_do(code: str) -> None:
    err = verification_refusal(_refused(code), "seti_1", "amounts")
    assert not err.keep_idempotency_key
    assert "Create another request" in str(err)


def test_input_is_checked_before_stripe_sees_it() -> None:
    assert verification_input(None, " sm11aa ") == ("descriptor_code", {"descriptor_code": "SM11AA"})
    assert verification_input([32, 45], None) == ("amounts", {"amounts": [32, 45]})
    for amounts, code in (([32, 45], "SM11AA"), ([0, 45], None), (None, "AB12"), (None, "")):
        with pytest.raises(ValidationError):
            verification_input(amounts, code)


def test_the_view_reads_microdeposits_and_the_linked_account_from_the_intent() -> None:
    view = view_of(
        {
            "id": "seti_1",
            "object": "setup_intent",
            "customer": {"id": "cus_1"},
            "status": "requires_action",
            "metadata": {"fcops_flow": "setup_intent", "fcops_flow_version": "3"},
            "next_action": {
                "type": "verify_with_microdeposits",
                "verify_with_microdeposits": {
                    "microdeposit_type": "amounts",
                    "arrival_date": 1_800_000_000,
                    "hosted_verification_url": "https://example.test/verify",
                },
            },
            "payment_method": {
                "id": "pm_1",
                "us_bank_account": {"financial_connections_account": "fca_1"},
            },
            "client_secret": "seti_1_secret_x",
        }
    )
    assert (view.customer_id, view.flow, view.flow_version) == ("cus_1", "setup_intent", 3)
    assert (view.microdeposit_type, view.arrival_date) == ("amounts", 1_800_000_000)
    assert (view.payment_method, view.financial_connections_account) == ("pm_1", "fca_1")
    assert view.verification_method == "automatic" and "secret" not in repr(view)


def test_the_last_error_of_a_payment_intent_updated_since_is_its_failed_charges() -> None:
    """Stripe clears last_payment_error when a PaymentIntent is updated after the attempt: the
    Collect view's "Last error" went blank for a failed debit. Its expanded failed latest
    charge still says why, while the intent is back from that attempt; a SetupIntent (no
    charges) reads last_setup_error only."""
    from services.rules.intent_fields import last_error

    charge = {"id": "py_1", "status": "failed", "failure_code": "account_closed",
              "failure_message": "The account is closed."}  # fmt: skip
    cleared = {"id": "pi_1", "object": "payment_intent", "status": "requires_payment_method",
               "last_payment_error": None, "latest_charge": charge}  # fmt: skip
    assert last_error(cleared) == "The account is closed."
    assert last_error({**cleared, "status": "canceled"}) == "The account is closed."
    assert last_error({**cleared, "latest_charge": "py_1"}) is None  # not expanded: unknown
    # A new attempt under way (a new method confirmed): the old charge's failure is history.
    assert last_error({**cleared, "status": "requires_confirmation"}) is None
    kept = {**cleared, "last_payment_error": {"message": "Closed.", "code": "account_closed"}}
    assert last_error(kept) == "Closed."
    setup = {"id": "seti_1", "object": "setup_intent", "status": "requires_payment_method",
             "last_setup_error": None, "latest_charge": charge}  # fmt: skip
    assert last_error(setup) is None
    assert last_error({**setup, "last_setup_error": {"code": "x"}}) == "x"
