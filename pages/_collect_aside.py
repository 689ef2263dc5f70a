"""Collect: the request shown is put aside when another customer is chosen, so its link or
secret is not sent to the customer now chosen."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.collect_view import request_name
from components.literal import plain
from pages import _collect_address as address
from pages import _request_watch as watch
from pages import _runtime as runtime
from pages._collect_customer import CUSTOMER
from services.rules.intents import CollectionRequest, IntentView
from services.usecases.collect_lists import customer_words


def put_aside(svc: Any, actor: Any) -> None:
    """Put the request shown aside (with a sentence) when another customer was chosen since it
    was made. Its idempotency keys stay: choosing its customer again and creating replays it.
    The address follows with the choice (:func:`address.keep_choice`, one history entry)."""
    current: CollectionRequest | None = st.session_state.get(address.RESULT)
    chosen = st.session_state.get(CUSTOMER)
    if current is None or not chosen or not current.customer_id or current.customer_id == chosen:
        return
    view: IntentView | None = st.session_state.pop(address.VIEW, None)
    address.put_away()
    who = runtime.call(customer_words, svc, actor, current.customer_id)
    still_open = watch.waiting(view.status if view else current.status)
    st.info(
        f"You chose another customer, so the {request_name(current)} for "
        f"{plain(who or current.customer_id)} is put aside"
        + (": it stays open on Stripe until they finish it or you cancel it under Open requests."
           if still_open else "."),
        icon=":material/swap_horiz:",
    )
