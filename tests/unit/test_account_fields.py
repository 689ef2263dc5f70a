"""The Fields tab of an account: every value as people read it, never a Python dict or an epoch."""

from __future__ import annotations

from components.accounts_view import account_fields
from services.rules import wording

NOW = 1_795_000_000
DAY = 86_400


def value_of(account: dict[str, object], field: str) -> str:
    table = account_fields(account, now=NOW)
    return str(table.set_index("Field").loc[field, "Value"])


def test_an_announced_deactivation_reads_as_words_and_a_date() -> None:
    """It read "active: {'action': 'relink_required', 'cause': 'access_expired',
    'expected_deactivation_date': 1797577103}"."""
    by = NOW + 30 * DAY
    account = {
        "id": "fca_1",
        "status": "active",
        "status_details": {
            "active": {
                "action": "relink_required",
                "cause": "access_expired",
                "expected_deactivation_date": by,
            }
        },
    }
    assert value_of(account, "status_details") == (
        f"relink required · access expired · deactivates {wording.day(by)} (in 30 days)"
    )


def test_a_date_already_passed_and_an_inactive_account_read_as_words() -> None:
    gone = {
        "status": "active",
        "status_details": {
            "active": {"action": "relink_required", "cause": "unspecified",
                       "expected_deactivation_date": NOW - DAY}
        },
    }  # fmt: skip
    assert value_of(gone, "status_details") == (
        f"relink required · no reason given · deactivates {wording.day(NOW - DAY)} (that date has passed)"
    )
    inactive = {"status": "inactive", "status_details": {"inactive": {"action": "none",
                "cause": "access_revoked"}}}  # fmt: skip
    assert value_of(inactive, "status_details") == "no action · access revoked"
    assert value_of({"status": "active", "status_details": {}}, "status_details") == "(none)"


def test_any_nested_value_has_no_braces_quotes_or_epochs() -> None:
    account = {
        "status": "active",
        "status_details": {"active": {"action": "none"}, "other": {"since_at": NOW}},
        "account_holder": {"type": "customer", "customer": "cus_1", "meta": {"opened_at": NOW}},
    }
    for _, row in account_fields(account, now=NOW).iterrows():
        text = str(row["Value"])
        assert "{" not in text and "'" not in text and str(NOW) not in text, (row["Field"], text)
    assert wording.day(NOW) in value_of(account, "account_holder")


def test_true_false_and_empty_fields_read_as_words_not_python_or_json() -> None:
    """``livemode`` read "False" and an empty ``ownership`` read "null"."""
    account = {"id": "fca_1", "livemode": False, "ownership": None, "account_numbers": None,
               "supported_payment_method_types": ["us_bank_account"], "flags": {"a": True}}
    assert value_of(account, "livemode") == "no"
    assert value_of(account, "ownership") == "(none)"
    assert value_of(account, "account_numbers") == "(none)"
    assert value_of(account, "flags") == "a: yes"
