"""Accounts: find a customer, browse their Financial Connections accounts, open one, refresh it.

The table reads the store's mirror (paged and filtered in SQL); the detail view reads Stripe.
``?account=fca_…`` opens an account directly (Payment lookup links here). The list's filters
live in the URL too (``?status=``, ``?institution=``, ``?permission=``, ``?balance=``, ``?stale_hours=``,
``?refresh=failed``, ``?relink=needed``), so a filtered list can be shared; the home page's cards
link to them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import streamlit as st

from components import refresh_watch
from components.account_filters import filter_widgets
from components.accounts_view import (
    FEATURE_LABELS,
    OWNER_COLUMNS,
    STORED_OWNERS,
    account_fields,
    owners_frame,
    refresh_text,
    render_accounts_table,
    snapshots_columns,
    snapshots_frame,
    status_badge,
    stored_copy_notice,
)
from components.feedback import format_age, format_timestamp
from components.literal import literal, person_line
from components.money import format_money
from components.pager import current_page, pager
from pages import _accounts_customer as picker
from pages import _follow as follow
from pages import _person as person
from pages import _refresh as refresh
from pages import _runtime as runtime
from services.auth import Actor
from services.rules import bank_account, refresh_failure, refresh_rule
from services.rules.wording import counted
from services.usecases import browse_accounts, export_accounts, jobs, refresh_balance, sync_accounts

actor = runtime.guard("accounts.view")
app = runtime.get_app()
svc = app.services
runtime.page_header(
    "Accounts",
    "Customers' linked bank accounts (Stripe Financial Connections): status, permissions, balances "
    "and refreshes.",
)

OUTCOMES = "acc_outcomes"  # {account_id: [(feature, status)]}


# --------------------------------------------------------------------------- sync


def sync_bar() -> bool:
    """The store's counts, the sync buttons and progress; True when the store holds no account."""
    follow.first_accounts_sync(svc, actor)
    ended = follow.outcome(
        "accounts", failed_hint=" The list shows what the store holds; try “Sync from Stripe”."
    )
    info = runtime.call(sync_accounts.sync_info, svc, actor)
    if info is None:
        st.stop()
    assert info is not None
    left, right, more = st.columns([3, 1, 1], vertical_alignment="center")
    when = (
        format_timestamp(int(info.last_finished_at.timestamp()))
        if info.last_finished_at
        else "never"
    )
    left.caption(
        f"{info.accounts:,} accounts of {info.customers:,} customers in the store · last sync: {when}"
    )
    syncing = follow.following(follow.ACCOUNTS) is not None
    sync = right.button(
        "Sync from Stripe",
        icon=":material/sync:",
        width="stretch",
        disabled=syncing,
        help="Syncing in the background."
        if syncing
        else "Applies the changes Stripe recorded since the last sync (a few requests).",
    )
    with more:
        full = full_resync_button()
    if ended is not False:  # a failure just said above is not said twice
        follow.sync_failed(
            "accounts.sync", info.last_finished_at, what="account sync", key=follow.ACCOUNTS,
            retry="Try “Sync from Stripe” again.",
        )
    # The progress goes below the bar, full width (not inside a column or the popover).
    follow.progress_line("accounts", "Reading customers and accounts from Stripe")
    empty = info.accounts == 0
    # Both are background jobs the progress line follows (leaving the page does not stop them);
    # the everyday sync is a few requests, so it usually ends within the wait of follow.start.
    if full:  # one request per customer
        follow.start("accounts", jobs.start_account_sync, actor, full=True)
        st.rerun()  # draw the progress line (above) for the job just started
    elif sync:
        follow.start_accounts_sync(actor)
    return empty


FULL_POPOVER = "acc_full_popover"  # its open state: closed once the walk is started


def full_resync_button() -> bool:
    """The rare full walk: every customer, one request each, for when events cannot be trusted."""
    with st.popover("Re-read everything", icon=":material/restart_alt:", width="stretch",
                    key=FULL_POPOVER, on_change="rerun"):
        st.caption(
            "“Sync from Stripe” applies only the changes recorded since the last sync. Re-read "
            "every customer and account when the store may have missed a change (an account "
            "looks out of date after a sync) or after restoring a backup of the store. It makes "
            "one request per customer, so it takes longer."
        )
        # Confirmed: the popover closes, or it would cover the progress line it just started.
        return st.button("Re-read everything", icon=":material/restart_alt:", key="acc_full_sync",
                         on_click=st.session_state.update, args=({FULL_POPOVER: False},))


# --------------------------------------------------------------------------- list view


def filters() -> dict[str, Any]:
    banks = runtime.call(browse_accounts.institutions, svc, actor) or []
    return filter_widgets(banks)


SORT_KEY = "acc_sort"
PAGE_KEY = "acc_page"  # (filters and order, page) of the list


def sort_control() -> str:
    """The list's order, kept in the URL (?sort=balance_desc) like the filters, so a sorted list
    can be shared; the service sorts the whole result in SQL, not just the page on screen.

    The URL is the one source of truth. The box is keyed by the URL's sort and starts from it, so a
    browser that resets its widgets after a sign-in (under load, runs later) resets this box to
    the link's order, never to "newest" (which used to drop ``?sort`` from the URL). A person's
    choice goes into the URL and the page reruns at once with a box keyed by it."""
    wanted = str(st.query_params.get("sort") or "newest")
    if wanted not in browse_accounts.ACCOUNT_SORTS:
        st.warning(
            f"The link's sort {literal(wanted)} was not understood, so the list is newest first.",
            icon=":material/link_off:",
        )
        wanted = "newest"
    options = list(browse_accounts.ACCOUNT_SORTS)
    left, _ = st.columns([2, 5])
    sort = str(
        left.selectbox(
            "Sort by",
            options,
            index=options.index(wanted),
            format_func=browse_accounts.ACCOUNT_SORTS.__getitem__,
            key=f"{SORT_KEY}:{wanted}",
            help="Sorts every matching account (all pages), numerically for money and ages. "
            "Accounts without a balance come last.",
        )
    )
    if sort == "newest":
        if "sort" in st.query_params:
            del st.query_params["sort"]
    elif st.query_params.get("sort") != sort:
        st.query_params["sort"] = sort
    if sort != wanted:  # a person's choice: draw the box keyed by it before the next click
        st.rerun()
    return sort


def empty_words(store_empty: bool, syncing: bool) -> str:
    """Why the list is empty: nothing read from Stripe yet (a first sync reads it), or filters."""
    if not store_empty:
        return "No accounts match. Change the filters or the search, or sync from Stripe."
    if syncing:
        return "No accounts in the store yet: the sync is reading them from Stripe; they show here as it ends."
    return "No accounts in the store yet. “Sync from Stripe” reads them."


def list_view() -> None:
    list_body()


def list_body() -> None:
    store_empty = sync_bar()
    picker.follow_address(svc, actor)  # a link, Back or Forward: the URL's customer
    picker.search_box(svc, actor)  # a row picked: the URL follows (never on a plain rerun)
    customer = st.session_state.get(picker.CUSTOMER)
    chosen: dict[str, Any] = filters()
    sort = sort_control()
    if customer:
        left, right = st.columns([5, 1], vertical_alignment="center")
        person_line(f"Accounts of {customer[1]} ({customer[0]})", left)
        if right.button("All accounts", icon=":material/close:", key="acc_clear_customer"):
            picker.choose(None)
            st.rerun()
        chosen["customer_id"] = customer[0]
    page_no = current_page(PAGE_KEY, repr((sorted(chosen.items()), sort)))  # new filters: 1
    result = runtime.call(
        browse_accounts.list_accounts, svc, actor, page=page_no, page_size=50, sort=sort,
        **chosen,
    )
    if result is None:
        return
    if not result.total:
        st.info(empty_words(store_empty, follow.following(follow.ACCOUNTS) is not None),
                icon=":material/info:")
        return
    st.caption(
        f"{counted(result.total, 'account')} · page {result.page} of {result.pages} · "
        "select a row to open it"
    )
    generation = st.session_state.get("acc_table_gen", 0)  # a new key forgets the selection
    selected = render_accounts_table(result.rows, now=svc.now(), key=f"acc_table_{generation}")
    if selected:
        st.query_params["account"] = selected
        st.rerun()
    pager(PAGE_KEY, "acc", result.page, result.pages)
    st.download_button(
        "Download CSV",
        data=person.on_click(csv_or_message, {**chosen, "sort": sort}, actor),  # the table's order
        file_name="fc-accounts.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",  # a rerun would drop the file before a slow export is fetched
    )


def csv_or_message(chosen: dict[str, Any], who: Actor) -> bytes:
    """Runs on click (in another thread, ``who`` the person as they are then: pages._person.
    on_click); an error becomes the file's single line."""
    try:
        return export_accounts.export_accounts_csv(svc, who, **chosen)
    except Exception as err:  # the download must never carry a traceback
        return f"Export failed: {err}\n".encode()


# --------------------------------------------------------------------------- detail view


def start_refresh(detail: bank_account.AccountDetail, feature: str) -> bool:
    """Ask for the refresh, judged on the account this run just read (no second read first)."""
    account_id = detail.row.id
    payload = {"account": account_id, "feature": feature}
    scope = f"refresh-{account_id}-{feature}"
    return refresh.start(
        scope, payload, account_id, feature, refresh_balance.refresh, svc, actor, account_id,
        feature, seen=detail.account if detail.stored is None else None, seen_at=detail.read_at,
    )


def record_outcome(account_id: str, feature: str, state: bank_account.RefreshState | None) -> None:
    if state is not None:  # an unreadable status has already been shown as a sentence
        outcomes = st.session_state.setdefault(OUTCOMES, {})
        outcomes.setdefault(account_id, []).append((feature, state.status))


def poll_refreshes(account_id: str) -> None:
    """Follow pending refreshes without a manual reload; rerun the page when one finishes."""
    refresh.follow(
        svc,
        actor,
        account_id,
        bank_account.FEATURES,
        on_finished=lambda feature, state: record_outcome(account_id, feature, state),
        pending_text=lambda feature: f"{FEATURE_LABELS[feature]} refresh pending…",
    )


def show_outcomes(account_id: str) -> None:
    for feature, status in st.session_state.get(OUTCOMES, {}).pop(account_id, []):
        label = FEATURE_LABELS[feature]
        if status == "succeeded":
            st.success(f"{label} refresh succeeded.", icon=":material/check_circle:")
        else:
            st.error(
                f"{label} refresh {status or 'ended'}: the bank did not return fresh data. Try again "
                "later; if it keeps failing the customer may need to relink the account.",
                icon=":material/error:",
            )


def refresh_buttons(detail: bank_account.AccountDetail) -> None:
    account_id = detail.row.id
    watching = [f for f in bank_account.FEATURES if refresh_watch.watching(account_id, f)]
    # Beside the stored copy every button is off for one reason: said once, under the row.
    shared = detail.stored.refresh_off if detail.stored is not None else None
    cols = st.columns(3)
    for col, feature in zip(cols, bank_account.FEATURES, strict=True):
        reason = detail.blockers.get(feature)
        if feature in watching and not reason:
            reason = f"A {feature} refresh is already running."
        clicked = col.button(
            refresh_rule.refresh_button(feature),
            key=f"acc_refresh_{feature}",
            icon=":material/refresh:",
            disabled=reason is not None,
            help=reason or f"Ask Stripe to fetch fresh {feature} data from the bank.",
            width="stretch",
        )
        if reason and reason != shared:
            col.caption(reason)
        if clicked and start_refresh(detail, feature):
            st.rerun()
    if shared is not None:
        st.caption(shared)


def balance_block(detail: bank_account.AccountDetail) -> None:
    row = detail.row
    now = svc.now()
    c1, c2, c3 = st.columns(3)
    c1.metric("Current balance", format_money(row.balance_current, row.balance_currency))
    c2.metric("Available", format_money(row.balance_available, row.balance_currency))
    c3.metric(
        "Balance age",
        format_age(now - row.balance_as_of) if row.balance_as_of else "—",
        help=f"As of {format_timestamp(row.balance_as_of)} (when the bank computed it)",
    )
    if row.balance_as_of is None:
        # Not "Use Refresh balance" when that button is off (disconnected, no permission, the
        # role, Stripe unreadable): its reason is said under it, once.
        st.caption(
            "Stripe has no balance for this account yet. "
            + ("Refresh balance is off; why is said under it." if detail.blockers.get("balance")
               else "Use Refresh balance to fetch one from the bank.")
        )  # fmt: skip


def owners_block(detail: bank_account.AccountDetail) -> None:
    if detail.stored is not None:
        st.caption(STORED_OWNERS)
        return
    if not detail.owners:
        st.caption(
            "No ownership data yet. Refresh ownership to fetch the owners' names from the bank."
            if "ownership" in detail.row.permissions
            else "The ownership permission was not granted, so Stripe has no owner data."
        )
        return
    if detail.owners_hidden:
        st.caption(
            "Owners' names and contact details are personal data, shown to ops and admin only.",
        )
    st.dataframe(
        owners_frame(detail.owners),
        hide_index=True,
        placeholder="—",
        width="stretch",
        column_config=OWNER_COLUMNS,
    )


def failed_next_step(detail: bank_account.AccountDetail) -> None:
    """Under "Last refreshes: … failed": what the page shows instead, when to try again, and
    when to ask for a relink (beside the stored copy the buttons are off: it says that instead)."""
    if detail.stored is not None:
        return
    features = bank_account.FEATURES
    refreshes = actor.can("accounts.refresh")
    may = {f: refreshes and (f != "ownership" or actor.can("ownership.review")) for f in features}
    advice = refresh_failure.next_step(detail.account, features, now=svc.now(), may_refresh=may)
    if advice:
        st.warning(advice, icon=":material/sync_problem:")


def detail_view(account_id: str) -> None:
    if st.button("Back to accounts", icon=":material/arrow_back:", key="acc_back"):
        del st.query_params["account"]
        st.session_state["acc_table_gen"] = st.session_state.get("acc_table_gen", 0) + 1
        st.rerun()
    detail = runtime.call_stripe(
        "Reading the account from Stripe…", browse_accounts.account_detail, svc, actor, account_id,
        what="Accounts",
    )
    if detail is None:
        return
    row, stored = detail.row, detail.stored
    for feature in bank_account.FEATURES:  # someone else's pending refresh is followed too
        if detail.refreshes[feature].pending and stored is None:
            refresh_watch.watch(account_id, feature)
    if stored is not None and stored_copy_notice(stored, now=svc.now(), key="acc_read_again"):
        st.rerun()  # reads Stripe again
    title_col, badge_col = st.columns([5, 1], vertical_alignment="center")
    title_col.subheader(
        f"{row.institution_name} · {row.display_name or 'Account'} ••{row.last4 or '????'}"
    )
    with badge_col:
        status_badge(row.status)
    customer = detail.customer
    who = (customer.name or customer.email) if customer else None
    st.caption(
        f"`{row.id}` · {row.category}/{row.subcategory}"
        f" · permissions: {', '.join(row.permissions) or 'none'}"
    )
    known = f" ({row.customer_id})" if who and row.customer_id else ""
    person_line(f"Customer: {who or row.customer_id or '—'}{known}")
    relink = detail.relink
    if relink is not None:
        st.warning(relink.sentence(now=svc.now()), icon=":material/link_off:")
    elif row.status != "active":
        st.info(
            f"The account is {row.status}: Stripe can no longer refresh its data. What was read "
            "earlier stays readable and its payment method stays usable; ask the customer to "
            "link it again for fresh data.",
            icon=":material/link_off:",
        )
    show_outcomes(account_id)
    balance_block(detail)
    refresh_buttons(detail)
    if stored is not None:  # a refresh it says is pending started; its outcome is not known
        for feature in [f for f in bank_account.FEATURES if detail.refreshes[f].pending]:
            st.info(stored.refresh_sentence(feature), icon=":material/hourglass_top:")
    elif refresh_watch.watching(account_id):  # (a poll that cannot read Stripe would loop)
        poll_refreshes(account_id)
    st.caption(
        "Last refreshes: "
        + " · ".join(
            f"{FEATURE_LABELS[f].lower()} "
            f"{refresh_text(detail.refreshes[f].status)}"
            for f in bank_account.FEATURES
        )
    )
    failed_next_step(detail)
    fields, owners, history = st.tabs(["Fields", "Owners", "Balance history"])
    with fields:
        table = account_fields(detail.account, now=svc.now())
        st.dataframe(
            table,
            hide_index=True,
            placeholder="—",
            width="stretch",
            height=(len(table) + 1) * 35 + 3,
            column_config={
                "Field": st.column_config.TextColumn(width=210),
                "Value": st.column_config.TextColumn(width=720),
            },
        )
        source = "from Stripe" if stored is None else "as fcops stored it"
        with st.expander(f"Raw JSON {source}", icon=":material/data_object:"):
            st.json(detail.account, expanded=True)
    with owners:
        owners_block(detail)
    with history:
        if detail.snapshots:
            st.dataframe(
                snapshots_frame(detail.snapshots),
                hide_index=True,
                placeholder="—",
                width="stretch",
                column_config=snapshots_columns(detail.snapshots),
            )
        else:
            st.caption("No balance seen yet.")
    if stored is None:
        st.caption(f"Read from Stripe at {datetime.now(UTC).strftime('%H:%M:%S UTC')}.")


runtime.drop_overlong_id("account", "acc_account_long", "showing all accounts.")
account_param = st.query_params.get("account")
if account_param:
    detail_view(account_param)
else:
    list_view()
