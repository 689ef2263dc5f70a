"""What the payment lookup says about a payment: Dashboard links by mode, verification wording
that never calls a waiting manual account verified, and the mandate read from the right place."""

from __future__ import annotations

from typing import Any

import pytest

from services.rules.payment_details import (
    dashboard_url,
    details_of,
    status_words,
    verification_words,
)

MANUAL_PM: dict[str, Any] = {
    "id": "pm_manual",
    "type": "us_bank_account",
    "customer": None,
    "us_bank_account": {
        "bank_name": "STRIPE TEST BANK",
        "last4": "6789",
        "financial_connections_account": None,
    },
}
LINKED_PM: dict[str, Any] = {
    **MANUAL_PM,
    "id": "pm_linked",
    "us_bank_account": {**MANUAL_PM["us_bank_account"], "financial_connections_account": "fca_1"},
}


@pytest.mark.parametrize(
    ("object_id", "mode", "url"),
    [
        ("pi_123", "test", "https://dashboard.stripe.com/test/payments/pi_123"),
        ("pi_123", "live", "https://dashboard.stripe.com/payments/pi_123"),
        ("seti_9", "test", "https://dashboard.stripe.com/test/setup_intents/seti_9"),
        ("pi_123", "sandbox", None),
        ("pm_1", "test", None),
    ],
)
def test_the_dashboard_link_follows_the_mode_and_is_absent_in_the_sandbox(
    object_id: str, mode: str, url: str | None
) -> None:
    assert dashboard_url(object_id, mode) == url


def test_a_manual_account_waiting_for_microdeposits_is_not_called_verified() -> None:
    intent = {"status": "requires_action", "next_action": {"type": "verify_with_microdeposits"}}
    words = verification_words(MANUAL_PM, intent)
    assert "not verified yet" in words
    assert "verified by microdeposits" not in words


@pytest.mark.parametrize(
    ("intent", "expected"),
    [
        ({"status": "succeeded", "next_action": None}, "verified by microdeposits"),
        ({"status": "canceled", "next_action": None}, "never verified"),
        (
            {
                "status": "requires_payment_method",
                "last_setup_error": {"message": "Too many attempts."},
            },
            "not verified: Too many attempts",
        ),
        (None, "shows on its SetupIntent or PaymentIntent"),
    ],
)
def test_a_manual_account_is_worded_by_what_its_intent_says(
    intent: dict[str, Any] | None, expected: str
) -> None:
    assert expected in verification_words(MANUAL_PM, intent)


def test_a_linked_account_was_verified_instantly_and_no_method_says_so() -> None:
    assert "Financial Connections" in verification_words(LINKED_PM, {"status": "succeeded"})
    assert "has not linked" in verification_words(None, {"status": "requires_payment_method"})


def test_a_payment_intents_details_come_from_its_expanded_fields() -> None:
    pi = {
        "id": "pi_1",
        "object": "payment_intent",
        "amount": 123_456,
        "currency": "usd",
        "status": "processing",
        "created": 1_700_000_000,
        "next_action": None,
        "customer": {"id": "cus_1", "name": "Lee Park", "email": "lee@example.org"},
        "payment_method": LINKED_PM,
        "latest_charge": {
            "payment_method_details": {
                "us_bank_account": {
                    "mandate": {"id": "mandate_1", "status": "active", "type": "single_use"}
                }  # fmt: skip
            }
        },
    }
    details = details_of("payment_intent", pi, mode="test")
    assert (details.amount, details.currency, details.status) == (123_456, "usd", "processing")
    assert (details.customer_id, details.customer_name, details.customer_email) == (
        "cus_1",
        "Lee Park",
        "lee@example.org",
    )
    assert details.bank_label == "STRIPE TEST BANK ••6789"
    assert (details.mandate_id, details.mandate_status, details.mandate_type) == (
        "mandate_1",
        "active",
        "single_use",
    )
    assert details.dashboard_url == "https://dashboard.stripe.com/test/payments/pi_1"


def test_a_setup_intent_has_no_amount_and_reads_its_own_mandate() -> None:
    si = {
        "id": "seti_1",
        "status": "succeeded",
        "customer": "cus_1",
        "payment_method": MANUAL_PM,
        "mandate": {"id": "mandate_2", "status": "inactive", "type": "multi_use"},
    }
    details = details_of("setup_intent", si, mode="live")
    assert details.amount is None and details.currency is None
    assert details.customer_id == "cus_1" and details.customer_name is None
    assert details.mandate_status == "inactive"
    assert details.verification.endswith("verified by microdeposits.")
    assert details.dashboard_url == "https://dashboard.stripe.com/setup_intents/seti_1"


RETURNED_PI: dict[str, Any] = {
    "id": "pi_r",
    "status": "requires_payment_method",
    "payment_method": None,
    "last_payment_error": {
        "code": "insufficient_funds",
        "message": "The customer's account has insufficient funds.",
        "payment_method": {**LINKED_PM, "us_bank_account": {
            **LINKED_PM["us_bank_account"], "status_details": {"blocked": {"network_code": "R01"}}
        }},
    },
}  # fmt: skip
# What fits the card's Status metric at 1,400 px (its column is about 300 px of 36 px digits):
# "requires_payment_method" was cut to "requires_pay…".
FITS = 12


@pytest.mark.parametrize(
    ("pi", "short", "meaning"),
    [
        (RETURNED_PI, "Returned", "needs a new payment method"),
        (
            {**RETURNED_PI, "last_payment_error": {"code": "payment_method_not_available"}},
            "Failed",
            "needs a new payment method",
        ),
        (
            {"id": "pi_w", "status": "requires_payment_method", "payment_method": None},
            "Waiting",
            "for the customer to link or enter a bank account",
        ),
        ({"id": "pi_p", "status": "processing"}, "Processing", "at the bank"),
        ({"id": "pi_x", "status": "some_new_status"}, "Other", "has no words for yet"),
    ],
)
def test_the_status_is_said_in_words_short_enough_for_the_card(
    pi: dict[str, Any], short: str, meaning: str
) -> None:
    words = status_words(details_of("payment_intent", pi, mode="sandbox"))
    assert words is not None
    assert words[0] == short and meaning in words[1]
    assert len(words[0]) <= FITS


def test_a_payment_method_has_no_status_to_say() -> None:
    assert status_words(details_of("payment_method", LINKED_PM, mode="sandbox")) is None


def test_a_manual_debit_whose_charge_failed_was_verified_even_once_stripe_cleared_the_error() -> None:
    """A charge is made on a verified account only. Once Stripe cleared last_payment_error (the
    intent updated after the attempt), a failure its charge alone tells (a code fcops has no
    return for) read "not verified yet". The "not verified: …" wording stays for the intent's
    own error: a charge's failure_code is no verification failure."""
    charge = {"id": "py_1", "status": "failed", "failure_code": "invalid_currency",
              "failure_message": "Wrong currency.", "payment_method": "pm_1"}  # fmt: skip
    cleared = {"object": "payment_intent", "status": "requires_payment_method",
               "payment_method": None, "last_payment_error": None, "latest_charge": charge}  # fmt: skip
    words = verification_words(MANUAL_PM, cleared)
    assert "verified by microdeposits" in words and "not verified" not in words
    unexpanded = {**cleared, "latest_charge": "py_1"}  # nothing says a debit was sent
    assert "not verified yet" in verification_words(MANUAL_PM, unexpanded)
