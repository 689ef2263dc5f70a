"""How a batch result names the one policy its rows were judged by (page, job line, CSV)."""

from __future__ import annotations

from services.rules.batch_result import BatchResult, BatchRow, policy_words
from services.rules.debit import DebitPolicy


def test_a_saved_version_and_the_defaults_are_named_with_their_terms() -> None:
    saved = DebitPolicy(buffer_amount=5_000_000, buffer_percent=2.5, max_age_seconds=7_200)
    assert policy_words(saved, 4) == (
        "Policy version 4 (buffer $50,000.00 + 2.5 % of the debit, max age 2 h)"
    )
    assert policy_words(DebitPolicy(), 0) == (
        "Default policy (buffer $0.00 + 0 % of the debit, max age 24 h; none saved yet)"
    )


def test_every_downloaded_row_carries_the_policy_version() -> None:
    row = BatchRow(row=2, target="fca_x", target_kind="fca", amount=100, currency="usd",
                   reference=None, verdict="ok", required=150)
    lines = BatchResult(rows=[row, row], policy_version=7).to_csv().splitlines()
    assert lines[0].split(",")[-1] == "policy_version"
    assert [line.split(",")[-1] for line in lines[1:]] == ["7", "7"]
