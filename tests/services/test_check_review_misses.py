"""Did our check work? The misses table lists the newest ``MISSES_SHOWN`` misses, newest first,
while the count (and every figure) is of all of them (issue 13: a page shows a page of rows)."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from services.adapters import last_checks, original_dates, verdict_days
from services.adapters.models import DebitCheckRecord, DebitOutcomeRecord
from services.auth import Actor
from services.context import Services
from services.usecases import check_review
from tests.store.test_check_figures_sql import _check, _debit

NSF = {"status": "returned", "failure_code": "insufficient_funds", "return_code": "R01",
       "category": "other"}


def store_misses(svc: Services, n: int) -> None:
    """``n`` R01 returns an ok let through, a minute apart, each after its own account's check;
    and as many debits that settled after a check that said ok."""
    now = svc.now()
    debits, checks = [], []
    for i in range(n):
        made = now - 86_400 + i * 60 - n * 60
        debits.append(_debit(f"pi_m{i:04d}", f"fca_m{i}", made, **NSF))
        debits.append(_debit(f"pi_s{i:04d}", f"fca_s{i}", made))
        checks += [_check(f"fca_m{i}", made - 600), _check(f"fca_s{i}", made - 600)]
    with svc.engine.begin() as conn:
        conn.execute(insert(DebitOutcomeRecord), debits)
        conn.execute(insert(DebitCheckRecord), checks)
    last_checks.backfill(svc.engine)  # inserted past the writers, as the page bench's fill
    original_dates.backfill(svc.engine)
    verdict_days.rebuild(svc.engine)


@pytest.mark.parametrize("role", ["admin", "finance"])
@pytest.mark.parametrize("n", [3, check_review.MISSES_SHOWN, check_review.MISSES_SHOWN + 57])
def test_the_misses_table_lists_the_newest_and_counts_them_all(
    svc: Services, admin: Actor, finance: Actor, n: int, role: str
) -> None:
    """Every role reads the newest misses whole and counts them all; the admin's options count
    every miss: each balance was an hour old, so a maximum age of 15 minutes catches them all
    (and holds back every debit that settled)."""
    store_misses(svc, n)
    seen = check_review.review(svc, admin if role == "admin" else finance)
    shown = min(n, check_review.MISSES_SHOWN)
    assert seen.misses_total == n
    assert list(seen.misses["Debit"]) == [f"pi_m{i:04d}" for i in reversed(range(n - shown, n))]
    assert seen.checked == seen.debits == 2 * n
    if role == "admin":
        assert [(o.kind, o.policy.max_age_seconds) for o in seen.options] == [("max_age", 900)]
        assert (seen.options[0].caught, seen.options[0].misses) == (n, n)
        assert seen.options[0].blocked == n
    else:
        assert seen.options == []
