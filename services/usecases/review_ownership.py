"""Ownership review: does a linked bank account belong to the customer who will be debited?

Reads the owners Financial Connections reports for an account (``expand[]=ownership``, or the
owners list when the snapshot has more than one page), compares them with the Stripe customer
using :func:`services.rules.owners.match_owners`, and stores the latest result per account in
``ownership_checks`` so ops can work through a list of mismatches. Pages get the typed views of
:mod:`services.rules.owners.views`; personal data only for roles with ``owners.view_pii``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.adapters import account_mirror, ownership_checks
from services.adapters.models import utcnow
from services.adapters.ownership_checks import REVIEW_SORTS
from services.audit import audited
from services.auth import Actor, require
from services.context import Services
from services.errors import FcopsError, NotFound, StripeUnavailable, ValidationError
from services.rules import bank_account, input_limits
from services.rules.ids import parse_id
from services.rules.owners import OwnershipMatch, match_owners
from services.rules.owners.views import (
    FIELDS,
    VERDICTS,
    AccountPick,
    CheckAllResult,
    FieldScore,
    OwnershipReport,
    ReviewPage,
    field_scores,
    no_owner_reason,
    owner_rows,
    ownership_id,
    public_detail,
    public_reason,
)
from services.rules.people import account_option
from services.usecases import browse_accounts, lookup_account, refresh_balance, sync_accounts

__all__ = [
    "REVIEW_SORTS",
    "check_account",
    "check_all",
    "eligible_accounts",
    "find_account",
    "refresh_ownership",
    "review_list",
]

Progress = Callable[[int, int | None, str], None]


# --------------------------------------------------------------------------- reading Stripe


def _owners_of(svc: Services, account: Mapping[str, Any]) -> list[dict[str, Any]]:
    ownership = account.get("ownership")
    if not ownership:
        return []
    if isinstance(ownership, Mapping):
        listing = ownership.get("owners") or {}
        if not listing.get("has_more"):
            return [dict(o) for o in listing.get("data") or []]
        ownership = ownership.get("id")
    return svc.gateway.list_owners(str(account["id"]), str(ownership))


def _customer_of(
    svc: Services, account: Mapping[str, Any], cache: dict[str, dict[str, Any] | None] | None
) -> dict[str, Any] | None:
    holder = account.get("account_holder") or {}
    customer_id = holder.get("customer")
    if isinstance(customer_id, Mapping):
        customer_id = customer_id.get("id")
    if not customer_id:
        return None
    if cache is not None and customer_id in cache:
        return cache[customer_id]
    try:
        customer: dict[str, Any] | None = svc.gateway.retrieve_customer(str(customer_id))
    except NotFound:
        customer = None
    if customer and customer.get("deleted"):
        customer = None
    if customer:
        account_mirror.upsert_customer(svc.engine, customer)
    if cache is not None:
        cache[str(customer_id)] = customer
    return customer


# --------------------------------------------------------------------------- the check


@dataclass(frozen=True)
class _Outcome:
    account: dict[str, Any]
    customer: dict[str, Any] | None
    owners: list[dict[str, Any]]
    match: OwnershipMatch
    reason: str
    checked_at: datetime


def _evaluate(
    svc: Services,
    actor: Actor,
    account_id: str,
    *,
    customers: dict[str, dict[str, Any] | None] | None = None,
) -> _Outcome:
    began = account_mirror.read_mark(svc.engine)  # before the read (see read_mark)
    account = browse_accounts.fetch_account(svc, account_id, expand_ownership=True)
    account_mirror.upsert_account(svc.engine, account, read_began=began)
    owners = _owners_of(svc, account)
    customer = _customer_of(svc, account, customers)
    match = match_owners(customer or {}, owners)
    reason = match.reason
    if not owners:
        reason = no_owner_reason(account) or reason
    elif customer is None:
        reason = (
            "The account has no Stripe customer to compare with (the holder is not a customer, "
            "or the customer was deleted)."
        )
        match = OwnershipMatch(0, "no_data", reason, {}, None, match.owners, match.joint)
    outcome = _Outcome(account, customer, owners, match, reason, utcnow())
    _store(svc, outcome, actor)
    return outcome


def _store(svc: Services, outcome: _Outcome, actor: Actor) -> None:
    match = outcome.match
    detail = {
        "public_reason": _public_or_own(outcome),
        "fields": {
            name: {"score": f.score, "detail": f.detail} for name, f in match.fields.items()
        },
        "owner_count": len(outcome.owners),
        "joint": match.joint,
    }
    values: dict[str, Any] = {
        "customer_id": (outcome.customer or {}).get("id"),
        "ownership_id": ownership_id(outcome.account),
        "verdict": match.verdict,
        "score": int(match.score),
        "reason": outcome.reason,
        "detail": detail,
        "checked_at": outcome.checked_at,
        "checked_by": actor.username,
    }
    ownership_checks.save(svc.engine, str(outcome.account["id"]), values)


def _public_or_own(outcome: _Outcome) -> str:
    """Reasons this module wrote itself carry no PII; matcher reasons are rewritten."""
    if outcome.reason != outcome.match.reason or not outcome.match.fields:
        return outcome.reason
    return public_reason(outcome.match.verdict, outcome.match.fields)


def _report(svc: Services, actor: Actor, outcome: _Outcome) -> OwnershipReport:
    pii = actor.can("owners.view_pii")
    account, match = outcome.account, outcome.match
    refresh = account.get("ownership_refresh") or {}
    return OwnershipReport(
        account_id=str(account["id"]),
        customer_id=(outcome.customer or {}).get("id"),
        institution_name=str(account.get("institution_name") or ""),
        last4=account.get("last4"),
        account_status=str(account.get("status") or ""),
        ownership_id=ownership_id(account),
        verdict=match.verdict,
        score=int(match.score),
        reason=outcome.reason if pii else _public_or_own(outcome),
        fields=field_scores(match, pii=pii),
        owners=owner_rows(outcome.owners, match, pii=pii),
        owner_count=len(outcome.owners),
        joint=match.joint,
        pii_visible=pii,
        refresh_status=refresh.get("status"),
        refreshed_at=refresh.get("last_attempted_at"),
        refresh_blocker=browse_accounts.refresh_blocker(
            account, "ownership", now=svc.now(), actor=actor
        ),
        checked_at=outcome.checked_at,
    )


def check_account(
    svc: Services, actor: Actor, account_id: str | None, *, what: str | None = None
) -> OwnershipReport:
    """Compare an account's owners with its customer, store the result, and report it.

    Ownership review only (``ownership.review``: the stored result is what the review list
    shows); names and contact details only with ``owners.view_pii``. Audited as
    ``ownership.check``, refusals too.
    """
    fca, _ = parse_id(account_id, allowed=("financial_connections.account",), what=what)  # no row
    try:
        with audited(svc.engine, actor=actor, action="ownership.check", target=fca) as ctx:
            require(actor, "ownership.review")
            report = _report(svc, actor, _evaluate(svc, actor, fca))
            ctx.request_id = svc.gateway.last_request_id
            ctx.params["verdict"] = report.verdict
    except StripeUnavailable as err:  # audited as failed: no check ran
        stored = _stored_report(svc, actor, fca, reason=str(err))
        if stored is None:
            raise
        return stored
    return report


def _stored_report(
    svc: Services, actor: Actor, account_id: str, *, reason: str
) -> OwnershipReport | None:
    """The last stored check, for a page whose read of Stripe just failed with ``reason``: its
    verdict, scores and reason, aged by when it was checked, on the store's copy of the account.
    No owners and no field values: their personal data is never stored. None if never checked."""
    check = ownership_checks.stored(svc.engine, account_id)
    found = browse_accounts.stored_account(svc, account_id, reason=reason)
    if check is None or found is None:
        return None
    account = found[0]
    pii = actor.can("owners.view_pii")
    detail: dict[str, Any] = check.detail or {}
    kept: dict[str, Any] = detail.get("fields") or {}
    fields = [
        FieldScore(
            field=name,
            score=kept[name].get("score"),
            detail=str(kept[name].get("detail") or "") if pii else public_detail(
                kept[name].get("score")
            ),
            customer_value=None,
            owner_value=None,
        )
        for name in FIELDS
        if name in kept
    ]
    checked = check.checked_at
    aware = checked if checked.tzinfo else checked.replace(tzinfo=UTC)  # SQLite drops the zone
    copy = bank_account.StoredCopy(reason=reason, stored_at=int(aware.timestamp()))
    refresh = account.get("ownership_refresh") or {}
    return OwnershipReport(
        account_id=account_id,
        customer_id=check.customer_id,
        institution_name=str(account.get("institution_name") or ""),
        last4=account.get("last4"),
        account_status=str(account.get("status") or ""),
        ownership_id=check.ownership_id,
        verdict=check.verdict,
        score=int(check.score),
        reason=check.reason if pii else str(detail.get("public_reason") or ""),
        fields=fields,
        owners=[],
        owner_count=int(detail.get("owner_count") or 0),
        joint=bool(detail.get("joint")),
        pii_visible=pii,
        refresh_status=refresh.get("status"),
        refreshed_at=refresh.get("last_attempted_at"),
        refresh_blocker=copy.refresh_off,
        checked_at=aware,
        stored=copy,
    )


def refresh_ownership(
    svc: Services, actor: Actor, account_id: str | None, *, idempotency_key: str
) -> dict[str, Any]:
    """Ask the bank for a new ownership snapshot (asynchronous; audited by ``refresh_balance.refresh``).

    Stripe's throttle is checked first, so a refresh it would refuse is explained, not sent.
    Ownership review only: a role without ``ownership.review`` is refused (and audited).
    """
    return refresh_balance.refresh(
        svc, actor, account_id, "ownership", idempotency_key=idempotency_key
    )


def find_account(
    svc: Services, actor: Actor, text: str | None, *, what: str | None = None
) -> AccountPick:
    """The account to check for what was pasted: an fca_ ID as typed, or the account(s) behind a
    PaymentIntent, SetupIntent, PaymentMethod or customer ID."""
    require(actor, "ownership.review")
    typed = input_limits.search_term(text, field="The account to check")
    if typed.startswith("fca_"):
        fca_kind = ("financial_connections.account",)
        return AccountPick(parse_id(typed, allowed=fca_kind, what=what)[0])
    found = lookup_account.lookup(svc, actor, typed, what=what)
    if found.account:
        return AccountPick(str(found.account["id"]))
    ids = tuple(str(a["id"]) for a in found.accounts)
    if len(ids) == 1:
        return AccountPick(ids[0])
    labels = tuple(
        account_option(
            a.get("institution_name"), a.get("last4"), a.get("display_name"), str(a["id"])
        )
        for a in found.accounts
    )
    return AccountPick(None, ids, None if ids else found.message, labels)


# --------------------------------------------------------------------------- review list


def review_list(
    svc: Services,
    actor: Actor,
    *,
    verdicts: Sequence[str] = ("mismatch", "partial"),
    page: int = 1,
    page_size: int = 50,
    search: str | None = None,
    institution: str | None = None,
    sort: str | None = None,
) -> ReviewPage:
    """Stored checks with the given verdicts, lowest score first (the worst on top) or in
    ``sort`` order (``REVIEW_SORTS``; an unknown order is lowest score first); filtered, sorted
    over the whole result, counted and paged in SQL.

    ``search``: the start of an ``fca_`` or ``cus_`` ID, the last 4 digits, or part of the
    bank's name; ``institution``: one bank. The reason names people only when ``actor`` may
    see personal data.
    """
    require(actor, "ownership.review")
    unknown = [v for v in verdicts if v not in VERDICTS]
    if unknown:
        raise ValidationError(
            f"Unknown {'verdict' if len(unknown) == 1 else 'verdicts'}: "
            f"{', '.join(repr(str(v)[:40]) for v in unknown)}; "
            f"use {', '.join(VERDICTS)}."
        )
    page, page_size = input_limits.paging(page, page_size, max_size=500)
    pii = actor.can("owners.view_pii")
    text = input_limits.clean_text(search, field="The search", max_length=100)
    institution = input_limits.clean_text(institution, field="The bank filter", max_length=200)
    return ownership_checks.review_page(
        svc.engine,
        verdicts=verdicts,
        page=page,
        page_size=page_size,
        pii=pii,
        search=text,
        institution=institution or None,
        sort=sort if sort in REVIEW_SORTS else "score",
    )


# --------------------------------------------------------------------------- check everything


def eligible_accounts(svc: Services, actor: Actor) -> int:
    """How many mirrored accounts have the ownership permission (what "check all" would read)."""
    require(actor, "ownership.review")
    return ownership_checks.count_with_ownership(svc.engine)


def _discover(svc: Services, actor: Actor, report: Progress) -> int:
    """Mirror accounts through the one account sync (Stripe cannot list every account).

    A store without a single account walks every customer (a cursor left over from a cleared
    mirror would replay only recent changes); otherwise the sync replays the events since its
    cursor. Returns how many accounts the sync read.
    """
    full = account_mirror.mirrored_account_count(svc.engine) == 0
    result = sync_accounts.sync_accounts(
        svc,
        actor,
        full=full,
        progress=lambda done, total, message: report(0, None, f"Finding accounts: {message}"),
    )
    return result.accounts


def _check_each(
    svc: Services, actor: Actor, ids: list[str], report: Progress
) -> tuple[Counter[str], list[tuple[str, str]]]:
    """Check the accounts one by one; one that cannot be read is an error and the run goes on."""
    verdicts: Counter[str] = Counter()
    errors: list[tuple[str, str]] = []
    customers: dict[str, dict[str, Any] | None] = {}  # a customer with several accounts: read once
    for done, account_id in enumerate(ids, start=1):
        try:
            outcome = _evaluate(svc, actor, account_id, customers=customers)
            verdicts[outcome.match.verdict] += 1
        except FcopsError as err:
            errors.append((account_id, str(err)))
        report(done, len(ids), f"Checked {done} of {len(ids)} accounts")
    return verdicts, errors


def _summary(result: CheckAllResult) -> str:
    counts = ", ".join(f"{result.verdicts[v]} {v}" for v in VERDICTS if result.verdicts.get(v))
    failed = f"; {len(result.errors)} could not be read" if result.errors else ""
    return f"Checked {result.checked} accounts: {counts}{failed}."


def check_all(
    svc: Services,
    actor: Actor,
    *,
    progress: Progress | None = None,
    limit: int | None = None,
) -> CheckAllResult:
    """Check every mirrored account that has the ownership permission; one audit row in all.

    When no mirrored account has the ownership permission, the account sync runs first (and
    writes its own ``accounts.sync`` row).

    ``progress(done, total, message)`` is called after each account. An account that cannot be
    read is counted as an error and the run goes on.
    """
    report = progress or (lambda done, total, message: None)
    with audited(
        svc.engine, actor=actor, action="ownership.check_all", params={"limit": limit}
    ) as ctx:
        require(actor, "ownership.review")
        started = time.monotonic()
        ids = ownership_checks.accounts_with_ownership(svc.engine, limit)
        discovered = 0
        if not ids:
            discovered = _discover(svc, actor, report)
            ids = ownership_checks.accounts_with_ownership(svc.engine, limit)
        verdicts, errors = _check_each(svc, actor, ids, report)
        result = CheckAllResult(
            checked=sum(verdicts.values()),
            verdicts=dict(verdicts),
            errors=errors,
            discovered=discovered,
            seconds=round(time.monotonic() - started, 2),
        )
        ctx.request_id = svc.gateway.last_request_id
        ctx.params.update(checked=result.checked, errors=len(errors), **result.verdicts)
        ctx.message = _summary(result)
    return result
