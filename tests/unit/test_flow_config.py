"""Flow configurations: merging my edits on top of a version someone else saved."""

from __future__ import annotations

from services.rules import flow_config


def test_merge_applies_my_edits_on_top_of_theirs_and_keeps_what_they_changed() -> None:
    """"Keep my edits on top of version N" used to keep my whole editor, which silently undid
    every change the other admin had made that I had not touched."""
    base = {"permissions": ["payment_method"], "prefetch": [], "verification_method": "automatic"}
    theirs = {
        "permissions": ["payment_method", "transactions"],
        "prefetch": ["transactions"],
        "verification_method": "automatic",
    }
    mine = {
        "permissions": ["payment_method", "ownership"],
        "prefetch": [],
        "verification_method": "instant",
    }
    merged, clashes = flow_config.merge(base, theirs, mine)
    assert sorted(merged["permissions"]) == ["ownership", "payment_method", "transactions"]
    assert merged["prefetch"] == ["transactions"]
    assert merged["verification_method"] == "instant"
    assert clashes == ()


def test_merge_removes_what_i_removed_and_names_a_value_we_both_changed() -> None:
    base = {"permissions": ["payment_method", "balances"], "verification_method": "automatic"}
    theirs = {"permissions": ["payment_method", "balances"], "verification_method": "instant"}
    mine = {"permissions": ["payment_method"], "verification_method": "microdeposits"}
    merged, clashes = flow_config.merge(base, theirs, mine)
    assert merged == {"permissions": ["payment_method"], "verification_method": "microdeposits"}
    assert clashes == ("verification_method",)
    # Nothing edited by me: theirs, as saved.
    assert flow_config.merge(base, theirs, base) == (theirs, ())
