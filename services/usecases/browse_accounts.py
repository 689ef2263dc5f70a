"""Browse accounts: find customers, page through their FC accounts, open one account.

Reads check ``accounts.view``. Owners' personal data is removed here, not only in the page,
unless the actor may see it. Everything returned is a typed view from
:mod:`services.rules.bank_account`; Stripe's JSON stays behind this boundary (the detail keeps
the account's fields only for the page's "every field" and JSON tabs).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC
from typing import Any

from sqlalchemy.engine import Engine

from services.adapters import account_mirror as mirror
from services.adapters import customer_search
from services.adapters.models import AccountRecord
from services.adapters.store import session_scope
from services.auth import Actor, require
from services.context import Services
from services.errors import NotFound, StripeUnavailable, ValidationError
from services.rules import input_limits, refresh_rule
from services.rules.bank_account import (
    EVENT_STAMP,
    FEATURES,
    AccountDetail,
    AccountFilters,
    AccountPage,
    CustomerHit,
    CustomerView,
    OwnerView,
    StoredCopy,
    customer_view,
    filters_from,
    normalise_account,
    parse_account_id,
    refresh_view,
)
from services.rules.ids import (
    NO_CUSTOMER_IN_LINK,
    as_typed,
    from_url,
    is_dashboard_link,
    not_a_customer,
    parse_id,
    unknown_id_sentence,
)
from services.rules.paging import Page, clamp
from services.rules.relink import relink_needed
from services.usecases.debit_policy import load_policy

MAX_PAGE_SIZE = 500
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --------------------------------------------------------------------------- search


def _customers_from_stripe(
    svc: Services, customers: list[dict[str, Any]], limit: int
) -> list[CustomerHit]:
    for customer in customers[:limit]:
        mirror.mirror_customer_accounts(svc, customer)
    ids = [c["id"] for c in customers[:limit]]
    return customer_search.customers_by_id(svc.engine, ids, limit)


def _search_by_id(svc: Services, text: str, limit: int) -> list[CustomerHit]:
    customer_id, _ = parse_id(text, allowed=("customer",))
    try:
        customer = svc.gateway.retrieve_customer(customer_id)
    except NotFound as err:
        raise NotFound(
            unknown_id_sentence(customer_id, "customer", request_id=err.request_id),
            request_id=err.request_id,
        ) from None
    if customer.get("deleted"):
        raise NotFound(f"The customer {customer_id} was deleted in Stripe.")
    return _customers_from_stripe(svc, [customer], limit)


def _whole_email(term: str) -> bool:
    """Whether ``term`` is a whole email address (found exactly, in Stripe too when the mirror
    has none). Part of one (``anagarcia@gmail``, ``@example.com``, ``ana@``: a person types what
    they remember) is searched as text, as part of a name is; a term no address could be part
    of (two @, a space) is refused with what to type."""
    if "@" not in term:
        return False
    if term.count("@") > 1:
        raise ValidationError(
            f"{as_typed(term)} has {term.count('@')} @ signs and an email address has one. Type "
            "the address or part of it (ana@, @example.com), or part of a name."
        )
    if " " in term:
        raise ValidationError(
            f"{as_typed(term)} has a space and an email address has none. Type the address or "
            "part of it without spaces, or part of a name without the @."
        )
    return bool(_EMAIL_RE.match(term))


def _search_by_email(svc: Services, text: str, limit: int) -> list[CustomerHit]:
    hits = customer_search.customers_by_email(svc.engine, text, limit)
    if hits:
        return hits
    # The list filter is exact and case-sensitive; Search matches any case but lags writes by
    # up to a minute (reference §1.4), so try the list first, as typed and in lower case (how
    # most emails are stored), and Search last: a customer created a moment ago is still found.
    found = svc.gateway.customers_by_email(text)
    if not found and text != text.lower():
        found = svc.gateway.customers_by_email(text.lower())
    if not found:
        quoted = text.replace("\\", "\\\\").replace("'", "\\'")
        found = svc.gateway.search_customers(f"email:'{quoted}'", limit=limit)
    return _customers_from_stripe(svc, found, limit)


def _not_a_customer_hint(text: str) -> str | None:
    if is_dashboard_link(text):  # from_url found no ID in it: a list's link, not a customer's
        return NO_CUSTOMER_IN_LINK
    other = not_a_customer(text)
    return other.sentence if other else None


def search_customers(
    svc: Services, actor: Actor, text: str | None, *, limit: int = 25
) -> list[CustomerHit]:
    """Customers matching a ``cus_`` ID, a whole email (exact, any case) or part of a name or
    email (``anagarcia@gmail`` included: see :func:`_whole_email`)."""
    require(actor, "accounts.view")
    term = from_url(input_limits.search_term(text, field="The customer search"))
    if len(term) < 2:
        raise ValidationError(
            "Type at least 2 characters: a customer ID (cus_…), an email, or part of a name."
        )
    hint = _not_a_customer_hint(term)
    if hint:
        raise ValidationError(hint)
    if term.startswith("cus_"):
        return _search_by_id(svc, term, limit)
    if _whole_email(term):
        return _search_by_email(svc, term, limit)
    return customer_search.customers_matching(svc.engine, term.lower(), limit)


@dataclass(frozen=True)
class CustomerSearchPage(Page[CustomerHit]):
    """One page of a customer search, with the true number of matches (not the page size)."""

    @property
    def hits(self) -> list[CustomerHit]:
        """The customers found on this page (the page's rows)."""
        return self.rows


def search_customers_page(
    svc: Services, actor: Actor, text: str | None, *, page: int = 1, page_size: int = 25
) -> CustomerSearchPage:
    """:func:`search_customers` with a true count and paging for name/email-part searches
    (counted and paged in SQL); an ID or a whole email finds at most a few, on one page."""
    require(actor, "accounts.view")
    # a pasted Dashboard URL (…/customers/cus_…) is searched for the ID in it, as by ID
    term = from_url(input_limits.search_term(text, field="The customer search"))
    page, page_size = input_limits.paging(page, page_size, max_size=MAX_PAGE_SIZE)
    if len(term) < 2 or term.startswith("cus_") or _whole_email(term) or _not_a_customer_hint(term):
        hits = search_customers(svc, actor, term, limit=page_size)
        return CustomerSearchPage(hits, len(hits), 1, page_size)
    needle = term.lower()
    total = customer_search.count_customers_matching(svc.engine, needle)
    page = clamp(page, total, page_size)
    hits = customer_search.customers_matching(
        svc.engine, needle, page_size, offset=(page - 1) * page_size
    )
    return CustomerSearchPage(hits, total, page, page_size)


# --------------------------------------------------------------------------- listing

# The orders the account list offers, by the name the page puts in its URL (?sort=…). Each sorts
# the whole filtered result in SQL (so page 2 continues page 1); accounts without the value
# (no balance yet) come last either way; ties fall back to newest first.
ACCOUNT_SORTS: dict[str, str] = {
    "newest": "Newest linked first",
    "balance_desc": "Balance, highest first",
    "balance_asc": "Balance, lowest first",
    "available_desc": "Available, highest first",
    "available_asc": "Available, lowest first",
    "age_desc": "Balance age, oldest first",
    "age_asc": "Balance age, newest first",
}


def account_filters(engine: Engine, wanted: Mapping[str, Any]) -> AccountFilters:
    """Checked filters (:func:`filters_from`); ``balance="stale"`` takes its age from the debit
    policy in force, as Home's finance card counts it, so both mean the same accounts."""
    filters = filters_from(wanted)
    if filters.balance != "stale":
        return filters
    return replace(filters, balance_max_age_seconds=load_policy(engine).policy.max_age_seconds)


def list_accounts(
    svc: Services,
    actor: Actor,
    *,
    page: int = 1,
    page_size: int = 50,
    sort: str | None = None,
    **wanted: Any,
) -> AccountPage:
    """One page of mirrored accounts, newest first or in ``sort`` order (ACCOUNT_SORTS);
    filtering, sorting, counting and paging run in SQL.

    ``wanted`` are the :class:`AccountFilters` fields (customer_id, status, institution, ...).
    """
    require(actor, "accounts.view")
    filters = account_filters(svc.engine, wanted)
    if sort not in (None, "") and sort not in ACCOUNT_SORTS:
        raise ValidationError(
            f"Unknown sort '{str(sort)[:40]}'. Use one of: {', '.join(ACCOUNT_SORTS)}."
        )
    page, page_size = input_limits.paging(page, page_size, max_size=MAX_PAGE_SIZE)
    now = svc.now()
    total = mirror.count_rows(svc.engine, filters, now)
    page = clamp(page, total, page_size)
    offset = (page - 1) * page_size
    rows = mirror.read_rows(
        svc.engine, filters, now, offset=offset, limit=page_size, sort=sort or None
    )
    return AccountPage(rows=rows, total=total, page=page, page_size=page_size)


def institutions(svc: Services, actor: Actor) -> list[str]:
    """Every institution name in the mirror, for the filter box."""
    require(actor, "accounts.view")
    return mirror.institutions(svc.engine)


# --------------------------------------------------------------------------- detail


def _owners(svc: Services, account: Mapping[str, Any], *, show_pii: bool) -> list[OwnerView]:
    ownership = account.get("ownership")
    if not ownership:
        return []
    if isinstance(ownership, Mapping):
        listing = ownership.get("owners") or {}
        raw = list(listing.get("data") or [])
        if listing.get("has_more"):
            raw = svc.gateway.list_owners(account["id"], str(ownership["id"]))
    else:
        raw = svc.gateway.list_owners(account["id"], str(ownership))
    owners = [
        OwnerView(
            id=o["id"],
            name=o.get("name"),
            email=o.get("email"),
            phone=o.get("phone"),
            raw_address=o.get("raw_address"),
            refreshed_at=o.get("refreshed_at"),
        )
        for o in raw
    ]
    if show_pii:
        return owners
    return [
        replace(o, name=None, email=None, phone=None, raw_address=None, pii_hidden=True)
        for o in owners
    ]


def _customer(svc: Services, customer_id: str | None) -> dict[str, Any] | None:
    if not customer_id:
        return None
    try:
        customer = svc.gateway.retrieve_customer(customer_id)
    except NotFound:
        return None
    if customer.get("deleted"):
        return None
    mirror.upsert_customer(svc.engine, customer)
    return customer


def fetch_account(
    svc: Services, account_id: str, *, expand_ownership: bool = False
) -> dict[str, Any]:
    """One FC account from Stripe; an unknown ID is a sentence, not Stripe's raw 404 text."""
    try:
        return svc.gateway.retrieve_account(account_id, expand_ownership=expand_ownership)
    except NotFound as err:
        raise NotFound(
            unknown_id_sentence(account_id, request_id=err.request_id), request_id=err.request_id
        ) from None


def refresh_blocker(
    account: Mapping[str, Any], feature: str, *, now: int, actor: Actor | None = None
) -> str | None:
    """Why a refresh of ``feature`` cannot start now, as a sentence; None when it can.

    The role check, then the one rule every page and the batch share
    (:func:`services.rules.refresh_rule.judge`), so the button says why before Stripe is asked.
    """
    if feature not in FEATURES:
        return f"'{feature}' is not a refresh Stripe offers; use one of: {', '.join(FEATURES)}."
    role = _role_blocker(feature, actor)
    if role is not None:
        return role
    verdict = refresh_rule.judge(account, feature, now=now)
    return None if verdict.allowed else verdict.reason


def _role_blocker(feature: str, actor: Actor | None) -> str | None:
    if actor is not None and not actor.can("accounts.refresh"):
        return f"Your role ({actor.role}) may not refresh accounts."
    if actor is not None and feature == "ownership" and not actor.can("ownership.review"):
        return f"Your role ({actor.role}) may not refresh owner data; ops review ownership."
    return None


def account_detail(
    svc: Services, actor: Actor, account_id: str | None, *, what: str | None = None
) -> AccountDetail:
    """Everything about one account, fresh from Stripe and mirrored; owners' PII only if allowed.

    When Stripe cannot be read (a 5xx, a timeout, a rate limit), the account stays readable: the
    store's copy comes back, marked ``stored`` with the failed read's sentence and how old the
    copy is. An account the store never saw still raises that sentence.
    """
    require(actor, "accounts.view")
    account_id = parse_account_id(account_id, what=what)
    try:
        return _fresh_detail(svc, actor, account_id)
    except StripeUnavailable as err:
        detail = _stored_detail(svc, actor, account_id, reason=str(err))
        if detail is None:
            raise
        return detail


def _fresh_detail(svc: Services, actor: Actor, account_id: str) -> AccountDetail:
    read_at = svc.now()  # before the request: the copy is at least this old
    began = mirror.read_mark(svc.engine)  # and the store's mark (see mirror.read_mark)
    fresh = fetch_account(svc, account_id, expand_ownership=True)
    # first: a later read that fails finds this copy
    mirror.upsert_account(svc.engine, fresh, read_began=began)
    show_pii = actor.can("owners.view_pii")
    owners = _owners(svc, fresh, show_pii=show_pii)
    account = normalise_account(fresh)
    customer = _customer(svc, (account.get("account_holder") or {}).get("customer"))
    detail = _detail(svc, actor, account, customer_view(customer), owners, show_pii=show_pii)
    return replace(detail, read_at=read_at)


def stored_account(
    svc: Services, account_id: str, *, reason: str
) -> tuple[dict[str, Any], StoredCopy] | None:
    """The store's copy of the account (as Stripe returned it when fcops last wrote it) and how
    old it is, for a page whose read of Stripe just failed with ``reason``; None if never stored."""
    with session_scope(svc.engine) as session:
        record = session.get(AccountRecord, account_id)
        if record is None:
            return None
        account, written = dict(record.raw), record.synced_at
    account.pop(EVENT_STAMP, None)  # fcops' own bookkeeping, not a field of Stripe's
    aware = written if written.tzinfo else written.replace(tzinfo=UTC)  # SQLite drops the zone
    return account, StoredCopy(reason=reason, stored_at=int(aware.timestamp()))


def _stored_detail(
    svc: Services, actor: Actor, account_id: str, *, reason: str
) -> AccountDetail | None:
    """The account as the store holds it (no owners: their personal data is never stored)."""
    found = stored_account(svc, account_id, reason=reason)
    if found is None:
        return None
    account, stored = found
    row = mirror.row_for(svc.engine, account_id)
    customer = (
        CustomerView(id=row.customer_id, email=row.customer_email, name=row.customer_name)
        if row.customer_id
        else None
    )
    return _detail(svc, actor, account, customer, [], show_pii=False, stored=stored)


def _detail(
    svc: Services,
    actor: Actor,
    account: dict[str, Any],
    customer: CustomerView | None,
    owners: list[OwnerView],
    *,
    show_pii: bool,
    stored: StoredCopy | None = None,
) -> AccountDetail:
    account_id = str(account["id"])
    now = svc.now()
    blockers = {f: refresh_blocker(account, f, now=now, actor=actor) for f in FEATURES}
    if stored is not None:  # Stripe just did not answer: a refresh would wait on it once more
        blockers = {f: _role_blocker(f, actor) or stored.refresh_off for f in FEATURES}
    return AccountDetail(
        account=account,
        row=mirror.row_for(svc.engine, account_id),
        customer=customer,
        owners=owners,
        owners_hidden=bool(owners) and not show_pii,
        snapshots=mirror.balance_history(svc.engine, account_id),
        blockers=blockers,
        refreshes={f: refresh_view(account, f) for f in FEATURES},
        relink=relink_needed(account),
        stored=stored,
    )
