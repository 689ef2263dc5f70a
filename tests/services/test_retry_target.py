"""Why Returns cannot list a debit asked for by its pi_ ID, and whether Payment lookup links to it.

A tester followed Payment lookup's "Plan a retry for pi_… (insufficient funds)" to Returns and
read "No insufficient-funds return matches the search." for a debit made 75 days ago (before
Returns' 60-day window); an unknown pi_ and an R02 return said the same, with no why. Nacha
allows retrying R01/R09 up to 2 times within 180 days of the original entry
(services.rules.retry), so the window alone must not hide a debit that may be retried."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine

from services.auth import Actor
from services.context import Services
from services.usecases import retry_debit, retry_picker
from services.usecases.retry_picker import RETRY_RULE
from tests.conftest import record_returned_debit

NOW = 1_780_000_000
FINANCE = Actor("finance", "finance")


@pytest.fixture
def svc(sqlite_engine: Engine) -> Services:
    """The store alone, at NOW: nothing here asks Stripe."""
    return Services(gateway=None, engine=sqlite_engine, mode="sandbox", now=lambda: NOW)  # type: ignore[arg-type]


def debit(svc: Services, name: str, *, days_ago: int, code: str, retry_of: str | None = None) -> str:
    return record_returned_debit(
        svc.engine, name, now=NOW, days_ago=days_ago, code=code, retry_of=retry_of
    )


def target(svc: Services, pi: str, window: int = 60) -> Any:
    return retry_picker.retry_target(svc, FINANCE, pi, window_days=window)


def test_an_r01_older_than_the_window_is_explained_planned_regardless_and_widenable(
    svc: Services,
) -> None:
    old = debit(svc, "old", days_ago=75, code="insufficient_funds")

    assert retry_picker.retry_choices(svc, FINANCE, search=old).labels == {}  # the 60-day list
    found = target(svc, old)
    assert found.original == old and found.widen_to == 76  # 75 days and a second or more
    assert f"{old} was made 75 days ago, before this 60-day window" in found.message
    assert RETRY_RULE in found.message
    assert old in retry_picker.retry_choices(svc, FINANCE, window_days=76, search=old).labels
    assert target(svc, old, window=76) is None  # listed: nothing to explain
    assert retry_debit.why_not_plannable(svc, FINANCE, old) is None  # Payment lookup links


def test_past_180_days_no_retry_is_offered(svc: Services) -> None:
    gone = debit(svc, "gone", days_ago=200, code="insufficient_funds")

    found = target(svc, gone)
    assert found.original is None and found.widen_to is None
    assert "200 days ago" in found.message and "can no longer be retried" in found.message
    assert "180 days" in str(retry_debit.why_not_plannable(svc, FINANCE, gone))


def test_an_r02_return_names_its_code_and_that_nacha_allows_no_retry(svc: Services) -> None:
    closed = debit(svc, "closed", days_ago=5, code="account_closed")

    found = target(svc, closed)
    assert found.original is None
    assert f"{closed} came back R02" in found.message
    assert "no other return may be retried" in found.message
    assert "R02" in str(retry_debit.why_not_plannable(svc, FINANCE, closed))


def test_an_unknown_debit_says_so(svc: Services) -> None:
    found = target(svc, "pi_nosuchdebit")
    assert found.original is None and "No debit pi_nosuchdebit is known to fcops" in found.message
    assert "pi_nosuchdebit" in str(retry_debit.why_not_plannable(svc, FINANCE, "pi_nosuchdebit"))


def test_a_retry_leads_to_its_original_and_a_listed_original_needs_no_why(svc: Services) -> None:
    first = debit(svc, "first", days_ago=10, code="insufficient_funds")
    again = debit(svc, "again", days_ago=5, code="insufficient_funds", retry_of=first)

    assert target(svc, first) is None
    found = target(svc, again)
    assert found.original == first and f"{again} is a retry of {first}" in found.message
    assert target(svc, "Gringotts") is None  # a search, not an ID


def test_the_search_takes_an_id_as_long_as_the_address_takes_and_refuses_longer(
    svc: Services,
) -> None:
    """The box and ?retry= agree: up to MAX_ID_LENGTH (255) is searched whole (it was 100)."""
    from services.errors import ValidationError
    from services.rules.ids import MAX_ID_LENGTH

    longest = "pi_" + "E" * (MAX_ID_LENGTH - 3)
    assert retry_picker.retry_choices(svc, FINANCE, search=longest).total == 0
    assert f"No debit {longest} is known" in target(svc, longest).message
    with pytest.raises(ValidationError, match=f"at most {MAX_ID_LENGTH} are allowed"):
        retry_picker.retry_choices(svc, FINANCE, search=longest + "E")
