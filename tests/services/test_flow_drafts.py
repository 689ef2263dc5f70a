"""Each admin's unsaved Flows edits in the store: kept, read back, private, cleared by Save/Revert.

Runs on SQLite and PostgreSQL (``store_svc``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.adapters import flow_drafts as store
from services.auth import Actor
from services.errors import Forbidden, ValidationError
from services.usecases import edit_flows, flow_drafts

ANN = Actor(username="ann", role="admin", name="Ann")
BOB = Actor(username="bob", role="admin", name="Bob")
OPS = Actor(username="olly", role="ops", name="Olly")
DEFAULT = {"permissions": ["payment_method"], "prefetch": [], "verification_method": "automatic"}
MINE = {"permissions": ["balances", "payment_method"], "prefetch": ["balances"],
        "verification_method": "instant"}


def keep(svc: Any, actor: Actor, flow: str, value: dict[str, Any] = MINE, base: int = 0) -> None:
    flow_drafts.keep_draft(svc, actor, flow, base_version=base, start=DEFAULT, value=value,
                           note="why")


def test_a_kept_draft_is_read_back_for_its_admin_only(store_svc: Any) -> None:
    keep(store_svc, ANN, "setup_intent")
    keep(store_svc, ANN, "setup_intent", {**MINE, "verification_method": "microdeposits"})  # again
    found = flow_drafts.my_drafts(store_svc, ANN)
    assert list(found) == ["setup_intent"]
    draft = found["setup_intent"]
    assert (draft.base_version, draft.start, draft.note) == (0, DEFAULT, "why")
    assert draft.value == {**MINE, "verification_method": "microdeposits"}
    assert draft.updated_at is not None
    assert flow_drafts.my_drafts(store_svc, BOB) == {}  # another admin sees none of it


def test_only_flow_editors_keep_read_or_discard_drafts(store_svc: Any) -> None:
    with pytest.raises(Forbidden):
        keep(store_svc, OPS, "setup_intent")
    with pytest.raises(Forbidden):
        flow_drafts.my_drafts(store_svc, OPS)
    with pytest.raises(Forbidden):
        flow_drafts.discard_draft(store_svc, OPS, "setup_intent")
    assert store.for_user(store_svc.engine, OPS.username) == {}


def test_a_draft_of_an_unknown_flow_or_with_too_much_is_refused(store_svc: Any) -> None:
    with pytest.raises(ValidationError):
        keep(store_svc, ANN, "wire_transfer")
    with pytest.raises(ValidationError):
        keep(store_svc, ANN, "invoice", {**MINE, "permissions": ["x"] * 50})
    assert flow_drafts.my_drafts(store_svc, ANN) == {}


def test_discard_forgets_only_that_admins_draft_of_that_flow(store_svc: Any) -> None:
    keep(store_svc, ANN, "setup_intent")
    keep(store_svc, ANN, "invoice")
    keep(store_svc, BOB, "setup_intent")
    flow_drafts.discard_draft(store_svc, ANN, "setup_intent")
    flow_drafts.discard_draft(store_svc, ANN, "setup_intent")  # again is fine
    assert list(flow_drafts.my_drafts(store_svc, ANN)) == ["invoice"]
    assert list(flow_drafts.my_drafts(store_svc, BOB)) == ["setup_intent"]


def test_save_and_revert_clear_the_savers_draft(store_svc: Any) -> None:
    keep(store_svc, ANN, "setup_intent")
    keep(store_svc, BOB, "setup_intent")
    edit_flows.save_flow(store_svc, ANN, "setup_intent", expected_version=0, **MINE)
    assert flow_drafts.my_drafts(store_svc, ANN) == {}
    assert list(flow_drafts.my_drafts(store_svc, BOB)) == ["setup_intent"]  # Bob's stays
    keep(store_svc, ANN, "setup_intent", DEFAULT, base=1)
    edit_flows.save_flow(store_svc, ANN, "setup_intent", expected_version=1, **DEFAULT)
    keep(store_svc, ANN, "setup_intent", MINE, base=2)
    edit_flows.revert(store_svc, ANN, "setup_intent", to_version=1, expected_version=2)
    assert flow_drafts.my_drafts(store_svc, ANN) == {}


def test_the_flow_to_resume_is_the_newest_draft_else_the_last_saved(store_svc: Any) -> None:
    assert flow_drafts.resume_flow(store_svc, ANN) is None
    edit_flows.save_flow(store_svc, ANN, "invoice", expected_version=0, **MINE)
    edit_flows.save_flow(store_svc, BOB, "subscription", expected_version=0, **MINE)
    assert flow_drafts.resume_flow(store_svc, ANN) == "invoice"  # Bob's save is not Ann's
    now = datetime.now(UTC)
    for flow, at in (("setup_intent", now - timedelta(minutes=5)), ("checkout_session", now)):
        store.put(store_svc.engine, ANN.username, flow, base_version=0, start=DEFAULT,
                  value=MINE, note="", at=at)
    assert flow_drafts.resume_flow(store_svc, ANN) == "checkout_session"
    assert flow_drafts.resume_flow(store_svc, BOB) == "subscription"
