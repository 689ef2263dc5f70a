"""The audit log: every state-changing action, its actor, target, parameters and outcome.

Parameters are scrubbed of anything secret-looking before they are stored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from services.adapters.backoff import Settled
from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.auth import Actor, require
from services.errors import (
    ChangeNotMade,
    FcopsError,
    Forbidden,
    RateLimited,
    Refused,
    StripeUnavailable,
)
from services.rules.input_limits import bounded_int, search_term
from services.rules.secrets import mask_secrets, mask_value

_SECRET_HINTS = ("secret", "password", "api_key", "token", "cookie", "authorization")


def scrub(params: Mapping[str, Any]) -> dict[str, Any]:
    """Drop values whose key looks secret (client secrets, passwords, keys)."""
    clean: dict[str, Any] = {}
    for key, value in params.items():
        if any(hint in key.lower() for hint in _SECRET_HINTS):
            clean[key] = "[redacted]"
        elif isinstance(value, Mapping):
            clean[key] = scrub(value)
        elif isinstance(value, str) and "_secret_" in value:
            clean[key] = "[redacted]"
        elif isinstance(value, str):
            clean[key] = storable(mask_secrets(value))  # a password in a URL; masked, then cut
        elif isinstance(value, float) and not math.isfinite(value):
            clean[key] = str(value)  # JSON has no NaN or infinity (PostgreSQL refuses them)
        else:
            clean[key] = mask_value(value)
    return clean


NOBODY = "(not signed in)"

# How an entry ended. ``unknown``: Stripe did not confirm a change (a server error, no answer),
# so it may have happened; its message says where to see whether it did (a create's look-up
# writes an entry of its own after it: what fcops found at Stripe).
OK, ERROR, REFUSED, UNKNOWN = "ok", "error", "refused", "unknown"
OUTCOMES = (OK, ERROR, REFUSED, UNKNOWN)


_STORED_TEXT_MAX = 500


def storable(text: str, limit: int = _STORED_TEXT_MAX) -> str:
    """``text`` as the log can keep it whatever was typed: NUL bytes (which PostgreSQL cannot
    store) shown as ``\\x00``, and at most ``limit`` characters (a refused 10,000-character
    name is logged by its start and length, not in full)."""
    text = text.replace("\x00", "\\x00")
    if len(text) > limit:
        return f"{text[:limit]}… ({len(text):,} characters)"
    return text


def record(
    engine: Engine,
    *,
    actor: Actor | None,
    action: str,
    target: str | None,
    outcome: str,
    params: Mapping[str, Any] | None = None,
    message: str | None = None,
    stripe_request_id: str | None = None,
    idempotency_key: str | None = None,
) -> AuditEntry:
    username, role = (actor.username, actor.role) if isinstance(actor, Actor) else (NOBODY, "-")
    entry = AuditEntry(
        actor=username,
        role=role,
        action=action,
        target=storable(mask_secrets(target), 200) if target else target,
        params=scrub(params or {}),
        outcome=outcome,
        message=storable(mask_secrets(message), 2_000) if message else message,
        stripe_request_id=stripe_request_id,
        idempotency_key=idempotency_key,
    )
    with session_scope(engine) as session:
        session.add(entry)
    return entry


@dataclass
class AuditContext:
    """Filled in by the action while it runs; written to the log when it ends."""

    target: str | None
    params: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    message: str | None = None
    # Set when Stripe did not confirm the change (it may have happened): a failure is then
    # written as ``unknown`` with this message, not as ``error`` (a refusal stays ``refused``).
    unconfirmed: str | None = None
    # Set when Stripe answered the change with a 5xx yet reading it back shows it was made: the
    # action succeeds, and its row reads ``unknown`` with this message (Stripe did not confirm it).
    made_unconfirmed: str | None = None


@contextmanager
def audited(
    engine: Engine,
    *,
    actor: Actor | None,
    action: str,
    target: str | None = None,
    params: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> Iterator[AuditContext]:
    """Run a state-changing action and write exactly one audit row for it, whatever happens.

    A domain error is logged as ``error`` (or ``refused`` for a role or a rule that said no;
    ``unknown`` when the action set ``ctx.unconfirmed``: Stripe may have made the change) and
    re-raised. Rows are only ever added, never changed: what fcops learns later (a look-up at
    Stripe) is an entry of its own.
    """
    ctx = AuditContext(target=target, params=dict(params or {}))

    def write(outcome: str, message: str | None, request_id: str | None = None) -> None:
        record(
            engine,
            actor=actor,
            action=action,
            target=ctx.target,
            outcome=outcome,
            params=ctx.params,
            message=message,
            stripe_request_id=request_id,
            idempotency_key=idempotency_key,
        )

    try:
        yield ctx
    except Exception as err:
        outcome, message, request_id = failure(err, ctx.request_id)
        if ctx.unconfirmed and outcome == ERROR:
            outcome, message = UNKNOWN, ctx.unconfirmed
        write(outcome, message, request_id)
        raise
    if ctx.made_unconfirmed:
        said = f": {ctx.message}" if ctx.message else "."
        write(UNKNOWN, f"{ctx.made_unconfirmed}{said}", ctx.request_id)
    else:
        write(OK, ctx.message, ctx.request_id)


T = TypeVar("T")


@dataclass(frozen=True)
class MadeAfterError:
    """Handed out by :func:`unconfirmed_change`: ``made(settled)`` marks the row ``unknown``
    when Stripe answered the change with a 5xx though reading it back shows it was made
    (``Settled.server_error``), and returns ``settled``."""

    ctx: AuditContext
    what: str

    def __call__(self, settled: Settled[T]) -> Settled[T]:
        if settled.server_error is not None:
            self.ctx.made_unconfirmed = (
                f"Stripe did not confirm {self.what} (a server error), though reading it back "
                "shows it was made"
            )
        return settled


@contextmanager
def unconfirmed_change(
    ctx: AuditContext,
    what: str,
    maybe: str,
    look: str,
    shown: Callable[[Any], str] | None = None,
) -> Iterator[MadeAfterError]:
    """Around one POST to Stripe inside :func:`audited`: when Stripe did not confirm it (a server
    error, no answer in time, a connection error) the change may have happened, so the row
    reads ``unknown`` with "Stripe did not confirm ``what`` (how), so ``maybe``; ``look``." (what
    to look at for the truth). A 5xx whose read back showed the change not made
    (:class:`ChangeNotMade`) says that read instead of ``look``, when ``shown`` words it (given
    the object read, in the past tense): "…; read back at once, ``shown(current)``." A 429 stays
    ``error``: Stripe refused before doing anything, as it did for any other 4xx. A 5xx whose
    read back shows the change made (``made(settled)``, :class:`MadeAfterError`) reads
    ``unknown`` too, once the action ends."""
    try:
        yield MadeAfterError(ctx, what)
    except RateLimited:
        raise
    except StripeUnavailable as err:
        how = "no answer in time" if err.outcome_unknown else "a server error"
        if isinstance(err, ChangeNotMade) and shown is not None:
            look = f"read back at once, {shown(err.current)}"
        ctx.unconfirmed = f"Stripe did not confirm {what} ({how}), so {maybe}; {look}."
        raise


def failure(err: BaseException, request_id: str | None = None) -> tuple[str, str, str | None]:
    """How a failed action's audit row reads: (outcome, message, Stripe request ID). A domain
    error is ``error`` (``refused`` when the role may not, or a rule said no: ``Refused``) with
    its sentence; anything else names only its type."""
    if isinstance(err, FcopsError):
        outcome = REFUSED if isinstance(err, Forbidden | Refused) else ERROR
        return outcome, str(err), request_id or err.request_id
    return ERROR, f"Unexpected error: {err.__class__.__name__}", None


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditEntry]
    total: int


# The orders the log can be read in, by the name the page puts in its URL (?sort=…). Only these
# reach SQL (an unknown name falls back to newest first); ties fall back to newest first.
AUDIT_SORTS: dict[str, str] = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "actor": "Actor (A–Z)",
    "action": "Action (A–Z)",
    "outcome": "Outcome (A–Z)",
    "target": "Target (A–Z)",
}
DEFAULT_AUDIT_SORT = "newest"


def _audit_order(sort: str | None) -> list[Any]:
    newest = [col(AuditEntry.at).desc(), col(AuditEntry.id).desc()]
    if sort == "oldest":
        return [col(AuditEntry.at).asc(), col(AuditEntry.id).asc()]
    column = {
        "actor": AuditEntry.actor,
        "action": AuditEntry.action,
        "outcome": AuditEntry.outcome,
        "target": AuditEntry.target,
    }.get(sort or "")
    return newest if column is None else [col(column).asc(), *newest]


def query(
    engine: Engine,
    *,
    actor: Actor,
    actions: Sequence[str] | None = None,
    actor_name: str | None = None,
    target: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
    sort: str | None = None,
) -> AuditPage:
    """Filtered page of the audit log (admins only), newest first or in ``sort`` order
    (``AUDIT_SORTS``; anything else is newest first): the whole result is sorted in SQL."""
    require(actor, "audit.view")
    actor_name = search_term(actor_name, field="The actor filter")
    target = search_term(target, field="The target filter")
    outcome = search_term(outcome, field="The outcome filter")
    actions = [search_term(a, field="An action filter") for a in (actions or ())]
    limit = bounded_int(limit, field="The page size", minimum=1, maximum=10_000)
    offset = bounded_int(offset, field="The offset", minimum=0, maximum=2**62)
    stmt = select(AuditEntry)
    if actions:
        stmt = stmt.where(col(AuditEntry.action).in_(list(actions)))
    if actor_name:  # any part of the username, in any case (usernames are stored lower case)
        stmt = stmt.where(
            func.lower(AuditEntry.actor).contains(actor_name.lower(), autoescape=True)
        )
    if target:
        stmt = stmt.where(col(AuditEntry.target).contains(target, autoescape=True))  # % _ literal
    if outcome:
        stmt = stmt.where(AuditEntry.outcome == outcome)
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    if until:
        stmt = stmt.where(AuditEntry.at <= until)
    with session_scope(engine) as session:
        total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
        rows = session.exec(stmt.order_by(*_audit_order(sort)).offset(offset).limit(limit)).all()
    return AuditPage(rows=list(rows), total=int(total))


def distinct_actions(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return sorted(session.exec(select(AuditEntry.action).distinct()).all())
