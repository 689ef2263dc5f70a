"""Collect's customer search: the true number of matches ("21–40 of 89") and a pager, so a
search that matches more than one page never stops silently at the first page; and, for
Accounts' and Collect's, where to open what is not a customer (:func:`opens_elsewhere`)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.pager import current_page, pager
from pages import _runtime as runtime
from services.rules.ids import NotACustomer
from services.rules.wording import counted
from services.usecases import browse_accounts

PAGE_SIZE = 20
# The page that opens what a customer search was given instead of a customer (ids.OPENED_IN):
# its file and the address parameter that names the object there.
PAGE_FILES: dict[str, tuple[str, str]] = {
    "Payment lookup": ("pages/payment_lookup.py", "id"),
    "Accounts": ("pages/accounts.py", "account"),
}


def _state_key(scope: str) -> str:
    """Where a page's search keeps (term, page): Collect's is ``collect_search_page``; another
    page passes its own ``scope`` so two pages' pagers never share a page number."""
    return f"{scope}_search_page"


def search_page(
    svc: Any, actor: Any, text: str, *, scope: str = "collect"
) -> browse_accounts.CustomerSearchPage | None:
    """The page of matches on screen: page 1 for a new term, else the page the pager chose."""
    page = current_page(_state_key(scope), text)
    return runtime.call_stripe(  # a cus_ ID or a whole email is looked up in Stripe
        "Searching for the customer…",
        browse_accounts.search_customers_page, svc, actor, text, page=page, page_size=PAGE_SIZE,
    )


def search_count(found: browse_accounts.CustomerSearchPage, *, scope: str = "collect") -> None:
    """How many matched, and when more than a page did, which ones are offered and a pager
    (buttons keyed ``<scope>_hits_prev`` / ``<scope>_hits_next``)."""
    if found.pages <= 1:
        st.caption(f"{counted(found.total, 'customer')} found.")
        return
    pager(
        _state_key(scope),
        f"{scope}_hits",
        found.page,
        found.pages,
        caption=f"Customers {found.first:,}–{found.last:,} of {found.total:,} found, newest "
        "first. Type more of the name or email to narrow them.",
    )


def opens_elsewhere(actor: Any, other: NotACustomer) -> None:
    """Instead of "no customer found" for a payment, intent, PaymentMethod or FC account (its
    ID or Dashboard URL): what it is, and a link to the page that opens it."""
    st.info(other.sentence, icon=":material/person_search:")
    if other.page in PAGE_FILES and actor.can("accounts.view"):
        file, param = PAGE_FILES[other.page]
        st.page_link(
            file,
            label=f"Open {other.object_id} in {other.page}",
            icon=":material/open_in_new:",
            query_params={param: other.object_id},
        )
