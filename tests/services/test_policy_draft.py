"""Each admin's unsaved Debit policy edits in the store (the Flows drafts' table, under the name
"policy"): kept, read back, private, never a flow's draft, cleared by Save.

Runs on SQLite and PostgreSQL (``store_svc``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest

from services.auth import Actor
from services.errors import Forbidden, ValidationError
from services.rules.debit import DebitPolicy
from services.usecases import debit_policy, flow_drafts, policy_draft

ANN = Actor(username="ann", role="admin", name="Ann")
BOB = Actor(username="bob", role="admin", name="Bob")
FIN = Actor(username="fin", role="finance", name="Fin")
START = asdict(DebitPolicy())
TYPED = {"buffer_amount": "30.00", "buffer_percent": 150.0, "max_age_hours": 6.0}


def keep(svc: Any, actor: Actor, value: dict[str, Any] = TYPED, base: int = 0) -> None:
    policy_draft.keep_policy_draft(svc, actor, base_version=base, start=START, value=value,
                                   note="why")


def test_a_kept_policy_draft_is_read_back_for_its_admin_only_and_is_no_flow(store_svc: Any) -> None:
    keep(store_svc, ANN)  # 150 % is out of range: a draft keeps what was typed, Save says why
    draft = policy_draft.my_policy_draft(store_svc, ANN)
    assert draft is not None
    assert (draft.base_version, draft.start, draft.value, draft.note) == (0, START, TYPED, "why")
    assert policy_draft.my_policy_draft(store_svc, BOB) is None
    assert flow_drafts.my_drafts(store_svc, ANN) == {}  # Flows never shows it as a flow


def test_only_policy_editors_keep_read_or_discard_a_policy_draft(store_svc: Any) -> None:
    for call in (lambda: keep(store_svc, FIN), lambda: policy_draft.my_policy_draft(store_svc, FIN),
                 lambda: policy_draft.discard_policy_draft(store_svc, FIN)):
        with pytest.raises(Forbidden):
            call()


@pytest.mark.parametrize("bad", [{**TYPED, "buffer_amount": "1\x00"},
                                 {**TYPED, "buffer_percent": float("nan")},
                                 {**TYPED, "max_age_hours": "soon"},
                                 {**TYPED, "buffer_amount": "9" * 41}])
def test_a_draft_with_what_no_box_can_hold_is_refused(store_svc: Any, bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        keep(store_svc, ANN, bad)
    assert policy_draft.my_policy_draft(store_svc, ANN) is None


def test_discard_and_save_end_only_that_admins_draft(store_svc: Any) -> None:
    keep(store_svc, ANN)
    keep(store_svc, BOB)
    policy_draft.discard_policy_draft(store_svc, ANN)
    policy_draft.discard_policy_draft(store_svc, ANN)  # again is fine
    assert policy_draft.my_policy_draft(store_svc, ANN) is None
    keep(store_svc, ANN)
    current = debit_policy.load_policy(store_svc.engine)
    debit_policy.save_policy(store_svc, ANN, DebitPolicy(buffer_amount=3_000),
                             expected_version=current.version)
    assert policy_draft.my_policy_draft(store_svc, ANN) is None
    assert policy_draft.my_policy_draft(store_svc, BOB) is not None  # Bob's stays
