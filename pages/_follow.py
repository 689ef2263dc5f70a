"""Pages follow jobs, not run them.

A page that needs a sync (the first visit to any page that reads mirrored accounts, intents or
debit outcomes, on a store never synced) starts it as a background job
(:mod:`services.usecases.jobs`) and draws the store as it is meanwhile. :func:`progress_line`
is a fragment that reads the job's row from the store every second and, when the job ends,
reruns the page so it draws what the job stored. Leaving the page does not stop the job; coming
back in the same session follows it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from pages import _live as live
from pages import _runtime as runtime
from services.auth import Actor
from services.context import Services
from services.rules import job_progress, wording
from services.usecases import debit_outcomes, jobs, jobs_outcomes, sync_accounts, sync_intents

FOLLOW = "_follow_job:"  # + key: the job this session follows
ENDED = "_follow_ended:"  # + key: (ok, sentence, page) of the job that just ended, shown once
ORIGIN = "_follow_origin:"  # + key: the page the followed job was started (or adopted) on
KEPT = "_follow_kept:"  # + key: a success that ended while the session was on another page
SHOWN = "_follow_shown"  # {key: ((ok, sentence), when)}: what outcome() said, and when
SAY_AGAIN_SECONDS = 10.0  # a rerun within this long after a sentence says it again
WAIT_SECONDS = 1.0  # a tiny store is drawn synced at once; anything bigger is followed


def _job(job_id: str) -> jobs.JobView | None:
    """The followed job's row, read as the signed-in person (``job_of`` checks the role)."""
    actor = runtime.current_actor()
    return jobs.job_of(actor, job_id) if actor is not None else None


def start(key: str, fn: Callable[..., str], *args: Any, **kwargs: Any) -> str | None:
    """Start a job (``fn`` returns its ID) and follow it under ``key``; None when it could not
    start (the sentence is on the page). Waits at most ``WAIT_SECONDS`` for it, never longer."""
    job_id = runtime.call(fn, *args, **kwargs)
    if not job_id:
        return None
    st.session_state[FOLLOW + key] = job_id
    st.session_state[ORIGIN + key] = _page()
    st.session_state.pop(KEPT + key, None)  # an earlier sync's success is no news now
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        try:
            view = _job(job_id)
        except Exception:  # the store is busy: the progress line follows it instead
            break
        if view is None or not view.active:
            _ended(key, view)
            break
        time.sleep(0.1)
    return job_id


def first_accounts_sync(svc: Services, actor: Actor) -> None:
    """A store never synced: read the accounts from Stripe as a background job (once per
    session; Accounts draws the store as it is meanwhile and follows it under "accounts")."""
    if st.session_state.get(runtime.AUTOSYNCED) or not actor.can("accounts.sync"):
        return
    if runtime.call(sync_accounts.needs_first_sync, svc, actor):
        start("accounts", jobs.start_account_sync, actor)
    # Marked once started: a run interrupted before (the rerun after sign-in) starts it on the
    # next run, which finds the same job (its ID comes from its inputs).
    st.session_state[runtime.AUTOSYNCED] = True


ACCOUNTS = "accounts"  # the key every page follows the account sync under (one job, any page)
ACCOUNTS_LABEL = "Reading customers and accounts from Stripe"
ACCOUNTS_FAILED_HINT = " The page shows what the store holds; try “Sync from Stripe” again."


def accounts_first_sync(svc: Services, actor: Actor) -> bool | None:
    """For a page that reads mirrored accounts (Transactions, Ownership, Balance check, Blocked):
    on a store never synced, start the account sync as a job and draw the page meanwhile, with
    the progress line here. Returns how a followed sync ended (once), as :func:`outcome` does."""
    first_accounts_sync(svc, actor)
    ended = outcome(ACCOUNTS, failed_hint=ACCOUNTS_FAILED_HINT)
    following(ACCOUNTS)  # a sync started before a reload or elsewhere: follow it
    progress_line(ACCOUNTS, ACCOUNTS_LABEL)
    return ended


OUTCOMES = "outcomes"  # the key Returns and Blocked accounts follow the outcome sync under
OUTCOMES_LABEL = "Reading debit outcomes from Stripe"
OUTCOMES_AUTOSYNCED = "_outcomes_autosynced"


def outcomes_first_sync(svc: Services, actor: Actor) -> bool | None:
    """For a page that reads the debit outcomes (Returns, Blocked accounts): when they were never
    synced, start the outcome sync as a job (once per session) and draw the page meanwhile, with
    the progress line here. Returns how a followed sync ended (once), as :func:`outcome` does."""
    return _first_sync(
        svc, actor, OUTCOMES, debit_outcomes.needs_first_sync, jobs_outcomes.start_outcome_sync,
        flag=OUTCOMES_AUTOSYNCED, label=OUTCOMES_LABEL,
        failed_hint=" The figures are from the store; try “Sync outcomes”.",
    )  # fmt: skip


def _first_sync(
    svc: Services,
    actor: Actor,
    key: str,
    needs: Callable[[Services, Actor], bool],
    start_job: Callable[..., str],
    *,
    flag: str,
    label: str,
    failed_hint: str,
) -> bool | None:
    """Start the sync ``key`` as a job when ``needs`` says it never ran (once per session, the
    ``flag``; ``needs`` checks the role), say once how a followed one ended, and draw its
    progress line here."""
    if not st.session_state.get(flag):
        if runtime.call(needs, svc, actor):
            start(key, start_job, actor)
        st.session_state[flag] = True  # once started (or refused), per session
    ended = outcome(key, failed_hint=failed_hint)
    following(key)  # a sync started before a reload or elsewhere: follow it
    progress_line(key, label)
    return ended


def start_outcomes_sync(actor: Actor) -> None:
    """A "Sync outcomes" click (Returns, Blocked accounts): the sync as a job, followed under
    "outcomes" (the progress line is the one :func:`outcomes_first_sync` draws)."""
    if start(OUTCOMES, jobs_outcomes.start_outcome_sync, actor):
        _rerun()  # its progress line, or (ended within a second) what it stored


def start_accounts_sync(actor: Actor) -> None:
    """A "Load accounts from Stripe" click: the sync as a job, followed under "accounts"."""
    if start(ACCOUNTS, jobs.start_account_sync, actor):
        _rerun()  # draw the progress line for the job just started


INTENTS = "intents"  # the key Conversion and Collect follow the intent sync under
INTENTS_LABEL = "Reading intents from Stripe"
INTENTS_AUTOSYNCED = "_intents_autosynced"


def intents_first_sync(svc: Services, actor: Actor) -> bool | None:
    """For Collect's lists of requests: when the intents were never synced, start the intent
    sync as a job (once per session) and draw the lists meanwhile, with the progress line here.
    Returns how a followed sync ended (once), as :func:`outcome` does."""
    return _first_sync(
        svc, actor, INTENTS, sync_intents.needs_first_sync, jobs.start_intent_sync,
        flag=INTENTS_AUTOSYNCED, label=INTENTS_LABEL,
        failed_hint=" The lists are from the store; try “Sync from Stripe”.",
    )  # fmt: skip


CHECK_ALL = "ownership"  # the key Ownership review follows its check of all accounts under
KIND_OF = {
    ACCOUNTS: "accounts.sync",
    INTENTS: "intents.sync",
    OUTCOMES: "returns.sync",
    CHECK_ALL: "ownership.check_all",
}


def following(key: str) -> str | None:
    """The job this session follows under ``key``. When it follows none, a sync of that kind
    that a person started, here before a reload, in another tab or as a colleague, is followed
    from now on: its progress line shows and the page does not offer to start it again."""
    job_id: str | None = st.session_state.get(FOLLOW + key)
    if job_id is None and key in KIND_OF:
        actor = runtime.current_actor()
        try:
            view = jobs.running_job(actor, KIND_OF[key]) if actor is not None else None
        except Exception:  # the store is busy (a SQLite lock): look again on the next run
            view = None
        if view is not None:
            job_id = st.session_state[FOLLOW + key] = view.id
            st.session_state[ORIGIN + key] = _page()
    return job_id


def _page() -> str | None:
    """The page this run draws (as :func:`runtime.note_page` keeps it)."""
    page: str | None = st.session_state.get(runtime.PAGE_NOW)
    return page


def _ended(key: str, view: jobs.JobView | None) -> None:
    st.session_state.pop(FOLLOW + key, None)
    page = st.session_state.pop(ORIGIN + key, None)
    if view is None:
        return
    if view.status == "failed":
        st.session_state[ENDED + key] = (False, view.error or "The job did not finish.", page)
    else:
        st.session_state[ENDED + key] = (True, view.message or "Done.", page)




IDLE_SECONDS = 10.0  # following no job: how often a page looks for one started elsewhere


def progress_line(key: str, label: str) -> None:
    """While the job runs: one progress line from the store, refreshed every second. While none
    runs, only a look every ``IDLE_SECONDS`` for one started elsewhere (a colleague, another
    tab): each look is a store query, and a page draws up to two lines, which reran every second
    all the time a page stayed open."""
    if st.session_state.get(FOLLOW + key):
        _progress(key, label)
    else:
        _look_for_job(key)


@live.fragment(run_every=IDLE_SECONDS)
def _look_for_job(key: str) -> None:
    if following(key):  # a sync started elsewhere while the page was open
        _rerun()  # the whole page, following it: its progress line, its sync button disabled


@live.fragment(run_every=1.0)
def _progress(key: str, label: str) -> None:
    """One progress line of the job followed under ``key``, from the store."""
    adopted = FOLLOW + key not in st.session_state
    job_id = following(key)
    if not job_id:
        return
    if adopted:  # a sync started elsewhere while the page was open (a page run adopts it first)
        _rerun()  # the whole page, following it: its sync button disabled
    try:
        view = _job(job_id)
    except Exception:  # the store is busy (a SQLite lock): keep following, read it next time
        st.caption(":material/hourglass_empty: Waiting for the job's progress…")
        return
    if view is None or not view.active:
        _ended(key, view)
        _rerun()  # the whole page, to draw what the job stored
    assert view is not None
    text = job_progress.line(label, view.message)
    fill = job_progress.fraction(view.done, view.total)
    if fill is None:  # Stripe's lists carry no total: what was read so far, and for how long
        so_far = job_progress.running_for(view.started_at, datetime.now(UTC))
        st.markdown(f":material/sync: {text}{so_far}")
    else:
        st.progress(fill, text=text)
    st.caption(
        ":material/cloud_sync: This runs in the background: the page shows the store as it is "
        "and fills in when it finishes; you can leave the page meanwhile."
    )


def outcome(key: str, *, failed_hint: str = "") -> bool | None:
    """Say once how the followed job ended: True (done), False (failed), None (nothing new).
    A success is said only on the page it was started (or followed) on: Ownership review read
    "Synced 200 customers and 313 accounts" from a sync run on Accounts. One that ended while
    the session was on another page is kept and said once when it is back on its page (as the
    Dashboard's toast waits for its page). A failure is said wherever the session is next."""
    ended = st.session_state.pop(ENDED + key, None)
    if ended is not None:
        st.session_state.pop(KEPT + key, None)  # a later end says more than a kept one
    elif (kept := st.session_state.get(KEPT + key)) is not None and kept[2] == _page():
        ended = st.session_state.pop(KEPT + key)  # back on the page that started it
    if ended is None:
        return None
    ok, sentence, page = (*ended, None)[:3]
    if ok and page is not None and page != _page():
        st.session_state[KEPT + key] = ended  # not news here: said back on its own page
        return True
    st.session_state.setdefault(SHOWN, {})[key] = (ended, time.monotonic())
    if ok:
        st.success(sentence, icon=":material/cloud_done:")
    else:
        st.error(f"The sync did not finish: {sentence}{failed_hint}", icon=":material/error:")
    return bool(ok)


def sync_failed(
    kind: str, last_success: datetime | None, *, what: str, retry: str, key: str | None = None
) -> jobs.SyncFailure | None:
    """Next to a "last synced" line: when the latest sync ``kind`` failed after that success,
    say so, when, why, and how old the figures are; ``retry`` is what to do for a person who
    may start it again (the others are asked to ask an admin). Nothing while the session
    follows a sync of that kind (``key``): its progress line says how far it has got."""
    if key is not None and st.session_state.get(FOLLOW + key):
        return None
    actor = runtime.current_actor()
    if actor is None:
        return None
    failure = runtime.call(jobs.failed_sync, actor, kind, last_success=last_success)
    if failure is None:
        return None
    why = failure.error.strip()
    why = why if why.endswith((".", "!", "?")) else f"{why}."
    as_of = (
        f"The figures are as of {wording.moment(last_success)}."
        if last_success is not None
        else "Nothing has been synced yet."
    )
    then = retry if failure.can_retry else "Ask an admin to run it again."
    st.warning(
        f"The last {what} ({wording.moment(failure.failed_at)}) failed: {why} {as_of} {then}",
        icon=":material/sync_problem:",
    )
    return failure


def _rerun() -> None:
    """``st.rerun()``, saying again what :func:`outcome` said in the last seconds: the rerun
    discards what was drawn, and a page following two jobs reruns when the second one ends,
    right after it said how the first one ended."""
    now = time.monotonic()
    for key, (ended, shown_at) in st.session_state.pop(SHOWN, {}).items():
        if now - shown_at < SAY_AGAIN_SECONDS:
            st.session_state.setdefault(ENDED + key, ended)
    st.rerun()
