"""The next step for each way Stripe blocks a bank account (reasons as in the pinned SDK)."""

from __future__ import annotations

import typing

import pytest

from services.rules.blocked import CONTACT_BANK, NEW_ACCOUNT, NEW_MANDATE, REASONS, next_step


def test_every_reason_the_pinned_sdk_names_has_its_own_next_step() -> None:
    from stripe._payment_method import PaymentMethod

    blocked = PaymentMethod.UsBankAccount.StatusDetails.Blocked
    hints = typing.get_type_hints(blocked)
    literal = next(
        a for a in typing.get_args(hints["reason"]) if typing.get_origin(a) is typing.Literal
    )
    reasons = set(typing.get_args(literal))
    assert reasons and reasons == set(REASONS)
    assert "network_code" in hints


@pytest.mark.parametrize(
    ("reason", "code", "kind"),
    [
        ("debit_not_authorized", "R10", NEW_MANDATE),
        ("bank_account_closed", "R02", NEW_ACCOUNT),
        ("bank_account_invalid_details", "R04", NEW_ACCOUNT),
        ("bank_account_frozen", "R16", CONTACT_BANK),
        (None, "R07", NEW_MANDATE),
        (None, "R03", NEW_ACCOUNT),
        ("something_new", None, CONTACT_BANK),
    ],
)
def test_the_next_step_follows_the_reason_then_the_code(
    reason: str | None, code: str | None, kind: str
) -> None:
    step = next_step(reason, code)
    assert step.kind == kind and step.sentence.endswith(".")
