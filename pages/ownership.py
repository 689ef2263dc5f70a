"""Ownership review: do the bank's owners of a linked account match the Stripe customer?

"Check an account" compares one account (by ID, or picked from the review list); "Review list"
shows stored mismatches and partial matches and can check every account at once.
``?account=fca_…`` opens an account directly; ``?account=cus_…`` is looked up as the box looks
it up (the customer's one account opened, or their accounts to pick from).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from components import refresh_watch
from components.feedback import format_timestamp
from components.literal import person_line, plain
from components.pager import current_page, pager
from components.search_row import search_row
from components.table_columns import ids_last, time_column
from components.url_sort import url_sort
from pages import _follow as follow
from pages import _ownership_report as shown
from pages import _refresh as refresh
from pages import _runtime as runtime
from services.rules import bank_account, refresh_rule, wording
from services.rules.owners.views import VERDICTS, OwnershipReport, ReviewRow
from services.rules.people import Person, person_words
from services.rules.table_values import utc_time
from services.rules.wording import counted
from services.usecases import jobs
from services.usecases import review_ownership as orv

actor = runtime.guard("ownership.review")
app = runtime.get_app()
svc = app.services
PAGE = "Ownership review"  # what a refused ID is "not a Stripe ID … accepts" of
runtime.page_header(
    PAGE,
    "Compare the owners the bank reports for a linked account with the Stripe customer: name, "
    "email, phone and address, each scored from 0 to 100.",
)
follow.accounts_first_sync(svc, actor)  # a fresh store: the sync is a job it follows

CHECK, REVIEW = "Check an account", "Review list"
VIEW = "own_view"
ACCOUNT = "own_account"
REPORTS = "own_reports"  # {account_id: OwnershipReport}
OUTCOME = "own_outcome"  # {account_id: refresh status}
PAGE_KEY = "own_page"  # (filters and order, page) of the review list
PENDING = "Ownership refresh pending at the bank…"

ADDRESS = "own_address"  # the ?account= this session last read or wrote
HOME = "own_home"  # the view the URL without ?account= shows: where the person chose from
LOOKUP = "own_lookup"  # the address's cus_…, looked up on this run as if typed in the box


def choose(account_id: str | None) -> None:
    """The person's choice goes into the URL, a browser history entry: Back shows what was
    shown before (from the first one, the view they chose it from), Forward this again."""
    if "account" not in st.query_params:
        st.session_state[HOME] = st.session_state.get(VIEW, CHECK)
    runtime.keep_in_address(ADDRESS, account_id)


def open_account(account_id: str) -> None:
    """Show ``account_id`` in the check view on the next run (widgets cannot change mid-run)."""
    choose(account_id)
    st.session_state["own_pending"] = account_id
    st.rerun()


runtime.drop_overlong_id("account", "own_account_long", "enter the account below.")
moved, linked = runtime.address_change(ADDRESS)  # a link, a reload, Back or Forward
if moved:  # the URL is the truth: its account, or none chosen
    for key in ("own_choices", "own_choice", ACCOUNT):
        st.session_state.pop(key, None)
    st.session_state["own_id_input"] = linked or ""
    st.session_state[VIEW] = CHECK if linked else st.session_state.get(HOME, CHECK)
    if linked and linked.startswith("cus_"):  # a customer: looked up by the box's own path
        st.session_state[LOOKUP], linked = linked, None
pending = st.session_state.pop("own_pending", None) or linked
if pending:
    st.session_state[ACCOUNT] = pending
    st.session_state["own_id_input"] = pending
    st.session_state[VIEW] = CHECK


# --------------------------------------------------------------------------- check one account


def account_from_input(text: str) -> str | None:
    """An fca_ ID as typed, or the account behind a PI/SI/PM/customer ID; None for a blank box
    (the page's own line asks for an ID: one sentence, not that and an error)."""
    if not (text or "").strip():
        return None
    pick = runtime.call_stripe(
        "Looking the ID up in Stripe…", orv.find_account, svc, actor, text, what=PAGE
    )
    if pick is None or pick.account_id:
        return pick.account_id if pick else None
    if pick.choices:
        st.session_state["own_choices"] = list(pick.choices)
        st.session_state["own_choice_labels"] = dict(zip(pick.choices, pick.labels, strict=False))
        return None
    st.warning("That ID leads to no linked bank account.", icon=":material/info:")
    if pick.message:  # may name the customer (an email): text, as every page names people
        person_line(pick.message)
    return None


def account_picker() -> str | None:
    text, submitted = search_row(
        "own_pick",
        "Account",
        placeholder="fca_… (or a pi_, py_, ch_, seti_, pm_ or cus_ ID that leads to one)",
        key="own_id_input",
        button="Check",
    )
    asked = st.session_state.pop(LOOKUP, None)  # the URL says it already: not written again
    if submitted or asked:
        st.session_state.pop("own_choices", None)
        st.session_state.pop(ACCOUNT, None)
        chosen = account_from_input(text)
        if chosen:
            st.session_state[ACCOUNT] = chosen
            st.session_state.get(REPORTS, {}).pop(chosen, None)  # a new check was asked for
        if submitted:
            choose(chosen)
    choices = st.session_state.get("own_choices")
    if choices:
        words: dict[str, str] = st.session_state.get("own_choice_labels") or {}
        picked = st.selectbox(
            "The customer has several accounts; pick one",
            choices,
            index=None,
            format_func=lambda i: words.get(i, i),
            key="own_choice",
        )
        if picked and picked != st.session_state.get(ACCOUNT):
            st.session_state[ACCOUNT] = picked
            choose(picked)
    return st.session_state.get(ACCOUNT)


def report_for(account_id: str) -> OwnershipReport | None:
    reports: dict[str, OwnershipReport] = st.session_state.setdefault(REPORTS, {})
    if account_id not in reports:
        report = runtime.call_stripe(
            "Reading the account's owners and the customer from Stripe…",
            orv.check_account, svc, actor, account_id, what=PAGE,
        )
        if report is None:
            return None
        reports[account_id] = report
    return reports[account_id]


def start_refresh(account_id: str) -> bool:
    scope, payload = f"own-refresh-{account_id}", {"account": account_id}
    return refresh.start(
        scope, payload, account_id, "ownership", orv.refresh_ownership, svc, actor, account_id
    )


def refresh_finished(account_id: str, state: bank_account.RefreshState | None) -> None:
    st.session_state.setdefault(OUTCOME, {})[account_id] = state.status if state else None
    st.session_state.get(REPORTS, {}).pop(account_id, None)  # check the new owners


def refresh_controls(report: OwnershipReport) -> None:
    account_id = report.account_id
    running = refresh_watch.watching(account_id, "ownership") or report.refresh_status == "pending"
    if report.stored is not None and running:  # a poll that cannot read Stripe would loop
        st.info(report.stored.refresh_sentence("ownership"), icon=":material/hourglass_top:")
        running = False
    reason = (
        "An ownership refresh is running at the bank; the owners are checked again when it "
        "finishes." if running else report.refresh_blocker
    )
    left, mid, right = st.columns([1, 1, 2], vertical_alignment="center")
    if left.button(
        refresh_rule.refresh_button("ownership"),
        icon=":material/refresh:",
        disabled=reason is not None,
        help=reason or "Ask the bank, through Stripe, for the current owners.",
        key="own_refresh",
        width="stretch",
    ) and start_refresh(account_id):
        st.rerun()
    if mid.button("Check again", icon=":material/rule:", key="own_recheck", width="stretch"):
        st.session_state.get(REPORTS, {}).pop(account_id, None)
        st.rerun()
    right.caption(
        reason
        or f"Last ownership refresh: {report.refresh_status or 'never'} "
        f"({format_timestamp(report.refreshed_at)})"
    )
    if running:
        # without a manual reload, then checks the new owners
        refresh.follow_one(svc, actor, account_id, "ownership", refresh_finished, PENDING)


def show_outcome(account_id: str) -> None:
    outcomes: dict[str, str | None] = st.session_state.get(OUTCOME, {})
    if account_id not in outcomes:
        return
    status = outcomes.pop(account_id)
    if status == "succeeded":
        st.success(
            "Ownership refreshed; the comparison below uses the new owners.",
            icon=":material/check_circle:",
        )
    elif status is None:  # the poll gave up: Stripe could not be read
        st.warning(
            refresh.unfollowed("ownership", "Press Check again in a minute to read it."),
            icon=":material/cloud_off:",
        )
    else:
        st.error(
            f"The ownership refresh {status}: the bank did not return owners. Try again later.",
            icon=":material/error:",
        )


def check_view() -> None:
    account_id = account_picker()
    if not account_id:
        if not st.session_state.get("own_choices"):  # else the picker above asks for one
            st.info("Enter an account ID, or open one from the review list.", icon=":material/badge:")
        return
    show_outcome(account_id)
    report = report_for(account_id)
    if report is None:
        return
    if shown.stored_notice(report, now=svc.now()):  # Stripe did not answer: the stored check
        st.session_state.get(REPORTS, {}).pop(account_id, None)
        st.rerun()  # reads Stripe again
    st.subheader(f"{report.institution_name} ••{report.last4 or '????'}")
    parts = [
        f"`{report.account_id}`",
        f"status {report.account_status}",
        f"customer `{report.customer_id}`" if report.customer_id else "no customer",
        f"ownership snapshot `{report.ownership_id}`"
        if report.ownership_id
        else "no ownership snapshot yet",
        f"checked {wording.moment(report.checked_at)}",
    ]
    st.caption(" · ".join(parts))
    shown.verdict_block(report)
    refresh_controls(report)
    shown.scores_and_owners(report)


# --------------------------------------------------------------------------- review list


TO_REVIEW = ["mismatch", "partial"]  # what the list shows at first, and the last run counts
CHECK_ALL_LABEL = "Checking every account's owners"
STILL_RUNNING = "the check of all accounts is still running, and the list fills in when it ends."


def check_all_running() -> bool:
    """Whether a check of all accounts runs now (followed by this session, or started before a
    reload, in another tab or by a colleague). When the one followed here just ended, the
    single-account view compares again."""
    if st.session_state.pop(follow.ENDED + follow.CHECK_ALL, None) is not None:
        st.session_state[REPORTS] = {}
    return follow.following(follow.CHECK_ALL) is not None


def start_check_all() -> None:
    """Check every account as a background job: leaving the page does not stop it, and the page
    follows it (its progress line, then how it ended) whenever it is open."""
    if follow.start(follow.CHECK_ALL, jobs.start_ownership_check_all, actor):
        st.rerun()  # draw the progress line for the job just started (or what it stored)


def check_all_line(running: bool) -> None:
    """The last check of all accounts, by anyone: its progress while it runs, else when it
    ended and what it found (as the follow lines of the other jobs say it)."""
    follow.progress_line(follow.CHECK_ALL, CHECK_ALL_LABEL)
    if running:
        return
    last = runtime.call(jobs.recent_jobs, actor, kinds=["ownership.check_all"], limit=1)
    if last and not last[0].active:
        st.caption(ended_words(last[0]))


WHY = 300  # the most of a failure's words shown in the ended line


def ended_words(run: jobs.JobView) -> str:
    when = wording.moment(run.finished_at)
    by = "" if run.actor == actor.username else f" (started by {run.actor})"
    if run.status == "failed":
        return (
            f":red[:material/error: The last check of all accounts{by} failed at {when}: "
            f"{plain(run.error or 'it did not finish', WHY)}.] Start it again with “Check all "
            "accounts”."
        )
    result = run.result or {}
    verdicts: dict[str, int] = result.get("verdicts") or {}
    to_review = sum(int(verdicts.get(v, 0)) for v in TO_REVIEW)
    ended = (
        f"The last check of all accounts{by} ended at {when}: "
        f"{int(result.get('checked', 0)):,} checked, {to_review:,} to review, "
        f"{int(result.get('errors', 0)):,} failed."
    )
    if result.get("errors") and result.get("why"):  # why they failed (the first), and what to do
        # Stripe's words, as plain text: a "]" in them would end the colour early, "*" emphasise
        return (f":orange[:material/warning: {ended} The first failure: "
                f"{plain(result['why'], WHY)} Check all accounts again later to read them.]")
    return f":material/task_alt: {ended}"


def review_frame(rows: list[ReviewRow]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Verdict": [shown.VERDICT_STYLE[r.verdict][0] for r in rows],
            "Score": [r.score for r in rows],
            "Customer": [
                person_words(Person(r.customer_name, r.customer_email), r.customer_id) for r in rows
            ],
            "Reason": [r.reason for r in rows],
            "Bank": [f"{r.institution_name or '—'} ••{r.last4 or '????'}" for r in rows],
            "Checked": [utc_time(r.checked_at) for r in rows],
            "Account": [r.account_id for r in rows],
            "Customer ID": [r.customer_id or "—" for r in rows],
        }
    )


def review_view() -> None:
    running = check_all_running()
    left, middle, right = st.columns([2, 2, 1], vertical_alignment="bottom")
    verdicts = left.multiselect(
        "Show",
        list(VERDICTS),
        default=TO_REVIEW,
        format_func=lambda v: shown.VERDICT_STYLE[v][0],
        key="own_verdicts",
    )
    search = middle.text_input(
        "Find",
        placeholder="Customer name or email, bank, last 4 digits, fca_… or cus_…",
        max_chars=100,
        key="own_search",
    )
    narrow, _ = st.columns([2, 5])
    sort = url_sort(
        narrow, sorts=orv.REVIEW_SORTS, default="score", key="own_sort", noun="review list"
    )
    page = current_page(PAGE_KEY, (tuple(verdicts), search.strip(), sort))  # new filters: 1
    if right.button(
        "Check all accounts",
        icon=":material/playlist_add_check:",
        width="stretch",
        key="own_all",
        disabled=running,
        help="A check of all accounts is running; its progress is below."
        if running
        else "Compare every account's owners with its customer, in the background.",
    ):
        start_check_all()
    check_all_line(running)
    result = runtime.call(
        orv.review_list,
        svc,
        actor,
        verdicts=verdicts or list(VERDICTS),
        page=page,
        page_size=50,
        search=search,
        sort=sort,
    )
    if result is None:
        return
    cols = st.columns(len(VERDICTS))
    for col, verdict in zip(cols, VERDICTS, strict=True):
        col.metric(shown.VERDICT_STYLE[verdict][0], result.counts.get(verdict, 0))
    cover = result.coverage  # a 0 to review of 1 account checked is no all-clear
    to_review = result.counts.get("mismatch", 0) + result.counts.get("partial", 0)
    if not result.counts and running:
        st.info(f"No account has been checked yet: {STILL_RUNNING}", icon=":material/hourglass_top:")
        return
    if not result.counts:
        st.info(cover.line(to_review), icon=":material/info:")
        return
    if not result.rows and search.strip():
        st.info(
            "No checked account matches the search" + (f" so far: {STILL_RUNNING}" if running else "."),
            icon=":material/search_off:",
        )
        return
    if not result.rows and running:
        st.info(f"Nothing to review so far: {STILL_RUNNING}", icon=":material/hourglass_top:")
        return
    if not result.rows and not cover.complete:
        st.info(cover.line(to_review), icon=":material/info:")
        return
    if not result.rows:
        st.success("Nothing to review with these filters.", icon=":material/check_circle:")
        return
    st.caption(
        ("" if cover.complete else f"{cover.line(to_review)} ")
        + f"{counted(result.total, 'account')}, {orv.REVIEW_SORTS[sort].lower()} · page {result.page} of "
        f"{result.pages} · select a row to open it"
    )
    frame = review_frame(result.rows)
    event: Any = st.dataframe(
        frame,
        hide_index=True,
        placeholder="—",
        column_order=ids_last(frame, "Account", "Customer ID"),
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        column_config={"Score": shown.SCORE_COLUMN, "Checked": time_column("Checked (UTC)")},
        key=f"own_table_{st.session_state.get('own_table_gen', 0)}",
    )
    chosen = list(event.selection.rows) if event is not None else []
    if chosen:
        st.session_state["own_table_gen"] = st.session_state.get("own_table_gen", 0) + 1
        open_account(result.rows[chosen[0]].account_id)
    pager(PAGE_KEY, "own", result.page, result.pages)


LAST_VIEW = "own_last_view"  # the view shown last: the widget's own key goes when the page is left
if VIEW not in st.session_state:  # back from another page: the view left; a reload or a new tab
    # while a check of all accounts runs (anyone's): the list with its progress, not an empty form
    checking = not st.query_params.get("account") and follow.following(follow.CHECK_ALL)
    st.session_state[VIEW] = st.session_state.get(LAST_VIEW) or (REVIEW if checking else CHECK)
view = st.segmented_control("View", [CHECK, REVIEW], key=VIEW, label_visibility="collapsed")
st.session_state[LAST_VIEW] = view or CHECK
if view == REVIEW:
    review_view()
else:
    check_view()
