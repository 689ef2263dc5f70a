"""Balance check (finance, admin): will this ACH debit clear, judging by the FC balance?

Pick a customer (and optionally one of their accounts) or paste an fca_/pm_/pi_/seti_/cus_ ID,
enter the amount, and get a verdict with its reasons. A stale balance, or one never fetched, can
be refreshed here; the service derives the refresh's idempotency key from the account's refresh
state, so reruns and double clicks send the same key while a later refresh (after the cooldown)
gets a new one.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.charts import balance_history_chart
from components.enter_key import enter_presses
from components.feedback import format_age, format_timestamp
from components.money import format_money
from pages import _asked_refresh as asked_refresh
from pages import _balance_policy as changed_policy
from pages import _check_address as check_address
from pages import _follow as follow
from pages import _kept as kept_address
from pages import _refresh as bank_refresh
from pages import _runtime as runtime
from pages._customer_search import search_count, search_page
from services.errors import StripeUnavailable
from services.rules import bank_account, people, wording
from services.rules.account_summary import AccountSummary
from services.rules.debit import Assessment
from services.rules.money import MoneyError, parse_unambiguous_amount, validate_currency
from services.usecases import balance_history, browse_accounts, check_debit

actor = runtime.guard("balances.check")
runtime.page_header(
    "Balance check",
    "Check one planned debit against the latest bank balance before sending it, so it does not "
    "come back as R01 (insufficient funds).",
)
app = runtime.get_app()
svc = app.services
follow.accounts_first_sync(svc, actor)  # a fresh store: the sync is a job it follows
RESULT = "balance_check_result"
REQUEST = "balance_check_request"

BADGES = {
    "ok": ("green", ":material/check_circle:", "OK — the balance covers this debit"),
    "insufficient": ("red", ":material/cancel:", "INSUFFICIENT — the balance is short"),
    "stale": ("orange", ":material/schedule:", "STALE — the balance is too old to trust"),
    "unavailable": ("gray", ":material/block:", "UNAVAILABLE — no usable balance"),
}
AUTO = "Best eligible account (chosen automatically)"
# The check shown is kept in the address (pages._check_address): a reload checks it again.
LINKED, REFRESH_STALE = check_address.LINKED, check_address.REFRESH_STALE
SEEN = "bc_check_seen"
TYPED = "bc_typed"  # the boxes as the person left them (pages._kept.keep_boxes), and their defaults:
BOXES = {"bc_mode": "Customer", "bc_customer_query": "", "bc_target_id": "", "bc_amount": "",
         "bc_currency": "USD", "bc_refresh": False}  # fmt: skip
ARRIVED = "bc_arrived"  # runtime.arrived: this session's arrivals on the page already seen
UNANSWERED = "bc_unanswered"  # (ID, minor units, currency) of the check Stripe did not answer
RECHECK = "bc_recheck"  # how a followed refresh ended (or UNKNOWN): the next run checks again
# How long a refresh asked for here holds the page (spinner) before the follower takes over:
# a quick bank answers within it; a slow one no longer freezes the page for half a minute.
REFRESH_WAIT_SECONDS = 5.0
# A refresh click that could not read Stripe (a timeout after 15 s, a 5xx): (the check shown
# then, itself, not its second-granular time; the failed read's sentence). Beside that check the button is off and says why, as
# Accounts does beside its stored copy: another click would only wait on Stripe once more.
UNREAD = "bc_refresh_unread"
REFRESH_OFF = (
    "Off while Stripe cannot be read: the verdict above is from the last check that could read "
    "it. Press Check debit to read Stripe again; the button comes back when it answers."
)


def check_from_address(resuming: bool) -> tuple[str, str, str] | None:
    """The URL's check when the person moved to it (a link, a reload, a new tab, Back or
    Forward: :func:`pages._kept.read_address`), else None. It fills the form before the form
    draws, so the boxes show what is checked; a step of the history without a check shows the
    empty form (what was there before the first check). Coming back by the sidebar, or on any
    run whose address lags the browser's, the check left and the boxes as typed stay (the boxes
    keep their values across pages: persist_state), and the address is put back in place
    (``resuming``: a Check debit left mid-wait, about to be made again: pages._asked_refresh)."""
    kept = resuming or isinstance(st.session_state.get(RESULT), check_debit.DebitCheck)
    runtime.drop_overlong_id("check", "bc_check_long", "enter the account below.")
    moved, linked = kept_address.read_address(SEEN, ARRIVED, "balance_check", LINKED, kept=kept)
    if not moved:
        return None
    st.session_state.pop(RESULT, None)
    fill_form(linked)
    return (linked[0], linked[1], linked[2] or "USD") if linked else None


def fill_form(linked: tuple[str, ...] | None) -> None:
    """The boxes as the address says (None: empty), when the person moved to it."""
    target, amount, currency, refresh = linked or ("", "", "", "")
    if linked:
        kept_address.set_box(TYPED, "bc_mode", "Paste an ID")
    kept_address.set_box(TYPED, "bc_target_id", target)
    kept_address.set_box(TYPED, "bc_amount", amount)
    kept_address.set_box(TYPED, "bc_currency", currency or "USD")
    kept_address.set_box(TYPED, "bc_refresh", refresh == REFRESH_STALE)


def keep_in_address(check: check_debit.DebitCheck | None, *, refresh: bool = False) -> None:
    """The check shown, in the URL (its parameters in one change, one browser history entry);
    none shown, none there; one Stripe did not answer stays, so F5 checks again (UNANSWERED).
    Called on a person's check, never on a plain rerun."""
    asked = (check.target_id, check.amount, check.currency) if check else st.session_state.get(UNANSWERED)
    shown = check_address.address_of(asked, refresh) if asked else None
    runtime.keep_choice_in_address(SEEN, LINKED, shown)


kept_address.keep_boxes(TYPED, BOXES)
asked = asked_refresh.take()  # a refresh asked for on a run that never ended
if (left_check := asked_refresh.address_check(asked)) is not None:  # back to a Check debit left
    st.session_state[SEEN] = left_check  # the address gets it, in place (pages._kept.put_back)
linked_check = check_from_address(left_check is not None)


def typed(key: str) -> dict[str, Any]:
    """A box's keyword arguments: kept across pages, and what the person types in it kept by
    :func:`pages._kept.keep_boxes` too."""
    return {"key": key, "persist_state": "session", "on_change": kept_address.typed,
            "args": (TYPED, key)}  # fmt: skip


# -- choosing whom to check ----------------------------------------------------------------


def pick_from_customer() -> str | None:
    """Search a customer, then let the service choose their account or pick one."""
    query = st.text_input(
        "Find a customer",
        **typed("bc_customer_query"),
        placeholder="Name, email or cus_…",
        help="Names and partial emails are searched in the mirrored store (filled from Stripe "
        "on first use; sync it again on the Accounts page); a cus_ ID or a full email is "
        "looked up in Stripe.",
    )
    if not query.strip():
        return None
    # The true count and a pager ("Customers 1–20 of 89 found"), never a silent stop at a page.
    found = search_page(svc, actor, query, scope="bc")
    if found is None:
        return None
    if not found.hits:
        st.info("No customer matches. Try a cus_ ID or paste an ID instead.")
        return None
    search_count(found, scope="bc")
    labels = {
        hit.id: people.label(
            person=people.Person(hit.name, hit.email),
            customer_id=hit.id,
            ident=hit.id,
            extra=wording.counted(hit.accounts, "account"),
        )
        for hit in found.hits
    }
    customer_id = st.selectbox(
        "Customer", list(labels), format_func=labels.__getitem__, key="bc_customer",
        persist_state="session",
    )
    if customer_id is None:
        return None
    page = runtime.call(
        browse_accounts.list_accounts, svc, actor, customer_id=customer_id, page_size=100
    )
    rows = page.rows if page is not None else []
    options = {AUTO: customer_id} | {
        f"{r.display_name or r.institution_name} ••{r.last4 or '????'} ({r.status}, {r.id})": r.id
        for r in rows
    }
    choice = st.selectbox("Account", list(options), key="bc_account", persist_state="session")
    return options.get(choice or AUTO)


def pick_by_id() -> str | None:
    text = st.text_input(
        "ID to check",
        **typed("bc_target_id"),
        placeholder="fca_…, pm_…, pi_…, py_…, ch_…, seti_… or cus_…",
        help="A Financial Connections account, a payment method, a PaymentIntent, a payment "
        "(py_… or ch_…) or a SetupIntent (its payment method is used), or a customer (their best "
        "eligible account).",
    )
    return text.strip() or None


mode = st.radio(
    "Check by",
    ["Customer", "Paste an ID"],
    horizontal=True,
    label_visibility="collapsed",
    **typed("bc_mode"),
)
target = pick_from_customer() if mode == "Customer" else pick_by_id()

# Not an st.form: a form's boxes reach the server only with its submit, so an amount typed and
# not checked was lost on leaving the page. Every box keeps its value across pages
# (persist_state="session"): back by the sidebar, the form is as the person left it. Enter still
# checks (components.enter_key), as in the form.
with st.container(border=True):
    left, middle = st.columns([2, 1])
    amount_text = left.text_input("Debit amount", placeholder="1250.00", **typed("bc_amount"))
    currency = middle.text_input("Currency", max_chars=3, **typed("bc_currency"))
    refresh_stale = st.checkbox(
        "Refresh stale balances",
        help="If the balance is older than the policy allows, or was never fetched, and Stripe "
        "allows a refresh now, refresh it, wait for the bank, and check again.",
        **typed("bc_refresh"),
    )
    submitted = st.button(
        "Check debit", key="bc_check", type="primary", icon=":material/fact_check:"
    )
    # Enter in the ID, amount or currency box checks, as in a form (a blur does not)
    enter_presses("bc_check", boxes=("bc_target_id", "bc_amount", "bc_currency"))


def check_now(
    request: dict[str, Any], *, refresh: bool, offered: bool = False, read: list[str] | None = None
) -> check_debit.DebitCheck:
    """The one call to the debit check, under its spinner (raises as the service does);
    ``offered``: the "Refresh balance now" click. A refresh asked is kept till the call ends.
    ``read`` gets the ID as the check read it, before Stripe was asked."""

    def on_read(target: str) -> None:  # kept in the ask too (address_check)
        asked_refresh.read(target)
        (read if read is not None else []).append(target)

    doing = "Checking the balance…" if not refresh else "Refreshing the balance…"
    with (
        asked_refresh.asking(request, now=svc.now(), refresh=refresh, offered=offered),
        runtime.waiting_for_stripe(doing),
    ):
        return check_debit.check_debit(
            svc,
            runtime.acting_as(actor),  # a refresh it starts is asked as the person is now
            request["target"],
            request["amount"],
            request["currency"],
            refresh_stale=refresh,
            refresh_offered=offered,
            wait_seconds=REFRESH_WAIT_SECONDS,
            what="Balance check",
            on_read=on_read,
        )


def run_check(request: dict[str, Any], *, refresh: bool) -> check_debit.DebitCheck | None:
    """Check (and maybe refresh); on failure the sentence is shown here and None returned."""
    return runtime.call(check_or_unanswered, request, refresh=refresh)


def check_or_unanswered(request: dict[str, Any], *, refresh: bool) -> check_debit.DebitCheck:
    read: list[str] = []
    try:
        return check_now(request, refresh=refresh, read=read)
    except StripeUnavailable:  # the ID was read before Stripe was asked: kept for the address
        st.session_state[UNANSWERED] = (read[-1], request["amount"], request["currency"])
        raise


def read_amount(amount_text: str, currency: str) -> tuple[int, str] | None:
    """(minor units, currency code), or None with the sentence on the page. Read as the batch
    CSV reads its amounts: "1.000" or "1.000,50" gets a sentence, never a guess ($1.00)."""
    try:
        code = validate_currency(currency)
    except MoneyError as err:
        st.error(f"Currency: {err}", icon=":material/error:")
        return None
    try:
        return parse_unambiguous_amount(amount_text, code), code
    except MoneyError as err:
        st.error(f"Amount: {err}", icon=":material/error:")
        return None


def resume(asked: dict[str, Any]) -> None:
    """The debit checked again as Stripe has it now (pages._asked_refresh): a refresh still
    running is followed (:func:`refresh_controls`); one that ended gives the verdict. A Check
    debit's goes in the address as a check does (on a return, already: address_check)."""
    st.session_state[REQUEST] = asked["request"]
    latest = run_check(asked["request"], refresh=False)
    if asked.get("check") and not asked_refresh.came_back(asked):
        keep_in_address(latest, refresh=True)
    if latest is None:
        return
    st.session_state[RESULT] = latest
    if ended := asked_refresh.ended(asked, latest.account):  # the refresh asked, done meanwhile
        asked_refresh.say_ended(ended)


st.session_state.pop(UNANSWERED, None)  # set by this run's check only
recheck = st.session_state.pop(RECHECK, None)
policy_again = changed_policy.asked_again()
if submitted:
    st.session_state.pop(RESULT, None)
    if not target:
        st.error("Choose a customer or paste an ID to check.", icon=":material/error:")
    elif (money := read_amount(amount_text, currency)) is not None:
        request = {"target": target, "amount": money[0], "currency": money[1]}
        st.session_state[REQUEST] = request
        st.session_state[RESULT] = run_check(request, refresh=refresh_stale)
    keep_in_address(st.session_state.get(RESULT), refresh=refresh_stale)
elif linked_check is not None:
    # A reload (or a link) of a check: the same debit checked again against the latest balance,
    # without refreshing it (a refresh is asked for by a click); one still running is followed.
    st.session_state.pop(RESULT, None)
    if (money := read_amount(linked_check[1], linked_check[2])) is not None:
        request = {"target": linked_check[0], "amount": money[0], "currency": money[1]}
        st.session_state[REQUEST] = request
        st.session_state[RESULT] = run_check(request, refresh=False)
    if st.session_state.get(RESULT) is None:
        keep_in_address(None)  # a link that cannot be checked is not kept (unless unanswered)
    else:
        again = st.session_state[RESULT]
        running = again.account is not None and again.account.refresh_pending
        st.info(
            "Your last check of this debit (kept in the page's address), checked again now "
            + ("against the balance Stripe has while the bank refreshes it (below)."
               if running else "against the latest balance."),
            icon=":material/history:",
        )  # fmt: skip
elif asked is not None:
    resume(asked)
elif recheck is not None and st.session_state.get(REQUEST):
    # The followed refresh ended: one check (one stored row) against the balance it left.
    asked_refresh.say_ended(recheck)
    st.session_state[RESULT] = run_check(st.session_state[REQUEST], refresh=False)
elif policy_again and st.session_state.get(REQUEST):  # under the policy now in force
    st.session_state[RESULT] = run_check(st.session_state[REQUEST], refresh=False)


# -- showing the verdict -----------------------------------------------------------------------


def badge(assessment: Assessment) -> None:
    color, icon, text = BADGES[assessment.verdict]
    st.markdown(f"## :{color}-background[{icon} {text}]")


def age_text(seconds: int | None) -> str:
    """The same units and rounding as the reasons above it (one wording: services.rules.wording)."""
    return format_age(seconds)


def figures(check: check_debit.DebitCheck) -> None:
    result = check.final
    cols = st.columns(4)
    cols[0].metric("Debit", format_money(check.amount, check.currency))
    cols[1].metric(
        "Required (with buffer)",
        format_money(result.required, check.currency),
    )
    source = {"available": "available", "current": "current (posted)"}.get(
        result.balance_source or "", "—"
    )
    cols[2].metric(
        "Balance used",
        format_money(result.balance, check.currency),
        help=f"Figure: {source}. Available is used when the bank gives it, current otherwise.",
    )
    cols[3].metric(
        "Balance age",
        age_text(result.age_seconds),
        help=f"As of {format_timestamp(result.as_of)}",
    )
    if result.balance is not None:
        st.caption(f"Balance figure used: **{source}**, as of {format_timestamp(result.as_of)}.")


def policy_line(check: check_debit.DebitCheck) -> None:
    policy, version = check.policy, check.policy_version
    st.caption(
        f"Policy applied{f' (version {version})' if version else ' (defaults)'}: "
        f"buffer {format_money(policy.buffer_amount, check.currency)} + "
        f"{wording.percent(policy.buffer_percent / 100, 4)} of the debit; balances older than "
        f"{format_age(policy.max_age_seconds)} are stale."
    )


def refresh_controls(check: check_debit.DebitCheck) -> None:
    result = check.final
    if check.account is not None and check.account.refresh_pending:
        follow_refresh(check.account)
        return
    if result.refresh_offered:  # stale, no balance yet, or short on an hour-old balance
        if result.verdict == "insufficient":  # Stripe allows a refresh now (rules.debit)
            st.caption(
                f"The balance is {format_age(result.age_seconds)} old: a refresh may show money "
                "that came in since, before you hold this debit back."
            )
        # No figure yet: the button fetches the first one (the same refresh at Stripe).
        label = result.refresh_label
        unread = st.session_state.get(UNREAD) or (None, "")
        off = unread[0] is check
        if off:
            st.error(unread[1], icon=":material/cloud_off:")
        clicked = st.button(
            label, type="primary", icon=":material/refresh:", key="bc_refresh_now",
            disabled=off, help=REFRESH_OFF if off else None,
        )  # fmt: skip
        if off:
            st.caption(REFRESH_OFF)
        elif clicked:
            latest = runtime.call(refresh_now, check, st.session_state[REQUEST])
            # On failure keep the stale verdict on screen; the error sentence shows below it
            # (and, when Stripe could not be read, the button is drawn off beside it).
            if latest is not None:
                st.session_state[RESULT] = latest
                st.rerun()
            if st.session_state.get(UNREAD, (None,))[0] is check:
                st.rerun()
    elif result.refresh_waits and result.refreshable_at:  # stale, or short on an old balance
        bank_refresh.next_refresh_note(result.refreshable_at, now=svc.now())


def refresh_now(
    check: check_debit.DebitCheck, request: dict[str, Any]
) -> check_debit.DebitCheck:
    """The refresh click: check again with a refresh; when Stripe could not be read, remember it
    for the check on screen (its button is then off with the sentence) and raise on."""
    try:
        return check_now(request, refresh=True, offered=True)
    except StripeUnavailable as err:
        st.session_state[UNREAD] = (check, runtime.mask_secrets(str(err)))
        raise


def follow_refresh(bank: AccountSummary) -> None:
    """A refresh is still running at the bank: read its status alone (no check, no stored check
    row) every few seconds until it ends; then the page checks the debit once more."""
    started = bank.balance_refresh_attempted_at
    running = asked_refresh.pending_text(started, format_timestamp(started))
    bank_refresh.follow_one(svc, actor, bank.id, "balance", refresh_ended, running)


def refresh_ended(_account_id: str, state: bank_account.RefreshState | None) -> None:
    """How the followed refresh ended (None: Stripe could not be read for half a minute); the
    next run checks the debit again, once."""
    st.session_state[RECHECK] = state.status if state is not None else asked_refresh.UNKNOWN


def history(check: check_debit.DebitCheck) -> None:
    if check.account is None:
        return
    frame = runtime.call(balance_history.for_account, svc, actor, check.account.id)
    if frame is None:
        return
    if frame.empty:
        st.caption("No balance has been seen for this account yet, so there is no history.")
        return
    st.altair_chart(balance_history_chart(frame, currency=check.currency), width="stretch")
    if len(frame) == 1:
        st.caption("Only one balance seen so far; each refresh or check adds a point.")


def show(check: check_debit.DebitCheck) -> None:
    st.divider()
    # When it was made: a verdict left on screen a while (a tab come back to) is not read as
    # current; its figures (the balance's age among them) are as they were then.
    since = max(0, svc.now() - check.checked_at)
    st.caption(
        f":material/schedule: Checked {format_timestamp(check.checked_at)}"
        + (f" ({wording.ago(since)})" if since >= 60 else "")
        + f": {format_money(check.amount, check.currency)} on `{check.target_id}`."
        # Only of a check made a while ago: beside one just made ("checked again now" after a
        # reload) "as they were then" read as a contradiction.
        + (" The figures below are as they were then." if since >= 60 else "")
    )
    badge(check.final)
    changed_policy.policy_watch(svc, actor, check.policy_version)
    if check.account is not None:
        st.markdown(f"**{check.account.label}** · `{check.account.id}`")
    if check.note and check.target_kind != "financial_connections.account":
        st.caption(check.note)
    asked_refresh.say_outcome(check.refresh, check.account)  # what the refresh came to
    if check.after is not None and not (check.refresh and check.refresh.status == "pending"):
        if check.after.verdict == check.before.verdict:
            st.caption(f"The refresh did not change the verdict (still **{check.after.verdict}**).")
        else:
            st.caption(f"Before the refresh the verdict was **{check.before.verdict}**.")
    st.markdown("\n".join(f"- {reason}" for reason in check.final.reasons))
    figures(check)
    policy_line(check)
    refresh_controls(check)
    history(check)


stored_check = st.session_state.get(RESULT)
if isinstance(stored_check, check_debit.DebitCheck):
    show(stored_check)
