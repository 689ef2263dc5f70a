"""Collecting bank accounts (ops): customers, SetupIntents and FC sessions, open requests, cancels.

A SetupIntent is created with exactly the ``setup_intent`` flow's saved configuration
(:func:`services.flows.load_flow` → :func:`services.adapters.flow_requests.setup_intent_create`, typed as the
pinned SDK's ``SetupIntentCreateParams``), so what admins set on the flow page is what customers see. Every creation goes through one path: role check, a caller-supplied
idempotency key (a double click or a rerun replays the same Stripe object, reference §1.6), the
Stripe call, one audit row. The client secret is handed back to the caller once and never written
to the audit log, the intents table or a log line: whoever holds it can confirm the intent.

Sandbox demos play the customer's part through hooks that live outside ``/v1``; this module never
calls them itself (they do not exist on live Stripe). :func:`simulate` only audits a step the page
runs, and refuses outside sandbox mode.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import select

from services import accounts, audit, flows

from services.usecases import sync_intents as intent_sync
from services.adapters import flow_requests, stripe_api
from services.adapters.gateway import (
    CustomerCreateParams,
    FcSessionCreateParams,
    SetupIntentCreateParams,
)
from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.auth import Actor, require
from services.context import Services
from services.errors import (
    FcopsError,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    StripeRequestError,
    StripeUnavailable,
    ValidationError,
)
from services.rules.calendar import is_business_day
from services.rules.ids import parse_id

__all__ = [
    "CANCEL_REASONS",
    "OPEN_STATUSES",
    "STUCK_AFTER_BUSINESS_DAYS",
    "CollectionRequest",
    "CustomerResult",
    "IntentView",
    "MicrodepositItem",
    "OpenRequest",
    "business_days_late",
    "cancel_request",
    "create_customer",
    "create_fc_session",
    "create_setup_intent",
    "intent_view",
    "microdeposit_queue",
    "open_requests",
    "simulate",
    "verify_microdeposits",
]

FLOW = "setup_intent"
OPEN_STATUSES = (
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "processing",
)
CANCEL_REASONS = ("requested_by_customer", "abandoned", "duplicate")
STUCK_AFTER_BUSINESS_DAYS = 2
LOOKBACK_SECONDS = 30 * 86_400  # microdeposits time out 10 days after arrival (§6.2)
MAX_SCAN = 2_000
SIMULATION_STEPS = ("link", "manual_entry", "microdeposits_arrive", "complete_session")
_DESCRIPTOR_RE = re.compile(r"^SM[A-Z0-9]{4}$")
_REMAINING_RE = re.compile(r"(\d+)\s+verification\s+attempts?\s+remaining", re.IGNORECASE)
# Reference §6.2: Stripe allows 10 failed attempts for a descriptor code and 3 for amounts.
ATTEMPT_LIMITS = {"descriptor_code": 10, "amounts": 3}
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class CustomerResult:
    id: str
    email: str | None
    name: str | None
    reused: bool
    message: str


@dataclass(frozen=True)
class CollectionRequest:
    """A created SetupIntent or FC session, with what the customer-facing side needs.

    ``client_secret`` is excluded from ``repr`` so it cannot slip into a log line.
    """

    id: str
    kind: str  # setup_intent | financial_connections.session
    customer_id: str
    status: str
    flow_version: int
    permissions: tuple[str, ...]
    prefetch: tuple[str, ...]
    verification_method: str | None  # None for FC sessions (no payment verification)
    created: int
    payment_method_options: dict[str, Any]
    hosted_verification_url: str | None
    replayed: bool
    client_secret: str = field(repr=False)
    session_filters: dict[str, Any] | None = None  # FC sessions: the filters Stripe returned


@dataclass(frozen=True)
class OpenRequest:
    id: str
    kind: str
    customer_id: str | None
    status: str
    verification_method: str
    flow: str
    created: int
    age_seconds: int
    next_action: str | None
    hosted_verification_url: str | None
    last_error: str | None


@dataclass(frozen=True)
class MicrodepositItem:
    id: str
    kind: str
    customer_id: str | None
    microdeposit_type: str
    arrival_date: int | None
    hosted_verification_url: str | None
    created: int
    age_seconds: int
    business_days_late: int
    stuck: bool


@dataclass(frozen=True)
class IntentView:
    """An intent as the collection page shows it after a change (no client secret)."""

    id: str
    kind: str
    customer_id: str | None
    status: str
    verification_method: str
    permissions: tuple[str, ...]
    prefetch: tuple[str, ...]
    payment_method_options: dict[str, Any]
    next_action: str | None
    microdeposit_type: str | None
    arrival_date: int | None
    hosted_verification_url: str | None
    payment_method: str | None
    financial_connections_account: str | None
    last_error: str | None
    flow: str
    flow_version: int | None


# --------------------------------------------------------------------------- helpers


def _customer(text: str | None) -> str:
    customer_id, _ = parse_id(text, allowed=("customer",))
    return customer_id


def _intent_id(text: str | None) -> tuple[str, str]:
    return parse_id(text, allowed=("setup_intent", "payment_intent"))


def _require_key(idempotency_key: str | None) -> str:
    key = (idempotency_key or "").strip()
    if not key:
        raise ValidationError(
            "An idempotency key is required so a double click creates one object."
        )
    return key


@contextmanager
def _unconfirmed(what: str) -> Iterator[None]:
    """A timeout or server error on a POST leaves its outcome unknown (the request may have
    run), so say that instead of "nothing changed". What a retry does differs (reference
    §1.6): with no answer at all the same key is sent again and Stripe does it at most once;
    after a 500 Stripe saved that answer under the key, so the retry must be a new request. A
    429 is different again: Stripe refused before doing anything."""
    try:
        yield
    except RateLimited:
        raise
    except OutcomeUnknown as err:
        raise OutcomeUnknown(
            f"Stripe did not confirm {what}: it was unreachable or too slow, so it may or may "
            "not have happened. Try again in a moment; the retry repeats the same request, so "
            "Stripe does it at most once.",
            request_id=err.request_id,
        ) from None
    except StripeUnavailable as err:
        raise StripeUnavailable(
            f"Stripe did not confirm {what}: it had a server error, so it may or may not have "
            "happened. Stripe keeps that answer for this request, so trying again sends a new "
            "request; if the first one went through after all, you will see both.",
            request_id=err.request_id,
        ) from None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _us_bank_options(intent: Mapping[str, Any]) -> Mapping[str, Any]:
    return _mapping(_mapping(intent.get("payment_method_options")).get("us_bank_account"))


def _microdeposits(intent: Mapping[str, Any]) -> Mapping[str, Any]:
    action = _mapping(intent.get("next_action"))
    if action.get("type") != "verify_with_microdeposits":
        return {}
    return _mapping(action.get("verify_with_microdeposits"))


def _last_error(intent: Mapping[str, Any]) -> str | None:
    error = _mapping(intent.get("last_setup_error") or intent.get("last_payment_error"))
    if not error:
        return None
    return str(error.get("message") or error.get("code") or "failed")


def _replayed(svc: Services, key: str, action: str) -> bool:
    """True when an earlier call with this key already succeeded (Stripe replays its object)."""
    with session_scope(svc.engine) as session:
        found = session.exec(
            select(AuditEntry.id).where(
                AuditEntry.idempotency_key == key,
                AuditEntry.action == action,
                AuditEntry.outcome == "ok",
            )
        ).first()
    return found is not None


# --------------------------------------------------------------------------- customers


def create_customer(
    svc: Services,
    actor: Actor,
    *,
    email: str,
    name: str | None = None,
    idempotency_key: str,
) -> CustomerResult:
    """A customer for this email: an existing one with exactly this email is reused, not doubled."""
    clean = (email or "").strip()
    key = _require_key(idempotency_key)

    def run(ctx: audit.AuditContext) -> CustomerResult:
        if not _EMAIL_RE.match(clean):
            raise ValidationError(
                f"'{clean[:80]}' is not a complete email address (name@example.com)."
            )
        _check_customer_lengths(email=clean, name=(name or "").strip())
        existing = [c for c in svc.gateway.customers_by_email(clean) if not c.get("deleted")]
        if existing:
            customer = max(existing, key=lambda c: int(c.get("created") or 0))
            message = (
                f"A customer with this email already exists ({customer['id']}); using it instead "
                "of creating another."
            )
            reused = True
        else:
            params: CustomerCreateParams = {
                "email": clean,
                "metadata": {"fcops_created_by": actor.username},
            }
            if name and name.strip():
                params["name"] = name.strip()
            with _unconfirmed("the new customer"):
                customer = svc.gateway.create_customer(params, idempotency_key=key)
            message = f"Created customer {customer['id']}."
            reused = False
        accounts.upsert_customer(svc.engine, customer)
        ctx.target = str(customer["id"])
        ctx.request_id = svc.gateway.last_request_id
        ctx.params["reused"] = reused
        ctx.message = message
        return CustomerResult(
            id=str(customer["id"]),
            email=customer.get("email"),
            name=customer.get("name"),
            reused=reused,
            message=message,
        )

    return audit.guarded(
        svc.engine,
        actor=actor,
        permission="collect.create",
        action="collect.customer",
        target=None,
        params={"email": clean, "name": name},
        idempotency_key=key,
        run=run,
    )


def _check_customer_lengths(**fields: str) -> None:
    """Stripe's length limits for a customer (``stripe_api.LENGTH_LIMITS``), before the call."""
    for name, value in fields.items():
        limit = stripe_api.length_limit("/v1/customers", name)
        if len(value) > limit:
            raise ValidationError(
                f"The {name} is {len(value)} characters long, but Stripe accepts at most {limit} "
                f"for a customer's {name}. Shorten it and try again."
            )


# --------------------------------------------------------------------------- creation


def setup_intent_params(
    config: flows.FlowConfig, *, customer_id: str, actor: Actor
) -> SetupIntentCreateParams:
    """The create call's params: the flow's configuration, the customer, and who/what made it."""
    return flow_requests.setup_intent_create(
        config,
        customer=customer_id,
        metadata={
            "fcops_flow": FLOW,
            "fcops_flow_version": str(config.version),
            "fcops_created_by": actor.username,
        },
    )


def create_setup_intent(
    svc: Services, actor: Actor, *, customer_id: str, idempotency_key: str
) -> CollectionRequest:
    """A SetupIntent carrying exactly the ``setup_intent`` flow's saved configuration (audited)."""
    key = _require_key(idempotency_key)

    def run(ctx: audit.AuditContext) -> CollectionRequest:
        customer = _customer(customer_id)
        config = flows.load_flow(svc.engine, FLOW)
        params = setup_intent_params(config, customer_id=customer, actor=actor)
        ctx.params.update(
            customer=customer, flow=FLOW, flow_version=config.version, config=config.value()
        )
        replayed = _replayed(svc, key, "collect.create")
        with _unconfirmed("the new SetupIntent"):
            intent = svc.gateway.create_setup_intent(params, idempotency_key=key)
        ctx.target = str(intent["id"])
        ctx.request_id = svc.gateway.last_request_id
        ctx.message = (
            f"Same request as before: Stripe returned the existing SetupIntent {intent['id']}."
            if replayed
            else f"Created SetupIntent {intent['id']} with flow configuration v{config.version}."
        )
        intent_sync.store_intent(svc.engine, intent)
        options = _us_bank_options(intent)
        fc = _mapping(options.get("financial_connections"))
        return CollectionRequest(
            id=str(intent["id"]),
            kind="setup_intent",
            customer_id=customer,
            status=str(intent.get("status")),
            flow_version=config.version,
            permissions=tuple(fc.get("permissions") or ()),
            prefetch=tuple(fc.get("prefetch") or ()),
            verification_method=options.get("verification_method"),
            created=int(intent["created"]),
            payment_method_options=dict(_mapping(intent.get("payment_method_options"))),
            hosted_verification_url=_microdeposits(intent).get("hosted_verification_url"),
            replayed=replayed,
            client_secret=str(intent.get("client_secret") or ""),
        )

    return audit.guarded(
        svc.engine,
        actor=actor,
        permission="collect.create",
        action="collect.create",
        target=None,
        params={"kind": "setup_intent", "customer": customer_id},
        idempotency_key=key,
        run=run,
    )


def _session_choice(
    config: flows.FlowConfig,
    permissions: Iterable[str] | None,
    prefetch: Iterable[str] | None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    perms = flows.canonical(
        permissions if permissions is not None else config.permissions, flows.PERMISSIONS
    )
    pre = flows.canonical(prefetch if prefetch is not None else config.prefetch, flows.PREFETCH)
    if not perms:
        raise ValidationError(
            "Choose at least one permission for the Financial Connections session."
        )
    result = flows.validate(FLOW, permissions=perms, prefetch=pre, verification_method="automatic")
    if result.errors:
        raise ValidationError(" ".join(result.errors))
    return perms, pre


# Endive (2026-10-28) changed FC Session defaults: every account subcategory (credit cards,
# mortgages and lines of credit too), no payment-method support required, manual entry off
# (reference §9). A session whose accounts may be debited asks for what it needs explicitly.
def fc_session_params(
    customer: str, permissions: Iterable[str], prefetch: Iterable[str]
) -> FcSessionCreateParams:
    """The create params of an FC session; with the ``payment_method`` permission the accounts
    are meant to be debited, so only checking/savings accounts that support payments (endive's
    defaults would also offer credit cards, mortgages and lines of credit)."""
    perms, pre = list(permissions), list(prefetch)
    params: FcSessionCreateParams = {
        "account_holder": {"type": "customer", "customer": customer},
        "permissions": perms,  # type: ignore[typeddict-item]
    }
    if pre:
        params["prefetch"] = pre  # type: ignore[typeddict-item]
    if "payment_method" in perms:
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
) -> CollectionRequest:
    """An FC session for the customer (data access without a payment method; audited).

    Permissions and prefetch default to the ``setup_intent`` flow's; pass them to choose others.
    """
    key = _require_key(idempotency_key)

    def run(ctx: audit.AuditContext) -> CollectionRequest:
        customer = _customer(customer_id)
        config = flows.load_flow(svc.engine, FLOW)
        perms, pre = _session_choice(config, permissions, prefetch)
        params = fc_session_params(customer, perms, pre)
        ctx.params.update(
            customer=customer,
            permissions=list(perms),
            prefetch=list(pre),
            flow_version=config.version,
        )
        replayed = _replayed(svc, key, "collect.create")
        with _unconfirmed("the new Financial Connections session"):
            session = svc.gateway.create_fc_session(params, idempotency_key=key)
        ctx.target = str(session["id"])
        ctx.request_id = svc.gateway.last_request_id
        ctx.message = (
            f"Same request as before: Stripe returned the existing session {session['id']}."
            if replayed
            else f"Created Financial Connections session {session['id']}."
        )
        return CollectionRequest(
            id=str(session["id"]),
            kind="financial_connections.session",
            customer_id=customer,
            status="open",
            flow_version=config.version,
            permissions=tuple(session.get("permissions") or perms),
            prefetch=tuple(session.get("prefetch") or pre),
            verification_method=None,
            created=int(session.get("created") or svc.now()),
            payment_method_options={},
            hosted_verification_url=None,
            replayed=replayed,
            client_secret=str(session.get("client_secret") or ""),
            session_filters=dict(session.get("filters") or {}) or None,
        )

    return audit.guarded(
        svc.engine,
        actor=actor,
        permission="collect.create",
        action="collect.create",
        target=None,
        params={"kind": "financial_connections.session", "customer": customer_id},
        idempotency_key=key,
        run=run,
    )


# --------------------------------------------------------------------------- reading


def _retrieve(svc: Services, intent_id: str, kind: str) -> dict[str, Any]:
    try:
        if kind == "payment_intent":
            return svc.gateway.retrieve_payment_intent(intent_id, expand=["payment_method"])
        return svc.gateway.retrieve_setup_intent(intent_id, expand=["payment_method"])
    except NotFound:
        raise NotFound(
            f"Stripe has no {kind.replace('_', ' ')} {intent_id}. Check the ID and the mode."
        ) from None


def _view(intent: Mapping[str, Any]) -> IntentView:
    options = _us_bank_options(intent)
    fc = _mapping(options.get("financial_connections"))
    deposits = _microdeposits(intent)
    pm = intent.get("payment_method")
    pm_id = pm.get("id") if isinstance(pm, Mapping) else pm
    fca = _mapping(_mapping(pm).get("us_bank_account")).get("financial_connections_account")
    metadata = _mapping(intent.get("metadata"))
    version = str(metadata.get("fcops_flow_version") or "")
    return IntentView(
        id=str(intent["id"]),
        kind=str(intent.get("object") or "setup_intent"),
        customer_id=intent_sync.intent_values(intent)["customer_id"],
        status=str(intent.get("status")),
        verification_method=str(options.get("verification_method") or "automatic"),
        permissions=tuple(fc.get("permissions") or ()),
        prefetch=tuple(fc.get("prefetch") or ()),
        payment_method_options=dict(_mapping(intent.get("payment_method_options"))),
        next_action=_mapping(intent.get("next_action")).get("type"),
        microdeposit_type=deposits.get("microdeposit_type"),
        arrival_date=deposits.get("arrival_date"),
        hosted_verification_url=deposits.get("hosted_verification_url"),
        payment_method=str(pm_id) if pm_id else None,
        financial_connections_account=str(fca) if fca else None,
        last_error=_last_error(intent),
        flow=str(metadata.get("fcops_flow") or intent_sync.UNKNOWN_FLOW),
        flow_version=int(version) if version.isdigit() else None,
    )


def intent_view(svc: Services, actor: Actor, intent_id: str) -> IntentView:
    """The intent's current state from Stripe (and mirrored into the store)."""
    require(actor, "collect.create")
    ident, kind = _intent_id(intent_id)
    intent = _retrieve(svc, ident, kind)
    intent_sync.store_intent(svc.engine, intent)
    return _view(intent)


def _recent_intents(
    svc: Services, *, customer_id: str | None, since: int, payment_intents: bool
) -> Iterator[dict[str, Any]]:
    yield from svc.gateway.iter_setup_intents(created_gte=since, customer=customer_id)
    if payment_intents:
        yield from svc.gateway.iter_payment_intents(created_gte=since, customer=customer_id)


def open_requests(
    svc: Services,
    actor: Actor,
    *,
    limit: int = 50,
    customer_id: str | None = None,
    lookback_seconds: int = LOOKBACK_SECONDS,
) -> list[OpenRequest]:
    """SetupIntents not yet succeeded or canceled, newest first, with status and age."""
    require(actor, "collect.create")
    customer = _customer(customer_id) if customer_id else None
    now = svc.now()
    found: list[OpenRequest] = []
    for n, intent in enumerate(
        _recent_intents(
            svc, customer_id=customer, since=now - lookback_seconds, payment_intents=False
        )
    ):
        if n >= MAX_SCAN or len(found) >= limit:
            break
        if intent.get("status") not in OPEN_STATUSES:
            continue
        view = _view(intent)
        found.append(
            OpenRequest(
                id=view.id,
                kind=view.kind,
                customer_id=view.customer_id,
                status=view.status,
                verification_method=view.verification_method,
                flow=view.flow,
                created=int(intent["created"]),
                age_seconds=max(0, now - int(intent["created"])),
                next_action=view.next_action,
                hosted_verification_url=view.hosted_verification_url,
                last_error=view.last_error,
            )
        )
    return sorted(found, key=lambda r: (-r.created, r.id))


def business_days_late(arrival_date: int | None, *, now: int) -> int:
    """Business days that have passed since the deposits were expected (0 when not yet due)."""
    if arrival_date is None:
        return 0
    due = datetime.fromtimestamp(arrival_date, UTC).date()
    today = datetime.fromtimestamp(now, UTC).date()
    return sum(1 for d in _days_after(due, today) if is_business_day(d))


def _days_after(first: date, last: date) -> Iterator[date]:
    day = first + timedelta(days=1)
    while day <= last:
        yield day
        day += timedelta(days=1)


def microdeposit_queue(
    svc: Services,
    actor: Actor,
    *,
    customer_id: str | None = None,
    lookback_seconds: int = LOOKBACK_SECONDS,
) -> list[MicrodepositItem]:
    """Intents waiting for microdeposit verification, oldest arrival first; stuck ones flagged.

    Stuck: more than two business days past the expected arrival (deposits take 1–2 business
    days, §6.2), so the customer probably needs a reminder with the hosted verification link.
    """
    require(actor, "collect.create")
    customer = _customer(customer_id) if customer_id else None
    now = svc.now()
    items: list[MicrodepositItem] = []
    for n, intent in enumerate(
        _recent_intents(
            svc, customer_id=customer, since=now - lookback_seconds, payment_intents=True
        )
    ):
        if n >= MAX_SCAN:
            break
        deposits = _microdeposits(intent)
        if intent.get("status") != "requires_action" or not deposits:
            continue
        arrival = deposits.get("arrival_date")
        late = business_days_late(arrival, now=now)
        items.append(
            MicrodepositItem(
                id=str(intent["id"]),
                kind=str(intent.get("object") or "setup_intent"),
                customer_id=intent_sync.intent_values(intent)["customer_id"],
                microdeposit_type=str(deposits.get("microdeposit_type") or "descriptor_code"),
                arrival_date=int(arrival) if arrival is not None else None,
                hosted_verification_url=deposits.get("hosted_verification_url"),
                created=int(intent["created"]),
                age_seconds=max(0, now - int(intent["created"])),
                business_days_late=late,
                stuck=late > STUCK_AFTER_BUSINESS_DAYS,
            )
        )
    return sorted(items, key=lambda i: (-i.business_days_late, i.arrival_date or 0, i.id))


# --------------------------------------------------------------------------- changes


def cancel_request(
    svc: Services,
    actor: Actor,
    intent_id: str,
    *,
    reason: str | None,
    idempotency_key: str,
) -> IntentView:
    """Cancel an open SetupIntent or PaymentIntent (audited ``collect.cancel``)."""
    key = _require_key(idempotency_key)

    def run(ctx: audit.AuditContext) -> IntentView:
        ident, kind = _intent_id(intent_id)
        ctx.target = ident
        if reason is not None and reason not in CANCEL_REASONS:
            raise ValidationError(
                f"'{reason}' is not a cancellation reason Stripe accepts; use one of "
                f"{', '.join(CANCEL_REASONS)}."
            )
        try:
            with _unconfirmed(f"the cancellation of {ident}"):
                if kind == "payment_intent":
                    intent = svc.gateway.cancel_payment_intent(
                        ident, reason=reason, idempotency_key=key
                    )
                else:
                    intent = svc.gateway.cancel_setup_intent(
                        ident, reason=reason, idempotency_key=key
                    )
        except NotFound:
            raise NotFound(f"Stripe has no {kind.replace('_', ' ')} {ident}.") from None
        ctx.request_id = svc.gateway.last_request_id
        ctx.message = f"Canceled {ident}" + (f" ({reason})." if reason else ".")
        intent_sync.store_intent(svc.engine, intent)
        return _view(intent)

    return audit.guarded(
        svc.engine,
        actor=actor,
        permission="collect.cancel",
        action="collect.cancel",
        target=str(intent_id or "")[:80] or None,
        params={"reason": reason},
        idempotency_key=key,
        run=run,
    )


def _verification_input(
    amounts: Sequence[int] | None, descriptor_code: str | None
) -> tuple[str, dict[str, Any]]:
    """Check what the person typed before Stripe sees it (exactly one of the two, §6.2)."""
    code = (descriptor_code or "").strip().upper()
    if amounts is not None and code:
        raise ValidationError("Send either the two amounts or the descriptor code, not both.")
    if amounts is not None:
        values = list(amounts)
        if len(values) != 2 or not all(isinstance(v, int) and 1 <= v <= 99 for v in values):
            raise ValidationError(
                "Enter exactly two deposit amounts in cents, each between 1 and 99 "
                "(for example 32 and 45)."
            )
        return "amounts", {"amounts": values}
    if not code:
        raise ValidationError(
            "Enter the 6-character descriptor code from the customer's bank statement "
            "(it starts with SM), or the two deposit amounts."
        )
    if not _DESCRIPTOR_RE.match(code):
        raise ValidationError(
            f"'{code[:12]}' is not a descriptor code: it has 6 letters or digits and starts "
            "with SM (for example SM11AA)."
        )
    return "descriptor_code", {"descriptor_code": code}


def _verification_refusal(err: StripeRequestError, ident: str, method: str) -> FcopsError:
    """Stripe's verification refusals (§6.3) as sentences that say what happens next."""
    code = err.code or ""
    what = "amounts" if method == "amounts" else "code"
    if code.endswith("_mismatch"):
        found = _REMAINING_RE.search(str(err))
        left = (
            f"{found.group(1)} of {ATTEMPT_LIMITS[method]} attempts left"
            if found
            else f"Stripe allows {ATTEMPT_LIMITS[method]} attempts in all"
        )
        return StripeRequestError(
            f"The {what} did not match what Stripe sent to the bank account; nothing changed. "
            f"{left}. Ask the customer to read the {what} from the statement again.",
            request_id=err.request_id,
            code=code,
        )
    if code.endswith("_attempts_exceeded"):
        return StripeRequestError(
            f"Too many wrong attempts: Stripe stopped verifying {ident}, which now needs a new "
            "bank account. Create another request for the customer.",
            request_id=err.request_id,
            code=code,
        )
    if code.endswith("_verification_timeout"):
        return StripeRequestError(
            f"The 10-day verification window for {ident} has passed; it now needs a new bank "
            "account. Create another request for the customer.",
            request_id=err.request_id,
            code=code,
        )
    if code.endswith("_amounts_invalid"):
        return ValidationError("Stripe needs exactly two amounts in cents, each between 1 and 99.")
    return err


def _not_verifiable(svc: Services, ident: str, kind: str, err: StripeRequestError) -> FcopsError:
    """Why Stripe will not check deposits for this intent now, read from its current state."""
    try:
        intent = _retrieve(svc, ident, kind)
    except FcopsError:
        return err
    deposits = _microdeposits(intent)
    arrival = deposits.get("arrival_date")
    if intent.get("status") != "requires_action" or not deposits:
        return StripeRequestError(
            f"{ident} is not waiting for microdeposit verification (its status is "
            f"{intent.get('status')}); nothing was changed.",
            request_id=err.request_id,
            code=err.code,
        )
    if arrival:  # waiting, yet refused: the deposits have not arrived
        day = datetime.fromtimestamp(int(arrival), UTC).strftime("%a %d %b %Y")
        return StripeRequestError(
            f"The microdeposits have not arrived yet (expected {day}). Verify once the customer "
            "sees them on the bank statement; nothing was changed.",
            request_id=err.request_id,
            code=err.code,
        )
    return err


def verify_microdeposits(
    svc: Services,
    actor: Actor,
    intent_id: str,
    *,
    amounts: Sequence[int] | None = None,
    descriptor_code: str | None = None,
    idempotency_key: str,
) -> IntentView:
    """Verify a manually entered bank account with what the customer read from the statement.

    A real Stripe call (not a sandbox hook): ops may verify amounts or a code a customer read
    out over the phone, so it needs ``collect.create`` and is audited as ``collect.verify``.
    The values themselves are not written to the audit log (they prove account access). A
    mismatch raises with the attempts left; too many attempts or the 10-day timeout raise
    with what to do next (the intent then needs a new payment method, §6.3).
    """
    key = _require_key(idempotency_key)

    def run(ctx: audit.AuditContext) -> IntentView:
        ident, kind = _intent_id(intent_id)
        ctx.target = ident
        method, params = _verification_input(amounts, descriptor_code)
        ctx.params.update(kind=kind, method=method)
        try:
            with _unconfirmed("the verification"):
                intent = svc.gateway.verify_microdeposits(ident, **params, idempotency_key=key)
        except NotFound:
            raise NotFound(
                f"Stripe has no {kind.replace('_', ' ')} {ident}. Check the ID and the mode."
            ) from None
        except StripeRequestError as err:
            ctx.request_id = svc.gateway.last_request_id
            if (err.code or "").endswith("_unexpected_state"):
                raise _not_verifiable(svc, ident, kind, err) from None
            raise _verification_refusal(err, ident, method) from None
        ctx.request_id = svc.gateway.last_request_id
        intent_sync.store_intent(svc.engine, intent)
        view = _view(intent)
        ctx.message = f"Verified the microdeposits ({method}); {ident} is now {view.status}."
        return view

    return audit.guarded(
        svc.engine,
        actor=actor,
        permission="collect.create",
        action="collect.verify",
        target=str(intent_id or "")[:80] or None,
        params={},
        idempotency_key=key,
        run=run,
    )


def simulate(
    svc: Services,
    actor: Actor,
    *,
    intent_id: str,
    step: str,
    params: Mapping[str, Any] | None,
    run_step: Callable[[], object],
) -> IntentView | None:
    """Audit one sandbox step that plays the customer's part (``collect.simulate``).

    The page passes ``run_step`` (a call to the sandbox's hooks); this function only checks the
    role and the mode, records the step, turns a refusal into a sentence, and returns the
    intent's new state (None for FC sessions, which are not intents).
    """
    if step not in SIMULATION_STEPS:
        raise ValidationError(f"Unknown simulation step '{step}'.")

    def run(ctx: audit.AuditContext) -> IntentView | None:
        if svc.mode != "sandbox":
            raise ValidationError(
                "Playing the customer's part is only possible on the sandbox; on Stripe the "
                "customer does this in Stripe.js or on the hosted verification page."
            )
        try:
            run_step()
        except FcopsError:
            raise
        except Exception as err:  # the sandbox's refusal, whatever client raised it
            raise StripeRequestError(f"The sandbox refused this step: {err}") from None
        if step == "complete_session":
            ctx.message = f"Simulated {step} on {intent_id}."
            return None
        view = intent_view(svc, actor, intent_id)
        ctx.message = f"Simulated {step}; {view.id} is now {view.status}."
        return view

    return audit.guarded(
        svc.engine,
        actor=actor,
        permission="collect.simulate",
        action="collect.simulate",
        target=str(intent_id)[:80],
        params={"step": step, **dict(params or {})},
        idempotency_key=None,
        run=run,
    )
