"""SetupIntents and PaymentIntents as fcops shows them: typed views over Stripe's intent dicts.

Stripe JSON stops here: pages get :class:`IntentView`, :class:`OpenRequest`,
:class:`MicrodepositItem` and :class:`CollectionRequest`, never the dicts. Reading the dicts'
fields is :mod:`services.rules.intent_fields`; the checks of what a person typed to verify
microdeposits, and Stripe's refusals of it as sentences, are :mod:`services.rules.intent_checks`.
No I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.rules import people
from services.rules.calendar import is_business_day
from services.rules.intent_fields import (
    UNKNOWN_FLOW,
    customer_id,
    last_error,
    linked_accounts,
    mapping,
    microdeposits,
    us_bank_options,
    verification_method,
)

FLOW = "setup_intent"  # the flow whose saved configuration collection requests carry
OPEN_STATUSES = (
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "processing",
)
CANCEL_REASONS = ("requested_by_customer", "abandoned", "duplicate")
# A cancellation reason as a person reads it (Stripe's own for a PaymentIntent too); unknown
# ones lose their underscores.
_REASON_WORDS = {
    "requested_by_customer": "requested by the customer",
    "abandoned": "abandoned",
    "duplicate": "duplicate",
    "automatic": "canceled automatically by Stripe",
    "failed_invoice": "its invoice failed",
    "void_invoice": "its invoice was voided",
    "fraudulent": "fraudulent",
}


def reason_words(reason: str) -> str:
    """``requested_by_customer`` → "requested by the customer"."""
    return _REASON_WORDS.get(reason, reason.replace("_", " "))
STUCK_AFTER_BUSINESS_DAYS = 2


# --------------------------------------------------------------------------- views


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
    # A request made through a Checkout Session (setup mode): the page the customer opens.
    checkout_session_id: str | None = None
    hosted_url: str | None = None
    expires_at: int | None = None
    checkout_status: str | None = None  # the Checkout Session's: open, complete or expired
    linked_accounts: tuple[str, ...] = ()  # FC sessions: the accounts the customer linked


class _Labelled:
    """A listed request's ``label``: people before IDs, then the bank, the amount of a
    PaymentIntent and the age: 'Ada Lovelace · ada@x.org · StripeBank ••6833 · 3 h ago · seti_…'."""

    id: str
    customer_id: str | None
    age_seconds: int
    person: people.Person | None
    bank_name: str | None
    last4: str | None
    amount: int | None = None  # PaymentIntents only (an open request has none)
    currency: str | None = None

    @property
    def label(self) -> str:
        return people.label(
            person=self.person,
            customer_id=self.customer_id,
            bank=self.bank_name,
            last4=self.last4,
            amount=self.amount,
            currency=self.currency,
            age_seconds=self.age_seconds,
            ident=self.id,
        )


@dataclass(frozen=True)
class OpenRequest(_Labelled):
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
    person: people.Person | None = None  # filled from the customers table by the use case
    bank_name: str | None = None
    last4: str | None = None
    # The hosted link (Checkout Session) that made it, when this app made it: filled from the
    # audit row of the link's creation by the use case (a SetupIntent does not name its link).
    checkout_session_id: str | None = None


@dataclass(frozen=True)
class MicrodepositItem(_Labelled):
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
    person: people.Person | None = None  # filled from the customers table by the use case
    bank_name: str | None = None
    last4: str | None = None
    amount: int | None = None  # PaymentIntents: what the debit is for
    currency: str | None = None


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
    expired_link: str | None = None  # the hosted link (cs_…) a cancel expired to cancel it


# --------------------------------------------------------------------------- building views


def setup_request(
    intent: Mapping[str, Any], *, customer: str, flow_version: int, replayed: bool
) -> CollectionRequest:
    """A just-created SetupIntent as the collection page hands it on (with its client secret)."""
    options = us_bank_options(intent)
    fc = mapping(options.get("financial_connections"))
    return CollectionRequest(
        id=str(intent["id"]),
        kind="setup_intent",
        customer_id=customer,
        status=str(intent.get("status")),
        flow_version=flow_version,
        permissions=tuple(fc.get("permissions") or ()),
        prefetch=tuple(fc.get("prefetch") or ()),
        verification_method=options.get("verification_method"),
        created=int(intent["created"]),
        payment_method_options=dict(mapping(intent.get("payment_method_options"))),
        hosted_verification_url=microdeposits(intent).get("hosted_verification_url"),
        replayed=replayed,
        client_secret=str(intent.get("client_secret") or ""),
    )


def link_request(
    session: Mapping[str, Any],
    intent: Mapping[str, Any],
    *,
    customer: str,
    flow_version: int,
    replayed: bool,
) -> CollectionRequest:
    """A hosted link (a setup-mode Checkout Session): the request is its SetupIntent."""
    # A customer who typed the account on the hosted page verifies on the SetupIntent's own
    # verification page (its next_action), kept: a link reopened later names it.
    return replace(
        setup_request(intent, customer=customer, flow_version=flow_version, replayed=replayed),
        checkout_session_id=str(session["id"]),
        hosted_url=session.get("url"), checkout_status=session.get("status") or None,
        expires_at=int(session["expires_at"]) if session.get("expires_at") else None,
    )


def session_request(
    session: Mapping[str, Any],
    *,
    customer: str,
    flow_version: int,
    created: int,
    replayed: bool,
    permissions: tuple[str, ...] = (),
    prefetch: tuple[str, ...] = (),
) -> CollectionRequest:
    """An FC session as the collection page hands it on (with its client secret); Stripe's
    has no ``created`` (the pinned SDK's type), so the caller says when it was made."""
    linked = linked_accounts(session)
    return CollectionRequest(
        id=str(session["id"]),
        kind="financial_connections.session",
        customer_id=customer,
        status="linked" if linked else "open",
        flow_version=flow_version,
        permissions=tuple(session.get("permissions") or permissions),
        prefetch=tuple(session.get("prefetch") or prefetch),
        verification_method=None,
        created=created,
        payment_method_options={},
        hosted_verification_url=None,
        replayed=replayed,
        client_secret=str(session.get("client_secret") or ""),
        session_filters=dict(session.get("filters") or {}) or None,
        linked_accounts=linked,
    )


def view_of(intent: Mapping[str, Any]) -> IntentView:
    options = us_bank_options(intent)
    fc = mapping(options.get("financial_connections"))
    deposits = microdeposits(intent)
    pm = intent.get("payment_method")
    pm_id = pm.get("id") if isinstance(pm, Mapping) else pm
    fca = mapping(mapping(pm).get("us_bank_account")).get("financial_connections_account")
    metadata = mapping(intent.get("metadata"))
    version = str(metadata.get("fcops_flow_version") or "")
    return IntentView(
        id=str(intent["id"]),
        kind=str(intent.get("object") or "setup_intent"),
        customer_id=customer_id(intent),
        status=str(intent.get("status")),
        verification_method=verification_method(intent),
        permissions=tuple(fc.get("permissions") or ()),
        prefetch=tuple(fc.get("prefetch") or ()),
        payment_method_options=dict(mapping(intent.get("payment_method_options"))),
        next_action=mapping(intent.get("next_action")).get("type"),
        microdeposit_type=deposits.get("microdeposit_type"),
        arrival_date=deposits.get("arrival_date"),
        hosted_verification_url=deposits.get("hosted_verification_url"),
        payment_method=str(pm_id) if pm_id else None,
        financial_connections_account=str(fca) if fca else None,
        last_error=last_error(intent),
        flow=str(metadata.get("fcops_flow") or UNKNOWN_FLOW),
        flow_version=int(version) if version.isdigit() else None,
    )


def open_request(intent: Mapping[str, Any], *, now: int) -> OpenRequest:
    view = view_of(intent)
    return OpenRequest(
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
        bank_name=people.intent_bank(intent)[0],
        last4=people.intent_bank(intent)[1],
    )


def microdeposit_item(intent: Mapping[str, Any], *, now: int) -> MicrodepositItem:
    deposits = microdeposits(intent)
    arrival = deposits.get("arrival_date")
    late = business_days_late(arrival, now=now)
    return MicrodepositItem(
        id=str(intent["id"]),
        kind=str(intent.get("object") or "setup_intent"),
        customer_id=customer_id(intent),
        microdeposit_type=str(deposits.get("microdeposit_type") or "descriptor_code"),
        arrival_date=int(arrival) if arrival is not None else None,
        hosted_verification_url=deposits.get("hosted_verification_url"),
        created=int(intent["created"]),
        age_seconds=max(0, now - int(intent["created"])),
        business_days_late=late,
        stuck=late > STUCK_AFTER_BUSINESS_DAYS,
        bank_name=people.intent_bank(intent)[0],
        last4=people.intent_bank(intent)[1],
        amount=people.intent_amount(intent)[0],
        currency=people.intent_amount(intent)[1],
    )


# --------------------------------------------------------------------------- microdeposits


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
