"""Home: what needs attention for the signed-in role, then a card per page it can open.

The overview reads only the store (SQL counts over what the syncs mirrored), so this page opens
instantly; each figure links to the page that acts on it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import streamlit as st

from components.feedback import format_age, format_timestamp
from components.navigation import PageSpec, pages_for
from components.table_columns import time_column
from pages import _follow as follow
from pages import _home_cards as cards
from pages import _live as live
from pages import _runtime as runtime
from services.auth import Actor
from services.rules import wording
from services.rules.chart_data import conversion_of
from services.rules.flow_config import FLOW_TITLES
from services.rules.table_values import utc_time
from services.rules.wording import counted
from services.usecases import overview as ov
from services.usecases import sync_accounts, webhooks

actor = runtime.guard("accounts.sync")
app = runtime.get_app()
svc = app.services
runtime.page_header(
    "fcops", "Bank-account operations for ACH Direct Debit with Stripe Financial Connections."
)

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
FIRST_VISIT = {
    "ops": "Open Accounts: its first visit reads customers and accounts from Stripe.",
    "finance": "Open Accounts or Balance check: the first visit reads the accounts from Stripe.",
    "manager": "Open Conversion: its first visit reads the SetupIntents and PaymentIntents.",
    "admin": "Open Accounts (accounts) and Conversion (intents): each first visit syncs from Stripe.",
}

OPENABLE: dict[str, PageSpec] = {p.file: p for p in pages_for(actor.can)}

# --------------------------------------------------------------------------- sections


def first_intent_sync() -> None:
    """Never synced: the store holds only what was read so far (or what Collect created), so
    its rates are not shown as if they were real. While a sync runs (Conversion's first visit,
    "Sync intents"), its progress line reruns the page with the rates when it finishes."""
    follow.outcome(follow.INTENTS, failed_hint=" Try “Sync intents” on Conversion.")
    if follow.following(follow.INTENTS):
        st.info(
            "The intents are still being read from Stripe for the first time, so there are no "
            "conversion rates yet: they show here when the sync finishes.",
            icon=":material/hourglass_top:",
        )
        follow.progress_line(follow.INTENTS, follow.INTENTS_LABEL)
    else:
        st.info(
            "The intents have not been synced from Stripe yet, so there are no conversion rates "
            "yet: Conversion reads them on its first visit.",
            icon=":material/inbox:",
        )


def manager_cards(data: ov.ManagerOverview) -> None:
    st.subheader(f"Conversion, last {ov.CONVERSION_DAYS} days", divider="gray")
    synced_ever = data.last_intents_sync is not None
    if not synced_ever:
        first_intent_sync()
    methods = (data.methods or []) if synced_ever else []
    columns = st.columns(len(methods) + 1)
    # Conversion on the same days, so its cards read the same figures
    days = {
        "from": datetime.fromtimestamp(data.since, UTC).date().isoformat(),
        "to": datetime.fromtimestamp(svc.now(), UTC).date().isoformat(),
    }
    for column, method in zip(columns, methods, strict=False):
        rate = conversion_of(
            method.started, method.succeeded, method.pending, other_method=method.other_method
        )
        cards.card(
            OPENABLE,
            column,
            f"{method.verification_method.capitalize()} verification",
            rate.label(decimals=0),  # as Conversion's cards say it
            (
                rate.counts("{hits} of {base} ended became usable")
                if method.started
                else f"Nothing started in the last {ov.CONVERSION_DAYS} days"
            )
            + (
                f" · {method.other_method:,} paid by another method (card or Link, not counted)."
                if method.other_method
                else "."
            ),
            "pages/conversion.py",
            "See the funnel",
            query={**days, "method": method.verification_method},
        )
    synced = data.last_intents_sync
    cards.card(
        OPENABLE,
        columns[-1],
        "Intents last synced",
        wording.ago(int(svc.now() - synced.timestamp())) if synced else "never",
        format_timestamp(int(synced.timestamp())) if synced else "The Conversion page syncs them.",
        "pages/conversion.py",
        "Sync on Conversion",
    )
    if synced_ever:  # never synced: first_intent_sync said so
        follow.sync_failed(
            "intents.sync", synced, what="intent sync", key=follow.INTENTS,
            retry="Try “Sync intents” again on Conversion.",
        )


def _flow_words(versions: dict[str, int]) -> str:
    saved = [f"{FLOW_TITLES.get(f, f)} v{v}" for f, v in versions.items() if v]
    defaults = len(versions) - len(saved)
    if not saved:
        return "Every flow uses fcops' built-in defaults (nothing saved yet)."
    tail = f" · {defaults} on fcops' built-in defaults" if defaults else ""
    return " · ".join(saved) + tail


def admin_cards(data: ov.AdminOverview) -> None:
    st.subheader("Admin", divider="gray")
    left, right = st.columns([3, 2])
    with left.container(border=True):
        st.markdown("**Latest audit entries**")
        if data.recent_audit:
            st.dataframe(
                [
                    {
                        "when": utc_time(e.at),
                        "who": e.actor,
                        "action": e.action,
                        "outcome": e.outcome,
                        "target": e.target or "",
                    }
                    for e in data.recent_audit
                ],
                hide_index=True,
                placeholder="—",
                width="stretch",
                column_config={"when": time_column("when (UTC)")},
            )
        else:
            st.caption("Nothing has been changed yet.")
        cards.link(OPENABLE, "pages/audit.py", "Open the audit log")
    with right.container(border=True):
        st.markdown("**Flow configurations**")
        st.caption(_flow_words(data.flow_versions))
        cards.link(OPENABLE, "pages/flows.py", "Configure flows")


# The caches below compute again when a sync or webhook changed what they count (the data
# versions in ov.CacheKeys) or the minute turned (balances turn stale, waiting intents
# abandoned); the role is in each key, so a hit is only served to a role that passed the check.


@st.cache_data(max_entries=16, show_spinner=False)
def manager_section(
    intents: tuple[str, int, bool], minute: int, who: Actor
) -> ov.ManagerOverview:
    """The 30-day funnel per verification method."""
    return ov.manager_section(svc, who)


@st.cache_data(max_entries=16, show_spinner=False)
def account_figures(accounts: tuple[str, int, int], minute: int, who: Actor) -> dict[str, Any]:
    """The ops and finance account counts (one aggregate over every account)."""
    return ov.account_figures(svc, who)


@st.cache_data(max_entries=16, show_spinner=False)
def returns_figures(outcomes: tuple[str, int], minute: int, who: Actor) -> ov.ReturnsGlance:
    """The 60-day return rates (one aggregate over the debits of 180 days)."""
    return ov.returns_section(svc, who)


def first_accounts_read(who: Actor) -> bool:
    """During the first account sync (never finished, one running): say the counts below cover
    only the accounts read so far, with its progress line (it reruns Home when it ends). At
    5,000 customers finance read "Stale balances 1,787" that became 2,631, with no word of it."""
    if not who.can("accounts.view") or follow.following(follow.ACCOUNTS) is None:
        return False
    info = runtime.call(sync_accounts.sync_info, svc, who)
    if info is None or info.last_finished_at is not None:
        return False
    # No count of its own: the store's (chunks run ahead of the walk's count, and earlier
    # tries stay stored) read "the 202 accounts read so far" above "100 customers, 141
    # accounts" in the progress line; that line is the one count of how far the reading got.
    st.info(
        "The accounts are still being read from Stripe for the first time: the figures below "
        "cover only the accounts stored so far and grow until it finishes (the line below says "
        "how far it has got)."
        if info.accounts
        else "The accounts are still being read from Stripe for the first time: the figures "
        "show here as they arrive.",
        icon=":material/hourglass_top:",
    )
    follow.progress_line(follow.ACCOUNTS, follow.ACCOUNTS_LABEL)
    return True


def attention(who: Actor) -> None:
    keys = runtime.call(ov.cache_keys, svc, who)
    if keys is None:
        return
    minute = svc.now() // 60
    counts = glance = None
    if who.can("ownership.review") or who.can("balances.check"):
        accounts = (keys.store, keys.accounts, keys.policy)
        counts = runtime.call(account_figures, accounts, minute, who)
        glance = runtime.call(returns_figures, (keys.store, keys.outcomes), minute, who)
    data = runtime.call(
        ov.overview, svc, who, conversion=False, account_counts=counts, returns=glance
    )
    if data is None:
        return
    if data.empty:
        st.info(
            f"The store is empty, so there is nothing to count yet. {FIRST_VISIT.get(who.role, '')}",
            icon=":material/inbox:",
        )
        return
    reading = bool(data.ops or data.finance) and first_accounts_read(who)
    if (data.ops or data.finance) and data.accounts == 0:  # debits or intents, no accounts yet
        if reading:
            return
        st.info(
            "No bank accounts in the store yet, so there are no account figures. "
            f"{FIRST_VISIT.get(who.role, '')}",
            icon=":material/inbox:",
        )
    else:
        if data.ops:
            cards.ops_cards(OPENABLE, data.ops)
        if data.finance:
            cards.finance_cards(OPENABLE, data.finance)
    if data.returns:
        cards.returns_cards(OPENABLE, data.returns)
    if who.can("conversion.view"):
        manager = runtime.call(
            manager_section, (keys.store, keys.intents, keys.intents_synced), minute, who
        )
        if manager is not None:
            manager_cards(manager)
    if data.admin:
        admin_cards(data.admin)


# --------------------------------------------------------------------------- page

st.write(f"Signed in as **{actor.name}** ({actor.role}). {ROLE_INTRO.get(actor.role, '')}")
if app.mode == "sandbox":
    st.info(
        "You are on the offline Stripe sandbox with generated demo data. Nothing here touches real "
        "money or real customers.",
        icon=":material/science:",
    )

attention(actor)


@live.fragment(run_every=10.0)
def live_data() -> None:
    """Webhooks keep the mirror current: when the last one arrived, and what waits to be applied."""
    hooks = runtime.call(webhooks.status, actor)
    if hooks is None:
        return
    if hooks.last_received_at is None:
        st.caption(
            ":material/webhook: No Stripe webhook received yet; the mirror is as fresh as the "
            "last sync."
        )
        return
    age = int((datetime.now(UTC) - hooks.last_received_at.replace(tzinfo=UTC)).total_seconds())
    backlog = (
        f"{counted(hooks.backlog, 'event')} waiting to be applied" if hooks.backlog else "none waiting"
    )
    failed = f", {hooks.failed:,} failed" if hooks.failed else ""
    st.caption(
        f":material/webhook: Last Stripe webhook {format_age(age)} ago "
        f"({hooks.last_type}); {backlog}{failed}."
    )


if actor.can("accounts.view"):
    live_data()

st.subheader("Pages", divider="gray")
others = [p for p in OPENABLE.values() if p.file != "pages/home.py"]
for row_start in range(0, len(others), 3):
    columns = st.columns(3)
    for column, spec in zip(columns, others[row_start : row_start + 3], strict=False):
        with column.container(border=True, height="stretch"):
            st.page_link(spec.file, label=spec.title, icon=spec.icon)
            st.caption(spec.blurb)
