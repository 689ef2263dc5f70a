"""Debit policy page: admins edit buffers and age limit; saves are versioned and conflict-safe."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from services.auth import Actor
from services.rules import wording
from services.rules.debit import DebitPolicy
from services.usecases import debit_policy
from tests.app.conftest import (
    clear_flow_drafts,
    column_config,
    no_exceptions,
    open_page,
    refused,
    signed_in,
    texts,
)

PAGE = "pages/policy.py"
OTHER = Actor(username="other-admin", role="admin", name="Other Admin")


@pytest.fixture(autouse=True)
def no_drafts() -> Iterator[None]:
    """Unsaved edits are kept per admin in the shared store: every test starts and ends with
    none, so one test's edits do not open in the next."""
    clear_flow_drafts()
    yield
    clear_flow_drafts()


def engine():  # type: ignore[no-untyped-def]
    from pages._runtime import get_app

    return get_app().engine


def fill(at: AppTest, *, amount: str, percent: float, hours: float) -> AppTest:
    at.text_input(key="policy_buffer_amount").set_value(amount)
    at.number_input(key="policy_buffer_percent").set_value(percent)
    at.number_input(key="policy_max_age_hours").set_value(hours)
    return at


def submit(at: AppTest) -> AppTest:
    """The boxes' values are sent with the Save click, in the same run."""
    return at.button(key="policy_save").click().run()


def test_admin_sees_the_policy_form_with_the_stored_values() -> None:
    at = open_page(PAGE, "admin")
    no_exceptions(at)
    stored = debit_policy.load_policy(engine())
    assert at.number_input(key="policy_max_age_hours").value == pytest.approx(
        stored.policy.max_age_seconds / 3600, abs=0.01
    )
    assert "What this means" in texts(at)


def test_saving_stores_a_new_version_with_the_entered_values() -> None:
    before = debit_policy.load_policy(engine()).version
    at = open_page(PAGE, "admin")
    fill(at, amount="12.50", percent=1.5, hours=6)
    submit(at)
    no_exceptions(at)
    stored = debit_policy.load_policy(engine())
    assert stored.version == before + 1
    assert stored.policy == DebitPolicy(
        buffer_amount=1250, buffer_percent=1.5, max_age_seconds=6 * 3600
    )
    assert stored.updated_by == "admin"
    assert any("Saved as version" in s.value for s in at.success)


def test_a_bad_buffer_amount_is_explained_and_nothing_is_saved() -> None:
    before = debit_policy.load_policy(engine())
    at = open_page(PAGE, "admin")
    fill(at, amount="12,5.0x", percent=0, hours=24)
    submit(at)
    no_exceptions(at)
    assert any("Buffer amount" in e.value and "not an amount" in e.value for e in at.error)
    assert debit_policy.load_policy(engine()) == before


@pytest.mark.parametrize(("typed", "words"), [("1.000", "could be read two ways"),
                                               ("1.000,50", "comma as the decimal mark")])
def test_an_amount_only_a_guess_could_read_is_refused_and_nothing_is_saved(
    typed: str, words: str
) -> None:
    """The buffer box read '1.000' as $1.00, where much of Europe means $1,000."""
    before = debit_policy.load_policy(engine())
    at = open_page(PAGE, "admin")
    fill(at, amount=typed, percent=0, hours=24)
    submit(at)
    no_exceptions(at)
    assert any("Buffer amount" in e.value and words in e.value for e in at.error), texts(at)
    assert debit_policy.load_policy(engine()) == before
    assert at.text_input(key="policy_buffer_amount").value == typed


def second_admin(monkeypatch: pytest.MonkeyPatch) -> str:
    """A second admin in the users file, to sign in a second session as (created once)."""
    from services import users
    from tests.app.conftest import shared_app

    path = shared_app().settings.users_file
    if users.get_user(path, "admin2") is None:
        monkeypatch.setattr(users, "BCRYPT_ROUNDS", 4)
        users.add_user(path, username="admin2", password="plum-orbit-canvas-42", role="admin")
    return "admin2"


def two_admins_editing(monkeypatch: pytest.MonkeyPatch) -> tuple[AppTest, AppTest, int]:
    """Me and admin2 open the page on the same version: $10.00, 1 %, 24 h."""
    open_page(None, "admin")  # builds the app, so its store can be used below
    start = debit_policy.load_policy(engine())
    known = DebitPolicy(buffer_amount=1_000, buffer_percent=1.0, max_age_seconds=86_400)
    base = debit_policy.save_policy(
        engine(), OTHER, known, expected_version=start.version
    ).version
    them = open_page(None, None)
    signed_in(them, second_admin(monkeypatch)).run()
    them.switch_page(PAGE).run()
    return open_page(PAGE, "admin"), them, base


def policy_saves() -> list[tuple[str, str, str | None]]:
    from services import audit

    rows = audit.query(engine(), actor=OTHER, actions=["policy.save"], limit=500).rows
    return [(r.actor, r.outcome, r.idempotency_key) for r in rows]


def refused_saves() -> list[Any]:
    """The ``policy.save`` audit rows of saves that did not go through, newest first."""
    from services import audit

    rows = audit.query(engine(), actor=OTHER, actions=["policy.save"], limit=500).rows
    return [r for r in rows if r.outcome == "error"]


def test_a_save_after_another_admin_saved_shows_what_each_changed_and_keeps_my_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second save was refused and the only way on was "Load the latest version", which
    threw away what was typed without saying what the other admin had changed."""
    me, them, base = two_admins_editing(monkeypatch)
    submit(fill(them, amount="20.00", percent=2.0, hours=24))  # theirs: amount and percent
    no_exceptions(them)
    theirs = debit_policy.load_policy(engine())
    assert theirs.version == base + 1 and theirs.updated_by == "admin2"

    # mine: percent and age, with Save pressed on the form drawn before their save; the
    # service refuses it (nothing saved) and the panel opens saying so
    refused_before = refused_saves()
    submit(fill(me, amount="10.00", percent=3.0, hours=6))
    no_exceptions(me)
    assert debit_policy.load_policy(engine()) == theirs  # nothing of theirs overwritten
    shown = texts(me)
    assert [e.value for e in me.error if "while you were editing" in e.value] == [
        f"admin2 saved version {theirs.version} at {wording.moment(theirs.updated_at)} while you "
        f"were editing version {base}, so your changes were not saved. They are still in the form."
    ]
    # The refused save is audited, as on Flow configuration (the page used to drop the click
    # on the Save it drew off, unaudited).
    refused_now = refused_saves()
    assert len(refused_now) == len(refused_before) + 1
    assert (refused_now[0].actor, refused_now[0].target) == ("admin", debit_policy.POLICY_KEY)
    assert "while you were editing" in (refused_now[0].message or "")
    assert refused_now[0].params["expected_version"] == base
    assert me.button(key="policy_save").disabled
    assert f"What admin2 changed (version {base} → version {theirs.version})" in shown
    assert "**Safety buffer amount**: `$10.00` → `$20.00`" in shown
    assert "**Safety buffer (% of the debit)**: `1 %` → `2 %`" in shown
    assert f"Your unsaved edits (on version {base})" in shown
    assert "**Safety buffer (% of the debit)**: `1 %` → `3 %`" in shown
    assert "**Maximum balance age**: `24 h` → `6 h`" in shown
    assert [w.value for w in me.warning] == [
        "You both changed **Safety buffer (% of the debit)**: keeping your edits keeps yours "
        "(`3 %`), not theirs (`2 %`)."
    ]
    # What I typed stays in the form.
    assert me.text_input(key="policy_buffer_amount").value == "10.00"
    assert me.number_input(key="policy_buffer_percent").value == pytest.approx(3.0)
    assert me.number_input(key="policy_max_age_hours").value == pytest.approx(6.0)

    me.button(key="policy_keep_mine").click().run()
    no_exceptions(me)
    # Their amount, my percent (we both changed it: mine) and my age, for review; not saved.
    assert me.text_input(key="policy_buffer_amount").value == "20.00"
    assert me.number_input(key="policy_buffer_percent").value == pytest.approx(3.0)
    assert me.number_input(key="policy_max_age_hours").value == pytest.approx(6.0)
    assert debit_policy.load_policy(engine()) == theirs
    assert "What admin2 changed" not in texts(me)
    assert any(f"on top of version {theirs.version}" in i.value for i in me.info)

    before = policy_saves()
    submit(me)
    no_exceptions(me)
    stored = debit_policy.load_policy(engine())
    assert stored.version == theirs.version + 1 and stored.updated_by == "admin"
    assert stored.policy == DebitPolicy(
        buffer_amount=2_000, buffer_percent=3.0, max_age_seconds=6 * 3600
    )
    (row, *_) = policy_saves()
    assert policy_saves()[1:] == before and row[:2] == ("admin", "ok") and row[2]


def test_load_theirs_after_a_conflict_discards_my_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    me, them, _ = two_admins_editing(monkeypatch)
    submit(fill(them, amount="30.00", percent=1.0, hours=24))
    me.number_input(key="policy_buffer_percent").set_value(5.0).run()  # the panel opens now
    assert any("admin2 saved version" in e.value and "Your edits are still here" in e.value
               for e in me.error)
    assert "**Safety buffer amount**: `$10.00` → `$30.00`" in texts(me)
    assert "What admin2 changed" in texts(me)
    latest = debit_policy.load_policy(engine()).version
    assert me.button(key="policy_load_theirs").label == "Load theirs (discard my edits)"
    me.button(key="policy_load_theirs").click().run()
    no_exceptions(me)
    assert me.text_input(key="policy_buffer_amount").value == "30.00"
    assert me.number_input(key="policy_buffer_percent").value == pytest.approx(1.0)
    assert "What admin2 changed" not in texts(me)
    assert [i.value for i in me.info if "discarded" in i.value] == [
        f"Loaded theirs, version {latest}; your edits were discarded."
    ]


@pytest.mark.parametrize("role", ["ops", "finance", "manager"])
def test_other_roles_cannot_open_the_policy_page(role: str) -> None:
    direct = refused(PAGE, role)
    assert "Safety buffer" not in texts(direct)


def test_after_a_save_the_page_shows_the_new_version_in_force_and_in_the_history() -> None:
    at = open_page(PAGE, "admin")
    fill(at, amount="30.00", percent=2.0, hours=8)
    at.text_input(key="policy_note").set_value("after the R01 spike")
    submit(at)
    no_exceptions(at)
    stored = debit_policy.load_policy(engine())
    shown = texts(at)
    assert f"In force: version {stored.version}, saved by admin" in shown
    assert "No policy saved yet" not in shown
    assert at.text_input(key="policy_note").value == "", "the note is not reused by the next save"
    history = at.dataframe[0].value
    assert int(history.iloc[0]["Version"]) == stored.version
    assert history.iloc[0]["Note"] == "after the R01 spike"
    assert history.iloc[0]["Fixed buffer"] == 30.0  # numbers, formatted by the column
    assert history.iloc[0]["Buffer %"] == 2.0
    assert column_config(at.dataframe[0])["Fixed buffer"]["type_config"]["format"] == "dollar"
    assert "$1,050.00" in shown  # $1,000.00 + $30.00 + 2 % worked through


def test_saving_an_unchanged_policy_adds_no_version() -> None:
    at = open_page(PAGE, "admin")
    fill(at, amount="11.00", percent=0.5, hours=10)
    submit(at)
    version = debit_policy.load_policy(engine()).version
    submit(at)  # the form still holds the saved values
    no_exceptions(at)
    assert debit_policy.load_policy(engine()).version == version
    assert any("Nothing to save" in i.value for i in at.info)


def test_each_save_writes_exactly_one_audit_row_by_the_admin() -> None:
    from services import audit
    def saves() -> list[tuple[str, str]]:
        rows = audit.query(engine(), actor=OTHER, actions=["policy.save"], limit=500).rows
        return [(r.actor, r.outcome) for r in rows]

    before = saves()
    at = open_page(PAGE, "admin")
    fill(at, amount="7.00", percent=0.25, hours=20)
    submit(at)
    at.run()  # a rerun saves nothing
    no_exceptions(at)
    assert saves() == [("admin", "ok"), *before]


def test_leaving_and_coming_back_shows_the_stored_policy_and_an_untouched_save_changes_nothing() -> None:
    current = debit_policy.load_policy(engine())
    stored = debit_policy.save_policy(
        engine(),
        OTHER,
        DebitPolicy(buffer_amount=2_550, buffer_percent=1.25, max_age_seconds=5_000),
        expected_version=current.version,
    )
    at = open_page(PAGE, "admin")
    at.switch_page("pages/home.py").run()
    at.switch_page(PAGE).run()  # widgets of a page left are forgotten by Streamlit
    no_exceptions(at)
    assert at.text_input(key="policy_buffer_amount").value == "25.50"
    assert at.number_input(key="policy_buffer_percent").value == pytest.approx(1.25)
    assert at.number_input(key="policy_max_age_hours").value == pytest.approx(1.39)
    assert "(unsaved)" not in texts(at)
    submit(at)
    no_exceptions(at)
    assert any("Nothing to save" in i.value for i in at.info)
    after = debit_policy.load_policy(engine())
    assert after.version == stored.version and after.policy == stored.policy


def test_an_amount_error_describes_the_submitted_input_only_and_does_not_linger() -> None:
    """A blank amount's "An amount is required" stayed on the form on every later run (any
    other action), while the box already held the amount the admin had typed since."""
    before = debit_policy.load_policy(engine())
    at = open_page(PAGE, "admin")
    fill(at, amount="", percent=0, hours=24)
    submit(at)
    no_exceptions(at)
    assert [e.value for e in at.error] == [
        "Buffer amount: An amount is required, for example 125.00.  \nNothing was saved."
    ]
    assert debit_policy.load_policy(engine()) == before
    at.run()  # another action: the form's values are not sent, so nothing is known of them
    no_exceptions(at)
    assert not at.error
    fill(at, amount="25.00", percent=0, hours=24)
    submit(at)
    no_exceptions(at)
    assert not at.error
    assert debit_policy.load_policy(engine()).policy.buffer_amount == 2500


@pytest.mark.parametrize(
    ("percent", "hours", "sentences"),
    [
        (150.0, 24.0, ["The percentage buffer must be between 0 and 100 %; you typed 150."]),
        (
            1.0,
            0.0,
            [
                "The maximum balance age must be between 0.25 and 720 hours (15 minutes to 30 "
                "days); you typed 0."
            ],
        ),
        (
            -2.0,
            800.0,
            [
                "The percentage buffer must be between 0 and 100 %; you typed -2.",
                "The maximum balance age must be between 0.25 and 720 hours (15 minutes to 30 "
                "days); you typed 800.",
            ],
        ),
    ],
)
def test_a_value_outside_the_bounds_is_explained_kept_in_the_form_and_nothing_is_saved(
    percent: float, hours: float, sentences: list[str]
) -> None:
    """Streamlit's own min/max on the boxes kept 150 % or 0 h from reaching the form: Save
    did nothing visible beyond a small red icon on the box. Now the typed value is sent and
    the admin reads what is allowed."""
    before = debit_policy.load_policy(engine())
    at = open_page(PAGE, "admin")
    fill(at, amount="5.00", percent=percent, hours=hours)
    submit(at)
    no_exceptions(at)
    assert [e.value for e in at.error] == ["  \n".join([*sentences, "Nothing was saved."])]
    assert not at.success
    assert debit_policy.load_policy(engine()) == before
    assert at.number_input(key="policy_buffer_percent").value == pytest.approx(percent)
    assert at.number_input(key="policy_max_age_hours").value == pytest.approx(hours)
    assert at.text_input(key="policy_buffer_amount").value == "5.00"
    fill(at, amount="5.00", percent=10.0, hours=12.0)  # corrected, it saves
    submit(at)
    no_exceptions(at)
    assert not at.error
    assert debit_policy.load_policy(engine()).policy == DebitPolicy(
        buffer_amount=500, buffer_percent=10.0, max_age_seconds=12 * 3600
    )


@pytest.mark.parametrize(
    ("amount", "percent", "sentence"),
    [
        ("5.00", 1e308, "The percentage buffer must be between 0 and 100 %; you typed 1e308."),
        ("1e308", 1.0, "Buffer amount: '1e308' is not an amount;"),
    ],
)
def test_a_value_no_policy_may_hold_says_why_the_preview_is_hidden_before_save(
    amount: str, percent: float, sentence: str
) -> None:
    """1e308 in a box hid "What this means" without a word until Save, and Save then quoted
    "1e+308" (Python's spelling), not what was typed."""
    before = debit_policy.load_policy(engine())
    at = open_page(PAGE, "admin")
    fill(at, amount=amount, percent=percent, hours=24.0).run()
    no_exceptions(at)
    assert not at.error
    [warning] = [w.value for w in at.warning if "No preview" in w.value]
    assert sentence in warning
    assert "What this means (unsaved)" in texts(at)
    assert "debit needs a balance of at least" not in texts(at)
    submit(at)
    no_exceptions(at)
    [error] = [e.value for e in at.error]
    assert sentence in error and error.endswith("Nothing was saved.")
    assert not [w for w in at.warning if "No preview" in w.value]  # said once, by Save
    assert debit_policy.load_policy(engine()) == before
