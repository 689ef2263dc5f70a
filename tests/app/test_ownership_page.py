"""Ownership review page: checks one account, lists mismatches, keeps PII to ops and admin."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import jobs_settled, no_exceptions, open_page, refused, texts

PAGE = "pages/ownership.py"
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def _app() -> Any:
    from pages import _runtime as runtime

    return runtime.get_app()


def _submit(at: AppTest, label: str) -> AppTest:
    button = next(b for b in at.button if b.label == label)
    return button.click().run()


def _check(at: AppTest, account_id: str) -> AppTest:
    at.text_input(key="own_id_input").input(account_id)
    return _submit(at, "Check")


def _find_account(verdict: str) -> tuple[str, list[str]]:
    """An account of the app's sandbox with this verdict, and its owners' names."""
    from services.auth import SYSTEM
    from services.usecases import review_ownership as orv

    app = _app()
    orv.check_all(app.services, SYSTEM)
    row = orv.review_list(app.services, SYSTEM, verdicts=[verdict]).rows[0]
    report = orv.check_account(app.services, SYSTEM, row.account_id)
    return row.account_id, [str(o.name) for o in report.owners]


@pytest.fixture(scope="module")
def mismatch() -> tuple[str, list[str]]:
    open_page(None, None)  # builds the app (and its sandbox) with the test settings
    jobs_settled()  # the first accounts sync runs as a background job: check what it stored
    return _find_account("mismatch")


@pytest.mark.parametrize("role", ["ops", "admin"])
def test_the_page_opens_for_ops_and_admin(role: str) -> None:
    at = open_page(PAGE, role)
    no_exceptions(at)
    assert "Ownership review" in texts(at)
    assert "Enter an account ID" in texts(at)


def test_the_boxs_placeholder_names_a_charge_id_among_those_it_takes() -> None:
    """The box takes a ch_… (resolve_account looks a charge up as a py_…) but its placeholder
    named only "pi_, py_, seti_, pm_ or cus_"."""
    at = open_page(PAGE, "ops")
    placeholder = at.text_input(key="own_id_input").placeholder
    for prefix in ("pi_", "py_", "ch_", "seti_", "pm_", "cus_"):
        assert prefix in placeholder, placeholder


@pytest.mark.parametrize("role", ["finance", "manager"])
def test_other_roles_cannot_reach_the_page_or_its_data(
    role: str, mismatch: tuple[str, list[str]]
) -> None:
    direct = refused(PAGE, role)
    shown = texts(direct)
    assert mismatch[0] not in shown and not any(name in shown for name in mismatch[1])
    assert not direct.text_input and not direct.dataframe


def test_checking_a_mismatched_account_shows_the_verdict_owners_and_scores(
    mismatch: tuple[str, list[str]],
) -> None:
    account_id, owners = mismatch
    at = _check(open_page(PAGE, "ops"), account_id)

    no_exceptions(at)
    shown = texts(at)
    assert ":red-badge[:material/gpp_bad: Mismatch]" in shown
    assert any("No owner matches the customer" in e.value for e in at.error)
    assert all(name in shown for name in owners)
    fields = at.dataframe[0].value
    assert list(fields["Field"]) == ["Name", "Email", "Phone", "Address"]
    assert fields["Score"].iloc[0] < 50


def _refreshable_match() -> str:
    from services.auth import SYSTEM
    from services.usecases import browse_accounts
    from services.usecases import review_ownership as orv

    app = _app()
    for row in orv.review_list(app.services, SYSTEM, verdicts=["match"], page_size=500).rows:
        account = app.gateway.retrieve_account(row.account_id)
        if browse_accounts.refresh_blocker(account, "ownership", now=app.services.now()) is None:
            return row.account_id
    raise AssertionError("no account of the demo world can refresh ownership now")


def test_refreshing_ownership_shows_the_outcome_then_disables_the_button_with_the_reason(
    mismatch: tuple[str, list[str]],
) -> None:
    at = _check(open_page(PAGE, "ops"), _refreshable_match())
    assert not at.button(key="own_refresh").disabled

    at.button(key="own_refresh").click().run()
    for _ in range(20):  # the fragment polls; in AppTest each run stands for one poll
        if any("Ownership refreshed" in s.value for s in at.success):
            break
        at.run()

    no_exceptions(at)
    assert any("Ownership refreshed" in s.value for s in at.success)
    button = at.button(key="own_refresh")
    assert button.disabled
    assert any("allows the next ownership refresh" in c.value for c in at.caption)


def test_a_malformed_id_gives_a_sentence_and_no_report() -> None:
    at = _check(open_page(PAGE, "ops"), "hello world")
    no_exceptions(at)
    assert any("is not a Stripe ID Ownership review accepts" in e.value for e in at.error)
    assert not at.dataframe


def test_a_blank_check_asks_for_an_id_once() -> None:
    at = _check(open_page(PAGE, "ops"), "   ")
    no_exceptions(at)
    assert not at.error, [e.value for e in at.error]  # one sentence, not an error beside it
    assert [i.value for i in at.info if "Enter an account ID" in i.value]
    assert not at.dataframe


def test_an_unknown_account_says_so() -> None:
    at = _check(open_page(PAGE, "ops"), "fca_doesnotexist123")
    no_exceptions(at)
    assert any("no Financial Connections account" in e.value for e in at.error)


def test_review_list_checks_all_accounts_and_lists_the_mismatch(
    mismatch: tuple[str, list[str]],
) -> None:
    at = open_page(PAGE, "admin")
    at.segmented_control(key="own_view").set_value("Review list").run()
    at.button(key="own_all").click().run()
    jobs_settled(at)  # the check runs as a background job: the page shows what it stored
    no_exceptions(at)
    table = at.dataframe[0].value
    assert mismatch[0] in list(table["Account"])
    assert set(table["Verdict"]) <= {"Mismatch", "Partial match"}
    metrics = {m.label: int(m.value) for m in at.metric}
    assert metrics["Mismatch"] >= 1 and metrics["Match"] >= 1


def test_review_list_search_narrows_the_list_in_sql_and_says_when_nothing_matches(
    mismatch: tuple[str, list[str]],
) -> None:
    at = open_page(PAGE, "ops")
    at.segmented_control(key="own_view").set_value("Review list").run()
    before = list(at.dataframe[0].value["Account"])

    at.text_input(key="own_search").input(mismatch[0]).run()
    no_exceptions(at)
    assert list(at.dataframe[0].value["Account"]) == [mismatch[0]]
    assert len(before) >= 1

    at.text_input(key="own_search").input("fca_no_such_account").run()
    no_exceptions(at)
    assert not at.dataframe
    assert "No checked account matches the search." in texts(at)


def test_review_rows_name_the_customer_and_search_finds_them_by_name_and_email(
    mismatch: tuple[str, list[str]],
) -> None:
    """Issue 9: people before IDs; the review list searches customers' names and emails."""
    from services.auth import SYSTEM
    from services.usecases import browse_accounts
    from services.usecases import review_ownership as orv

    app = _app()
    rows = orv.review_list(app.services, SYSTEM, verdicts=["mismatch"], page_size=500).rows
    row = next(r for r in rows if r.account_id == mismatch[0])
    assert row.customer_id
    who = browse_accounts.search_customers(app.services, SYSTEM, row.customer_id)[0]
    assert who.name and who.email

    at = open_page(PAGE, "ops")
    at.segmented_control(key="own_view").set_value("Review list").run()
    for term in (who.name.split()[-1].upper(), who.email):
        at.text_input(key="own_search").input(term).run()
        no_exceptions(at)
        table = at.dataframe[0].value
        assert mismatch[0] in list(table["Account"]), term
        shown = dict(zip(table["Account"], table["Customer"], strict=True))
        assert shown[mismatch[0]] == f"{who.name} · {who.email}"
        columns = list(table.columns)
        assert columns.index("Customer") < columns.index("Account") < columns.index("Customer ID")


def test_review_list_sorts_the_whole_result_in_sql_with_the_order_in_the_url(
    mismatch: tuple[str, list[str]],
) -> None:
    from pages._runtime import get_app
    from services.auth import Actor
    from services.usecases import review_ownership

    at = open_page(PAGE, "admin")
    at.segmented_control(key="own_view").set_value("Review list").run()
    at.button(key="own_all").click().run()
    jobs_settled(at)
    at.selectbox(key="own_sort").set_value("score_desc").run()
    no_exceptions(at)
    value = at.query_params.get("sort")
    assert (value[0] if isinstance(value, list) else value) == "score_desc"
    expected = review_ownership.review_list(
        get_app().services, Actor("admin", "admin"), page_size=50, sort="score_desc"
    )
    table = at.dataframe[0].value
    assert list(table["Account"]) == [r.account_id for r in expected.rows]
    scores = [r.score for r in expected.rows]
    assert scores == sorted(scores, reverse=True)
    assert pd.api.types.is_datetime64_any_dtype(table["Checked"])
    assert list(at.dataframe[0].proto.column_order)[-2:] == [
        "Account",
        "Customer ID",
    ]  # the ID after the rest
    assert "score, highest first" in texts(at)
    at.selectbox(key="own_sort").set_value("score").run()
    assert "sort" not in at.query_params
    bad = review_ownership.review_list(
        get_app().services, Actor("admin", "admin"), page_size=50, sort="score; DROP TABLE x"
    )
    lowest = [r.score for r in bad.rows]
    assert lowest == sorted(lowest)  # an unknown order is the default, never SQL


def test_a_customer_with_several_accounts_is_asked_to_pick_one_and_only_that() -> None:
    from services.auth import SYSTEM
    from services.usecases import browse_accounts, sync_accounts

    open_page(None, None)  # builds the app with the test settings
    sync_accounts.sync_accounts(_app().services, SYSTEM)
    rows = browse_accounts.list_accounts(_app().services, SYSTEM, page_size=500).rows
    counts: dict[str, int] = {}
    for r in rows:
        if r.customer_id and "ownership" in r.permissions and r.status == "active":
            counts[r.customer_id] = counts.get(r.customer_id, 0) + 1
    customer = next(c for c, n in counts.items() if n > 1)
    at = _check(open_page(PAGE, "ops"), customer)
    no_exceptions(at)
    assert at.selectbox(key="own_choice").label.startswith("The customer has several accounts")
    # One instruction: the picker's, not "Enter an account ID" beside it as well.
    assert not any("Enter an account ID" in i.value for i in at.info)
