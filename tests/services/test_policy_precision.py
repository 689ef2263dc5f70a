"""The debit policy's percentage is saved as its box shows it (2 decimal places, -0 as 0).

A tester typed 0.001 (or 1e-9): "Saved as version 4", the box read 0.00 and checks used 0.001.
1e-9 then -0 each saved another version, reading "0 %" in the history like the one before,
and -0 read "for -0 %" under "What this means". Now the service keeps the percentage to two
places, so a script saving through it gets the same, and a save nothing visible changed adds no
version. Runs on SQLite and PostgreSQL (``store_svc``)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from services import audit
from services.auth import Actor
from services.rules import policy_bounds
from services.rules.debit import DebitPolicy
from services.usecases import debit_policy

ANN = Actor(username="ann", role="admin", name="Ann")


def save(svc: Any, percent: float) -> debit_policy.StoredPolicy:
    current = debit_policy.load_policy(svc.engine)
    return debit_policy.save_policy(
        svc, ANN, DebitPolicy(buffer_amount=500, buffer_percent=percent),
        expected_version=current.version,
    )


@pytest.mark.parametrize(("typed", "kept"), [(0.001, 0.0), (1e-9, 0.0), (-0.0, 0.0),
                                             (1.5, 1.5), (0.125, 0.13), (0.005, 0.01),
                                             (1.005, 1.0), (99.999, 100.0)])
def test_the_percentage_is_saved_to_the_two_places_its_box_shows(
    store_svc: Any, typed: float, kept: float
) -> None:
    saved = save(store_svc, typed)
    stored = debit_policy.load_policy(store_svc.engine).policy.buffer_percent
    assert saved.policy.buffer_percent == stored == kept
    assert math.copysign(1.0, stored) == 1.0  # never -0
    assert f"{stored:g}" != "-0"


def test_a_save_that_changes_nothing_the_box_shows_adds_no_version(store_svc: Any) -> None:
    first = save(store_svc, 0.0)
    for typed in (0.001, 1e-9, -0.0, 0.004):
        again = save(store_svc, typed)
        assert again.version == first.version, typed
    assert [v.version for v in debit_policy.policy_history(store_svc.engine)] == [first.version]
    assert save(store_svc, 0.005).version == first.version + 1  # shows 0.01: a change


def test_the_audit_row_keeps_what_was_typed_and_says_what_was_saved(store_svc: Any) -> None:
    save(store_svc, 0.125)
    (row,) = audit.query(store_svc.engine, actor=ANN, actions=["policy.save"], limit=5).rows
    assert row.params["buffer_percent"] == 0.125
    assert row.params["buffer_percent_kept"] == 0.13


def test_the_note_names_what_was_kept_and_is_silent_when_nothing_was_lost() -> None:
    assert policy_bounds.percent_kept_note(0.001) == (
        "The percentage buffer keeps 2 decimal places, as its box shows: 0.001 % is kept as "
        "0.00 %."
    )
    assert policy_bounds.percent_kept_note(1e-9) is not None
    for typed in (-0.0, 0.0, 1.25, 100.0, math.nan, math.inf, 1e308):
        assert policy_bounds.percent_kept_note(typed) is None, typed


def test_a_minus_zero_saved_before_reads_as_zero(store_svc: Any) -> None:
    """Versions saved before the fix may hold -0: the history and the form read 0."""
    from services.adapters import versioned_settings

    versioned_settings.save(
        store_svc.engine, debit_policy.POLICY_KEY,
        {"buffer_amount": 0, "buffer_percent": -0.0, "max_age_seconds": 86_400, "currency": "usd"},
        updated_by="ann", expected_version=debit_policy.load_policy(store_svc.engine).version,
    )
    percent = debit_policy.load_policy(store_svc.engine).policy.buffer_percent
    assert f"{percent:g}" == "0"
    assert f"{debit_policy.policy_history(store_svc.engine)[0].policy.buffer_percent:g}" == "0"
