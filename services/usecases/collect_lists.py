"""Collect's open-requests list: SetupIntents still waiting, read from the store, each naming
its customer (people before IDs) and the hosted link it belongs to, searchable by name, email or
ID, counted in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlmodel import col, select

from services.adapters.models import AuditEntry
from services.adapters.people import people_by_id
from services.adapters.store import session_scope
from services.auth import Actor, require
from services.context import Services
from services.rules.intents import OPEN_STATUSES, OpenRequest, open_request
from services.rules.people import person_words
from services.usecases.collect_common import (
    LOOKBACK_SECONDS,
    IntentList,
    count_listed,
    list_stored,
    with_people,
)
from services.usecases.collect_common import (
    customer_id as parse_customer,
)

OPEN = IntentList(payment_intents=False, statuses=OPEN_STATUSES)  # SetupIntents still waiting


def open_requests(
    svc: Services,
    actor: Actor,
    *,
    limit: int = 50,
    customer_id: str | None = None,
    lookback_seconds: int = LOOKBACK_SECONDS,
    from_stripe: bool = False,
    search: str | None = None,
) -> list[OpenRequest]:
    """SetupIntents not yet succeeded or canceled, newest first, with status and age.

    Read from the store (no Stripe call on a rerun); ``from_stripe`` first reads the recent
    intents from Stripe into the store, for changes no sync or webhook has brought yet.
    ``search``: the start of a seti_ or cus_ ID, or part of the customer's name or email.
    """
    require(actor, "collect.create")
    now, stored = list_stored(
        svc,
        OPEN,
        customer_id=customer_id,
        lookback_seconds=lookback_seconds,
        from_stripe=from_stripe,
        search=search,
        limit=max(1, int(limit)),
    )
    found = [open_request(intent, now=now) for intent in stored]
    return _with_links(svc, with_people(svc, sorted(found, key=lambda r: (-r.created, r.id))))


def _with_links(svc: Services, rows: Sequence[OpenRequest]) -> list[OpenRequest]:
    """``rows`` with the hosted link (``cs_…``) each was made by."""
    links = links_made(svc, [r.id for r in rows])
    return [replace(r, checkout_session_id=links.get(r.id)) for r in rows]


def links_made(svc: Services, ids: Sequence[str]) -> dict[str, str]:
    """The hosted link (``cs_…``) each of ``ids`` was made by, from the audit rows of this
    app's link creations: one query for the page, no Stripe call. A link made elsewhere (on
    Stripe's Dashboard) is not known here: Stripe's SetupIntent does not name its link. A row
    names a ``checkout_session`` only when Stripe made that link, so a create Stripe answered
    badly but made after all (its row ``unknown``) names its link too."""
    made = (AuditEntry.action == "collect.create",)
    with session_scope(svc.engine) as session:
        audits = session.exec(select(AuditEntry).where(*made, col(AuditEntry.target).in_(ids)))
        return {
            str(a.target): str(a.params.get("checkout_session"))
            for a in audits
            if str(a.params.get("checkout_session") or "").startswith("cs_")
        }


def open_request_count(
    svc: Services,
    actor: Actor,
    *,
    search: str | None = None,
    lookback_seconds: int = LOOKBACK_SECONDS,
) -> int:
    """How many open requests of the lookback match ``search`` (one SQL count)."""
    require(actor, "collect.create")
    return count_listed(svc, OPEN, search=search, lookback_seconds=lookback_seconds)


def customer_words(svc: Services, actor: Actor, customer_id: str) -> str:
    """Who requests will be created for, from the store: 'Ada Lovelace · ada@x.org' (no Stripe
    call); says so when the store does not know the customer yet."""
    require(actor, "collect.create")
    ident = parse_customer(customer_id)
    return person_words(people_by_id(svc.engine, [ident]).get(ident), ident)
