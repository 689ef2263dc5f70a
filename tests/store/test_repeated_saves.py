"""A repeated submit of what is already stored (a double click, a rerun) is not a conflict,
while a different change from a stale version still is. Both databases."""

from __future__ import annotations

import pytest

from services.audit import query
from services.auth import Actor
from services.errors import Conflict
from services.rules.debit import DebitPolicy
from services.usecases import debit_policy
from services.usecases import edit_flows as flows

ADMIN = Actor(username="ada", role="admin")


def test_a_double_submitted_flow_save_keeps_one_version(engine) -> None:  # type: ignore[no-untyped-def]
    base = flows.load_flow(engine, "setup_intent").version
    change = {"permissions": ["payment_method", "balances"], "prefetch": ["balances"],
              "verification_method": "instant"}
    first = flows.save_flow(engine, ADMIN, "setup_intent", expected_version=base, **change)
    again = flows.save_flow(engine, ADMIN, "setup_intent", expected_version=base, **change)
    assert again.version == first.version == base + 1
    assert [v.version for v in flows.history(engine, "setup_intent")] == [first.version]
    with pytest.raises(Conflict):
        flows.save_flow(engine, ADMIN, "setup_intent", expected_version=base,
                        permissions=["payment_method"], prefetch=[], verification_method="automatic")
    assert flows.load_flow(engine, "setup_intent").verification_method == "instant"


def test_a_double_submitted_policy_save_keeps_one_version(engine) -> None:  # type: ignore[no-untyped-def]
    base = debit_policy.load_policy(engine).version
    policy = DebitPolicy(buffer_amount=2_500, buffer_percent=2.5, max_age_seconds=7_200)
    first = debit_policy.save_policy(engine, ADMIN, policy, expected_version=base)
    again = debit_policy.save_policy(engine, ADMIN, policy, expected_version=base)
    assert again.version == first.version == base + 1
    assert again.policy == policy
    with pytest.raises(Conflict):
        debit_policy.save_policy(engine, ADMIN, DebitPolicy(buffer_amount=1), expected_version=base)
    rows = query(engine, actor=ADMIN, actions=["policy.save"]).rows
    assert [r.outcome for r in rows] == ["error", "ok", "ok"]
    assert "No changes" in (rows[1].message or "")
