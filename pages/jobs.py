"""Jobs (admin): background work and webhooks, as every replica sees them.

Jobs are DBOS workflows (services/usecases/jobs.py); their progress lives in the store, so this
page shows the same thing on any tab or replica and refreshes itself every few seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from components.table_columns import time_column
from pages import _runtime as runtime
from services.rules import job_progress, wording
from services.rules.table_values import utc_time
from services.usecases import jobs, jobs_daily, webhooks

actor = runtime.guard("jobs.view")
runtime.page_header(
    "Jobs",
    "Syncs, batch checks and ownership checks run in the background: leaving a page does not stop "
    "them, and a restart resumes them where they stopped. Stripe's webhook events arrive here too.",
)
app = runtime.get_app()
STATUS_LABELS = {
    "queued": "Queued",
    "running": "Running",
    "succeeded": "Finished",
    "failed": "Failed",
}
FILTERS = {
    "all": "All jobs",
    "active": "Running or queued",
    "failed": "Failed",
    "retried": "Retried",
}


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "—"


def received_age(moment: datetime) -> float:
    """Seconds since ``moment`` (naive datetimes from the store are UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - aware).total_seconds())


STARTED = "jobs_started"  # the job last started on this page in this session


@st.fragment(run_every=2.0)
def started_note() -> None:
    """The job started here, named as the list names it, in the state it is in now: "queued"
    belongs to the moment of queueing, not to a job that has run since."""
    job_id = st.session_state.get(STARTED)
    view = runtime.call(jobs.job_of, actor, job_id) if job_id else None
    if view is None:
        return
    text = (view.error or view.message or "").strip()
    said = f" {text}" + ("" if text.endswith((".", "!", "?")) else ".") if text else ""
    if view.status == "queued":
        st.info(f"{view.label} is queued; its progress shows below.", icon=":material/schedule:")
    elif view.status == "running":
        st.info(f"{view.label} is running.{said}", icon=":material/progress_activity:")
    elif view.status == "succeeded":
        st.success(
            f"{view.label} finished at {wording.moment(view.finished_at)}.{said}",
            icon=":material/check_circle:",
        )
    else:
        st.error(
            f"{view.label} failed at {wording.moment(view.finished_at)}.{said}",
            icon=":material/error:",
        )
    st.caption(f"Job ID `{view.id}`")


with st.container(border=True):
    st.markdown("**Start a job**")
    cols = st.columns(4)
    started: str | None = None
    if cols[0].button("Sync account changes", icon=":material/sync:", key="jobs_sync"):
        started = runtime.call(jobs.start_account_sync, actor)
    if cols[1].button("Full account sync", icon=":material/cloud_download:", key="jobs_full"):
        started = runtime.call(jobs.start_account_sync, actor, full=True)
    if cols[2].button("Sync intents", icon=":material/insights:", key="jobs_intents"):
        started = runtime.call(jobs.start_intent_sync, actor)
    if cols[3].button("Check all ownership", icon=":material/badge:", key="jobs_owners"):
        started = runtime.call(jobs.start_ownership_check_all, actor)
    more = st.columns(4)
    if more[0].button(
        "Sync transactions",
        icon=":material/receipt_long:",
        key="jobs_txns",
        help="Every account subscribed to transactions, page by page at the Stripe rate that every "
        "process shares.",
    ):
        started = runtime.call(jobs_daily.start_transaction_sync, actor)
    if more[1].button(
        "Refresh tomorrow's debits",
        icon=":material/account_balance:",
        key="jobs_nightly",
        help="Balance refreshes of the accounts in the last batch check (the nightly job, now). "
        + (
            f"Scheduled daily at {app.settings.nightly_refresh_hour:02d}:00 UTC."
            if app.settings.nightly_refresh_hour >= 0
            else "Not scheduled: set FCOPS_NIGHTLY_REFRESH_HOUR to run it every night."
        ),
    ):
        started = runtime.call(jobs_daily.start_nightly_refresh, actor)
    if started:
        st.session_state[STARTED] = started
    if st.session_state.get(STARTED):
        started_note()

shown = st.segmented_control(
    "Show", list(FILTERS), format_func=lambda k: FILTERS[k], default="all", key="jobs_filter"
)


@st.fragment(run_every=2.0)
def board() -> None:
    counts = runtime.call(jobs.queue_counts, actor) or {}
    hooks = runtime.call(webhooks.status, actor)
    top = st.columns(5)
    top[0].metric("Running", counts.get("running", 0))
    top[1].metric("Queued", counts.get("queued", 0))
    top[2].metric("Failed", counts.get("failed", 0))
    last = hooks.last_received_at if hooks else None
    kind = f"; type: {hooks.last_type}" if hooks and hooks.last_type else ""
    top[3].metric(  # an age fits the tile; the full time (and the type) is in its help
        "Last webhook",
        wording.ago(received_age(last)) if last else "—",
        help=f"Received {when(last)}{kind}" if last else None,
    )
    top[4].metric(
        "Event backlog",
        hooks.backlog if hooks else 0,
        help="Events received and not yet applied"
        + (f"; {hooks.failed} failed" if hooks and hooks.failed else ""),
    )
    listed = runtime.call(jobs.recent_jobs, actor, limit=200) or []
    if shown == "active":
        listed = [j for j in listed if j.active]
    elif shown == "failed":
        listed = [j for j in listed if j.status == "failed"]
    elif shown == "retried":
        listed = [j for j in listed if j.attempts > 1]
    st.subheader("Jobs")
    if not listed:
        st.caption("No jobs yet." if shown in (None, "all") else "No job matches.")
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Job": j.label,
                        "Status": STATUS_LABELS.get(j.status, j.status),
                        "Progress": 1.0
                        if j.status == "succeeded"
                        else job_progress.fraction(j.done, j.total),
                        "Message": j.error or j.message or "",
                        "Started by": j.actor,
                        "Queued": utc_time(j.created_at),
                        "Finished": utc_time(j.finished_at),
                        "Runs": j.attempts,
                        "ID": j.id,
                    }
                    for j in listed
                ]
            ),
            hide_index=True,
            placeholder="—",
            width="stretch",
            column_config={
                "Progress": st.column_config.ProgressColumn("Progress", min_value=0, max_value=1),
                "Message": st.column_config.TextColumn("Message", width="large"),
                "Runs": st.column_config.NumberColumn(
                    "Runs", help="More than 1: the job was resumed after a crash or restart"
                ),
                "Queued": time_column("Queued (UTC)"),
                "Finished": time_column("Finished (UTC)"),
            },
        )
    events = runtime.call(webhooks.recent_events, actor, 50) or []
    st.subheader("Webhook events")
    if not events:
        st.caption(
            "No webhook event received yet. Stripe sends them to POST /webhooks/stripe "
            "(see the README for registering the endpoint)."
        )
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Event": e.id,
                        "Type": e.type,
                        "Status": e.status,
                        "Deliveries": e.deliveries,
                        "Received": utc_time(e.received_at),
                        "Applied": utc_time(e.processed_at),
                        "Error": e.error or "",
                    }
                    for e in events
                ]
            ),
            hide_index=True,
            placeholder="—",
            width="stretch",
            # What happened first, the event's ID (copyable) after it.
            column_order=["Type", "Status", "Deliveries", "Received", "Applied", "Error", "Event"],
            column_config={
                "Received": time_column("Received (UTC)"),
                "Applied": time_column("Applied (UTC)"),
            },
        )


board()
