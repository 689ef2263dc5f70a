"""Jobs' picked failed job in the address (``?job=<id>``): the job picked under "Failed job to
try again" goes into the address (one browser history entry), and a reload, a copied link, a new
tab, Back or Forward open it picked. The address was ignored, so a link to a failure opened the
newest one instead.

The address is read before the board (a fragment that redraws every 2 s) and taken by the
picker on the board's next run, where the failed jobs are known. One the picker does not offer
(an unknown or malformed ID, a job tried again since, or one that did not fail) gets a sentence,
and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Collection

import streamlit as st

from components.literal import literal
from pages import _runtime as runtime

PARAM = "job"
PICK = "jobs_retry_pick"  # the picker's key: the failed job picked
SEEN = "jobs_job_address"  # the ?job= last read or written
LINKED = "jobs_job_linked"  # the job the address named, for the picker to take (once)
WARNING = "jobs_job"  # the lingering sentence's key


def follow_address() -> None:
    """The job the URL's ``?job=`` names, when it changed since this session last read or wrote
    it, for :func:`take_linked` to pick (call before the board)."""
    moved, wanted = runtime.address_change(SEEN, PARAM)
    if moved and wanted:
        st.session_state[LINKED] = wanted


def take_linked(offered: Collection[str]) -> None:
    """The linked job picked in the picker when it offers it (before the picker is drawn), else
    the sentence saying it is not there; then the lingering sentence, if any."""
    linked = st.session_state.pop(LINKED, None)
    if linked in offered:
        st.session_state[PICK] = linked
    elif linked:
        runtime.linger(
            WARNING,
            f"No job {literal(linked, 80)} in the list of failed jobs to try again: it may have "
            "been tried again since, or it did not fail (its row in the table says what became "
            "of it), or the link is wrong.",
        )
    runtime.lingering(WARNING)


def on_pick() -> None:
    """The admin picked a failed job: it goes into the URL."""
    runtime.keep_in_address(SEEN, st.session_state.get(PICK), PARAM)


def forget(job_id: str) -> None:
    """The job ``job_id`` was tried again: out of the URL if it names it (a reload would say it
    is no longer offered)."""
    if str(st.query_params.get(PARAM) or "") == job_id:
        runtime.keep_in_address(SEEN, None, PARAM)
