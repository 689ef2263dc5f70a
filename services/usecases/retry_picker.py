"""The Returns page's retry picker: R01/R09-returned original debits of the window, found by
the customer's name or email, the bank, a pi_/cus_ ID or the return code, in SQL and bounded
("first 20 of 312"), each option naming the person before the ID (issue 9)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations
from typing import Any

from sqlmodel import col, func, or_, select

from services.adapters.models import DebitOutcomeRecord
from services.adapters.people import customers_matching, people_by_id
from services.adapters.store import session_scope
from services.auth import Actor, require
from services.context import Services
from services.rules import people
from services.rules.nacha import RETRYABLE
from services.usecases.collect_common import clean_search
from services.usecases.returns_report import valid_window

PICKER_LIMIT = 20


@dataclass(frozen=True)
class RetryChoices:
    labels: dict[str, str]  # PaymentIntent id → "Ada Lovelace · ada@x.org · Bank ••6833 · …"
    total: int  # how many match in all (the picker holds at most the limit)


def retryable_codes() -> list[str]:
    """How the store writes a retryable return: one code, or candidates joined by '/'."""
    codes = sorted(RETRYABLE)
    return sorted({"/".join(p) for n in range(1, len(codes) + 1) for p in permutations(codes, n)})


def retry_choices(
    svc: Services,
    actor: Actor,
    *,
    window_days: int = 60,
    search: str | None = None,
    limit: int = PICKER_LIMIT,
) -> RetryChoices:
    """Original debits of the window returned R01/R09 (what may be re-initiated), newest first,
    at most ``limit``, matching ``search``. Names and emails only for roles that see accounts."""
    require(actor, "returns.view")
    window = valid_window(window_days)
    text = clean_search(search)
    pii = actor.can("accounts.view")
    now = svc.now()
    where = _where(now - window * 86_400, now, text, pii=pii)
    record = DebitOutcomeRecord
    stmt = (
        select(record)
        .where(*where)
        .order_by(col(record.created).desc(), col(record.id))
        .limit(max(1, min(int(limit), 100)))
    )
    with session_scope(svc.engine) as session:
        rows = list(session.exec(stmt).all())
        total = int(session.exec(select(func.count()).select_from(record).where(*where)).one())
    found = people_by_id(svc.engine, (r.customer_id for r in rows)) if pii else {}
    labels = {
        r.id: people.label(
            person=found.get(r.customer_id or ""),
            anonymous=not pii,
            customer_id=r.customer_id,
            bank=r.institution,
            last4=r.last4,
            amount=r.amount,
            currency=r.currency,
            age_seconds=max(0, now - r.created),
            extra=r.return_code,
            ident=r.id,
        )
        for r in rows
    }
    return RetryChoices(labels, total)


def _where(since: int, until: int, text: str, *, pii: bool) -> list[Any]:
    record = DebitOutcomeRecord
    where: list[Any] = [
        col(record.id) == col(record.original_id),
        record.status == "returned",
        col(record.return_code).in_(retryable_codes()),
        col(record.category).is_not(None),
        col(record.created) >= since,
        col(record.created) <= until,
    ]
    if text.startswith("pi_"):
        where.append(col(record.id).startswith(text, autoescape=True))
    elif text.startswith("cus_"):
        where.append(col(record.customer_id).startswith(text, autoescape=True))
    elif text:
        term = text.lower()
        matches = [
            func.lower(col(record.institution)).contains(term, autoescape=True),
            col(record.last4) == term,
            func.lower(col(record.return_code)).contains(term, autoescape=True),
        ]
        if pii:
            matches.append(col(record.customer_id).in_(customers_matching(term)))
        where.append(or_(*matches))
    return where
