"""Ownership to review on Home and the review list say how many accounts the checks cover.

A tester on a fresh store read "Ownership to review 0 · 0 mismatch · 0 partial match" on Home and
"Nothing to review with these filters." on the review list while 1 account of 164 had been
checked (after "Check all accounts": 12 to review). A 0 of almost nothing checked reassured
wrongly; "not checked yet" is a state of its own, and a partial check says "so far"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import col, delete, select

from services.adapters import ownership_checks
from services.adapters.models import OwnershipCheck
from services.adapters.store import session_scope
from services.auth import SYSTEM
from services.usecases import review_ownership as orv
from tests.app.conftest import jobs_settled, no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app

HOME_LABEL = "Ownership to review"


def keep_checks(keep: int) -> None:
    """Every account checked, then all but ``keep`` matches forgotten."""
    jobs_settled()
    orv.check_all(app().services, SYSTEM)
    with session_scope(app().engine) as session:
        kept = session.exec(
            select(OwnershipCheck.account_id).where(col(OwnershipCheck.verdict) == "match")
        ).all()[:keep]
        session.execute(delete(OwnershipCheck).where(col(OwnershipCheck.account_id).not_in(kept)))


@pytest.fixture
def one_checked() -> Iterator[int]:
    keep_checks(1)
    yield ownership_checks.coverage(app().engine).checkable
    orv.check_all(app().services, SYSTEM)  # the next test finds every account checked


@pytest.fixture
def none_checked() -> Iterator[int]:
    keep_checks(0)
    yield ownership_checks.coverage(app().engine).checkable
    orv.check_all(app().services, SYSTEM)


def card(at: object) -> tuple[str, str]:
    metric = next(m for m in at.metric if m.label == HOME_LABEL)  # type: ignore[attr-defined]
    return str(metric.value), texts(at)  # type: ignore[arg-type]


def review_list_texts() -> str:
    at = open_page("pages/ownership.py", "ops")
    at.segmented_control(key="own_view").set_value("Review list").run()
    no_exceptions(at)
    return texts(at)


def test_one_account_checked_reads_as_so_far_with_how_many_of_how_many(one_checked: int) -> None:
    assert one_checked > 1
    home = open_page(None, "ops")
    no_exceptions(home)
    value, shown = card(home)
    line = f"1 of {one_checked:,} accounts checked · 0 to review so far"
    assert value == "0 so far"
    assert line in shown

    shown = review_list_texts()
    assert line in shown
    assert "Nothing to review with these filters." not in shown


def test_no_account_checked_is_not_checked_yet_not_zero(none_checked: int) -> None:
    home = open_page(None, "ops")
    no_exceptions(home)
    value, shown = card(home)
    assert value == "Not checked"
    assert f"Not checked yet: 0 of {none_checked:,} accounts checked" in shown
    assert f"Not checked yet: 0 of {none_checked:,} accounts checked" in review_list_texts()


def test_every_account_checked_gives_the_plain_count() -> None:
    jobs_settled()
    orv.check_all(app().services, SYSTEM)
    cover = ownership_checks.coverage(app().engine)
    assert cover.complete
    home = open_page(None, "ops")
    value, shown = card(home)
    assert value.replace(",", "").isdigit()
    assert f"All {cover.checkable:,} accounts checked" in shown
