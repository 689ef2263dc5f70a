"""What the collection use cases share: ids, idempotency keys, unconfirmed POSTs, intent reads."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

from sqlmodel import col, func, or_, select

from services.adapters.account_mirror import upsert_customers
from services.adapters.backoff import settle
from services.adapters.models import AuditEntry, IntentRecord
from services.adapters.people import customers_matching, people_by_id
from services.adapters.store import session_scope
from services.context import Services
from services.errors import (
    ChangeNotMade,
    NotFound,
    OutcomeStillUnknown,
    OutcomeUnknown,
    RateLimited,
    ReadBackFailed,
    StripeUnavailable,
    ValidationError,
)
from services.rules import input_limits
from services.rules.ids import parse_id, unknown_id_sentence
from services.rules.intents import MicrodepositItem, OpenRequest
from services.rules.people import person_term

Row = TypeVar("Row", OpenRequest, MicrodepositItem)

# When a waiting intent's microdeposits are due (Stripe's estimate), read from its stored JSON:
# counted only over the rows ix_intent_status_created finds (the waiting ones of the lookback).
_DUE = ("next_action", "verify_with_microdeposits", "arrival_date")
LOOKBACK_SECONDS = 30 * 86_400  # microdeposits time out 10 days after arrival (§6.2)
MAX_SCAN = 2_000
PULL_PAGE = 100  # intents written per transaction by "Sync from Stripe" (a Stripe page)


def customer_id(text: str | None) -> str:
    ident, _ = parse_id(text, allowed=("customer",))
    return ident


def intent_id(text: str | None) -> tuple[str, str]:
    return parse_id(text, allowed=("setup_intent", "payment_intent"))


def require_key(idempotency_key: str | None) -> str:
    key = input_limits.stripe_text(idempotency_key, field="idempotency_key")
    if not key:
        raise ValidationError(
            "An idempotency key is required so a double click creates one object."
        )
    return key


@contextmanager
def unconfirmed(what: str, *, after_server_error: str | None = None) -> Iterator[None]:
    """A timeout or server error on a POST leaves its outcome unknown (the request may have
    run), so say that instead of "nothing changed". What a retry does differs (reference
    §1.6): with no answer at all the same key is sent again and Stripe does it at most once;
    after a 500 Stripe saved that answer under the key, so the retry must be a new request. A
    429 is different again: Stripe refused before doing anything. ``after_server_error``: what
    to do after a 500 instead of "trying again sends a new request" (a create says where to
    look for what it may have made before making another)."""
    try:
        yield
    except (RateLimited, OutcomeStillUnknown, ChangeNotMade, ReadBackFailed):
        raise  # refused before anything happened / already read back and said in a sentence
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
            "happened. "
            + (
                after_server_error
                or "Stripe keeps that answer for this request, so trying again sends a new "
                "request; if the first one went through after all, you will see both."
            ),
            request_id=err.request_id,
        ) from None


def send_settled(
    create: Callable[..., dict[str, Any]], params: Any, key: str, *, what: str
) -> tuple[dict[str, Any], bool]:
    """A create (or any POST) whose unknown outcome is settled by sending the same request with
    the same key again: Stripe replays what it did (or 409s while it still runs), so the person
    hears the real outcome. Also whether it took a read-back."""
    settled = settle(
        lambda: create(params, idempotency_key=key),
        lambda: create(params, idempotency_key=key),
        lambda _: True,
        what=what,
        same_key=True,  # after a 5xx a replay answers it again: it stays unconfirmed
    )
    return settled.value, settled.read_back


def replayed(svc: Services, key: str, action: str) -> bool:
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


def raise_unknown(err: NotFound, ident: str, kind: str) -> NoReturn:
    """Stripe's "No such setupintent" for ``ident`` as a sentence saying what to check (the ID,
    the mode, the account), with Stripe's request ID."""
    raise NotFound(
        unknown_id_sentence(ident, kind, request_id=err.request_id), request_id=err.request_id
    ) from None


def retrieve(svc: Services, ident: str, kind: str) -> dict[str, Any]:
    try:
        if kind == "payment_intent":
            return svc.gateway.retrieve_payment_intent(ident, expand=["payment_method"])
        return svc.gateway.retrieve_setup_intent(ident, expand=["payment_method"])
    except NotFound as err:
        raise_unknown(err, ident, kind)


def recent_intents(
    svc: Services, *, customer: str | None, since: int, payment_intents: bool
) -> Iterator[dict[str, Any]]:
    """Recently created intents, at most ``MAX_SCAN`` of them."""
    for n, intent in enumerate(_listed(svc, customer, since, payment_intents)):
        if n >= MAX_SCAN:
            return
        yield intent


def stored_intents(
    svc: Services,
    *,
    customer: str | None,
    since: int,
    payment_intents: bool,
    statuses: tuple[str, ...],
    limit: int = MAX_SCAN,
    search: str = "",
    oldest_first: bool = False,
) -> list[dict[str, Any]]:
    """Intents the store holds (kept fresh by the sync, webhooks and our own writes) in
    ``statuses`` created since ``since``, newest (or oldest) first, at most ``limit``: no
    Stripe call. ``search``: the start of the intent's or its customer's ID, or part of the
    customer's name or email (matched in SQL against the customers table). Intents other
    than ACH ones are not stored, so they are not listed."""
    stmt = select(IntentRecord.raw).where(
        *_stored_where(customer, since, payment_intents, statuses, search)
    )
    created = col(IntentRecord.created)
    stmt = stmt.order_by(created if oldest_first else created.desc(), col(IntentRecord.id))
    with session_scope(svc.engine) as session:
        return [dict(raw) for raw in session.exec(stmt.limit(limit)).all()]


def count_stored_intents(
    svc: Services,
    *,
    customer: str | None,
    since: int,
    payment_intents: bool,
    statuses: tuple[str, ...],
    search: str = "",
    arrival_before: int | None = None,
) -> int:
    """How many intents :func:`stored_intents` would list without a limit (one SQL count);
    ``arrival_before``: only those whose microdeposits were due before that time."""
    where = _stored_where(customer, since, payment_intents, statuses, search)
    if arrival_before is not None:
        where.append(col(IntentRecord.raw)[_DUE].as_integer() < arrival_before)
    with session_scope(svc.engine) as session:
        return int(session.exec(select(func.count()).select_from(IntentRecord).where(*where)).one())


def listed_among(
    svc: Services, which: IntentList, ids: Sequence[str], *, lookback_seconds: int
) -> set[str]:
    """Which of ``ids`` the list ``which`` holds (of the lookback, any search): one query, for
    calls that checked the role."""
    if not ids:
        return set()
    where = _stored_where(
        None, svc.now() - lookback_seconds, which.payment_intents, which.statuses, ""
    )
    stmt = select(IntentRecord.id).where(*where, col(IntentRecord.id).in_(list(ids)))
    with session_scope(svc.engine) as session:
        return {str(i) for i in session.exec(stmt).all()}


def _stored_where(
    customer: str | None, since: int, payment_intents: bool, statuses: tuple[str, ...], search: str
) -> list[Any]:
    where: list[Any] = [
        col(IntentRecord.created) >= since,
        col(IntentRecord.status).in_(list(statuses)),
    ]
    if not payment_intents:
        where.append(IntentRecord.kind == "setup_intent")
    if customer:
        where.append(IntentRecord.customer_id == customer)
    text = search.strip()
    term = person_term(text)
    if text.startswith("cus_"):
        where.append(col(IntentRecord.customer_id).startswith(text, autoescape=True))
    elif term:  # part of a name or email (or, when typed that way, the start of an intent ID)
        where.append(
            or_(
                col(IntentRecord.customer_id).in_(customers_matching(term)),
                col(IntentRecord.id).startswith(text, autoescape=True),
            )
        )
    elif text:
        where.append(col(IntentRecord.id).startswith(text, autoescape=True))
    return where


def with_people(svc: Services, rows: Sequence[Row]) -> list[Row]:
    """``rows`` (queue items with ``customer_id`` and ``person``) with their customers' names and
    emails from the store: one query for the page, no Stripe call."""
    found = people_by_id(svc.engine, (r.customer_id for r in rows))
    return [dataclasses.replace(r, person=found.get(r.customer_id or "")) for r in rows]


@dataclasses.dataclass(frozen=True)
class IntentList:
    """Which stored intents a Collect list shows: their kinds, statuses and order."""

    payment_intents: bool  # False: SetupIntents only
    statuses: tuple[str, ...]
    oldest_first: bool = False


def list_stored(
    svc: Services,
    which: IntentList,
    *,
    customer_id: str | None,
    lookback_seconds: int,
    from_stripe: bool,
    search: str | None,
    limit: int,
) -> tuple[int, list[dict[str, Any]]]:
    """The time read and a Collect list's intents of the lookback from the store (``from_stripe``:
    first read the recent ones from Stripe into it), for calls that checked the role."""
    customer = parse_id(customer_id, allowed=("customer",))[0] if customer_id else None
    now = svc.now()
    since = now - lookback_seconds
    if from_stripe:
        pull_recent_intents(
            svc, customer=customer, since=since, payment_intents=which.payment_intents
        )
    stored = stored_intents(
        svc,
        customer=customer,
        since=since,
        payment_intents=which.payment_intents,
        statuses=which.statuses,
        limit=limit,
        search=clean_search(search),
        oldest_first=which.oldest_first,
    )
    return now, stored


def count_listed(
    svc: Services,
    which: IntentList,
    *,
    search: str | None,
    lookback_seconds: int,
    arrival_before: int | None = None,
) -> int:
    """How many intents of the lookback a Collect list holds that match ``search`` (one SQL
    count; ``arrival_before``: see :func:`count_stored_intents`), for calls that checked the
    role."""
    return count_stored_intents(
        svc,
        customer=None,
        since=svc.now() - lookback_seconds,
        payment_intents=which.payment_intents,
        statuses=which.statuses,
        search=clean_search(search),
        arrival_before=arrival_before,
    )


def clean_search(text: str | None) -> str:
    """A list's search box, checked by the input limits (at most 100 characters, no NUL or
    control characters)."""
    return input_limits.clean_text(text, field="The search", max_length=100)


def pull_recent_intents(
    svc: Services, *, customer: str | None, since: int, payment_intents: bool
) -> int:
    """Read recent intents from Stripe into the store (the lists' "Sync from Stripe" action),
    with their bank accounts and customers expanded, so the lists name people and banks: each
    customer goes to the customers table, the intent keeps only its ID (as every other path
    stores it). A page of ``PULL_PAGE`` is written at a time, as the intent sync writes its
    pages (its customers in one transaction, its intents in another): 2,000 intents took 2,000
    commits and 6.6 s at 20,000 customers before."""
    from services.usecases.sync_intents import store_page

    n = 0
    page: list[dict[str, Any]] = []
    people: dict[str, dict[str, Any]] = {}

    def write() -> None:
        upsert_customers(svc.engine, list(people.values()))
        store_page(svc.engine, page, {}, svc.now())
        page.clear()
        people.clear()

    for intent in recent_intents(
        svc, customer=customer, since=since, payment_intents=payment_intents
    ):
        person = intent.get("customer")
        if isinstance(person, dict):
            if person.get("id") and not person.get("deleted"):
                people[str(person["id"])] = person
            intent = {**intent, "customer": person.get("id")}
        page.append(intent)
        n += 1
        if len(page) >= PULL_PAGE:
            write()
    write()
    return n


def _listed(
    svc: Services, customer: str | None, since: int, payment_intents: bool
) -> Iterator[dict[str, Any]]:
    expand = ("payment_method", "customer")
    yield from svc.gateway.iter_setup_intents(created_gte=since, customer=customer, expand=expand)
    if payment_intents:
        yield from svc.gateway.iter_payment_intents(
            created_gte=since, customer=customer, expand=expand
        )
