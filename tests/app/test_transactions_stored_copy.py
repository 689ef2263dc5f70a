"""Transactions when Stripe cannot be read: the account and its stored transactions stay on screen.

A single failed read of the account (a 500, a timeout) used to replace the whole account view
with the error sentence: the heading, the buttons and the transactions fcops already stores were
gone, and a click on Unsubscribe or Refresh made a moment before was dropped without a word. Now
the page draws the store's copy, says it is the stored copy and how old it is, keeps the error
sentence, turns the buttons that would only wait on Stripe again off (saying why once) and
offers Try again, as the Accounts page does.
"""

from __future__ import annotations

from typing import Any

from services.auth import SYSTEM
from services.usecases import browse_accounts, sync_accounts
from tests.app.conftest import no_exceptions, texts, typed_in
from tests.app.conftest import shared_app as app
from tests.app.test_accounts_stored_copy import OUTAGE, ReadsFail, gateway  # noqa: F401

PAGE = "pages/transactions.py"
STORED = "Stripe could not be read just now; showing what fcops stored at"
OFF = "Subscribe, refresh and sync are off while Stripe cannot be read"


def subscribed_account() -> Any:
    svc = app().services
    sync_accounts.sync_accounts(svc, SYSTEM)
    rows = browse_accounts.list_accounts(
        svc, SYSTEM, permission="transactions", status="active", page_size=500
    ).rows
    return next(r for r in rows if "transactions" in r.subscriptions)


def opened(account_id: str) -> Any:
    return typed_in(PAGE, "txn_id_input", account_id, press="Open")


def test_a_failed_read_keeps_the_account_and_its_stored_transactions_on_screen(
    gateway: ReadsFail,  # noqa: F811
) -> None:
    account = subscribed_account()
    at = opened(account.id)
    assert at.dataframe and STORED not in texts(at)  # read from Stripe, synced into the store
    rows_before = len(at.dataframe[0].value)

    gateway.down = True
    at.button(key="txn_unsub").click().run()  # the read before the click's action fails
    no_exceptions(at)
    assert OUTAGE in " ".join(str(e.value) for e in at.error)
    warned = " ".join(str(w.value) for w in at.warning)
    assert STORED in warned
    said = warned + " " + " ".join(str(e.value) for e in at.error)
    assert said.lower().count("try again in a") == 1, said
    heading = " ".join(str(h.value) for h in at.subheader)
    assert f"••{account.last4}" in heading
    assert "Subscribed to daily refreshes" in texts(at)  # the stored state, not a guess
    assert len(at.dataframe[0].value) == rows_before  # the stored transactions, unchanged
    for key in ("txn_unsub", "txn_refresh", "txn_sync"):
        assert at.button(key=key).disabled, key
    assert texts(at).count(OFF) == 1  # why, said once

    gateway.down = False  # Stripe answers again: Try again reads it, the notice goes away
    at.button(key="txn_read_again").click().run()
    no_exceptions(at)
    assert STORED not in texts(at) and not at.error
    assert not at.button(key="txn_unsub").disabled


def test_an_account_the_store_never_saw_is_still_the_error_sentence(
    gateway: ReadsFail,  # noqa: F811
) -> None:
    gateway.down = True
    at = opened("fca_neverstored0002")
    assert OUTAGE in " ".join(str(e.value) for e in at.error)
    assert not at.subheader and not at.warning and not at.dataframe
