"""Debit policy page: the percentage is what its box shows (2 places), and a value out of range
is explained once.

Before: 0.001 saved as a new version while the box read 0.00; 1e-9 then -0 each saved another
version reading "0 %"; -0 read "for -0 %" under "What this means". 1e308 showed two red boxes,
the draft keeper's "… between -1e+12 and 1e+12; got 1e+308." beside Save's own sentence.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from services.auth import Actor
from services.rules.debit import DebitPolicy
from services.usecases import debit_policy, policy_draft
from tests.app.conftest import clear_flow_drafts, no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app

PAGE = "pages/policy.py"
ADMIN = Actor(username="admin", role="admin", name="Admin")


@pytest.fixture(autouse=True)
def no_drafts() -> Iterator[None]:
    clear_flow_drafts()
    yield
    clear_flow_drafts()


def stored() -> debit_policy.StoredPolicy:
    return debit_policy.load_policy(app().engine)


def start_from(percent: float) -> debit_policy.StoredPolicy:
    """A stored policy of 5.00 fixed, ``percent`` %, 24 h (saved by another admin)."""
    return debit_policy.save_policy(
        app().engine, Actor(username="other-admin", role="admin", name="Other"),
        DebitPolicy(buffer_amount=500, buffer_percent=percent, max_age_seconds=86_400),
        expected_version=stored().version,
    )


def save_with(percent: float) -> AppTest:
    at = open_page(PAGE, "admin")
    at.text_input(key="policy_buffer_amount").set_value("5.00")
    at.number_input(key="policy_buffer_percent").set_value(percent)
    at.number_input(key="policy_max_age_hours").set_value(24.0)
    at.button(key="policy_save").click().run()
    no_exceptions(at)
    return at


@pytest.mark.parametrize("typed", [0.001, 1e-9, -0.0])
def test_a_percentage_the_box_shows_as_the_stored_one_saves_no_version(typed: float) -> None:
    before = start_from(0.0)
    at = save_with(typed)
    assert stored().version == before.version, "nothing visible changed: no new version"
    assert any("Nothing to save" in i.value for i in at.info), texts(at)
    assert not at.success
    assert "-0 %" not in texts(at)
    if typed:  # more places than the box shows: the admin reads what was kept
        assert any("is kept as 0.00 %" in i.value for i in at.info), texts(at)


def test_a_percentage_with_more_places_saves_what_the_box_shows_and_says_so() -> None:
    before = start_from(1.0)
    at = save_with(0.125)
    after = stored()
    assert after.version == before.version + 1
    assert after.policy.buffer_percent == 0.13
    assert any("Saved as version" in s.value for s in at.success)
    assert any("0.125 % is kept as 0.13 %" in i.value for i in at.info), texts(at)
    assert at.number_input(key="policy_buffer_percent").value == pytest.approx(0.13)


@pytest.mark.parametrize(("box", "sentence"), [
    ("policy_buffer_percent",
     "The percentage buffer must be between 0 and 100 %; you typed 1e308."),
    ("policy_max_age_hours",
     "The maximum balance age must be between 0.25 and 720 hours (15 minutes to 30 days); "
     "you typed 1e308."),
])
def test_a_huge_number_says_the_policys_range_once_and_the_typing_is_kept(
    box: str, sentence: str
) -> None:
    before = start_from(1.0)
    at = open_page(PAGE, "admin")
    at.number_input(key=box).set_value(1e308).run()  # typed: the draft keeper runs
    no_exceptions(at)
    assert not at.error, [e.value for e in at.error]
    assert any(sentence in w.value for w in at.warning)  # why the preview is hidden, before Save
    at.button(key="policy_save").click().run()
    no_exceptions(at)
    assert [e.value for e in at.error] == [f"{sentence}  \nNothing was saved."]
    assert stored() == before
    assert at.number_input(key=box).value == 1e308
    draft = policy_draft.my_policy_draft(app().services, ADMIN)
    assert draft is not None  # a reload or a new tab shows it again
    field = "buffer_percent" if box == "policy_buffer_percent" else "max_age_hours"
    assert draft.value[field] == 1e308

