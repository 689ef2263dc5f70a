"""The ownership review list picks a page of checks first and joins their accounts after
(issue 13), on SQLite and PostgreSQL: every order and filter pages through the same rows, in
the same order, as one page holding them all, and holds what the filter selects."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bench.page_fill import fill
from services.adapters import ownership_checks
from services.adapters.models import AccountRecord, OwnershipCheck
from services.adapters.store import session_scope

VERDICTS = ("mismatch", "partial")


@pytest.fixture
def filled(engine: Engine) -> Engine:
    fill(engine, 0, 80, 0)
    return engine


def _expected(engine: Engine, bank: str | None) -> list[tuple[float, str]]:
    with session_scope(engine) as session:
        rows = session.exec(
            select(OwnershipCheck, AccountRecord.institution_name).join(
                AccountRecord, AccountRecord.id == OwnershipCheck.account_id, isouter=True
            )
        ).all()
    return sorted(
        (check.score, check.account_id)
        for check, institution in rows
        if check.verdict in VERDICTS and (bank is None or institution == bank)
    )


@pytest.mark.parametrize("sort", list(ownership_checks.REVIEW_SORTS))
@pytest.mark.parametrize("bank", [None, "First Harbor Bank"])
def test_pages_hold_the_filtered_rows_in_order(filled: Engine, sort: str, bank: str | None) -> None:
    def page(number: int, size: int) -> list[ownership_checks.ReviewRow]:
        return ownership_checks.review_page(
            filled, verdicts=VERDICTS, page=number, page_size=size, pii=True,
            institution=bank, sort=sort,
        ).rows

    everything = page(1, 500)
    expected = _expected(filled, bank)
    assert len(expected) > 7  # more than one page of 7
    assert sorted((r.score, r.account_id) for r in everything) == expected
    pages = -(-len(everything) // 7)
    paged = [row for n in range(1, pages + 1) for row in page(n, 7)]
    assert [r.account_id for r in paged] == [r.account_id for r in everything]
    if sort == "score":
        assert [(r.score, r.account_id) for r in everything] == expected
    if bank:
        assert {r.institution_name for r in everything} == {bank}
    assert all(r.customer_name for r in everything)  # people first: joined after the page
