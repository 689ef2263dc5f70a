"""The transaction sync job's result and sentence (``jobs_daily.sync_summary``), from what each
subscribed account's sync ended with: synced, waiting for its first refresh, or an error."""

from __future__ import annotations

from services.usecases.jobs_daily import sync_summary


def test_the_sentence_counts_synced_waiting_and_unread_accounts() -> None:
    ended = [
        {"account": "fca_1", "done": True, "waiting": False, "fetched": 250, "inserted": 200},
        {"account": "fca_2", "done": True, "waiting": False, "fetched": 1_000, "inserted": 1_000},
        {"account": "fca_3", "done": True, "waiting": True, "fetched": 0, "inserted": 0},
        {"account": "fca_4", "error": "Stripe had a temporary problem (HTTP 500)."},
    ]
    result = sync_summary(4, ended)
    assert result["message"] == (
        "Synced the transactions of 2 of 4 subscribed accounts: 1,250 received, 1,200 new; "
        "1 wait for their first refresh; 1 could not be read "
        "(Stripe had a temporary problem (HTTP 500).)."
    )
    assert (result["fetched"], result["inserted"], result["waiting"], result["errors"]) == (
        1_250, 1_200, 1, 1,
    )


def test_with_no_subscribed_account_it_says_to_sync_accounts_first() -> None:
    result = sync_summary(0, [])
    assert result["message"].startswith("No account in the store is subscribed to transactions.")
    assert "“Full account sync” first" in result["message"]
    assert "0 of 0" not in result["message"]
