"""Ops asks a customer for a bank account: hosted links, SetupIntents and FC sessions, and their
state as Stripe has it now (cancelling one is :mod:`services.usecases.collect_cancel`).

A hosted link (:func:`create_hosted_link`) is a Checkout Session in ``setup`` mode carrying the
flow's configuration; the request is the SetupIntent Checkout creates for it, so everything that
follows a SetupIntent (open requests, microdeposits, the status watcher) follows it too.

A SetupIntent is created with exactly the ``setup_intent`` flow's saved configuration
(:func:`services.flows.load_flow` → :func:`services.adapters.flow_requests.setup_intent_create`,
typed as the pinned SDK's ``SetupIntentCreateParams``), so what admins set on the flow page is
what customers see. Every creation goes through one path: role check, a caller-supplied
idempotency key (a double click or a rerun replays the same Stripe object, reference §1.6), the
Stripe call, one audit row. A create Stripe did not confirm (a server error, no answer) is looked
for at Stripe by the attempt id its metadata carries (:mod:`services.usecases.collect_lookup`),
so the person hears whether Stripe made it; its row's outcome is ``unknown`` (not ``error``:
Stripe may have made it), and the look-up's own ``collect.lookup`` row says what was found. The client secret is handed back to the caller once and never written
to the audit log, the intents table or a log line: whoever holds it can confirm the intent.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from services.adapters import flow_requests
from services.adapters.gateway import (
    CheckoutSessionCreateParams,
    FcSessionCreateParams,
    SetupIntentCreateParams,
)
from services.audit import AuditContext, audited
from services.auth import Actor, require
from services.context import Services
from services.errors import (
    FcopsError,
    RateLimited,
    StripeUnavailable,
    ValidationError,
)
from services.rules import flow_config, input_limits
from services.rules.intent_fields import linked_accounts
from services.rules.intents import (
    FLOW,
    CollectionRequest,
    IntentView,
    link_request,
    session_request,
    setup_request,
    view_of,
)
from services.usecases import edit_flows
from services.usecases.collect_common import (
    customer_id as parse_customer,
)
from services.usecases.collect_common import (
    intent_id as parse_intent,
)
from services.usecases.collect_common import (
    replayed as was_replayed,
)
from services.usecases.collect_common import (
    require_key,
    retrieve,
    send_settled,
    unconfirmed,
)
from services.usecases.collect_lists import open_requests  # noqa: F401  (its old home)
from services.usecases.collect_lookup import (
    ATTEMPT,
    MadeAfterAll,
    attempt_id,
    told_after_lookup,
    unconfirmed_note,
)
from services.usecases.collect_open import recorded_create
from services.usecases.sync_intents import store_intent

# --------------------------------------------------------------------------- creation

Seen = Collection[str] | None  # the customer's open requests the person was shown (collect_open)


@contextmanager
def _creating(
    svc: Services, actor: Actor, kind: str, customer_id: str, key: str, seen: Seen
) -> Iterator[tuple[AuditContext, str, flow_config.FlowConfig]]:
    """The one path every creation takes: an audit row, the role check, the customer's id, the
    create recorded while it runs and the open-requests rule (:mod:`collect_open`: ``seen``,
    the customer's open requests the person was shown; None: no check), and the flow's saved
    configuration."""
    with audited(
        svc.engine,
        actor=actor,
        action="collect.create",
        params={"kind": kind, "customer": customer_id},
        idempotency_key=key,
    ) as ctx:
        require(actor, "collect.create")
        customer = parse_customer(customer_id)
        with recorded_create(svc, actor, ctx, kind=kind, customer=customer, key=key, open_seen=seen):
            yield ctx, customer, edit_flows.load_flow(svc.engine, FLOW)


def _send(
    svc: Services,
    ctx: AuditContext,
    key: str,
    what: str,
    create: Callable[..., dict[str, Any]],
    params: Any,
    *,
    actor: Actor,
    customer: str,
) -> tuple[dict[str, Any], bool]:
    """Send the create call; also whether Stripe replayed an earlier object for this key. A
    SetupIntent or link Stripe did not confirm is looked for at Stripe (:mod:`collect_lookup`):
    the person hears whether Stripe made it; an FC session cannot be listed, so they hear where
    to look."""
    replayed = was_replayed(svc, key, "collect.create")
    listed = create != svc.gateway.create_fc_session
    since = svc.now()
    try:
        with unconfirmed(what, after_server_error=_look_first(since) if listed else None):
            created, read_back = send_settled(create, params, key, what=what)
    except RateLimited:
        raise  # refused before anything happened
    except StripeUnavailable as err:  # a server error, or no answer even when read back
        if not listed:  # the create's row: unknown, not error (Stripe may have made it)
            ctx.unconfirmed = unconfirmed_note(what, err, None)
            raise
        told = told_after_lookup(
            svc, actor, err, customer=customer, key=key, since=since, what=what,
            link=create == svc.gateway.create_checkout_session,
        )
        if isinstance(told, MadeAfterAll):
            ctx.target = told.made
            if told.link:  # Open requests names the link by it (collect_lists.links_made)
                ctx.params["checkout_session"] = told.link
        ctx.unconfirmed = unconfirmed_note(what, err, told)
        raise told from None
    if read_back:
        ctx.params["read_back"] = True
    ctx.target = str(created["id"])
    ctx.request_id = svc.gateway.last_request_id
    return created, replayed


def _look_first(now: float) -> str:
    """After a 500 a create may have been made: where to look before making a second one."""
    at = datetime.fromtimestamp(now, UTC).strftime("%H:%M")
    return (
        f"Before creating again, press Sync from Stripe in Open requests and look for a request "
        f"for this customer made at {at} UTC: if there is one, it is this one. Create again "
        "sends a new request, so if the first went through you would have two."
    )


def _metadata(config: flow_config.FlowConfig, actor: Actor, key: str | None) -> dict[str, str]:
    """What a SetupIntent (a link's too) carries: the flow and its version, who made it, and the
    attempt (its idempotency key's id: a create Stripe did not confirm is found by it)."""
    metadata = {
        "fcops_flow": FLOW,
        "fcops_flow_version": str(config.version),
        "fcops_created_by": actor.username,
    }
    if key:
        metadata[ATTEMPT] = attempt_id(key)
    return metadata


def setup_intent_params(
    config: flow_config.FlowConfig, *, customer_id: str, actor: Actor, key: str | None = None
) -> SetupIntentCreateParams:
    """The create call's params: the flow's configuration, the customer, and who/what made it
    (``key``: the create's idempotency key, whose attempt id goes in the metadata)."""
    return flow_requests.setup_intent_create(
        config, customer=customer_id, metadata=_metadata(config, actor, key)
    )


def create_setup_intent(
    svc: Services, actor: Actor, *, customer_id: str, idempotency_key: str, open_seen: Seen = None
) -> CollectionRequest:
    """A SetupIntent carrying exactly the ``setup_intent`` flow's saved configuration (audited)."""
    key = require_key(idempotency_key)
    with _creating(svc, actor, "setup_intent", customer_id, key, open_seen) as (ctx, customer, config):
        params = setup_intent_params(config, customer_id=customer, actor=actor, key=key)
        ctx.params.update(
            customer=customer, flow=FLOW, flow_version=config.version, config=config.value()
        )
        intent, replayed = _send(
            svc, ctx, key, "the new SetupIntent", svc.gateway.create_setup_intent, params,
            actor=actor, customer=customer,
        )
        ctx.message = (
            f"Same request as before: Stripe returned the existing SetupIntent {intent['id']}."
            if replayed
            else f"Created SetupIntent {intent['id']} with flow configuration v{config.version}."
        )
        store_intent(svc.engine, intent)
    return setup_request(intent, customer=customer, flow_version=config.version, replayed=replayed)


# Checkout verifies a bank account instantly or automatically, never by microdeposits only
# (reference §5.1; the sandbox refuses it as Stripe does).
CHECKOUT_METHODS = ("automatic", "instant")
# Where the customer lands after the hosted page, in sandbox mode (nothing is served there:
# the sandbox's "play the customer" panel does what the customer does).
SANDBOX_RETURN_URL = "https://example.com/fcops/bank-account-saved"


def checkout_params(
    config: flow_config.FlowConfig,
    *,
    customer_id: str,
    actor: Actor,
    return_url: str,
    key: str | None = None,
) -> CheckoutSessionCreateParams:
    """A Checkout Session in ``setup`` mode with the flow's FC permissions, prefetch and
    verification method; its SetupIntent comes back expanded (one call)."""
    params = flow_requests.checkout_session_create(
        config,
        customer=customer_id,
        success_url=return_url,
        cancel_url=None,
        metadata=_metadata(config, actor, key),
    )
    params["expand"] = ["setup_intent"]
    return params


def _return_url(svc: Services, return_url: str | None) -> str:
    url = input_limits.clean_text(return_url, field="The return URL", max_length=2_000)
    if url:
        if not url.startswith(("https://", "http://")):
            raise ValidationError(f"The return URL must start with https:// (not {url[:40]!r}).")
        return url
    if svc.mode == "sandbox":
        return SANDBOX_RETURN_URL
    raise ValidationError(
        "Set FCOPS_CHECKOUT_RETURN_URL to the page your customers see after saving their bank "
        "account: Stripe's hosted page sends them there."
    )


def create_hosted_link(
    svc: Services,
    actor: Actor,
    *,
    customer_id: str,
    idempotency_key: str,
    return_url: str | None = None,
    open_seen: Seen = None,
) -> CollectionRequest:
    """A link to send the customer: a Checkout Session in ``setup`` mode carrying the
    ``setup_intent`` flow's configuration (audited). The request is its SetupIntent."""
    key = require_key(idempotency_key)
    with _creating(svc, actor, "checkout_session", customer_id, key, open_seen) as (ctx, customer, config):
        if config.verification_method not in CHECKOUT_METHODS:
            raise ValidationError(
                f"Stripe's hosted page cannot verify by {config.verification_method} only; it "
                "verifies instantly or automatically. Create a SetupIntent for your own page "
                "instead, or ask an admin to change the flow's verification method."
            )
        params = checkout_params(
            config, customer_id=customer, actor=actor, return_url=_return_url(svc, return_url),
            key=key,
        )
        ctx.params.update(
            customer=customer, flow=FLOW, flow_version=config.version, config=config.value()
        )
        session, replayed = _send(
            svc, ctx, key, "the new link", svc.gateway.create_checkout_session, params,
            actor=actor, customer=customer,
        )
        intent = session.get("setup_intent")  # Optional in the SDK's checkout.Session
        if intent is None:
            raise StripeUnavailable(
                f"Stripe made the link {session['id']} but gave it no SetupIntent, so it cannot "
                "be followed here. Create the link again; if it keeps happening, create a "
                "SetupIntent instead."
            )
        if not isinstance(intent, dict):  # defensive: expansion not honoured
            intent = svc.gateway.retrieve_setup_intent(str(intent))
        ctx.target = str(intent["id"])  # the request is its SetupIntent
        ctx.params["checkout_session"] = str(session["id"])
        ctx.message = (
            f"Same request as before: Stripe returned the existing link {session['id']}."
            if replayed
            else f"Created link {session['id']} (SetupIntent {intent.get('id')}) with flow "
            f"configuration v{config.version}."
        )
        store_intent(svc.engine, intent)
    return link_request(
        session, intent, customer=customer, flow_version=config.version, replayed=replayed
    )


# Endive (2026-10-28) changed FC Session defaults: every account subcategory (credit cards,
# mortgages and lines of credit too), no payment-method support required, manual entry off
# (reference §9). A session whose accounts may be debited asks for what it needs explicitly.
def fc_session_params(
    customer: str, permissions: Iterable[str], prefetch: Iterable[str]
) -> FcSessionCreateParams:
    """The create params of an FC session; with the ``payment_method`` permission the accounts
    are meant to be debited, so only checking/savings accounts that support payments (endive's
    defaults would also offer credit cards, mortgages and lines of credit)."""
    params: FcSessionCreateParams = {
        "account_holder": {"type": "customer", "customer": customer},
        "permissions": list(permissions),
    }
    if prefetch := list(prefetch):
        params["prefetch"] = prefetch
    if "payment_method" in params["permissions"]:
        params["filters"] = {
            "account_subcategories": ["checking", "savings"],
            "require_payment_method_support": "all",
        }
    return params


def create_fc_session(
    svc: Services,
    actor: Actor,
    *,
    customer_id: str,
    idempotency_key: str,
    permissions: Iterable[str] | None = None,
    prefetch: Iterable[str] | None = None,
    open_seen: Seen = None,
) -> CollectionRequest:
    """An FC session for the customer (data access without a payment method; audited).

    Permissions and prefetch default to the ``setup_intent`` flow's; pass them to choose others.
    """
    key = require_key(idempotency_key)
    with _creating(svc, actor, "financial_connections.session", customer_id, key, open_seen) as (
        ctx,
        customer,
        config,
    ):
        perms, pre = flow_config.session_choice(config, permissions, prefetch)
        params = fc_session_params(customer, perms, pre)
        ctx.params.update(
            customer=customer,
            permissions=list(perms),
            prefetch=list(pre),
            flow_version=config.version,
        )
        session, replayed = _send(
            svc,
            ctx,
            key,
            "the new Financial Connections session",
            svc.gateway.create_fc_session,
            params,
            actor=actor,
            customer=customer,
        )
        ctx.message = (
            f"Same request as before: Stripe returned the existing session {session['id']}."
            if replayed
            else f"Created Financial Connections session {session['id']}."
        )
    return session_request(
        session,
        customer=customer,
        flow_version=config.version,
        created=svc.now(),  # Stripe's session has none
        replayed=replayed,
        permissions=tuple(perms),
        prefetch=tuple(pre),
    )


# --------------------------------------------------------------------------- reading


def intent_view(svc: Services, actor: Actor, intent_id: str) -> IntentView:
    """The intent's current state from Stripe (and mirrored into the store)."""
    require(actor, "collect.create")
    ident, kind = parse_intent(intent_id)
    intent = retrieve(svc, ident, kind)
    store_intent(svc.engine, intent)
    return view_of(intent)


def current_view(svc: Services, actor: Actor, intent_id: str) -> IntentView | None:
    """:func:`intent_view`, or None when Stripe cannot say now (after a failed change, the
    page shows the intent's state when it can and keeps the failure's own message).
    A refused role is refused, not answered with None."""
    require(actor, "collect.create")
    try:
        return intent_view(svc, actor, intent_id)
    except FcopsError:
        return None


def session_progress(svc: Services, actor: Actor, request: CollectionRequest) -> CollectionRequest:
    """An FC session request as Stripe has it now: ``linked`` once the customer linked
    accounts (a session has no status field of its own; its ``accounts`` list fills), else
    ``open``."""
    require(actor, "collect.create")
    session = svc.gateway.retrieve_fc_session(request.id)
    linked = linked_accounts(session)
    return replace(request, status="linked" if linked else "open", linked_accounts=linked)


def current_session(
    svc: Services, actor: Actor, request: CollectionRequest
) -> CollectionRequest | None:
    """:func:`session_progress`, or None when Stripe cannot say now."""
    require(actor, "collect.create")
    try:
        return session_progress(svc, actor, request)
    except FcopsError:
        return None
