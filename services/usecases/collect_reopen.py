"""A collection request opened again from its ID: the Collect page keeps the request it made in
its address (``?request=cs_…``, ``seti_…`` or ``fcsess_…``), so a reload, a new tab or a
colleague given the address sees the same request (its link to send, its status) as Stripe has
it now, as Stripe's Dashboard does for any object it shows.

Reading only: nothing is created, so no idempotency key and no audit row; the role check is the
one every collection request needs. The SetupIntent read is mirrored into the store, as
:func:`services.usecases.collection_requests.intent_view` does.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlmodel import select

from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.auth import Actor, require
from services.context import Services
from services.errors import FcopsError, NotFound, ValidationError
from services.rules.clock import unix_seconds
from services.rules.intent_fields import customer_id, mapping
from services.rules.intents import (
    CollectionRequest,
    link_request,
    session_request,
    setup_request,
    view_of,
)
from services.usecases.sync_intents import store_intent

# What the page puts in its address for each kind of request it makes.
PREFIXES = ("cs_", "seti_", "fcsess_")
MAX_ID = 255


def _request_ref(value: object) -> str:
    """``value`` as a request ID the page could have written, else a ValidationError saying
    what an address may hold."""
    ref = str(value or "").strip()
    plain = ref.isascii() and ref.replace("_", "").isalnum()
    if not ref.startswith(PREFIXES) or len(ref) > MAX_ID or not plain:
        # Not echoed: the address is anyone's text, and the page draws sentences as Markdown.
        raise ValidationError(
            "The address names a request this page cannot open: it opens a hosted link (cs_…), "
            "a SetupIntent (seti_…) or a Financial Connections session (fcsess_…)."
        )
    return ref


def reopen_request(svc: Services, actor: Actor, ref: str) -> CollectionRequest:
    """The request ``ref`` names, as Stripe has it now (NotFound when Stripe has no such one)."""
    require(actor, "collect.create")
    ref = _request_ref(ref)
    try:
        if ref.startswith("cs_"):
            return _hosted_link(svc, ref)
        if ref.startswith("seti_"):
            intent = svc.gateway.retrieve_setup_intent(ref)
            store_intent(svc.engine, intent)
            return _setup_intent(intent)
        return _fc_session(svc, ref)
    except NotFound as err:
        if "this page" in str(err):
            raise
        raise NotFound(
            f"Stripe has no request {ref} in this mode. Check the address, or start a new "
            "request."
        ) from None


def current_link(
    svc: Services, actor: Actor, request: CollectionRequest
) -> CollectionRequest | None:
    """``request`` (a hosted link) with its Checkout Session's status as Stripe has it now, or
    None when it is no link or Stripe cannot say now. When a link expires Stripe cancels its
    SetupIntent: only the Checkout Session tells an expired link from a canceled request."""
    require(actor, "collect.create")
    if not request.checkout_session_id:
        return None
    try:
        fresh = reopen_request(svc, actor, request.checkout_session_id)
    except FcopsError:
        return None
    return replace(request, checkout_status=fresh.checkout_status, expires_at=fresh.expires_at)


def _setup_intent(intent: dict[str, Any]) -> CollectionRequest:
    return setup_request(
        intent,
        customer=customer_id(intent) or "",
        flow_version=view_of(intent).flow_version or 0,  # from the metadata it was made with
        replayed=False,
    )


def _hosted_link(svc: Services, session_id: str) -> CollectionRequest:
    session = svc.gateway.retrieve_checkout_session(session_id, expand=["setup_intent"])
    intent = session.get("setup_intent")
    if session.get("mode") != "setup" or not intent:
        raise NotFound(
            f"Checkout Session {session_id} is not a link to save a bank account (it has no "
            "SetupIntent); this page only opens the links it made."
        )
    if not isinstance(intent, dict):  # defensive: expansion not honoured
        intent = svc.gateway.retrieve_setup_intent(str(intent))
    store_intent(svc.engine, intent)
    made = _setup_intent(intent)
    return link_request(
        session, intent, customer=made.customer_id, flow_version=made.flow_version, replayed=False
    )


def _made_here(svc: Services, object_id: str) -> AuditEntry | None:
    """The audit row of this app's creation of ``object_id`` (None: made elsewhere)."""
    with session_scope(svc.engine) as session:
        return session.exec(
            select(AuditEntry).where(
                AuditEntry.action == "collect.create",
                AuditEntry.target == object_id,
                AuditEntry.outcome == "ok",
            )
        ).first()


def _fc_session(svc: Services, session_id: str) -> CollectionRequest:
    """An FC session has no ``created`` nor metadata on Stripe (the pinned SDK's
    ``financial_connections.Session``): when and with which flow version come from the audit
    row of its creation, so only sessions made here open."""
    made = _made_here(svc, session_id)
    if made is None:
        raise NotFound(
            f"Financial Connections session {session_id} was not made on this page, so it "
            "cannot be opened here; this page only opens the sessions it made."
        )
    session = svc.gateway.retrieve_fc_session(session_id)
    holder = mapping(session.get("account_holder"))
    version = made.params.get("flow_version")
    return session_request(
        session,
        customer=str(holder.get("customer") or made.params.get("customer") or ""),
        flow_version=version if isinstance(version, int) else 0,
        created=unix_seconds(made.at),
        replayed=False,
    )
