"""Collect's sentences about a cancel's reason and a verification, in words a person reads."""

from __future__ import annotations

from components.collect_view import REASON_WORDS, verified
from services.rules.intents import CANCEL_REASONS, reason_words


def test_a_cancel_reason_reads_as_words() -> None:
    """A cancel said "Canceled seti_… (requested_by_customer)"."""
    assert reason_words("requested_by_customer") == "requested by the customer"
    assert reason_words("automatic") == "canceled automatically by Stripe"
    assert reason_words("some_new_reason") == "some new reason"
    assert [REASON_WORDS[r] for r in CANCEL_REASONS] == [
        "Requested by the customer", "Abandoned", "Duplicate",
    ]


def test_a_verification_says_what_the_status_means() -> None:
    """It said "Verified: seti_… is now succeeded."."""
    assert verified("seti_1", "succeeded") == (
        "Verified: seti_1 succeeded; the bank account is ready for debits."
    )
    assert verified("seti_1", "succeeded", "SetupIntent `seti_1`").startswith(
        "Verified: SetupIntent `seti_1` succeeded;"
    )
    assert "the debit is on its way" in verified("pi_1", "processing")
    assert verified("pi_1", "succeeded") == "Verified: pi_1 succeeded: the debit went through."
    assert verified("seti_1", "requires_action") == "Verified: seti_1 is now requires_action."
