"""The shared three-way rule for versioned settings, on a document of plain values (the debit
policy's fields): the list cases are in tests/unit/test_flow_config.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.rules import three_way

BASE = {"buffer_amount": 1_000, "buffer_percent": 1.0, "max_age_seconds": 86_400}


def test_each_admins_fields_are_kept_and_a_field_both_changed_keeps_mine_and_is_named() -> None:
    theirs = {**BASE, "buffer_amount": 2_000, "buffer_percent": 2.0}
    mine = {**BASE, "buffer_percent": 3.0, "max_age_seconds": 21_600}
    merged, clashes = three_way.merge(BASE, theirs, mine)
    assert merged == {"buffer_amount": 2_000, "buffer_percent": 3.0, "max_age_seconds": 21_600}
    assert clashes == ("buffer_percent",)
    assert [line.field for line in three_way.diff(BASE, theirs)] == [
        "buffer_amount", "buffer_percent"
    ]
    assert three_way.diff(BASE, mine)[0] == three_way.DiffLine("buffer_percent", 1.0, 3.0)


def test_the_same_change_by_both_is_no_clash() -> None:
    same = {**BASE, "buffer_percent": 2.0}
    assert three_way.merge(BASE, same, same) == (same, ())


# -- the conflict panel's words ---------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    version: int
    updated_by: str | None
    updated_at: datetime | None


def saves(*by: str | None) -> list[three_way.Saved]:
    """Versions 2, 3, … saved by ``by``, a minute apart from 23:18 UTC."""
    start = datetime(2026, 12, 6, 23, 18, tzinfo=UTC)
    return [Version(2 + i, who, start + timedelta(minutes=i)) for i, who in enumerate(by)]


def test_the_red_line_names_every_version_saved_since_up_to_the_newest() -> None:
    """It named version 2 after version 3 was saved, beside a panel comparing with version 3."""
    assert three_way.saved_meanwhile(saves("adm9531"), "version 1") == (
        "adm9531 saved version 2 at 2026-12-06 23:18 UTC while you were editing version 1"
    )
    assert three_way.saved_meanwhile(saves("adm9531", "adm9531"), "version 1") == (
        "adm9531 saved versions 2 and 3 (the latest at 2026-12-06 23:19 UTC) while you were "
        "editing version 1"
    )
    several = saves("ann", "bob", "ann")
    assert three_way.savers(several) == "ann and bob"
    assert three_way.saved_meanwhile(several, three_way.NEVER_SAVED) == (
        "ann and bob saved versions 2, 3 and 4 (the latest, version 4, by ann at 2026-12-06 "
        "23:20 UTC) while you were editing fcops' built-in defaults"
    )
    assert three_way.saved_meanwhile(saves(None), "version 1").startswith(
        "Someone saved version 2 at "
    )


def test_saved_since_is_the_versions_after_the_base_oldest_first_up_to_the_one_in_force() -> None:
    two, three, four = saves("ann", "bob", "cy")
    history = [four, three, two]  # newest first, as the stores list them
    assert three_way.saved_since(history, 2, four) == [three, four]
    assert three_way.saved_since(history, 1, three) == [two, three]
    assert three_way.saved_since([], 1, four) == [four]


def test_a_net_change_of_nothing_says_which_versions_and_that_they_changed_nothing() -> None:
    """A bare "Nothing." under "What adm9531 changed (version 1 → version 3)" read as if
    nobody had saved, beside a red line saying someone had."""
    assert three_way.net_nothing(saves("adm9531", "adm9531"), "version 1") == (
        "Nothing, taken together: versions 2 and 3 changed nothing between them, so version 3 "
        "is the same as version 1."
    )
    assert three_way.net_nothing(saves("ann"), three_way.NEVER_SAVED) == (
        "Nothing: version 2 is the same as fcops' built-in defaults."
    )


def test_a_diff_for_people_names_each_field_as_the_form_does() -> None:
    """Flow configuration's conflict panel said `verification_method`, `prefetch` and
    `permissions`, not the labels its editor shows beside the boxes."""
    from services.rules import flow_config

    before = {"permissions": ["payment_method"], "prefetch": [], "verification_method": "automatic"}
    after = {"permissions": ["balances", "payment_method"], "prefetch": ["balances"],
             "verification_method": "instant"}
    lines = flow_config.shown_diff(before, after)
    assert [line.describe() for line in lines] == [
        "Permissions: +balances", "Prefetch: +balances", "Verification method: automatic → instant"
    ]
    assert lines == three_way.labelled(flow_config.diff(before, after), flow_config.FIELD_LABELS)
    assert three_way.labelled(three_way.diff(BASE, {**BASE, "note": "x"}), {}) == [
        three_way.DiffLine("note", None, "x")  # a field without a label keeps its name
    ]
