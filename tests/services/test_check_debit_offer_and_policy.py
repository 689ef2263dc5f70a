"""Single debit check: a refresh a person asks for on a short, hour-old balance
(``refresh_offered``), and whether the policy in force is still the one a check applied."""

from __future__ import annotations

from typing import Any

import pytest

from services.auth import Actor
from services.context import Services
from services.errors import Forbidden
from services.rules.debit import DebitPolicy
from services.usecases import check_debit, debit_policy
from tests.services.test_debits import (
    DAY,
    audit_rows,
    customer,
    link,
    set_balance,
)

HOUR = 3_600
TWO_DAYS = DebitPolicy(buffer_amount=10_000, max_age_seconds=2 * DAY)


def short_on_a_day_old_balance(svc: Services, gw: Any, sim: Any, box: Any, admin: Actor) -> str:
    debit_policy.save_policy(svc.engine, admin, TWO_DAYS, expected_version=0)
    fca = link(gw, sim, customer(gw))
    set_balance(box, fca, available=50_000, current=50_000, age=28 * HOUR)
    return fca


def test_a_short_day_old_balance_is_refreshed_only_when_a_person_asks_for_it(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor, admin: Actor
) -> None:
    fca = short_on_a_day_old_balance(svc, gw, sim, box, admin)
    plain = check_debit.check_debit(svc, finance, fca, 45_013, "usd", refresh_stale=True)
    assert plain.verdict == "insufficient" and plain.final.shortfall == 5_013
    assert plain.final.refresh_offered and plain.after is None  # "Refresh stale" leaves it
    assert audit_rows(svc.engine, "account.refresh") == []
    asked = check_debit.check_debit(svc, finance, fca, 45_013, "usd", refresh_offered=True)
    assert asked.refresh is not None and asked.refresh.status == "succeeded"
    assert asked.after is not None and asked.after.age_seconds is not None
    assert asked.after.age_seconds < 60 and asked.before.verdict == "insufficient"
    assert [r.target for r in audit_rows(svc.engine, "account.refresh")] == [fca]


def test_a_fresh_short_balance_is_not_refreshed_even_when_asked(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    fca = link(gw, sim, customer(gw))
    set_balance(box, fca, available=5_000, current=5_000, age=60)
    check = check_debit.check_debit(svc, finance, fca, 9_000, "usd", refresh_offered=True)
    assert check.verdict == "insufficient" and not check.final.refresh_offered
    assert check.after is None and audit_rows(svc.engine, "account.refresh") == []


def test_a_policy_saved_after_a_check_is_said_with_its_version_author_and_time(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor, admin: Actor
) -> None:
    fca = link(gw, sim, customer(gw))
    set_balance(box, fca, available=500_000, current=500_000, age=60)
    check = check_debit.check_debit(svc, finance, fca, 10_000, "usd")
    assert check.policy_version == 0
    assert check_debit.policy_change(svc, finance, check.policy_version) is None
    saved = debit_policy.save_policy(svc.engine, admin, TWO_DAYS, expected_version=0)
    change = check_debit.policy_change(svc, finance, check.policy_version)
    assert change is not None and change.version == saved.version == 1
    assert change.updated_by == admin.username
    assert change.sentence().startswith(
        f"The debit policy changed after this check (now version 1, saved by {admin.username} at 20"
    )
    assert change.sentence().endswith(" UTC): check again to apply it.")
    again = check_debit.check_debit(svc, finance, fca, 10_000, "usd")
    assert again.policy_version == 1
    assert check_debit.policy_change(svc, finance, again.policy_version) is None


def test_only_balance_checkers_may_ask_about_the_policy(svc: Services, admin: Actor) -> None:
    with pytest.raises(Forbidden):
        check_debit.policy_change(svc, Actor(username="o", role="ops"), 0)
    assert check_debit.policy_change(svc, admin, 0) is None
