"""Did our check work? The misses table lists the newest ``MISSES_SHOWN`` misses, newest first,
while the count (and every figure) is of all of them (issue 13: a page shows a page of rows)."""

from __future__ import annotations

from typing import Any

import pytest

from services.auth import Actor
from services.context import Services
from services.rules import check_effect as ce
from services.usecases import check_figures, check_review
from tests.services.test_debits import box, gw, sim, svc
from tests.unit.test_check_effect import DAY, T0, check, debit

__all__ = ["box", "gw", "sim", "svc"]  # the fixtures, shared with test_debits


def misses(n: int) -> list[ce.Joined]:
    """``n`` R01 returns an ok let through, oldest first (as check_figures reads them)."""
    return [
        ce.Joined(debit(f"m{i:04d}", f"fca_{i}", T0 + i * 60, code="R01"), check(f"fca_{i}", T0 - DAY))
        for i in range(n)
    ]


@pytest.mark.parametrize("n", [3, check_review.MISSES_SHOWN, check_review.MISSES_SHOWN + 57])
def test_the_misses_table_lists_the_newest_and_counts_them_all(
    svc: Services, admin: Actor, monkeypatch: Any, n: int
) -> None:
    """An admin's review reads every miss (the options need them); other roles read the newest
    only (``check_figures.newest_misses``, compared with ``misses`` in the store tests)."""
    monkeypatch.setattr(check_figures, "misses", lambda engine, window: misses(n))
    seen = check_review.review(svc, admin)
    shown = min(n, check_review.MISSES_SHOWN)
    assert seen.misses_total == n
    assert list(seen.misses["Debit"]) == [f"pi_m{i:04d}" for i in reversed(range(n - shown, n))]
