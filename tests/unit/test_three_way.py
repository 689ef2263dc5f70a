"""The shared three-way rule for versioned settings, on a document of plain values (the debit
policy's fields): the list cases are in tests/unit/test_flow_config.py."""

from __future__ import annotations

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
