"""Payment lookup: which bank account is behind a PaymentIntent, SetupIntent or PaymentMethod?

PI/SI → ``expand[]=payment_method`` → ``us_bank_account.financial_connections_account``. A
manually entered account (routing and account number) has no FC account, and the page says so.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.feedback import format_age, format_timestamp
from components.money import format_money
from pages import _runtime as runtime
from services.usecases import lookup_account

actor = runtime.guard("accounts.view")
svc = runtime.get_app().services
runtime.page_header(
    "Payment lookup",
    "Paste a PaymentIntent (pi_…), SetupIntent (seti_…), PaymentMethod (pm_…), account (fca_…) or "
    "customer (cus_…) ID to find the linked bank account.",
)


def account_card(account: dict[str, Any]) -> None:
    balance = account.get("balance") or {}
    current = balance.get("current") or {}
    currency, amount = next(iter(current.items()), (None, None))
    with st.container(border=True):
        left, right = st.columns([3, 1], vertical_alignment="center")
        left.markdown(
            f"**{account.get('institution_name')}** · {account.get('display_name') or 'Account'} "
            f"••{account.get('last4') or '????'}  \n`{account['id']}` · status **{account.get('status')}**"
            f" · permissions: {', '.join(account.get('permissions') or []) or 'none'}"
        )
        as_of = balance.get("as_of")
        left.caption(
            f"Balance {format_money(amount, currency)} as of {format_timestamp(as_of)} "
            f"({format_age(svc.now() - int(as_of))} old)"
            if balance and as_of
            else "No balance fetched yet; open it in Accounts to refresh one."
        )
        with right:
            st.page_link(
                "pages/accounts.py",
                label="Open in Accounts",
                icon=":material/open_in_new:",
                query_params={"account": account["id"]},
            )


with st.form("lookup", border=False):
    left, right = st.columns([5, 1], vertical_alignment="bottom")
    text = left.text_input(
        "Stripe ID", placeholder="pi_…, seti_…, pm_…, fca_… or cus_…", key="lookup_id"
    )
    submitted = right.form_submit_button("Look up", icon=":material/search:", width="stretch")

if submitted:
    st.session_state["lookup_result"] = runtime.call(lookup_account.lookup, svc, actor, text)

found = st.session_state.get("lookup_result")
if found is not None:
    if found.manual_entry:
        st.warning(found.message, icon=":material/edit_note:")
    elif found.account is not None:
        st.success(found.message, icon=":material/link:")
        account_card(found.account)
    elif found.accounts:
        st.success(found.message, icon=":material/person:")
        for account in found.accounts:
            account_card(account)
    else:
        st.info(found.message, icon=":material/info:")
        if found.kind == "customer" or (found.intent and not found.payment_method):
            st.caption(
                "To ask the customer for a bank account, create a request on the Collect "
                "accounts page."
            )
    intent = found.intent or {}
    if intent:
        st.caption(
            f"{found.kind.replace('_', ' ')} `{intent.get('id')}` · status **{intent.get('status')}** · "
            f"customer `{intent.get('customer') or '—'}`"
        )
