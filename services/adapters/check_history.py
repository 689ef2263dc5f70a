"""The store's history of pre-debit verdicts (``debit_checks``): written by every single check,
batch row and retry check, read by "Did our check work?" (:mod:`services.rules.check_effect`).

In sandbox mode the demo world's checks are seeded here too (source ``demo``), replaced as a
whole at each start, since the sandbox builds its world afresh (:func:`replace_source`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import col

from services.adapters import data_version, last_checks, verdict_days
from services.adapters.models import DebitCheckRecord
from services.adapters.store import insert_rows, retrying, rows_since
from services.rules.check_effect import Check
from services.rules.debit import Assessment, DebitPolicy, assess_debit

__all__ = ["check_from_row", "check_row", "load_checks", "record_checks", "replace_source", "seed_demo"]


def check_row(
    assessment: Assessment,
    *,
    account_id: str,
    policy: DebitPolicy,
    checked_at: int,
    source: str,
    checked_by: str | None = None,
    target: str | None = None,
    reference: str | None = None,
) -> dict[str, Any]:
    """The stored columns of one verdict."""
    return {
        "account_id": account_id,
        "source": source,
        "target": target,
        "reference": reference,
        "amount": assessment.amount,
        "currency": assessment.currency,
        "verdict": assessment.verdict,
        "balance": assessment.balance,
        "balance_source": assessment.balance_source,
        "as_of": assessment.as_of,
        "required": assessment.required,
        "buffer_amount": policy.buffer_amount,
        "buffer_percent": policy.buffer_percent,
        "max_age_seconds": policy.max_age_seconds,
        "checked_at": checked_at,
        "checked_by": checked_by,
    }


def record_checks(engine: Engine, rows: Sequence[dict[str, Any]]) -> int:
    """Keep verdicts (from :func:`check_row`); returns how many were written."""
    if not rows:
        return 0

    def work(session: Any) -> int:
        days = _add(session, rows)
        data_version.bump(session, data_version.CHECKS)
        verdict_days.recount(session, days)  # after the bump: writers take turns from there
        return len(rows)

    written: int = retrying(engine, work)
    return written


def _add(session: Any, rows: Sequence[dict[str, Any]]) -> set[int]:
    """Insert checks, and keep each debit's last check (:mod:`~services.adapters.last_checks`);
    returns the days the debits whose last check may have changed are counted at
    (:mod:`~services.adapters.verdict_days`)."""
    if not rows:
        return set()
    # no ORM object per check: building 10,000 of them was most of a batch's write
    returned = insert_rows(session, DebitCheckRecord, rows, returning=col(DebitCheckRecord.id))
    ids = [int(i) for i in returned]
    last_checks.refresh_after_checks(session, ids)
    return last_checks.days_after_checks(session, ids)


def replace_source(engine: Engine, source: str, rows: Sequence[dict[str, Any]]) -> int:
    """Drop every verdict of ``source`` and keep ``rows`` instead (the demo world's seed)."""

    def work(session: Any) -> int:
        last_checks.forget_source(session, source)
        session.execute(delete(DebitCheckRecord).where(col(DebitCheckRecord.source) == source))
        _add(session, rows)
        last_checks.fill_missing(session)
        data_version.bump(session, data_version.CHECKS)
        verdict_days.rebuild_in(session)  # every day again (a seed, rare)
        return len(rows)

    written: int = retrying(engine, work)
    return written


def seed_demo(
    engine: Engine, planned: Sequence[Mapping[str, Any]], *, policy: DebitPolicy | None = None
) -> int:
    """Judge the demo world's past checks (``sandbox.demo.checks``: an account as it looked at
    check time, an amount, a time) with fcops' own rule and keep them as source ``demo``,
    replacing the last start's. Sandbox mode only; the composition root calls it."""
    rules = policy or DebitPolicy()
    rows = []
    for plan in planned:
        at = int(plan["checked_at"])
        verdict = assess_debit(
            plan["account"], int(plan["amount"]), str(plan["currency"]), now=at, policy=rules
        )
        rows.append(
            check_row(
                verdict,
                account_id=str(plan["account"]["id"]),
                policy=rules,
                checked_at=at,
                source="demo",
                checked_by="finance",
            )
        )
    return replace_source(engine, "demo", rows)


def check_from_row(row: Any, prefix: str = "") -> Check:
    """From a stored row (its columns as attributes, named ``prefix`` + the column's name)."""

    def get(name: str) -> Any:
        return getattr(row, prefix + name)

    return Check(
        account=get("account_id"),
        checked_at=get("checked_at"),
        amount=get("amount"),
        currency=get("currency"),
        verdict=get("verdict"),
        balance=get("balance"),
        as_of=get("as_of"),
        required=get("required"),
        policy=DebitPolicy(
            buffer_amount=get("buffer_amount"),
            buffer_percent=get("buffer_percent"),
            max_age_seconds=get("max_age_seconds"),
        ),
        source=get("source"),
    )


def load_checks(engine: Engine, *, since: int | None = None) -> list[Check]:
    """Stored verdicts made at or after ``since``, oldest first."""
    rows = rows_since(engine, DebitCheckRecord, DebitCheckRecord.checked_at, since)
    return [check_from_row(r) for r in rows]
