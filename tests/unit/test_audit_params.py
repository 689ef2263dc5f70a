"""An audit row's money and time fields in words, above its raw parameters."""

from __future__ import annotations

from components.audit_params import readable


def test_a_policy_save_reads_as_money_percent_and_hours() -> None:
    params = {"buffer_amount": 77, "buffer_percent": 1.5, "max_age_seconds": 86_400,
              "currency": "usd", "expected_version": 3}
    assert readable(params) == ["Buffer amount: $0.77", "Buffer percent: 1.5 %", "Max age: 24 hours"]


def test_money_needs_its_currency_and_other_fields_are_left_as_they_read() -> None:
    assert readable({"amount": 120_000, "attempt": 2}) == []  # no currency: the decimals unknown
    assert readable({"amount": 500, "currency": "jpy"}) == ["Amount: ¥500"]
    assert readable({"full": True, "limit": 100, "note": "x"}) == []
