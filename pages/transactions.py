"""Transactions: subscribe, refresh and sync an account's transactions, then read them.

The table, charts, income streams and risk figures come from the store's mirror, which an
incremental sync keeps up to date (only rows added or changed since the last refresh are
fetched). ``?account=fca_…`` opens an account directly.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import refresh_watch
from components.accounts_view import stored_copy_notice
from components.feedback import format_timestamp
from pages import _follow as follow
from pages import _refresh as refresh
from pages import _runtime as runtime
from pages import _transactions_picker as picker
from pages._transactions_insight import insight_tabs
from services.rules import bank_account, refresh_rule, wording
from services.rules.transactions import refresh_status_of
from services.usecases import sync_transactions, view_transactions
from services.usecases.view_transactions import TransactionStatus

actor = runtime.guard("transactions.view")
app = runtime.get_app()
svc = app.services
runtime.page_header(
    "Transactions",
    "Bank transactions of a linked account (Stripe Financial Connections): money in and out, "
    "recurring income, and risk figures over 30, 60 and 90 days.",
)
follow.accounts_first_sync(svc, actor)  # a fresh store: the sync is a job it follows

OUTCOME = "txn_outcome"  # {account_id: (kind, sentence)}
UNFOLLOWED = refresh.unfollowed(
    "transaction", "Open the account again in a minute to see it."
)
SYNCED = "txn_synced_for"  # {account_id: last_attempted_at synced automatically}
NO_REFRESH = "txn_no_refresh_yet"  # accounts Stripe would not list: no refresh succeeded yet
PENDING = "Transaction refresh pending at the bank…"
READING = "Reading the account from Stripe…"
ASKING = {  # what each button asks Stripe, said while it waits for the answer
    "subscribe": "Subscribing the account to daily refreshes at Stripe…",
    "unsubscribe": "Ending the account's daily refreshes at Stripe…",
    "refresh": "Asking Stripe to refresh the transactions…",
}

picker.follow_address()  # a link, a reload, Back or Forward: the URL is the truth


# --------------------------------------------------------------------------- actions


def act(name: str, fn: Any, account_id: str) -> None:
    """Run a Stripe action with a stable idempotency key; watch the refresh it starts."""
    scope = f"txn-{name}-{account_id}"
    result = runtime.call_stripe_keyed(
        ASKING[name], scope, {"account": account_id}, fn, svc, actor, account_id
    )
    if result is None:
        return
    runtime.new_request(scope)
    st.session_state.get(NO_REFRESH, set()).discard(account_id)
    if refresh_status_of(result) == "pending":
        refresh_watch.watch(account_id, "transactions")
    st.rerun()


def no_transactions_yet(status: TransactionStatus, *, stripe_refused: bool) -> str:
    """Why the account has no transactions, and the one thing to do: the Refresh transactions
    button below (the only refresh button). ``stripe_refused``: Stripe refused the listing
    because no transaction refresh has succeeded yet."""
    then = "the page syncs by itself when a refresh finishes."
    if status.refresh_status == "failed":
        why = (
            f"The last transaction refresh failed at the bank "
            f"({format_timestamp(status.last_attempted_at)})"
        )
        why += (
            " and none has succeeded yet, so Stripe has no transactions to list."
            if stripe_refused else "."
        )
    elif stripe_refused:
        why = (
            "No transaction refresh has succeeded yet for this account, so Stripe has no "
            "transactions to list."
        )
    else:
        why = "No transactions stored yet."
    if status.subscribed:
        ask = f"Stripe refreshes this account daily; Refresh transactions asks the bank now, and {then}"
    else:
        ask = (
            f"Refresh transactions asks the bank once, Subscribe for a refresh every day; {then}"
        )
    return f"{why} {ask}"


def sync(account_id: str) -> bool:
    """Sync the account's transactions; False when it failed (its sentence is on the page: a
    rerun would wipe it, and the person would see nothing happen)."""
    waiting: set[str] = st.session_state.setdefault(NO_REFRESH, set())
    outcome = runtime.call_stripe(
        "Syncing transactions from Stripe…", sync_transactions.sync_or_wait, svc, actor, account_id
    )
    if outcome is None:
        return False
    if outcome.summary is None:
        waiting.add(account_id)  # kept across reruns, so the offer's button can be clicked
        return True
    waiting.discard(account_id)
    st.session_state.setdefault(OUTCOME, {})[account_id] = ("success", outcome.summary.message)
    return True


def refresh_finished(account_id: str, state: bank_account.RefreshState | None) -> None:
    if state is not None and state.status == "failed":
        st.session_state.setdefault(OUTCOME, {})[account_id] = (
            "error",
            "The transaction refresh failed at the bank; the stored transactions are unchanged. "
            "Try again later.",
        )
    elif state is not None:
        sync(account_id)  # bring in what the refresh found
    else:
        st.session_state.setdefault(OUTCOME, {})[account_id] = ("error", UNFOLLOWED)


def show_outcome(account_id: str) -> None:
    outcome = st.session_state.get(OUTCOME, {}).pop(account_id, None)
    if not outcome:
        return
    kind, sentence = outcome
    (st.success if kind == "success" else st.error)(
        sentence, icon=":material/check_circle:" if kind == "success" else ":material/error:"
    )


STORED_OFF = (
    "Subscribe, refresh and sync are off while Stripe cannot be read (this is the stored copy); "
    "use Try again above to read the account again."
)
SUBSCRIPTION_BUTTON = {  # subscribed: (button, icon, help)
    True: (
        sync_transactions.SUBSCRIPTION_BUTTON[True],
        "notifications_off",
        "Stop Stripe's daily transaction refreshes.",
    ),
    False: (
        sync_transactions.SUBSCRIPTION_BUTTON[False],
        "notifications_active",
        "Refresh daily; Stripe starts the first refresh right away.",
    ),
}


def controls(status: TransactionStatus, *, to_do: bool = False) -> None:
    """Subscribe/Unsubscribe, Refresh transactions (primary when ``to_do``: no transactions
    yet, so a refresh is what to do next) and Sync from Stripe."""
    account_id = status.account_id
    watching = refresh_watch.watching(account_id, "transactions") or status.pending
    manage = actor.can("transactions.manage")
    usable = status.has_permission and status.account_status == "active"
    why_not_usable = (
        None
        if usable
        else (
            "The transactions permission was not granted."
            if not status.has_permission
            else f"The account is {status.account_status}."
        )
    )
    no_role = None if manage else f"Your role ({actor.role}) may only read transactions."
    # Beside the stored copy every button would only wait on Stripe once more: said once, below.
    offline = STORED_OFF if status.stored is not None else None
    if offline:
        watching = False  # a poll that cannot read Stripe would loop; the page says it instead
    c1, c2, c3 = st.columns(3)
    reason = no_role or offline or why_not_usable
    name, icon, hint = SUBSCRIPTION_BUTTON[status.subscribed]
    if c1.button(
        name,
        icon=f":material/{icon}:",
        disabled=reason is not None,
        help=reason or hint,
        key="txn_unsub" if status.subscribed else "txn_sub",
        width="stretch",
    ):
        act(name.lower(),
            sync_transactions.unsubscribe if status.subscribed else sync_transactions.subscribe,
            account_id)
    refresh_reason = (
        no_role
        or offline
        or ("A transaction refresh is already running." if watching else None)
        or (status.why_not or None)
    )
    if c2.button(
        refresh_rule.refresh_button("transactions"),
        icon=":material/refresh:",
        type="primary" if to_do else "secondary",
        disabled=refresh_reason is not None,
        help=refresh_reason or "Ask the bank, through Stripe, for new transactions.",
        key="txn_refresh",
        width="stretch",
    ):
        act("refresh", sync_transactions.refresh, account_id)
    if c3.button(
        "Sync from Stripe",
        icon=":material/sync:",
        disabled=offline is not None,
        help=offline or "Copy new and changed transactions from Stripe into the store.",
        key="txn_sync",
        width="stretch",
    ) and sync(account_id):
        st.rerun()
    if refresh_reason and refresh_reason != no_role:
        st.caption(refresh_reason)
    if watching:  # without a manual reload, then syncs what the refresh brought
        refresh.follow_one(svc, actor, account_id, "transactions", refresh_finished, PENDING)


def status_line(status: TransactionStatus) -> None:
    synced = wording.moment(status.last_synced_at, missing="never")
    st.caption(
        f"{'Subscribed to daily refreshes' if status.subscribed else 'Not subscribed'} · "
        f"last refresh: {status.refresh_status or 'never'} "
        f"({format_timestamp(status.last_attempted_at)}) · last sync: {synced} · "
        f"{status.stored_rows:,} transactions stored"
    )


def auto_sync(status: TransactionStatus) -> TransactionStatus:
    """Catch the store up once per finished refresh, so opening an account shows its data."""
    done: dict[str, Any] = st.session_state.setdefault(SYNCED, {})
    if not status.needs_sync or done.get(status.account_id) == status.last_attempted_at:
        return status
    done[status.account_id] = status.last_attempted_at
    sync(status.account_id)
    fresh = runtime.call_stripe(
        READING, view_transactions.transaction_status, svc, actor, status.account_id,
        what="Transactions",
    )
    return fresh or status



# --------------------------------------------------------------------------- page


def account_view(account_id: str) -> None:
    status = runtime.call_stripe(
        READING, view_transactions.transaction_status, svc, actor, account_id, what="Transactions"
    )
    if status is None:
        return
    st.subheader(
        f"{status.institution_name or 'Account'} · {status.display_name} ••{status.last4 or '????'}"
    )
    if not status.has_permission and not status.stored_rows:
        st.warning(
            "This account was linked without the transactions permission, so Stripe has no "
            "transactions for it. The customer must link it again and allow transactions.",
            icon=":material/block:",
        )
        return
    stored = status.stored
    if stored is not None:  # Stripe did not answer: the stored transactions, said to be so
        if stored_copy_notice(stored, now=svc.now(), key="txn_read_again"):
            st.rerun()  # reads Stripe again
        if status.pending:
            st.info(stored.refresh_sentence("transactions"), icon=":material/hourglass_top:")
    show_outcome(account_id)
    if not status.pending and stored is None:
        status = auto_sync(status)
        show_outcome(account_id)
    refused = account_id in st.session_state.get(NO_REFRESH, set()) and not status.pending
    empty = status.stored_rows == 0
    if refused or (empty and not status.pending):
        st.info(
            no_transactions_yet(status, stripe_refused=refused),
            icon=":material/hourglass_empty:" if refused else ":material/info:",
        )
    status_line(status)
    controls(status, to_do=refused or empty)
    if empty:
        return
    insight_tabs(svc, actor, status)


chosen_account = picker.account_picker(svc, actor)
if chosen_account:
    account_view(chosen_account)
else:
    st.info("Pick an account, or enter its ID.", icon=":material/receipt_long:")
