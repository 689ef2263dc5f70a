"""Returns at ``?retry=pi_…`` (Payment lookup's "Plan a retry" link) says why it cannot list the
debit, and plans one made before the window regardless (Nacha: R01/R09, up to 2 retries within
180 days of the original entry). It said "No insufficient-funds return matches the search." for
a debit made 75 days ago, an unknown pi_ and an R02 return alike."""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from tests.app.conftest import DASHBOARD, no_exceptions, signed_in, texts
from tests.app.conftest import shared_app as app
from tests.app.test_returns_page import forget_seeded_debits, outcomes_synced  # noqa: F401
from tests.conftest import record_returned_debit

PAGE = "pages/returns.py"
NO_MATCH = "No insufficient-funds return matches the search."


def debit(name: str, *, days_ago: int, code: str) -> str:
    return record_returned_debit(
        app().engine, name, now=app().services.now(), days_ago=days_ago, code=code
    )


def opened_with(pi: str) -> AppTest:
    """A new session at Returns' address with ``?retry=pi``, as the link opens it."""
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    signed_in(at, "finance")
    at.run()
    at.switch_page(PAGE)
    at.query_params["retry"] = pi
    at.run()
    no_exceptions(at)
    return at


def infos(at: Any) -> str:
    return " ".join(str(e.value) for e in [*at.info, *at.warning])


def test_a_debit_older_than_the_window_is_explained_planned_and_the_window_widened() -> None:
    old = debit("retry_old75", days_ago=75, code="insufficient_funds")
    at = opened_with(old)
    said = infos(at)
    assert NO_MATCH not in texts(at)
    assert f"{old} was made 75 days ago, before this 60-day window" in said
    assert "Attempt 2 of 3" in said, "planned regardless: the rules allow it"
    assert any("send the retry" in b.label for b in at.button)
    at.button(key="returns_widen").click().run()
    no_exceptions(at)
    assert at.number_input(key="returns_window").value == 76  # 75 days and some seconds
    assert at.selectbox(key="returns_retry_pick").value == old  # the wider list holds it, chosen


def test_an_r02_return_and_an_unknown_debit_say_why_no_retry() -> None:
    closed = debit("retry_closed", days_ago=5, code="account_closed")
    at = opened_with(closed)
    assert NO_MATCH not in texts(at)
    assert f"{closed} came back R02" in infos(at) and "no other return may be retried" in infos(at)
    assert not any("send the retry" in b.label for b in at.button)

    at = opened_with("pi_nosuchdebit42")
    assert "No debit pi_nosuchdebit42 is known to fcops" in infos(at)



def test_a_search_for_another_debit_takes_the_link_out_of_the_address() -> None:
    """?retry=pi_… filled the search once and stayed in the address after the person searched
    for another debit, so a reload or a copied link planned the first one again."""
    first = debit("retry_drift", days_ago=5, code="insufficient_funds")
    at = opened_with(first)
    assert at.text_input(key="returns_retry_search").value == first
    at.run()  # a plain rerun keeps it
    assert at.query_params["retry"] == first
    at.text_input(key="returns_retry_search").set_value("R01").run()
    no_exceptions(at)
    assert "retry" not in at.query_params
    at.query_params["retry"] = first  # Back to the link's step: the search follows it again
    at.run()
    assert at.text_input(key="returns_retry_search").value == first


def test_a_link_s_long_pi_id_is_searched_whole_as_the_box_takes_it() -> None:
    """``?retry=`` takes IDs up to 255 characters (the address's limit), but the box took 100:
    a 153-character pi_ read "The search is 153 characters long; at most 100 are allowed."
    The box takes what the address takes, and the ID is looked up whole."""
    from services.rules.ids import MAX_ID_LENGTH

    long_id = "pi_" + "C" * 150
    at = opened_with(long_id)
    box = at.text_input(key="returns_retry_search")
    assert box.max_chars == MAX_ID_LENGTH
    assert box.value == long_id and at.query_params["retry"] == long_id
    assert not any("characters long" in str(e.value) for e in at.error), texts(at)
    assert f"No debit {long_id} is known to fcops" in infos(at)
    typed = "pi_" + "D" * (MAX_ID_LENGTH - 3)  # the longest the box takes, typed or pasted
    box.set_value(typed).run()
    no_exceptions(at)
    assert not at.error and f"No debit {typed} is known to fcops" in infos(at)
