"""Blocked accounts (ops, finance, admin): bank accounts Stripe blocked after a return.

Each row says what happened (the ACH code and Stripe's reason) and what to do next (a new
mandate, a new bank account, or the customer talking to their bank). Pick one to open the
customer's accounts or, for ops, to start a collection request for that customer.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.literal import person_line
from components.pager import current_page, pager
from components.table_columns import money_column, time_column
from pages import _follow as follow
from pages import _runtime as runtime
from services.rules.nacha import describe_code
from services.rules.table_values import major_units, one_currency, utc_time
from services.usecases import blocked_accounts

actor = runtime.guard("accounts.blocked")
runtime.page_header(
    "Blocked accounts",
    "Bank accounts Stripe will not debit again after a return: closed, frozen or invalid "
    "accounts, and debits the customer disputed. Each needs a person to act.",
)
app = runtime.get_app()
svc = app.services
follow.accounts_first_sync(svc, actor)  # a fresh store: the sync is a job it follows
follow.outcomes_first_sync(svc, actor)  # outcomes never synced: that sync too

syncing = follow.following(follow.OUTCOMES) is not None
if actor.can("returns.sync") and st.button(
    "Sync outcomes", icon=":material/sync:", key="outcomes_sync", disabled=syncing
):
    follow.start_outcomes_sync(actor)

PAGER = "blocked_page"  # (search, page) of the list


def show_count(found: blocked_accounts.BlockedPage) -> None:
    """How many are blocked (or match), which are shown, and Previous/Next past one page."""
    noun = "blocked bank account" + ("s" if found.total != 1 else "")
    if found.pages <= 1:
        st.caption(f"{found.total:,} {noun}, newest first.")
        return
    pager(
        PAGER,
        "blocked",
        found.page,
        found.pages,
        caption=f"Blocked bank accounts {found.first:,}–{found.last:,} of {found.total:,}, "
        "newest first. Search to narrow them.",
    )


search = st.text_input(
    "Find a blocked account",
    placeholder="Customer name or email, bank, last 4 digits, R02/R10…, pm_… or cus_…",
    max_chars=100,
    key="blocked_search",
).strip()
listing = runtime.call_stripe(
    "Reading the blocked accounts…",  # names the store lacks are read from Stripe
    blocked_accounts.find_blocked, svc, actor, search=search, page=current_page(PAGER, search)
)
if listing is None:
    st.stop()
assert listing is not None
found = listing.rows
if not found and search:
    st.info(
        "No blocked account matches the search. Check the spelling, or clear it to see them all.",
        icon=":material/search_off:",
    )
    st.stop()
if not found and follow.following(follow.OUTCOMES):
    st.info(
        "Debit outcomes are being read from Stripe; blocked accounts appear here as that ends.",
        icon=":material/cloud_sync:",
    )
    st.stop()
if not found and not runtime.call(blocked_accounts.outcomes_synced, svc, actor):
    st.info(
        "Debit outcomes have not been read from Stripe yet, so blocked accounts are not known. "
        "Sync outcomes (or wait for the webhooks) to fill this list.",
        icon=":material/sync_problem:",
    )
    st.stop()
if not found:
    st.info(
        "No blocked bank accounts. They appear here when a debit comes back and Stripe blocks "
        "the account (webhooks, or Sync outcomes).",
        icon=":material/check_circle:",
    )
    st.stop()

show_count(listing)
frame = pd.DataFrame(
    [
        {
            "Customer": b.customer or b.customer_id or "—",
            "Bank": f"{b.institution or 'Bank'} ••{b.last4 or '????'}",
            "Code": b.network_code or "—",
            "Next step": b.next_step,
            "Reason": (b.reason or "—").replace("_", " "),
            "Blocked": utc_time(b.blocked_at) if b.blocked_at else None,
            "Amount": major_units(b.amount, b.currency),
            "Currency": b.currency.upper(),
            "Returned debit": b.debit,
            "Payment method": b.payment_method,
        }
        for b in found
    ]
)
currency = one_currency(b.currency for b in found)
st.dataframe(
    frame,
    hide_index=True,
    placeholder="—",
    width="stretch",
    column_order=[
        c for c in frame.columns
        if c != "Payment method" and (c != "Currency" or currency is None)
    ],
    column_config={
        "Blocked": time_column(
            "Blocked (UTC)", help="When the return that blocked it arrived", width=125
        ),
        "Amount": money_column("Amount", currency, help="The returned debit's amount", width=70),
        # Widths that fit the page at 1,400 px (the two IDs were behind a sideways scroll): the
        # payment method's ID is left to the pick below (it shows it whole, with links) and to
        # the search box, which finds pm_ IDs.
        "Customer": st.column_config.TextColumn("Customer", width=130),
        "Bank": st.column_config.TextColumn("Bank", width=190),
        "Code": st.column_config.TextColumn("Code", width=50),
        "Next step": st.column_config.TextColumn("Next step", width=105),
        "Reason": st.column_config.TextColumn("Reason", width=140),
        "Returned debit": st.column_config.TextColumn("Returned debit", width=120),
    },
)
by_method = {b.payment_method: b for b in found}
picked = st.selectbox(
    "Blocked account",
    list(by_method),
    format_func=lambda pm: (
        f"{by_method[pm].customer or by_method[pm].customer_id or 'Unknown customer'} · "
        f"{by_method[pm].institution or 'Bank'} ••{by_method[pm].last4 or '????'} · "
        f"{by_method[pm].network_code or by_method[pm].reason or 'blocked'} · {pm}"
    ),
    index=None,
    placeholder="Choose one of the accounts above for its next step and links",
    key="blocked_pick",
)
chosen = by_method.get(picked) if picked else None
if chosen is None:
    st.stop()
assert chosen is not None

with st.container(border=True):
    person_line(
        f"{chosen.customer or chosen.customer_id or 'Unknown customer'} · "
        f"{chosen.institution or 'Bank'} ••{chosen.last4 or '????'} · "
        f"{describe_code(chosen.network_code) if chosen.network_code else 'no code'}"
    )
    st.info(f"Next step ({chosen.next_step}): {chosen.advice}", icon=":material/directions:")
    if chosen.customer_id:
        left, right = st.columns(2)
        if actor.can("accounts.view"):
            left.page_link(
                "pages/accounts.py",
                label="Open the customer's accounts",
                icon=":material/account_balance:",
                query_params={"customer": chosen.customer_id},
            )
        if actor.can("collect.create"):
            right.page_link(
                "pages/collect.py",
                label="Start a collection request for this customer",
                icon=":material/add_card:",
                query_params={"customer": chosen.customer_id},
            )
