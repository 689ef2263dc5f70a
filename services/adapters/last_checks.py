"""Each debit's last pre-debit verdict, kept on the debit (``debit_outcomes.last_check_id``) when
it is written, so "Did our check work?" (:mod:`services.usecases.check_figures`) joins it by key
instead of looking it up per debit on every cold rerun (issue 13).

The column holds the id of the account's newest check made at or before the debit within the
lookback (``created - LOOKBACK <= checked_at <= created``; ties by id), exactly
:func:`last_check`. ``NO_CHECK`` (0; check ids start at 1) says "computed: no check"; NULL says
"not computed yet" (a row written before the column existed, or by a bulk insert), and
:func:`backfill` fills those when the store is opened.

Kept in the writer's transaction: a debit written (inserted, or its account or date changed) is
looked up again (:func:`refresh_debits`); a check written makes the debits of its account in
``[checked_at, checked_at + LOOKBACK]`` look again (:func:`refresh_after_checks`); checks about
to be deleted leave their debits uncomputed (:func:`forget_source`) until :func:`fill_missing`.
Only a changed value is written, so an unchanged re-sync writes nothing more.

What the figures read of that check is copied with its id (checks are never changed, only
added or deleted): ``check_verdict`` (``NONE_VERDICT``, "", for no check), ``check_age``
(``checked_at - as_of``), ``check_room`` (``balance - amount``) and ``check_asked`` (``amount``),
so the verdict table and the policy options read no check (:func:`copied`). A NULL
``check_verdict`` says "not copied yet" (a row of a store from before the copies, or whose check
was deleted): it is computed again with its id, and readers look it up meanwhile.

On PostgreSQL two transactions committing at once (a debit written while a check of the same
account, made before it, is still uncommitted) can miss each other; the check is recorded when
it is made, long before Stripe reports the debit it guarded, so the window is that of a check
made within the same moment as a debit's webhook is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, case, exists, func, or_, select, update
from sqlalchemy.engine import Connection, Engine

from services.adapters.models import DebitCheckRecord, DebitOutcomeRecord
from services.rules.check_effect import LOOKBACK_SECONDS

__all__ = [
    "NONE_VERDICT",
    "NO_CHECK",
    "backfill",
    "copied",
    "days_after_checks",
    "fill_missing",
    "forget_source",
    "last_check",
    "missing",
    "refresh_after_checks",
    "refresh_debits",
    "stored_check_id",
]

DEBITS: Any = DebitOutcomeRecord.__table__  # type: ignore[attr-defined]
CHECKS: Any = DebitCheckRecord.__table__  # type: ignore[attr-defined]
NO_CHECK = 0
NONE_VERDICT = ""
CHUNK = 500


@lru_cache(maxsize=8)
def last_check(lookback: int) -> Any:
    """The id of the debit's (a ``debit_outcomes`` row's) last check within ``lookback``, a
    correlated subquery over ``ix_debit_check_last`` (NULL: none). Built once per lookback
    (building it costs more than running it for one debit); constructs are immutable."""
    c = CHECKS.alias("last_check")
    return (
        select(c.c.id)
        .where(
            c.c.account_id == DEBITS.c.account_id,
            c.c.checked_at <= DEBITS.c.created,
            c.c.checked_at >= DEBITS.c.created - lookback,
        )
        .order_by(c.c.checked_at.desc(), c.c.id.desc())
        .limit(1)
        .correlate(DEBITS)
        .scalar_subquery()
    )


@lru_cache(maxsize=1)
def stored_check_id() -> Any:
    """:func:`last_check` of the lookback as stored (NULL: none); looked up for a row not
    computed yet, so a row some writer left behind still counts right."""
    stored = DEBITS.c.last_check_id
    return case(
        (stored.is_(None), last_check(LOOKBACK_SECONDS)),
        (stored == NO_CHECK, None),
        else_=stored,
    )


def _of_check(check_id: Any) -> dict[str, Any]:
    """What the figures read of check ``check_id`` (none: NULL), by column of ``CHECKS``."""
    c = CHECKS.alias("copied")

    def one(value: Any) -> Any:
        return select(value).where(c.c.id == check_id).scalar_subquery()

    return {
        "verdict": one(c.c.verdict),
        "age": one(c.c.checked_at - c.c.as_of),
        "room": one(c.c.balance - c.c.amount),
        "asked": one(c.c.amount),
    }


def _computed() -> Any:
    return func.coalesce(last_check(LOOKBACK_SECONDS), NO_CHECK)


def _values() -> dict[str, Any]:
    """The last check's id as computed, and what the figures read of it."""
    value = _computed()
    of = _of_check(value)
    return {
        "last_check_id": value,
        "check_verdict": func.coalesce(of["verdict"], NONE_VERDICT),
        "check_age": of["age"],
        "check_room": of["room"],
        "check_asked": of["asked"],
    }


def _uncopied() -> Any:
    return or_(DEBITS.c.last_check_id.is_(None), DEBITS.c.check_verdict.is_(None))


def copied(*, complete: bool = False) -> dict[str, Any]:
    """Each debit's (a ``debit_outcomes`` row's) last check's verdict (NULL: none), ``age``,
    ``room`` and ``asked`` for the lookback as stored: the copies, or for a row not copied yet
    looked up (:func:`stored_check_id`); ``complete``: the caller found no such row
    (:func:`missing`), the copies alone."""
    d = DEBITS.c
    kept = {
        "verdict": func.nullif(d.check_verdict, NONE_VERDICT),
        "age": d.check_age,
        "room": d.check_room,
        "asked": d.check_asked,
    }
    if complete:
        return kept
    looked = _of_check(stored_check_id())
    pending = d.check_verdict.is_(None)
    return {name: case((pending, looked[name]), else_=kept[name]) for name in kept}


def _refresh(*where: Any) -> Any:
    """Look the last check up again for the debits ``where`` selects; write the changed ones
    (and those not copied yet)."""
    values = _values()
    changed = DEBITS.c.last_check_id.is_distinct_from(values["last_check_id"])
    return (
        update(DEBITS)
        .where(*where, or_(changed, DEBITS.c.check_verdict.is_(None)))
        .values(**values)
    )


@lru_cache(maxsize=1)
def _refresh_debits() -> Any:
    return _refresh(DEBITS.c.id.in_(bindparam("ids", expanding=True)))


def _reached() -> Any:
    """The debits checks ``ids`` can be the last check of: their accounts' debits made from each
    check to the end of its lookback."""
    d, c = DEBITS.alias("d"), CHECKS.alias("c")
    return (
        select(d.c.id)
        .select_from(d.join(c, c.c.account_id == d.c.account_id))
        .where(
            c.c.id.in_(bindparam("ids", expanding=True)),
            d.c.created >= c.c.checked_at,
            d.c.created <= c.c.checked_at + LOOKBACK_SECONDS,
        )
    )


@lru_cache(maxsize=1)
def _refresh_after_checks() -> Any:
    return _refresh(DEBITS.c.id.in_(_reached()))


def days_after_checks(conn: Connection | Any, check_ids: Sequence[int]) -> set[int]:
    """The days (:func:`services.adapters.verdict_days.days_of`) of the debits checks
    ``check_ids`` can be the last check of."""
    from services.adapters import verdict_days

    days: set[int] = set()
    reached = DEBITS.c.id.in_(_reached())
    for i in range(0, len(check_ids), CHUNK):
        chunk = {"ids": list(check_ids[i : i + CHUNK])}
        days |= verdict_days.days_of(conn, reached, chunk)
    return days


def _run_chunked(conn: Connection | Any, stmt: Any, ids: Sequence[Any]) -> int:
    done = 0
    for i in range(0, len(ids), CHUNK):
        done += int(conn.execute(stmt, {"ids": list(ids[i : i + CHUNK])}).rowcount or 0)
    return done


def refresh_debits(conn: Connection | Any, ids: Sequence[str]) -> int:
    """After debits ``ids`` were written (new, or their account or date changed)."""
    return _run_chunked(conn, _refresh_debits(), ids)


def refresh_after_checks(conn: Connection | Any, check_ids: Sequence[int]) -> int:
    """After checks ``check_ids`` were written: the debits of their accounts made from each check
    to the end of its lookback (the only ones a new check can be the last of)."""
    return _run_chunked(conn, _refresh_after_checks(), check_ids)


def forget_source(conn: Connection | Any, source: str) -> int:
    """Before the checks of ``source`` are deleted: their debits become uncomputed."""
    gone = select(CHECKS.c.id).where(CHECKS.c.source == source)
    stmt = (
        update(DEBITS)
        .where(DEBITS.c.last_check_id.in_(gone))
        .values(last_check_id=None, check_verdict=None)
    )
    return int(conn.execute(stmt).rowcount or 0)


def missing(conn: Connection | Any) -> bool:
    """Whether any debit is not computed or copied yet: a probe of each column's index (one
    EXISTS per column; with the two conditions OR-ed in one, SQLite scans every debit)."""
    d = DEBITS.c
    probes = or_(exists().where(d.last_check_id.is_(None)), exists().where(d.check_verdict.is_(None)))
    return bool(conn.execute(select(probes)).scalar())


def fill_missing(conn: Connection | Any) -> int:
    """Compute (and copy) every debit not computed or copied yet; returns how many."""
    stmt = update(DEBITS).where(_uncopied()).values(**_values())
    return int(conn.execute(stmt).rowcount or 0)


def backfill(engine: Engine) -> int:
    """:func:`fill_missing` in its own transaction, when any debit needs it (what opening an
    older store, or one filled by bulk inserts, does); returns how many were computed."""
    with engine.connect() as conn:
        if not missing(conn):
            return 0
    with engine.begin() as conn:
        return fill_missing(conn)
