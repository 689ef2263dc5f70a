"""Collect's step 1: find a customer by name, email or ID (a bounded picker naming people
first), or create one; then say who the requests will be created for, by name and email."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.literal import person_line
from pages import _follow as follow
from pages import _runtime as runtime
from pages._customer_search import opens_elsewhere, search_count, search_page
from pages._pending import ask, take
from services.rules import people
from services.rules.ids import not_a_customer
from services.usecases.collect_customers import create_customer
from services.usecases.collect_lists import customer_words

CUSTOMER = "collect_customer"  # the chosen cus_ id
CUSTOMER_SCOPE = "collect-customer"
PICK = "collect_pick"  # the picker among the search's customers
CHOSE = "collect_chose"  # the person chose (or let go of) a customer: the address follows


def new_customer(svc: Any, actor: Any) -> None:
    email = (st.session_state.get("collect_new_email") or "").strip()
    name = (st.session_state.get("collect_new_name") or "").strip() or None
    result = runtime.call_keyed(
        CUSTOMER_SCOPE,
        {"email": email.lower(), "name": name},
        create_customer,
        svc,
        actor,
        email=email,
        name=name,
    )
    if result is not None:
        st.session_state[CUSTOMER] = result.id
        st.session_state[CHOSE] = True
        if result.reused:
            st.info(result.message, icon=":material/info:")
        else:
            st.success(result.message, icon=":material/check_circle:")


def pick_customer() -> None:
    picked = st.session_state.get(PICK)
    if picked:
        st.session_state[CUSTOMER] = picked
        st.session_state[CHOSE] = True


def new_search() -> None:
    """Another search means another customer: the one chosen from the last search is let go, so
    a request is never created for someone the box no longer shows (ops searched for B and
    created A's link)."""
    if st.session_state.pop(CUSTOMER, None):
        st.session_state[CHOSE] = True
    st.session_state.pop(PICK, None)


def find_existing(svc: Any, actor: Any) -> None:
    text = st.text_input(
        "Find a customer by name, email or ID",
        key="collect_search",
        placeholder="Part of a name or email, or cus_…",
        on_change=new_search,
    )
    if not (text and text.strip()):
        return
    if other := not_a_customer(text):  # a pi_…, fca_… or its Dashboard URL: where it opens
        opens_elsewhere(actor, other)
        return
    found = search_page(svc, actor, text)  # the page the pager chose ("21–40 of 89")
    if found is None:
        return
    if not found.hits:
        st.info(
            "No customer matches yet: the customers are still being read from Stripe (see "
            "above). Search again when that is done, or search by cus_ ID or whole email."
            if follow.following(follow.ACCOUNTS)
            else "No customer matches. Check the spelling, or create a new customer.",
            icon=":material/search_off:",
        )
        return
    labels = {
        h.id: people.label(person=people.Person(h.name, h.email), customer_id=h.id, ident=h.id)
        for h in found.hits
    }
    search_count(found)
    st.selectbox(
        "Matching customers",
        list(labels),
        format_func=lambda cid: labels.get(cid, cid),
        key=PICK,
        index=None,
        placeholder="Choose a customer",
        on_change=pick_customer,
    )


def customer_section(svc: Any, actor: Any) -> None:
    st.subheader("1. Customer")
    mode = st.radio(
        "Customer",
        ["Existing customer", "New customer"],
        horizontal=True,
        key="collect_mode",
        label_visibility="collapsed",
    )
    if mode == "Existing customer":
        find_existing(svc, actor)
    else:
        with st.form("collect_new_customer", border=False):
            left, right = st.columns(2)
            left.text_input("Email", key="collect_new_email", placeholder="name@example.com")
            right.text_input("Name (optional)", key="collect_new_name")
            st.form_submit_button(
                "Create customer", icon=":material/person_add:", on_click=ask, args=("customer",)
            )
        if take("customer") is not None:
            new_customer(svc, actor)
    chosen = st.session_state.get(CUSTOMER)
    if chosen:
        who = runtime.call(customer_words, svc, actor, chosen)
        person_line(f"Requests will be created for {who or 'this customer'} ({chosen}).")
