"""Cancels while they run, in the store, so a reload or a colleague sees them.

A cancel waits on Stripe (up to ~20 s when Stripe is slow, longer with read-backs), and a
reload is a new session that knew nothing of it: the request was listed as open again with its
Cancel button, and ops pressed it a second time. Each cancel writes a row
(:mod:`services.adapters.collect_starts`, kind ``cancel``) before Stripe is called and closes it
with the outcome, so Open requests can say "still running at Stripe" on that request, offer no
second Cancel meanwhile, and then show how it ended. A second cancel of the same request while
one runs (another tab still showing the button) is refused before Stripe is called. A cancel
that failed is said on its request for an hour (it was said once, and the next reload listed
the request as open with no word of it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from services.adapters import collect_starts as starts
from services.audit import AuditContext
from services.auth import Actor, require
from services.context import Services
from services.errors import NothingChanged, ReadBackFailed, Refused, StillRunning
from services.rules.wording import timestamp
from services.usecases.collect_common import LOOKBACK_SECONDS, IntentList, listed_among
from services.usecases.collect_lists import OPEN
from services.usecases.collect_open import STALE_SECONDS
from services.usecases.microdeposits import WAITING

Start = starts.Start  # a cancel as the store has it (pages read it through here)
ENDED, UNCHANGED = "ended", "unchanged"  # a cancel refused as already canceled / as it was
ERROR, STALE = "error", "stale"  # a cancel that failed / that Stripe never confirmed
FAILED = (ERROR, STALE)
# A cancel that did not cancel its request is said on that request this long (every reload,
# every colleague), unless a newer cancel of it was asked: an hour, long enough for whoever
# pressed Cancel to come back to the page; after that the request reads as any open one.
FAILED_SAID_SECONDS = 3_600


class CancelStillRunning(StillRunning):
    """Refused: a cancel of the same request is still running at Stripe (a notice: the page
    follows that cancel on its request and shows how it ended)."""


def cancels_running(svc: Services, actor: Actor, intent_ids: list[str]) -> dict[str, starts.Start]:
    """The cancels of ``intent_ids`` still running at Stripe (by intent ID): from the store."""
    require(actor, "collect.cancel")
    found = starts.cancels_of(svc.engine, [str(i) for i in intent_ids][:500], since=_since(svc))
    return {ident: s for ident, s in found.items() if _running(svc, s)}


def cancels_failed(svc: Services, actor: Actor, intent_ids: list[str]) -> dict[str, starts.Start]:
    """The requests of ``intent_ids`` whose last cancel, asked within ``FAILED_SAID_SECONDS``,
    did not cancel them: it failed (``error``, its sentence in ``message``) or Stripe never
    confirmed it (``stale``). By intent ID; a newer cancel replaces it. From the store."""
    require(actor, "collect.cancel")
    since = svc.now() - FAILED_SAID_SECONDS
    found = starts.cancels_of(svc.engine, [str(i) for i in intent_ids][:500], since=since)
    stood = {ident: _as_it_stands(svc, s) for ident, s in found.items()}
    return {ident: s for ident, s in stood.items() if s.outcome in FAILED}


def cancels_failed_unlisted(
    svc: Services, actor: Actor, listed: list[str]
) -> dict[str, starts.Start]:
    """:func:`cancels_failed` for the open requests (Collect's Open requests, any search) that
    are not in ``listed``, the requests a page shows: a search or the list's limit hid the
    request, and with it the only word that its cancel failed. By intent ID."""
    require(actor, "collect.cancel")
    return _failed_unlisted(svc, OPEN, listed)


def cancels_failed_unqueued(
    svc: Services, actor: Actor, listed: list[str]
) -> dict[str, starts.Start]:
    """:func:`cancels_failed_unlisted` for the microdeposit queue: the requests still waiting
    on microdeposits (any search) whose cancel failed and that the queue a page shows
    (``listed``) does not hold, hidden by its search or its limit. By intent ID."""
    require(actor, "collect.cancel")
    return _failed_unlisted(svc, WAITING, listed)


def _failed_unlisted(
    svc: Services, which: IntentList, listed: list[str]
) -> dict[str, starts.Start]:
    found = starts.cancels_of(svc.engine, None, since=svc.now() - FAILED_SAID_SECONDS)
    shown = {str(i) for i in listed}
    failed = {
        ident: stood
        for ident, start in found.items()
        if ident not in shown and (stood := _as_it_stands(svc, start)).outcome in FAILED
    }
    still_there = listed_among(svc, which, list(failed), lookback_seconds=LOOKBACK_SECONDS)
    return {ident: s for ident, s in failed.items() if ident in still_there}


def cancellation(svc: Services, actor: Actor, start_id: int) -> starts.Start | None:
    """A cancel as it stands (running, ok, ended/unchanged/refused/error with the sentence); one
    that stopped answering long ago reads ``stale``."""
    require(actor, "collect.cancel")
    found = starts.one(svc.engine, int(start_id))
    if found is None or found.kind != starts.CANCEL:
        return None
    return _as_it_stands(svc, found)


def _as_it_stands(svc: Services, start: starts.Start) -> starts.Start:
    if start.outcome == starts.RUNNING and not _running(svc, start):
        return replace(start, outcome=STALE)
    return start


@contextmanager
def recorded_cancel(
    svc: Services, actor: Actor, ctx: AuditContext, *, ident: str, key: str
) -> Iterator[None]:
    """Around a cancel of ``ident`` that checked the role: its row while it runs, closed with
    ``ctx.message`` or the sentence of why not; refused while another cancel of it runs."""
    start_id = starts.begin(
        svc.engine, customer_id="", kind=starts.CANCEL, username=actor.username, key=key,
        at=svc.now(), request_id=ident,
    )
    try:
        _refuse_second(svc, actor, ident, key, start_id)
        yield
    except Exception as err:
        starts.finish(svc.engine, start_id, outcome=_outcome(err), at=svc.now(), message=str(err))
        raise
    starts.finish(svc.engine, start_id, outcome=starts.OK, at=svc.now(), message=ctx.message or "")


def _refuse_second(svc: Services, actor: Actor, ident: str, key: str, start_id: int) -> None:
    """Another cancel of ``ident`` started before this one and still running (not this request
    again under the same key: a rerun or the retry of an unknown outcome, which Stripe replays)."""
    other = starts.cancels_of(svc.engine, [ident], since=_since(svc), before=start_id).get(ident)
    if other is None or not _running(svc, other) or other.key == key:
        return
    by = "you" if other.username == actor.username else other.username
    # No "(2 s ago)": the notice stays on screen while the cancel runs, and a frozen age read
    # as if Stripe had not moved; the request's own note (followed) counts it up instead.
    raise CancelStillRunning(
        f"Nothing was sent: the cancel of {ident} that {by} asked for at "
        f"{timestamp(other.started_at)} is still running at Stripe. This page follows it on its "
        "request under the list and shows its outcome when Stripe answers."
    )


def _outcome(err: BaseException) -> str:
    if isinstance(err, ReadBackFailed):  # a 5xx, and no read said whether it canceled
        return STALE  # never confirmed: its request says to look before canceling again
    if isinstance(err, NothingChanged):
        return ENDED if err.as_asked else UNCHANGED
    return starts.REFUSED if isinstance(err, Refused) else ERROR


def _running(svc: Services, start: starts.Start) -> bool:
    return start.outcome == starts.RUNNING and svc.now() - start.started_at <= STALE_SECONDS


def _since(svc: Services) -> int:
    return svc.now() - STALE_SECONDS - 60  # older ones are stale: no longer running
