"""The Flow box on Conversion says why it has nothing to compare when no intent in the store was
made by one of fcops' flows (it offered only 'not made by fcops', without a word why)."""

from __future__ import annotations

from components.conversion_filters import NO_FLOWS_YET, flow_label, flows_note
from services.rules.intent_fields import UNKNOWN_FLOW


def test_only_intents_made_elsewhere_say_that_no_flow_made_any_yet() -> None:
    assert flows_note([UNKNOWN_FLOW]) == NO_FLOWS_YET
    assert flows_note([]) == NO_FLOWS_YET
    assert "No intents made by fcops' flows yet" in NO_FLOWS_YET
    assert f"'{flow_label(UNKNOWN_FLOW)}'" in NO_FLOWS_YET  # names the choice as the box does


def test_a_flow_to_pick_needs_no_note() -> None:
    assert flows_note(["setup_intent", UNKNOWN_FLOW]) is None
    assert flows_note(["invoice"]) is None
