"""Conversion by verification method (manager): which route turns started setups into usable accounts.

Reads the intents mirrored by the incremental sync (never Stripe directly), so filters and charts
are instant; "Sync intents" brings the store up to date (a background job the page follows) and can
be re-run safely. The filters travel in the URL (``?flow=&method=&from=&to=``,
components/conversion_filters.py), so Back, a reload or a shared link shows the same view.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import streamlit as st

from components.conversion_charts import (
    conversion_over_time_chart,
    fallback_share_chart,
    funnel_chart,
    weekly_outcomes_chart,
)
from components.conversion_filters import filter_widgets
from components.feedback import format_age, format_timestamp
from components.table_columns import count_column, duration_column, worded_durations
from pages import _follow as follow
from pages import _person as person
from pages import _runtime as runtime
from services.auth import Actor
from services.rules import wording
from services.rules.chart_data import MIN_COUNT, conversion_of, with_settled
from services.rules.funnel import VERIFICATION_METHODS
from services.usecases import conversion_report, jobs
from services.usecases.conversion_report import StoreInfo, StoreSummary

actor = runtime.guard("conversion.view")
runtime.page_header(
    "Conversion by verification method",
    "From SetupIntents and PaymentIntents: how many customers linked instantly through Financial "
    "Connections, fell back to manual entry and microdeposits, and ended with a usable bank account.",
)
app = runtime.get_app()
svc = app.services
INTENTS = follow.INTENTS  # the key the intent sync job is followed under

METHOD_TITLES = {
    "automatic": "Automatic (FC, manual fallback)",
    "instant": "Instant (FC only)",
    "microdeposits": "Microdeposits only",
}
# Short headers (each explained in its help) and fixed widths: the table fits the page at
# 1,400 px without a sideways scroll (it cut the Usable column to "215" of 2,155 at 2,000
# customers). The CSV keeps the long names.
TABLE_COLUMNS = {
    "verification_method": "Method",
    "started": "Started",
    "ended": "Ended",
    "linked_instantly": "Linked",
    "manual_entry": "Manual",
    "verified": "Verified",
    "succeeded": "Usable",
    "pending": "Pending",
    "canceled": "Canceled",
    "abandoned": "Abandoned",
    "failed": "Failed",
    "other_method": "Card/Link",
    "conversion_rate": "Conversion",
    "fallback_rate": "Fallback",
    "median_seconds_to_success": "To usable",
}
TABLE_WIDTHS = {  # px, in TABLE_ORDER; 918 in all (the page is 938 px at 1,400)
    "Method": 98, "Started": 56, "Ended": 48, "Conversion": 78, "Fallback": 62,
    "To usable": 70, "Linked": 50, "Manual": 54, "Verified": 60, "Usable": 52,
    "Card/Link": 66, "Pending": 58, "Failed": 46, "Canceled": 62, "Abandoned": 72,
}  # fmt: skip
COUNT_HELP = {
    "Started": "Intents created in the range",
    "Ended": "Started minus pending minus paid by card or Link: the base of the conversion rate",
    "Linked": "Linked instantly through Financial Connections",
    "Manual": "Fell back to manual entry of the account and routing numbers (microdeposits)",
    "Verified": "Microdeposits verified",
    "Usable": "Ended with a usable bank account (a payment method)",
    "Card/Link": "Paid by another method: the customer used card or Link instead of a bank "
    "account (not counted in the rate)",
    "Pending": "Not ended yet (microdeposits in flight, a customer still on the form)",
    "Failed": "Verification or payment failed",
    "Canceled": "Canceled by the merchant",
    "Abandoned": "Canceled as abandoned, or waiting on the customer for more than 7 days",
}
TABLE_ORDER = (
    "verification_method",
    "started",
    "ended",
    "conversion_rate",
    "fallback_rate",
    "median_seconds_to_success",
    "linked_instantly",
    "manual_entry",
    "verified",
    "succeeded",
    "other_method",
    "pending",
    "failed",
    "canceled",
    "abandoned",
)


# --------------------------------------------------------------------------- sync


@st.cache_data(max_entries=8, show_spinner=False)
def store_summary(version: tuple[str, int], who: Actor) -> StoreSummary:
    """How many intents and which flows and methods: read again only when an intent changed."""
    return conversion_report.store_summary(svc, who)


def store_status() -> StoreInfo:
    version = runtime.call(conversion_report.intents_version, svc, actor)
    summary = runtime.call(store_summary, version, actor) if version else None
    info = runtime.call(conversion_report.store_status, svc, actor, summary=summary)
    if info is None:
        st.stop()
    assert info is not None
    return info


def sync_bar() -> StoreInfo:
    info = store_status()
    # Never synced (the store may still hold intents the collection page created): sync as a
    # background job, once per session, and draw the store as it is meanwhile.
    if info.last_finished_at is None and not st.session_state.get("conv_autosynced"):
        if actor.can("intents.sync") and follow.start(INTENTS, jobs.start_intent_sync, actor):
            info = store_status()
        st.session_state["conv_autosynced"] = True  # once started (or refused), per session
    ended = follow.outcome(
        INTENTS, failed_hint=" The figures are from the store; try “Sync intents”."
    )
    left, full_col, button_col = st.columns([4, 1, 1], vertical_alignment="center")
    when = (
        format_timestamp(int(info.last_finished_at.astimezone(UTC).timestamp()))
        if info.last_finished_at
        else "never"
    )
    left.caption(f"{info.intents:,} intents stored · last synced {when}.")
    full = full_col.toggle(
        "Full rescan",
        key="conv_full",
        help="Re-read the last 90 days instead of only what changed.",
    )
    syncing = follow.following(INTENTS) is not None
    clicked = button_col.button(
        "Sync intents", icon=":material/sync:", key="conv_sync", width="stretch",
        disabled=syncing, help="Syncing in the background." if syncing else None,
    )
    # A job, as the first visit's: it goes on if the person leaves, any tab shows its progress,
    # and Stripe's failures are asked again in the background instead of ending it.
    if clicked and follow.start(INTENTS, jobs.start_intent_sync, actor, full=full):
        st.rerun()  # its progress line, or (ended within a second) the store it wrote
    if ended is not False:  # a failure just said above is not said twice
        follow.sync_failed(
            "intents.sync", info.last_finished_at, what="intent sync", key=INTENTS,
            retry="Try “Sync intents” again.",
        )
    follow.progress_line(INTENTS, "Reading intents from Stripe")
    return info


# --------------------------------------------------------------------------- filters


def _day(ts: int | None, fallback: date) -> date:
    return datetime.fromtimestamp(ts, UTC).date() if ts else fallback


def filters(info: StoreInfo) -> tuple[list[str], list[str], date | None, date | None]:
    """The Flow, Verification method and Created between boxes, kept in the URL (``?flow=``,
    ``?method=``, ``?from=``, ``?to=``) so Back, a reload or a shared link shows this view."""
    today = datetime.fromtimestamp(svc.now(), UTC).date()
    first = _day(info.first_created, today - timedelta(weeks=12))
    chosen = filter_widgets(
        st.columns([2, 2, 2]),
        stored_flows=info.flows,
        methods=list(dict.fromkeys([*VERIFICATION_METHODS, *info.methods])),
        today=today,
        earliest=min(first, today - timedelta(days=365)),
        latest=today + timedelta(days=1),
        flow_help="'not made by fcops': intents created outside fcops (no fcops_flow metadata; "
        "`?flow=unknown` in a link).",
    )
    return list(chosen.flows), list(chosen.methods), chosen.start, chosen.end


# --------------------------------------------------------------------------- sections


def _duration(seconds: float) -> str:
    return "—" if seconds is None or math.isnan(seconds) else format_age(int(seconds))


def metric_cards(frame: pd.DataFrame) -> None:
    rows = [r for _, r in frame.iterrows()]
    if not rows:
        return
    cols = st.columns(len(rows))
    for col, row in zip(cols, rows, strict=True):
        method = str(row["verification_method"])
        other = int(row.get("other_method", 0) or 0)
        rate = conversion_of(
            int(row["started"]), int(row["succeeded"]), int(row["pending"]), other_method=other
        )
        with col.container(border=True):
            st.markdown(f"**{METHOD_TITLES.get(method, method)}**")
            st.metric(
                f"Conversion · {method}",
                rate.label(decimals=0),
                help="Usable payment method ÷ ended (pending intents and intents paid by card or "
                "Link are not counted)",
            )
            # Microdeposits only offers nothing but manual entry: none of it "fell back".
            manual = "manual entry" if method == "microdeposits" else "manual fallback"
            st.caption(
                f"{rate.counts()} · {int(row['started']):,} started with {method} · {manual} "
                f"{wording.percent(row['fallback_rate'], 0)} · median time to usable "
                f"{_duration(float(row['median_seconds_to_success']))}"
                + (
                    f" · {other:,} paid by another method (card or Link, not counted)"
                    if other
                    else ""
                )
            )


def funnels(frame: pd.DataFrame) -> None:
    rows = [r for _, r in frame.iterrows()]
    cols = st.columns(min(3, max(1, len(rows))))
    for i, row in enumerate(rows):
        method = str(row["verification_method"])
        cols[i % len(cols)].altair_chart(
            funnel_chart(
                {str(k): v for k, v in row.items()}, title=METHOD_TITLES.get(method, method)
            ),
            width="stretch",
        )


def table(frame: pd.DataFrame) -> pd.DataFrame:
    frame = with_settled(frame)
    # Conversion on screen is usable ÷ ended: pending intents are neither won nor lost yet.
    frame["conversion_rate"] = frame["ended_conversion_rate"]
    shown = frame.drop(columns=["ended_conversion_rate"]).rename(columns=TABLE_COLUMNS)
    # Seconds, a number, so the column sorts by length; drawn in words by worded_durations.
    shown["To usable"] = frame["median_seconds_to_success"].astype("float64")
    # No rate where nothing started (or ended): "0 %" would read as "every start failed".
    nobody = frame["started"] == 0
    for column in ("Conversion", "Fallback"):  # percentages, drawn as wording.percent says them
        shown[column] = (shown[column].astype("float64") * 100).mask(nobody)
    return shown


DOWNLOADS = (  # (button, what the service builds, file name before the date, widget key)
    ("Funnel by method (CSV)", "funnel", "conversion-by-method", "conv_csv_methods"),
    ("By week and method (CSV)", "weekly", "conversion-by-week", "conv_csv_weekly"),
    ("One row per intent (CSV)", "intents", "conversion-intents", "conv_csv_intents"),
)


def downloads(csv_of: Callable[[str], Callable[[], str]]) -> None:
    """Each file is built on the click (and audited as conversion.export) by the service; the
    click does not rerun the page."""
    stamp = datetime.fromtimestamp(svc.now(), UTC).strftime("%Y%m%d")
    for column, (label, kind, name, key) in zip(st.columns(3), DOWNLOADS, strict=True):
        column.download_button(
            label,
            csv_of(kind),
            file_name=f"{name}-{stamp}.csv",
            mime="text/csv",
            icon=":material/download:",
            # No rerun on the click: a rerun gives every button a new file id and drops the old
            # ones, so a second download clicked before it ended failed (MediaFileStorageError).
            on_click="ignore",
            key=key,
        )


# --------------------------------------------------------------------------- page


@st.cache_data(max_entries=32, show_spinner=False)
def figures(
    store: str,
    version: int,
    minute: int,
    who: Actor,
    flows: list[str],
    methods: list[str],
    start: date | None,
    end: date | None,
    _now: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The funnel and weekly frames, computed again only when a sync or webhook changed an
    intent (``version``) in this store or the minute turned (intents waiting a week become abandoned). The
    role is part of the key, so a hit is only ever served to a role that passed the check."""
    result = conversion_report.report(
        svc, who, now=_now, flows=flows, methods=methods, start=start, end=end
    )
    return result.funnel, result.weekly


def csv_of(which: str) -> Callable[[], str]:
    """The file ``which``, built on the click as the person is then (pages._person.on_click)."""
    return person.on_click(
        conversion_report.figures_csv, svc, actor, which, now=now, flows=chosen_flows,
        methods=chosen_methods, start=start, end=end,
    )


info = sync_bar()
chosen_flows, chosen_methods, start, end = filters(info)
now = svc.now()
computed = runtime.call(
    figures,
    info.store,
    info.version,
    now // 60,
    actor,
    chosen_flows,
    chosen_methods,
    start,
    end,
    now,
)
if computed is None:
    st.stop()
assert computed is not None
frame, weekly = computed
# Never synced to the end: the store holds only what was read so far (or what Collect made)
first_read = info.last_finished_at is None and follow.following(INTENTS) is not None
if int(frame["started"].sum()) == 0:
    if first_read:
        st.info(
            "The intents are still being read from Stripe for the first time: the figures "
            "appear when that finishes (it goes on if you leave this page).",
            icon=":material/hourglass_top:",
        )
    else:
        st.info(
            "No data yet: no intents match these filters. Widen the date range, clear a "
            "filter, or sync intents.",
            icon=":material/filter_alt_off:",
        )
    st.stop()
if first_read:
    st.warning(
        f"Not final: the first read of intents from Stripe is still running, so these figures "
        f"cover only the {info.intents:,} intents read so far.",
        icon=":material/hourglass_top:",
    )
shown = frame[frame["started"] > 0]

metric_cards(shown)
st.subheader("Funnel per method")
funnels(shown)
over_time, fallback = st.columns([3, 2])
# A week the range cuts (the first and last, as a rule) is marked partial, not read as a dip.
over_time.altair_chart(
    conversion_over_time_chart(weekly, start=start, end=end), width="stretch"
)
over_time.altair_chart(weekly_outcomes_chart(weekly, start=start, end=end), width="stretch")
fallback.altair_chart(fallback_share_chart(shown), width="stretch")
st.subheader("Figures")
st.dataframe(
    worded_durations(table(frame), ["To usable"]).format(
        lambda v: wording.percent(v / 100, 1), subset=["Conversion", "Fallback"]
    ),
    hide_index=True,
    placeholder="—",
    width="stretch",
    # The rates and the time first, then the counts.
    column_order=[TABLE_COLUMNS[c] for c in TABLE_ORDER],
    column_config={
        "Method": st.column_config.TextColumn("Method", width=TABLE_WIDTHS["Method"]),
        "Conversion": st.column_config.NumberColumn(
            "Conversion",
            help="Usable ÷ ended; pending intents and intents paid by card or Link are not "
            "counted, and blank means no data yet",
            width=TABLE_WIDTHS["Conversion"],
        ),
        "Fallback": st.column_config.NumberColumn(
            "Fallback",
            help="Manual fallback: manual entry ÷ started",
            width=TABLE_WIDTHS["Fallback"],
        ),
        "To usable": duration_column(
            "To usable",
            help="Median time from the intent's creation to its success event; sorts by length",
            width=TABLE_WIDTHS["To usable"],
        ),
        # Counts with thousands separators, as the cards and charts write them (2,155).
        **{
            name: count_column(name, help=text, width=TABLE_WIDTHS[name])
            for name, text in COUNT_HELP.items()
        },
    },
)
downloads(csv_of)
st.caption(
    "Usable: SetupIntent succeeded, or PaymentIntent processing/succeeded, with a bank account. "
    "Conversion is usable ÷ ended: pending intents (microdeposits in flight, a customer still "
    f"on the form) count neither way until they end. A rate from fewer than {MIN_COUNT} ended "
    "intents is marked too few to judge. "
    "Card/Link (paid by another method): the intent also offered card or Link (Stripe's "
    "dynamic payment methods) and the customer used one of them; it did not fail bank "
    "verification, so it counts neither as usable nor as ended (it is out of the rate), nor as manual entry or verified, "
    "only as started. Abandoned: canceled as abandoned, or waiting on the "
    "customer for more than 7 days. Time to usable is measured from the intent's creation to its "
    "success event."
)
