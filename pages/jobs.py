"""Jobs (admin): background work and webhooks, as every replica sees them.

Jobs are DBOS workflows (services/usecases/jobs.py); their progress lives in the store, so this
page shows the same thing on any tab or replica and refreshes itself every few seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from components.literal import literal
from components.table_columns import time_column
from pages import _job_link as job_link
from pages import _live as live
from pages import _runtime as runtime
from services.rules import job_progress, wording
from services.rules.table_values import utc_time
from services.rules.wording import counted
from services.usecases import jobs, jobs_daily, jobs_retry, webhooks

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
    "resumed": "Resumed after a restart",
    "tried_again": "Tried again",
}
RUNS_HELP = (
    "How many times the job's process ran it: more than 1 means it was resumed after a crash or "
    "restart, where it had stopped. A job a person tried again is a new job (its ID ends in "
    "-retry1, -retry2 …): the “Tried again” filter lists those."
)


def failed_help(tried_again: int) -> str:
    """The Failed tile counts the failures that still need someone; the ones tried again are
    handled (their retry is listed, and counted here if it fails in turn)."""
    more = (
        f" {counted(tried_again, 'other failed job')} "
        f"{'was' if tried_again == 1 else 'were'} tried again: the “Tried again” filter lists "
        "them with their retries." if tried_again else ""
    )
    return f"Failed jobs no one has tried again, in all (the table lists the newest {LISTED}).{more}"


def unlisted_note(failed: int, listed: int) -> str | None:
    """Under the table when the tile counts failures older than the jobs it lists."""
    if failed <= listed:
        return None
    return (
        f"{counted(failed, 'failed job')} in all {'needs' if failed == 1 else 'need'} someone; "
        f"the table shows the newest "
        f"{LISTED} jobs, with {f'{listed:,}' if listed else 'none'} of them."
    )


def message(view: jobs.JobView, retry: jobs.JobView | None) -> str:
    """A job's message; a failed job tried again says first what became of its retry (before
    the retry's long ID: the column is narrow)."""
    said = view.error or view.message or ""
    if retry is None:
        return said
    became = STATUS_LABELS.get(retry.status, retry.status).lower()
    return f"Tried again: {became} ({retry.id})" + (f" · this run failed: {said}" if said else "")


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "—"


def received_age(moment: datetime) -> float:
    """Seconds since ``moment`` (naive datetimes from the store are UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - aware).total_seconds())


LISTED = 200  # jobs in the table, newest first (the tiles count the whole store)
STARTED = "jobs_started"  # the job last started on this page in this session
PRESSED = "jobs_pressed"  # the failed job whose Try again answered with STARTED
DRAWN = "jobs_retry_drawn"  # the failed job a Try again being pressed was drawn for
SHORT_TIME = "MM-DD HH:mm"  # the list holds recent jobs: the year would only take room
ID_HELP = (
    "The job's whole ID (intents.sync-…), its end in view: the Job column names its kind. The "
    "table's search finds a pasted ID, a copied cell is the whole ID, and Audit log's “Target "
    "contains” finds the job's entries by it."
)
JOB_COLUMNS = {  # what matters first; the ID (to copy) last
    "Job": st.column_config.TextColumn("Job", width=140),
    "Status": st.column_config.TextColumn("Status", width=72),
    # In percent, written "40 %" as wording.percent writes shares (0–1 drew Streamlit's "40%")
    "Progress": st.column_config.ProgressColumn(
        "Progress", min_value=0, max_value=100, format="%d %%", width=76
    ),
    "Message": st.column_config.TextColumn("Message", width=156),
    "Finished": st.column_config.DatetimeColumn(
        "Finished", format=SHORT_TIME, timezone="UTC", width=86, help="UTC"
    ),
    "Queued": st.column_config.DatetimeColumn(
        "Queued", format=SHORT_TIME, timezone="UTC", width=86, help="UTC"
    ),
    "Started by": st.column_config.TextColumn("Started by", width=66),
    "Runs": st.column_config.NumberColumn("Runs", help=RUNS_HELP, width=44),
    # The whole ID (the search box matches the text a cell draws: "intents.sync-…" pasted from
    # a job's note or Audit log found nothing when the cell left the kind out), drawn from its
    # end: the start repeats the Job column, the end tells the runs of one job apart.
    "ID": st.column_config.TextColumn("ID", width=212, help=ID_HELP, alignment="right"),
}


def progress_percent(job: jobs.JobView) -> int | None:
    """The Progress cell: how far the job got in whole percent (a finished job 100, a running
    one at most 99), None without a bar (no total to measure against)."""
    share = 1.0 if job.status == "succeeded" else job_progress.fraction(job.done, job.total)
    return None if share is None else round(share * 100)


def try_again(job_id: str) -> None:
    """Start the failed job again (the service checks the role and audits) and follow the new
    one in the note."""
    started = runtime.call(jobs_retry.retry_job, actor, job_id)
    if started:
        st.session_state[STARTED] = started
        st.session_state[PRESSED] = job_id
        job_link.forget(job_id)
        st.rerun()


def pressed_on(job_id: str) -> None:
    """The job a Try again was drawn for (the button's callback): the run the press starts draws
    the list anew, and when another admin's retry went through since, the picker's box no longer
    holds that job (it moved to the first one offered, which the press then tried again)."""
    st.session_state[DRAWN] = job_id


def drawn_for(job_id: str) -> str:
    """The job the pressed Try again was drawn for (``job_id``, the one drawn now, without)."""
    return str(st.session_state.pop(DRAWN, None) or job_id)


def try_again_button(view: jobs.JobView, key: str) -> None:
    """'Try again' for a failed job, or the sentence saying why it cannot be tried from here."""
    why = jobs_retry.why_not_retried(view)
    if why:
        st.caption(why)
    elif st.button("Try again", icon=":material/replay:", key=key, help=RETRY_HELP,
                   on_click=pressed_on, args=(view.id,)):  # fmt: skip
        try_again(drawn_for(view.id))


RETRY_HELP = "Starts the same job with the same inputs again, as you; the failed one stays listed."


@live.fragment(run_every=2.0)
def started_note() -> None:
    """The job started here, named as the list names it, in the state it is in now: "queued"
    belongs to the moment of queueing, not to a job that has run since."""
    job_id = st.session_state.get(STARTED)
    view = runtime.call(jobs.job_of, actor, job_id) if job_id else None
    if view is None:
        return
    taker = runtime.call(jobs_retry.retried_as, actor, view.id) if view.status == "failed" else None
    if taker is not None:  # another admin (or tab) tried it again: follow that, offer no 2nd try
        failed, view = view, taker
        st.caption(f"{failed.label} failed; {taker.actor or 'someone'} tried it again.")
    pressed, tried = st.session_state.get(PRESSED), (view.params or {}).get("retry_of")
    if pressed and tried and pressed != tried and view.id == job_id:  # a stale Try again
        st.caption(jobs_retry.failed_too(view.label, pressed, str(tried), view.id))
    text = (view.error or view.message or "").strip()
    said = f" {job_progress.as_sentence(text)}" if text else ""
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
    if view.status == "failed":
        try_again_button(view, "jobs_note_retry")


def failed_picker(failed: list[jobs.JobView]) -> None:
    """Any failed job in the list, picked by name and time, tried again with one button."""
    by_id = {j.id: j for j in failed}
    cols = st.columns([4, 1], vertical_alignment="bottom")
    picked = cols[0].selectbox(
        "Failed job to try again",
        list(by_id),
        format_func=lambda i: f"{by_id[i].label} · failed {when(by_id[i].finished_at)} · {i}",
        key=job_link.PICK,
        on_change=job_link.on_pick,
    )
    view = by_id.get(picked) if picked else None
    if view is None:
        return
    why = jobs_retry.why_not_retried(view)
    if cols[1].button(
        "Try again", icon=":material/replay:", key="jobs_retry", disabled=bool(why),
        help=why or RETRY_HELP, width="stretch", on_click=pressed_on, args=(view.id,),
    ):
        try_again(drawn_for(view.id))
    reason = job_progress.as_sentence(view.error or view.message or "")
    st.caption(why or f"Why it failed: {reason}")


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
        st.session_state.pop(PRESSED, None)
    if st.session_state.get(STARTED):
        started_note()

SHOW, SHOWN_SEEN = "jobs_filter", "jobs_address"  # the list shown; the ?show= last read or written


def follow_address() -> None:
    """The list the URL's ``?show=`` names (``?show=failed``), when it changed since this session
    last read or wrote it (a link, a reload, a new tab, Back or Forward): a reload showed every
    job again."""
    moved, wanted = runtime.address_change(SHOWN_SEEN, "show", limit=40)
    if not moved:
        st.session_state.setdefault(SHOW, "all")
        return
    if wanted is not None and wanted not in FILTERS:
        runtime.linger("jobs_show", f"The address names a list fcops does not know "
                       f"({literal(wanted)}); showing all jobs.")  # fmt: skip
        wanted = None
    st.session_state[SHOW] = wanted or "all"


def on_show() -> None:
    """The admin picked a list: it goes into the URL (one history entry; Back returns)."""
    shown = st.session_state.get(SHOW)
    runtime.keep_in_address(SHOWN_SEEN, None if shown in (None, "all") else shown, "show")


follow_address()
job_link.follow_address()
runtime.lingering("jobs_show")
shown = st.segmented_control(
    "Show", list(FILTERS), format_func=lambda k: FILTERS[k], key=SHOW, on_change=on_show
)


@live.fragment(run_every=2.0)
def board() -> None:
    counts = runtime.call(jobs.queue_counts, actor) or {}
    hooks = runtime.call(webhooks.status, actor)
    top = st.columns(5)
    top[0].metric("Running", counts.get("running", 0))
    top[1].metric("Queued", counts.get("queued", 0))
    top[2].metric("Failed", counts.get("failed", 0), help=failed_help(counts.get("tried_again", 0)))
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
    everything = runtime.call(jobs.recent_jobs, actor, limit=LISTED) or []
    # failed jobs a retry took over (also by a job the table does not list)
    again = runtime.call(jobs_retry.tried_again_listed, actor, everything) or {}
    takers = {j.id for j in again.values()}  # retries, and running jobs that answered one
    # A failed job that a retry took over is not offered again (its retry, if it failed, is).
    failed = [j for j in everything if j.status == "failed" and j.id not in again]
    listed = everything
    if shown == "active":
        listed = [j for j in listed if j.active]
    elif shown == "failed":
        listed = failed
    elif shown == "resumed":
        listed = [j for j in listed if j.attempts > 1]
    elif shown == "tried_again":
        listed = [
            j for j in listed if (j.params or {}).get("retry_of") or j.id in again or j.id in takers
        ]
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
                        "Progress": progress_percent(j),
                        "Message": message(j, again.get(j.id)),
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
            # Widths that fit the page at 1,400 px beside the sidebar (it was wider than the
            # page: Finished, Runs and the ID were off-screen), the ID's readable part too. A
            # long message shows in full when its cell is clicked, and a failed job's under
            # "Failed job to try again".
            column_order=list(JOB_COLUMNS),
            column_config=JOB_COLUMNS,
        )
    note = unlisted_note(counts.get("failed", 0), len(failed))
    if note:
        st.caption(note)
    job_link.take_linked({j.id for j in failed})
    if failed:
        failed_picker(failed)
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
