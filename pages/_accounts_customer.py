"""Accounts' customer: the search that picks one, and the URL's ``?customer=`` in step with it.

The URL is the truth on every step of the browser's history (:func:`runtime.address_change`): a
link (Blocked accounts links here), a reload, Back or Forward show its customer's accounts, or all
accounts when it has none. A person's pick (a row of the search results, "All accounts") goes into
it with :func:`runtime.keep_in_address`, once. The results table reports its selected row on every
run, so only a row other than the one last taken is a pick. The page used to write the chosen
customer on every run, so Back put ``?customer=`` straight back and could not leave the customer.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.accounts_view import CUSTOMER_COLUMNS, customers_frame
from components.pager import chosen_page
from components.search_row import search_row
from pages import _runtime as runtime
from pages._customer_search import opens_elsewhere
from services.errors import NotFound
from services.rules.ids import not_a_customer, unknown_id_sentence
from services.rules.wording import counted
from services.usecases import browse_accounts

CUSTOMER = "acc_customer"  # (cus_…, name): the customer whose accounts the list shows
SEEN = "acc_link_seen"  # the ?customer= last read or written (runtime.linked_customer's "acc_link")
TAKEN = "acc_hits_taken"  # (table key, row) of the results' row last taken as a pick
GEN = "acc_hits_gen"  # part of the results table's key: a new one shows no row selected
NAMES = "acc_customer_names"  # {cus_…: name} of the customers picked in this session
ELSEWHERE = "acc_elsewhere"  # ids.NotACustomer: the search was given a payment, an intent…
# A cus_ ID or a whole email is looked up in Stripe (a name is searched in the store).
SEARCHING = "Searching for the customer…"
ALL_INSTEAD = "Showing all accounts instead."


def forget_selection() -> None:
    """Draw the results table afresh, no row selected: its old row is not the customer shown."""
    st.session_state[GEN] = st.session_state.get(GEN, 0) + 1


def follow_address(svc: Any, actor: Any) -> None:
    """The customer the URL names, when it changed since this session last read or wrote it: a
    link's (named), or none (all accounts) after Back or Forward to a step without one."""
    if wanted := runtime.linked_customer("acc_link", "showing all accounts."):
        label = customer_label(svc, actor, wanted)
        if label is None:  # Stripe has no such customer (said above): all accounts, not none
            st.session_state.pop(CUSTOMER, None)
        else:
            st.session_state[CUSTOMER] = (wanted, label)
        forget_selection()
        return
    changed, value = runtime.address_change(SEEN, "customer")
    if changed and value is None:
        st.session_state.pop(CUSTOMER, None)
        forget_selection()


def choose(customer: tuple[str, str] | None) -> None:
    """The person chose ``customer`` (None: all accounts); the URL follows, one history entry."""
    if customer is None:
        st.session_state.pop(CUSTOMER, None)
        forget_selection()
    else:
        st.session_state[CUSTOMER] = customer
        st.session_state.setdefault(NAMES, {})[customer[0]] = customer[1]
    runtime.keep_in_address(SEEN, customer[0] if customer else None, "customer")


def search_box(svc: Any, actor: Any) -> None:
    term, submitted = search_row(
        "acc_search",
        "Find a customer",
        placeholder="An email or part of one, part of a name, or a customer ID (cus_…)",
        key="acc_term",
        button="Search",
    )
    if submitted:
        # a pi_…, fca_… (or its Dashboard URL) is said where to open, not searched for
        other = st.session_state[ELSEWHERE] = not_a_customer(term)
        found = None if other else runtime.call_stripe(
            SEARCHING, browse_accounts.search_customers_page, svc, actor, term
        )
        st.session_state["acc_hits"] = found
        st.session_state["acc_hits_term"] = term
        forget_selection()  # a row of the old results is not a pick among the new ones
    if other := st.session_state.get(ELSEWHERE):
        opens_elsewhere(actor, other)
        return
    found = st.session_state.get("acc_hits")
    if found is None:
        return
    if not found.total:
        st.info("No customer matches that search.", icon=":material/person_search:")
        return
    if found.total > len(found.hits):
        st.caption(
            f"{counted(found.total, 'customer')} found · showing {found.first:,}–{found.last:,} of "
            f"{found.total:,}, newest first — select one to see their accounts."
        )
    else:
        st.caption(f"{counted(found.total, 'customer')} found — select one to see their accounts.")
    key = f"acc_hits_table_{st.session_state.get(GEN, 0)}_{found.page}"
    event: Any = st.dataframe(
        customers_frame(found.hits),
        hide_index=True,
        placeholder="—",
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key=key,
        column_config=CUSTOMER_COLUMNS,
    )
    rows = list(event.selection.rows) if event is not None else []
    selected = (key, rows[0]) if rows and rows[0] < len(found.hits) else None
    if selected != st.session_state.get(TAKEN):  # a click, not the same row again on a rerun
        st.session_state[TAKEN] = selected
        if selected is not None:
            hit = found.hits[selected[1]]
            choose((hit.id, hit.name or hit.email or hit.id))
    if found.pages > 1:
        search_pager(svc, actor, found)


def customer_label(svc: Any, actor: Any, customer_id: str) -> str | None:
    """The customer's name (or email) for a link's ``cus_…``; the ID when it has none or Stripe
    could not be asked (a hiccup: the mirror may still hold their accounts). None when Stripe has
    no such customer: the sentence says so, and a filter to nobody would show an empty list. A
    customer picked earlier in this session (Back or Forward to it) is named as it was picked."""
    if known := st.session_state.get(NAMES, {}).get(customer_id):
        return str(known)
    try:
        with runtime.waiting_for_stripe("Reading the customer from Stripe…"):
            hits = browse_accounts.search_customers(svc, actor, customer_id)
    except NotFound as err:  # said with what the page shows instead (it said only the error)
        runtime.show_error(NotFound(f"{err} {ALL_INSTEAD}", request_id=err.request_id))
        return None
    except Exception as err:  # the page must never show a traceback
        runtime.show_error(err)
        return customer_id
    hit = next((h for h in hits if h.id == customer_id), None)
    if hit is None:
        runtime.show_error(NotFound(f"{unknown_id_sentence(customer_id, 'customer')} {ALL_INSTEAD}"))
        return None
    return hit.name or hit.email or customer_id


def search_pager(svc: Any, actor: Any, found: browse_accounts.CustomerSearchPage) -> None:
    caption = f"Customers page {found.page} of {found.pages}"
    wanted = chosen_page("acc_hits", found.page, found.pages, caption=caption, noun="customers")
    if wanted is not None:
        again = runtime.call_stripe(
            SEARCHING, browse_accounts.search_customers_page, svc, actor,
            st.session_state.get("acc_hits_term"), page=wanted,
        )
        if again is not None:
            st.session_state["acc_hits"] = again
            st.rerun()
