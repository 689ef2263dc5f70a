"""Home: what this dashboard does for the signed-in role, with a card per page it can open."""

from __future__ import annotations

import streamlit as st

from components import runtime
from components.navigation import pages_for

actor = runtime.guard("accounts.sync")
app = runtime.get_app()
runtime.page_header("fcops", "Bank-account operations for ACH Direct Debit with Stripe Financial Connections.")

ROLE_INTRO = {
    "ops": "Find customers and their linked bank accounts, refresh data, review ownership, and "
    "create bank-account collection requests.",
    "finance": "Check balances before large debits, one at a time or as a CSV batch, so debits do "
    "not come back as R01 (insufficient funds).",
    "manager": "See which verification method converts: started, linked instantly, fell back to "
    "microdeposits, verified, and how fast.",
    "admin": "Configure each payment flow's Financial Connections permissions, set the debit "
    "policy, and read the audit log. Admins can open every page.",
}
st.write(f"Signed in as **{actor.name}** ({actor.role}). {ROLE_INTRO.get(actor.role, '')}")
if app.mode == "sandbox":
    st.info(
        "You are on the offline Stripe sandbox with generated demo data. Nothing here touches real "
        "money or real customers.",
        icon=":material/science:",
    )

cards = [p for p in pages_for(actor.can) if p.file != "pages/home.py"]
for row_start in range(0, len(cards), 3):
    columns = st.columns(3)
    for column, spec in zip(columns, cards[row_start : row_start + 3], strict=False):
        with column.container(border=True):
            st.page_link(spec.file, label=spec.title, icon=spec.icon)
            st.caption(spec.blurb)
