"""A customer's open collection requests, and the one rule about them: a second open request
for a customer is made only by someone who was told about the first.

Every create (:func:`services.usecases.collection_requests`) is recorded while it runs
(:mod:`services.adapters.collect_starts`), so a reload or a colleague sees "being created" and
then its result. Before calling Stripe a create given ``open_seen`` (the page always gives it)
checks the customer's open SetupIntents (links included) and the creates still running; any the
person was not shown refuses it with :class:`OpenRequestsExist`, which names them, and the
person confirms creating another beside them (``open_seen`` = their refs) or opens one.

Two people creating for the same customer at once: each writes its row first and checks after,
so at least the later one sees the earlier and is told (both, when they start together), never
neither. The same request again (the same idempotency key: a double click, a rerun, the retry
of an unknown outcome) is not a second one and is not checked.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from sqlmodel import col, select

from services.adapters import collect_starts as starts
from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.audit import UNKNOWN, AuditContext
from services.auth import Actor, require
from services.context import Services
from services.errors import ChangeNotMade, Refused
from services.rules.intents import OPEN_STATUSES, view_of
from services.rules.wording import counted
from services.usecases.collect_common import LOOKBACK_SECONDS, stored_intents
from services.usecases.collect_common import customer_id as parse_customer
from services.usecases.collect_lookup import MadeAfterAll

# A create not finished after this long died with its process (a create gives up well before):
# no longer "being created", and no longer in the way of another.
STALE_SECONDS = 180
SHOWN = 10  # at most this many open requests named
KINDS = {"checkout_session": "link", "setup_intent": "setup_intent"}


@dataclass(frozen=True)
class OpenOne:
    """An open request of a customer, or one being created for them."""

    ref: str  # what a confirmation names: its seti_…, or "creating-<n>" while being created
    kind: str  # link | setup_intent | fc_session
    request_id: str | None  # seti_… / fcsess_… (None while being created)
    link_id: str | None  # a link's cs_…
    created: int
    by: str | None  # who made it (username), when known
    status: str  # the SetupIntent's status, or "creating"
    start_id: int | None = None  # the create's row, while being created

    @property
    def address(self) -> str | None:
        """What the Collect page's address names for it (None: not made yet)."""
        return self.link_id or self.request_id


class OpenRequestsExist(Refused):
    """Refused: the customer has open requests (or ones being created) the person was not shown."""

    def __init__(self, message: str, *, requests: list[OpenOne]) -> None:
        super().__init__(message)
        self.requests = requests


def customer_requests(svc: Services, actor: Actor, customer_id: str) -> list[OpenOne]:
    """``customer_id``'s open requests (SetupIntents still waiting, links included) and those
    being created now, newest first: from the store, no Stripe call."""
    require(actor, "collect.create")
    return _open_for(svc, parse_customer(customer_id))


def creation(svc: Services, actor: Actor, start_id: int) -> starts.Start | None:
    """A create as it stands (running, ok with what it made, error/refused with why); one that
    stopped answering long ago reads ``stale``."""
    require(actor, "collect.create")
    found = starts.one(svc.engine, int(start_id))
    if found is not None and found.outcome == starts.RUNNING and _stale(svc, found):
        return replace(found, outcome="stale")
    return found


@contextmanager
def recorded_create(
    svc: Services,
    actor: Actor,
    ctx: AuditContext,
    *,
    kind: str,
    customer: str,
    key: str,
    open_seen: Collection[str] | None,
) -> Iterator[None]:
    """Around a create that checked the role: its row while it runs, closed with what it made
    (``ctx.target``, a link's ``checkout_session``) or why not; and, given ``open_seen``, the
    open-requests rule before Stripe is called."""
    start_id = starts.begin(
        svc.engine, customer_id=customer, kind=KINDS.get(kind, "fc_session"),
        username=actor.username, key=key, at=svc.now(),
    )
    try:
        if open_seen is not None and not starts.keyed_before(svc.engine, key, start_id):
            _refuse_unseen(svc, customer, start_id, set(open_seen), ctx)
        yield
    except MadeAfterAll as err:  # Stripe answered badly but made it: made, as a reload says
        starts.finish(
            svc.engine, start_id, outcome=starts.OK, at=svc.now(), request_id=err.made,
            link_id=err.link, message=str(err),
        )
        raise
    except Exception as err:
        outcome = (
            "refused" if isinstance(err, Refused)
            # Stripe did not confirm it and nothing showed whether it was made: not "error"
            # (a reload said "was not created: … so it may have been made").
            else UNKNOWN if ctx.unconfirmed and not isinstance(err, ChangeNotMade)
            else "error"
        )
        said = ctx.unconfirmed if outcome == UNKNOWN else None  # what is known, where to look
        starts.finish(svc.engine, start_id, outcome=outcome, at=svc.now(),
                      message=said or str(err))
        raise
    link = ctx.params.get("checkout_session")
    starts.finish(
        svc.engine, start_id, outcome=starts.OK, at=svc.now(), request_id=ctx.target,
        link_id=str(link) if link else None,
    )


def _refuse_unseen(
    svc: Services, customer: str, start_id: int, seen: set[str], ctx: AuditContext
) -> None:
    found = _open_for(svc, customer, but=start_id)
    # A create the person saw running, finished since: the request it made was seen too.
    made = starts.made_of(svc.engine, [one.request_id for one in found if one.request_id])
    for one in found:
        if (start := made.get(one.request_id or "")) and f"creating-{start.id}" in seen:
            seen.add(one.ref)
    unseen = [one for one in found if one.ref not in seen]
    if not unseen:
        return
    ctx.params["open_requests"] = [one.ref for one in unseen]
    raise OpenRequestsExist(
        f"Nothing was created: this customer already has {counted(len(unseen), 'open request')} "
        f"({', '.join(one.address or 'one being created' for one in unseen)}). Send the one "
        "they have, or confirm that you want another.",
        requests=unseen,
    )


def _stale(svc: Services, start: starts.Start) -> bool:
    return svc.now() - start.started_at > STALE_SECONDS


def _open_for(svc: Services, customer: str, *, but: int | None = None) -> list[OpenOne]:
    since = svc.now() - LOOKBACK_SECONDS
    running = [
        OpenOne(f"creating-{s.id}", s.kind, None, None, s.started_at, s.username, "creating", s.id)
        for s in starts.for_customer(svc.engine, customer, since=since)
        if s.outcome == starts.RUNNING and s.id != but and not _stale(svc, s)
    ]
    intents = stored_intents(
        svc, customer=customer, since=since, payment_intents=False, statuses=OPEN_STATUSES,
        limit=SHOWN,
    )
    made = _made_here(svc, [str(i["id"]) for i in intents])
    waiting = []
    for intent in intents:
        ident = str(intent["id"])
        actor, link = made.get(ident, (None, None))
        waiting.append(OpenOne(
            ident, "link" if link else "setup_intent", ident, link, int(intent["created"]),
            actor or _metadata_by(intent), view_of(intent).status,
        ))
    return sorted(running + waiting, key=lambda one: -one.created)[:SHOWN]


def _metadata_by(intent: dict[str, object]) -> str | None:
    metadata = intent.get("metadata")
    by = metadata.get("fcops_created_by") if isinstance(metadata, dict) else None
    return str(by) if by else None


def _made_here(svc: Services, ids: list[str]) -> dict[str, tuple[str, str | None]]:
    """Who made each of ``ids`` here and its link (cs_…), from the audit rows of the creates.
    A row names its target only once Stripe made it: a create Stripe answered badly but made
    after all (its row ``unknown``) counts too, with the link the look-up found."""
    if not ids:
        return {}
    stmt = select(AuditEntry).where(
        AuditEntry.action == "collect.create", col(AuditEntry.target).in_(ids)
    )
    made: dict[str, tuple[str, str | None]] = {}
    with session_scope(svc.engine) as session:
        for r in session.exec(stmt).all():
            link = str(r.params.get("checkout_session") or "") or None
            if link or str(r.target) not in made:
                made[str(r.target)] = (r.actor, link)
    return made
