"""Batch check (finance, admin): a CSV of planned debits in, a verdict for every row out.

Bad rows (unknown ID, bad amount, wrong currency, missing cell) get their own error and the
other rows are still checked. The check runs as a background job (services/usecases/jobs.py):
leaving the page or closing the tab does not stop it, and its result is here on the next visit.
It refreshes only stale (or never fetched) balances Stripe allows now, and keeps under Stripe's rate limit.
"""

from __future__ import annotations

import hashlib
import time

import streamlit as st

from components.charts import VERDICT_LABELS, verdict_chart
from components.feedback import format_age, format_timestamp
from components.money import format_money, metric_money
from pages import _batch_rows as rows_view
from pages import _live as live
from pages import _person as person
from pages import _runtime as runtime
from services.rules import batch_result
from services.rules.debit_csv import BatchFileError, PlannedDebit, RowError, parse_debits_csv
from services.rules.wording import counted
from services.usecases import check_batch, check_debit, jobs, jobs_retry

actor = runtime.guard("balances.check")
runtime.page_header(
    "Batch check",
    "Upload the debits you plan to send and see, row by row, which ones the latest balances "
    "cover, and how much money is at risk.",
)
app = runtime.get_app()
svc = app.services
RESULT = "batch_check_result"
RESULT_AT = "batch_check_result_at"
FAILED = "batch_check_failed"
JOB = "batch_check_job"
FOLLOW = "batch_check_follow"  # the job this session waits for
INPUT_NOW = "batch_check_input"  # a digest of the file or text given now (None: nothing given)
RESULT_INPUT = "batch_check_result_input"  # the digest of the input the result was run on
SOURCE_NOW = "batch_check_source"  # the file name given now ("the pasted text")
RESULT_SOURCE = "batch_check_result_source"  # the file name the result (or running job) is of
# (also kept with the job, so a reload or a new tab names it too: JobView.source)
RETRY_LOOK_SECONDS = 3.0  # how often a failure on screen looks for someone's Try again
WAIT_SECONDS = 8.0  # a small batch is shown at once; a bigger one is followed in the background
TEMPLATE = (
    "id,amount,currency,reference\n"
    "fca_1234567890abcdef,125.00,usd,Invoice 1001\n"
    "pm_1234567890abcdef,89.90,usd,Invoice 1002\n"
    "cus_1234567890abcdef,1200.00,usd,Rent March\n"
)
LABELS = VERDICT_LABELS  # the chart and the table use the same words

with st.expander("CSV format", icon=":material/description:"):
    st.markdown(
        "- **id** (or **account** / **payment_method** / **customer**): whom to debit, an "
        "`fca_…` (bank account), `pm_…` (payment method) or `cus_…` (customer) ID. A customer "
        "is checked against their best eligible account. PaymentIntent (`pi_…`), SetupIntent "
        "(`seti_…`) and payment (`py_…` or `ch_…`) IDs are refused: each is one more Stripe "
        "look-up to find its account, so check those one at a time on the Balance check page.\n"
        "- The IDs are looked up at Stripe when the batch runs: one Stripe does not know is "
        "an error in the result, not before.\n"
        "- **amount** in dollars and cents with a dot as the decimal mark, e.g. `125.00` or "
        "`1,250.00` (not `1.250,00`).\n"
        "- **currency** (optional, default USD) and **reference** (optional, kept in the result).\n"
        "- The header row is required; other columns are ignored."
    )
    st.download_button(
        "Download template",
        TEMPLATE,
        file_name="planned-debits-template.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key="batch_template",
    )

uploaded = st.file_uploader("Planned debits (CSV)", type=["csv", "txt"], key="batch_file")
pasted = st.text_area(
    "…or paste CSV text",
    key="batch_text",
    height=120,
    placeholder="id,amount,currency\nfca_…,125.00,usd",
)
refresh_stale = st.checkbox(
    "Refresh stale balances",
    key="batch_refresh",
    help="Refresh balances older than the policy allows, and fetch those never fetched, where "
    "Stripe allows a refresh now, and wait for the bank before judging them. Takes longer.",
)


def digest(data: bytes | str) -> str:
    return hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest()


@st.cache_data(max_entries=4, show_spinner=False)
def parse(data: bytes | str) -> tuple[list[PlannedDebit], list[RowError]]:
    """The file read once per content, not on every rerun (50,000 rows take about a second)."""
    return parse_debits_csv(data)


def read_input() -> tuple[list[PlannedDebit], list[RowError]] | None:
    """The planned debits in the upload (or the pasted text), read as soon as they are given.

    Says what was read, or why the file cannot be used, so the operator sees it before running.
    """
    data: bytes | str | None = uploaded.getvalue() if uploaded is not None else None
    if uploaded is not None and not (data or b"").strip():
        # A file is given, so the last result (of another input) is put aside under its error.
        st.session_state[INPUT_NOW] = digest(data or b"")
        st.error(
            f"The file {uploaded.name} is empty. It needs a header row (id,amount,currency) and "
            "one row per debit; download the template above for an example.",
            icon=":material/error:",
        )
        return None
    if not data and pasted.strip():
        data = pasted
    st.session_state[INPUT_NOW] = digest(data) if data else None
    if not data:
        return None
    try:
        planned, bad = parse(data)
    except BatchFileError as err:
        st.error(f"The file cannot be used: {err}", icon=":material/error:")
        return None
    source = uploaded.name if uploaded is not None else "The pasted text"
    st.session_state[SOURCE_NOW] = uploaded.name if uploaded is not None else "the pasted text"
    totals: dict[str, int] = {}
    for debit in planned:
        totals[debit.currency] = totals.get(debit.currency, 0) + debit.amount
    st.caption(
        f":material/task: Ready: {source} has {counted(len(planned) + len(bad), 'row')}, "
        f"{len(planned):,} to check for {money_lines(totals)} (their IDs are looked up at "
        "Stripe when it runs, so an unknown one is an error then)"
        + (f"; {len(bad):,} with problems (listed after the run)" if bad else "")
        + "."
    )
    return planned, bad


def money_lines(by_currency: dict[str, int]) -> str:
    if not by_currency:
        return format_money(0, "usd")
    return " + ".join(format_money(v, c) for c, v in sorted(by_currency.items()))


parsed = read_input()
# Always enabled: a pasted text reaches the script only when its box loses focus, which is the
# click on this button itself, so a button disabled until then would swallow that first click.
run = st.button(check_debit.RUN_BATCH, type="primary", icon=":material/play_arrow:", key="batch_run")


def run_batch(planned: list[PlannedDebit], bad: list[RowError]) -> None:
    """Start the check as a background job; small batches usually finish while we wait."""
    job_id = runtime.call(
        jobs.start_batch_check,
        actor,
        planned,
        bad,
        refresh_stale=refresh_stale,
        rate=app.settings.rate_limit,
        source=st.session_state.get(SOURCE_NOW),
    )
    if job_id is None:
        return
    st.session_state[JOB] = job_id
    # Followed from here on: leaving the page during the wait below stops this script run, and
    # the next visit must still find the job (it used to find neither a job to follow nor a
    # result, and showed an empty form that invited running the batch again).
    st.session_state[FOLLOW] = job_id
    st.session_state[RESULT_INPUT] = st.session_state.get(INPUT_NOW)
    st.session_state[RESULT_SOURCE] = st.session_state.get(SOURCE_NOW)
    st.session_state.pop(RESULT, None)
    deadline = time.monotonic() + WAIT_SECONDS
    bar = st.progress(0.0, text="Starting…")
    while time.monotonic() < deadline:
        view = jobs.job_of(actor, job_id)
        if view is None or not view.active:
            break
        bar.progress(_fraction(view), text=view.message or "Queued…")
        time.sleep(0.2)
    bar.empty()
    if collect(job_id):
        st.session_state.pop(FOLLOW, None)  # done while we waited; else the fragment follows it


def _fraction(view: jobs.JobView) -> float:
    total = view.total or 0
    return min(1.0, view.done / total) if total else 0.0


def collect(job_id: str) -> bool:
    """Put a finished job's result on the page; True when the job is done (either way)."""
    view = jobs.job_of(actor, job_id)
    if view is None or view.active:
        return False
    if view.status == "failed":
        st.session_state[FAILED] = view.error or "The batch check failed."
        return True
    result = runtime.call(jobs.batch_result, actor, job_id)
    if result is not None:
        st.session_state[RESULT] = result
        finished = view.finished_at
        st.session_state[RESULT_AT] = int(finished.timestamp()) if finished else None
    return True


@live.fragment(run_every=1.0)
def follow() -> None:
    """While the job runs: its progress from the store, refreshed every second."""
    job_id = st.session_state.get(FOLLOW)
    view = jobs.job_of(actor, job_id) if job_id else None
    if view is None:
        return
    if not view.active:
        st.session_state.pop(FOLLOW, None)
        collect(view.id)
        st.rerun()  # the whole page, to show the result
    rows = view.total
    st.progress(_fraction(view), text=view.message or "Queued…")
    name = st.session_state.get(RESULT_SOURCE)
    st.caption(
        ":material/cloud_sync: The check"
        + (f" of {name}" if name else "")
        + (f" ({rows:,} rows)" if rows else "")
        + " runs in the background: you can leave this page or close the tab; its result will be "
        "here when you come back."
    )


if run:
    if parsed is not None:  # a click with nothing to check leaves the last batch as it is
        for key in (RESULT, FAILED, FOLLOW, RESULT_SOURCE):
            st.session_state.pop(key, None)
        run_batch(*parsed)
    elif uploaded is None and not pasted.strip():
        st.warning("Upload a CSV file or paste CSV text first.", icon=":material/upload_file:")

if JOB not in st.session_state:
    # A new visit (another tab, after a reload or a restart): pick up this person's last batch.
    mine = runtime.call(jobs.recent_jobs, actor, kinds=["balances.batch_check"], mine=True, limit=1)
    if mine:
        st.session_state[JOB] = mine[0].id
        st.session_state[RESULT_SOURCE] = mine[0].source  # kept with the job: "of batch.csv"
        if not collect(mine[0].id):
            st.session_state[FOLLOW] = mine[0].id
elif not any(k in st.session_state for k in (RESULT, FAILED, FOLLOW)) and not collect(
    st.session_state[JOB]
):
    # This session's job with nothing shown for it (a run stopped before it could say): follow it.
    st.session_state[FOLLOW] = st.session_state[JOB]
if FAILED in st.session_state and JOB in st.session_state:
    # This person's batch failed and someone tried it again (an admin's Try again on the Jobs
    # page runs as the admin, so it is not "mine"): follow that retry, not the failure.
    retry = runtime.call(jobs_retry.retried_as, actor, st.session_state[JOB])
    if retry is not None:
        st.session_state[JOB] = retry.id
        st.session_state.pop(FAILED, None)
        if not collect(retry.id):
            st.session_state[FOLLOW] = retry.id
retried = runtime.call(jobs_retry.tried_again_for, actor, st.session_state.get(JOB) or "")
if retried is not None:  # the job shown is someone's Try again of this person's batch
    who = "you" if retried.actor == actor.username else retried.actor
    st.caption(f":material/replay: Your batch check failed; {who} tried it again as "
               f"`{retried.id}`, shown here.")
if RESULT in st.session_state and parsed is None:
    # Back on the page (the form is empty again): say which batch the result below is.
    name = st.session_state.get(RESULT_SOURCE)
    st.info(
        f"Showing your last batch check{f' ({name})' if name else ''}, finished "
        f"{format_timestamp(st.session_state.get(RESULT_AT))}.",
        icon=":material/history:",
    )
follow()


@live.fragment(run_every=RETRY_LOOK_SECONDS)
def look_for_a_retry(job_id: str) -> None:
    """While the failure shows: someone may try it again from Jobs (an admin's Try again runs
    as the admin). The page showed the failure until a reload; it now turns to the retry."""
    if runtime.call(jobs_retry.retried_as, actor, job_id) is not None:
        st.rerun(scope="app")  # the page run above takes the retry up and follows it


if FAILED in st.session_state:
    st.error(f"The batch check did not finish: {st.session_state[FAILED]}", icon=":material/error:")
    if JOB in st.session_state:
        look_for_a_retry(st.session_state[JOB])


# -- the result ----------------------------------------------------------------------------


def summary(result: batch_result.BatchResult) -> None:
    s = result.summary()
    st.subheader("Summary")
    top = st.columns(4)
    top[0].metric("Rows", f"{s.rows:,}")
    top[1].metric("Checked", f"{s.checked:,}")
    top[2].metric("Errors", f"{s.errors:,}")
    at_risk, exactly = metric_money(s.at_risk)  # "$100.0M" where "$99,999,999.00" was cut
    top[3].metric(
        "Money at risk",
        at_risk,
        help=(f"{exactly} " if exactly else "")
        + "Insufficient + stale + unavailable rows: debits the balances do not vouch for. "
        "Rows with errors are not included.",
    )
    cols = st.columns(4)
    for col, verdict in zip(cols, batch_result.VERDICTS, strict=True):
        col.metric(
            LABELS[verdict],
            f"{s.counts[verdict]:,}",
            help=f"Total {money_lines(s.amounts[verdict])}",
        )
    if s.unchecked:
        unread = s.unread_said()
        st.caption(
            f":orange[:material/help: A further {money_lines(s.unchecked)} is in the "
            f"{counted(s.unchecked_rows, 'row')} that could not be checked "
            "(see the problems below); "
            "nothing vouches for it either." + (f" {unread}" if unread else "") + "]"
        )
    policy_caption(result)
    st.caption(
        checked_words(result.checked_at)
        + f"{counted(s.refreshed, 'balance')} refreshed · {counted(s.requests, 'Stripe request')}"
        + (f" · slowed down {result.rate_limited}× by Stripe" if result.rate_limited else "")
    )
    if why := s.unrefreshed_words():  # else Stale 5 beside "0 refreshed" said nothing of why
        st.caption(f":orange[:material/sync_problem: {why}]")
    st.altair_chart(verdict_chart(s.counts), width="stretch")


def checked_words(checked_at: int | None) -> str:
    """'Checked 2026-12-06 10:12 UTC (5 min ago) · ': when the reasons' times were true."""
    if not checked_at:
        return ""
    age = int(svc.now()) - checked_at
    return f"Checked {format_timestamp(checked_at)} ({'just now' if age < 60 else format_age(age) + ' ago'}) · "


def policy_caption(result: batch_result.BatchResult) -> None:
    """The one policy every row was judged by, and whether a newer one applies to the next run."""
    st.caption(f":material/policy: {result.policy_text} applied to every row.")
    now = runtime.call(check_batch.policy_in_force, svc, actor)
    if now is not None and now.version != result.policy_version:
        st.caption(
            f":material/update: The debit policy has changed since (version {now.version}): "
            "it applies to the next batch check. Run this file again to judge it by the new one."
        )


result = st.session_state.get(RESULT)
given = st.session_state.get(INPUT_NOW)
if result is not None and given is not None and given != st.session_state.get(RESULT_INPUT):
    # Another file or text is given (a restored result's input is not known): the last result
    # under it would be read as this file's.
    result = None
    st.caption(
        ":material/info: The last result is put aside while another file is given: run the "
        "batch check for this one, or remove it to see the last result again."
    )
if isinstance(result, batch_result.BatchResult):
    frame = result.to_frame()
    summary(result)
    rows_view.errors(frame)
    rows_view.table(frame, st.session_state.get(JOB, ""))
    st.download_button(
        "Download results (CSV)",
        # built (and audited as balances.batch_export) on the click
        person.on_click(check_batch.results_csv, svc, actor, result),
        file_name=result.file_name,
        mime="text/csv",
        type="primary",
        icon=":material/download:",
        on_click="ignore",  # a rerun would drop the file before the browser fetched it
        key="batch_download",
    )
