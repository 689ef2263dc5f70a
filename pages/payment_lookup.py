"""Payment lookup: which bank account is behind a PaymentIntent, payment (py_/ch_), SetupIntent or
PaymentMethod?

PI/SI → ``expand[]=payment_method`` → ``us_bank_account.financial_connections_account``. A
manually entered account (routing and account number) has no FC account, and the page says so.
For an intent or a PaymentMethod it also shows what Stripe's Dashboard shows: amount, status,
created, customer, bank and last4, verification, mandate and a link to the Dashboard page.
"""

from __future__ import annotations

import streamlit as st

from components.feedback import format_age, format_timestamp
from components.money import format_money
from components.payment_view import payment_card
from components.search_row import search_row
from pages import _kept as kept_address
from pages import _runtime as runtime
from services.auth import Actor
from services.errors import StripeUnavailable
from services.rules.account_summary import AccountSummary
from services.rules.ids import parse_id
from services.usecases import lookup_account, retry_debit
from services.usecases.resolve_account import LOOKUP_KINDS

actor = runtime.guard("accounts.view")
svc = runtime.get_app().services
runtime.page_header(
    "Payment lookup",
    "Paste a PaymentIntent (pi_…), payment (py_… or ch_…), SetupIntent (seti_…), PaymentMethod "
    "(pm_…), account (fca_…) or customer (cus_…) ID, or its Stripe Dashboard URL, to find the "
    "linked bank account.",
)


def account_card(account: AccountSummary) -> None:
    with st.container(border=True):
        left, right = st.columns([3, 1], vertical_alignment="center")
        left.markdown(
            f"**{account.institution_name}** · {account.display_name or 'Account'} "
            f"••{account.last4 or '????'}  \n`{account.id}` · status **{account.status}**"
            f" · permissions: {', '.join(account.permissions) or 'none'}"
        )
        as_of = account.balance_as_of
        left.caption(
            f"Balance {format_money(account.balance_current, account.balance_currency)} as of "
            f"{format_timestamp(as_of)} ({format_age(svc.now() - as_of)} old)"
            if as_of
            else f"No balance fetched yet. {account.balance_out_of_reach}"
            if account.balance_out_of_reach
            else "No balance fetched yet; open it in Accounts to refresh one."
        )
        with right:
            st.page_link(
                "pages/accounts.py",
                label="Open in Accounts",
                icon=":material/open_in_new:",
                query_params={"account": account.id},
            )


# The looked-up ID is kept in the address (?id=…), so a reload, a new tab or a colleague given
# the URL shows the same lookup; read when the person moves to it (Back and Forward too), before
# the box draws (it shows the ID). Back by the sidebar (no query), the last lookup and the box
# stay and the address gets the ID back, as on Balance check (pages._kept). No ?id= reached
# by Back from the page itself is no lookup: the empty form.
SEEN = "lookup_seen"
ARRIVED = "lookup_arrived"  # runtime.arrived: this session's arrivals on the page already seen
runtime.drop_overlong_id("id", "lookup_id_long", "enter the ID below.")
moved, linked = kept_address.read_address(
    SEEN, ARRIVED, "payment_lookup", ("id",),
    kept=st.session_state.get("lookup_result") is not None,
)  # fmt: skip
linked_id = linked[0] if linked else None
from_address = moved and bool(linked_id)
if moved:
    st.session_state["lookup_id"] = linked_id or ""
    st.session_state.pop("lookup_result", None)

text, submitted = search_row(
    "lookup",
    "Stripe ID",
    placeholder="pi_…, py_…, ch_…, seti_…, pm_…, fca_… or cus_…",
    key="lookup_id",
    button="Look up",
    kept=True,  # back by the sidebar or Back, the box shows what was looked up
)

UNREAD = "lookup_unread"  # the ID of a lookup Stripe did not answer (a 5xx, a 429, no answer)


def look_up(who: Actor, typed: str) -> lookup_account.Resolution:
    """The lookup as ``who`` (the person as they are now: :func:`runtime.call` resolves it);
    when Stripe could not be read, the ID it asked for is remembered, so the address keeps it
    and a reload (what "Try again in a minute" leads to) asks again."""
    with runtime.waiting_for_stripe("Looking the ID up in Stripe…"):
        try:
            return lookup_account.lookup(svc, who, typed, what="Payment lookup")
        except StripeUnavailable:
            st.session_state[UNREAD] = parse_id(typed, allowed=LOOKUP_KINDS, what="Payment lookup")[0]
            raise


if submitted or from_address:
    st.session_state.pop(UNREAD, None)
    result = runtime.call(look_up, actor, text)
    st.session_state["lookup_result"] = result
    # A lookup that found nothing leaves no address behind (a reload would repeat the error);
    # one Stripe did not answer keeps it (a reload is the natural way to try again).
    # What was looked up (a py_… payment, not the pi_… it leads to), so a reload asks the same.
    if submitted:  # a person's lookup, a browser history entry; the URL's own stays as it is
        kept = result.typed_id if result is not None else st.session_state.pop(UNREAD, None)
        runtime.keep_in_address(SEEN, kept, "id")

def failed_attempt(found: lookup_account.Resolution) -> None:
    """A returned (or failed) debit: what the bank or Stripe said, and where its retry is."""
    failure = found.failure
    if failure is None:
        return
    st.warning(failure.sentence, icon=":material/assignment_return:")
    original = found.retry_original
    why_not = (
        runtime.call(retry_debit.why_not_plannable, svc, actor, original)
        if original and actor.can("returns.view")
        else None
    )
    if why_not:  # the link only where Returns can plan the retry (it said "no return matches")
        st.caption(f"No retry to plan for {original}: {why_not}")
    elif original and actor.can("returns.view"):  # Home's "Plan a retry" link, the same place
        st.page_link(
            "pages/returns.py",
            label=f"Plan a retry for {original} (insufficient funds)"
            if original == found.query_id
            else f"See the retries of {original} on Returns",
            icon=":material/replay:",
            query_params={"retry": original},
        )
    elif failure.ret is not None:
        st.caption(
            "Nacha allows re-initiating only R01/R09 (insufficient or uncollected funds): "
            "this debit cannot be retried as it is."
        )


found = st.session_state.get("lookup_result")
if found is not None:
    linked = found.linked
    intent = found.intent_summary
    failed_attempt(found)
    if found.manual_entry:
        st.warning(found.message, icon=":material/edit_note:")
    elif linked is not None:
        st.success(found.message, icon=":material/link:")
    elif found.accounts:
        st.success(found.message, icon=":material/person:")
    else:
        st.info(found.message, icon=":material/info:")
        if found.kind == "customer" or (intent and not found.has_payment_method):
            st.caption(
                "To ask the customer for a bank account, create a request on the Collect "
                "accounts page."
            )
    if found.details is not None:
        payment_card(found.details, now=svc.now())
    if linked is not None:
        st.markdown("**Financial Connections account**")
        account_card(linked)
    for account in found.customer_accounts if linked is None else []:
        account_card(account)
