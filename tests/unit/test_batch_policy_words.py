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


def test_the_results_file_is_named_and_stamped_by_when_its_rows_were_checked() -> None:
    row = BatchRow(row=2, target="fca_x", target_kind="fca", amount=100, currency="usd",
                   reference=None, verdict="ok", required=150)
    at = 1_796_551_920  # 2026-12-06 10:12:00 UTC
    result = BatchResult(rows=[row], policy_version=3, checked_at=at)
    assert result.file_name == "balance-check-results-2026-12-06-1012.csv"
    header, line = result.to_csv().splitlines()
    assert header.split(",")[-2:] == ["checked_at", "policy_version"]
    assert line.split(",")[-2:] == ["2026-12-06T10:12:00Z", "3"]
    # A result kept from before the moment was recorded: the old name, an empty cell.
    older = BatchResult(rows=[row])
    assert older.file_name == "balance-check-results.csv"
    assert older.to_csv().splitlines()[1].split(",")[-2] == ""
