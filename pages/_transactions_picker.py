"""Transactions' account: the picker (search-as-you-type over the store, or an account ID) and
the URL's ``?account=`` in step with the choice. An address's ``?account=cus_…`` is searched as
the search box searches it: the customer's one account opened, or their accounts to pick from
(on a new store, once the first account sync has read them)."""

from __future__ import annotations

import streamlit as st

from components.search_row import search_row
from pages import _follow as follow
from pages import _runtime as runtime
from services.auth import Actor
from services.context import Services
from services.usecases import view_transactions

ACCOUNT = "txn_account"
ADDRESS = "txn_address"  # the ?account= this session last read or wrote
CUSTOMER = "txn_customer"  # the address's cus_…, searched for on this run as if typed
READING = "Still reading the accounts from Stripe: the customer's account opens when that ends"


def follow_address() -> None:
    """The account the URL names, when it changed since this session last read or wrote it."""
    runtime.drop_overlong_id("account", "txn_account_long", "choose the account below.", ADDRESS)
    moved, linked = runtime.address_change(ADDRESS)  # a link, a reload, Back or Forward
    if moved and linked and linked.startswith("cus_"):  # a customer: the search box's search
        st.session_state["txn_search"] = st.session_state[CUSTOMER] = linked
        linked = None
    if moved:  # the URL is the truth: its account, or none chosen
        st.session_state[ACCOUNT] = linked
        st.session_state["txn_id_input"] = linked or ""
        if st.session_state.get("txn_pick") != linked:  # the picker shows no other account
            st.session_state["txn_pick"] = st.session_state["txn_last_pick"] = None


def choose(account_id: str) -> None:
    """The person's choice, kept in the URL (a browser history entry: Back shows the last one)."""
    st.session_state[ACCOUNT] = account_id
    runtime.keep_in_address(ADDRESS, account_id)  # a reload or a shared URL opens it again


def show_on_screen(options: dict[str, str]) -> None:
    """The picker names the account on screen when it holds it (else none, not another one).
    Only when that account came by another route (the address, the ID box) since the last
    pick: a person's new pick is never overridden, and the widget's value set before it is
    drawn needs no rerun."""
    shown = st.session_state.get(ACCOUNT)
    if shown and shown != st.session_state.get("txn_last_pick"):
        st.session_state["txn_pick"] = shown if shown in options else None
        st.session_state["txn_last_pick"] = shown


def _sync_may_bring(term: str) -> bool:
    """The address's customer is still searched for on the next runs: their accounts are not in
    the store yet and the account sync (a new store's first) still reads them, so the one
    account opens when it ends, as on a store that had it. Not once the person searched for
    something else or opened an account."""
    customer = st.session_state.get(CUSTOMER)
    if customer is None:
        return False
    if customer != term or st.session_state.get(ACCOUNT):
        st.session_state.pop(CUSTOMER, None)
        return False
    return bool(follow.following(follow.ACCOUNTS))


def account_picker(svc: Services, actor: Actor) -> str | None:
    # Search-as-you-type in SQL: the picker carries at most PICKER_LIMIT options, never thousands.
    term = str(st.session_state.get("txn_search") or "")
    waiting = _sync_may_bring(term)  # asked before the store is read: a sync ending meanwhile
    choices = (
        runtime.call(
            view_transactions.account_choices, svc, actor, permission="transactions", search=term
        )
        or []
    )
    if st.session_state.get(CUSTOMER) == term and len(choices) == 1:
        st.session_state[ACCOUNT] = choices[0].id  # the address's customer's one account
    if choices or not waiting:
        st.session_state.pop(CUSTOMER, None)
    left, right = st.columns(2, vertical_alignment="bottom")
    with right:  # drawn first: an ID opened here is the picker's account on this very run
        text, submitted = search_row(
            "txn_by_id",
            "…or an account ID",
            placeholder="fca_…",
            key="txn_id_input",
            button="Open",
            widths=(4, 1),
        )
    if submitted:
        choose(text.strip())
    with left:
        if choices or term:
            total = (  # how many match, not just how many the picker holds
                runtime.call(
                    view_transactions.account_count,
                    svc,
                    actor,
                    permission="transactions",
                    search=term,
                )
                or 0
            )
            st.text_input(
                "Find an account",
                placeholder="Customer name or email, bank, last 4 digits, fca_… or cus_…",
                key="txn_search",
            )
            labels = {c.id: c.label for c in choices}
            show_on_screen(labels)
            shown = len(choices)
            if term and total > shown:
                hint = f"Choose one of the first {shown} of {total:,} matches, or type more"
            elif term and not shown and waiting:  # the address's customer, the first sync on
                hint = READING
            elif term:
                hint = f"Choose one of {shown:,} matches" if shown else "No account matches"
            elif total > shown:
                hint = f"Choose one of the first {shown} of {total:,} accounts, or search"
            else:
                hint = f"Choose one of {shown:,} accounts"
            picked = st.selectbox(
                "Account with the transactions permission",
                list(labels),
                index=None,
                format_func=lambda i: labels.get(i, i),
                placeholder=hint,
                key="txn_pick",
            )
            if picked and picked != st.session_state.get("txn_last_pick"):
                st.session_state["txn_last_pick"] = picked
                choose(picked)
        else:
            if follow.following(follow.ACCOUNTS):
                st.caption("No accounts in the store yet: they appear here as the sync reads them.")
            else:
                st.caption("No accounts in the store yet.")
                if actor.can("accounts.sync") and st.button(
                    "Load accounts from Stripe", icon=":material/sync:", key="txn_load"
                ):
                    follow.start_accounts_sync(actor)
    return st.session_state.get(ACCOUNT) or None
