"""Deactivation ahead of time on the pages (issue 7, B7): the Accounts filter and detail, the
ops home card and the balance check say "relink needed by <date>"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.auth import SYSTEM
from services.usecases import browse_accounts, sync_accounts
from tests.app.conftest import filter_box, no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app
from tests.app.test_balance_check_page import check_id, new_account

DAY = 86_400


@pytest.fixture(scope="module")
def announced() -> dict[str, Any]:
    """An account of this module with a balance, whose deactivation Stripe announced, mirrored."""
    customer, fca = new_account(available=250_000)
    expected = app().sandbox.state.now() + 12 * DAY
    app().simulator.announce_deactivation(fca, expected_deactivation_date=expected)
    sync_accounts.sync_accounts(app().services, SYSTEM)
    date = datetime.fromtimestamp(expected, UTC).strftime("%Y-%m-%d")
    return {"customer": customer, "account": fca, "expected": expected, "date": date}


def test_the_relink_link_lists_only_accounts_to_relink_with_their_date(
    announced: dict[str, Any],
) -> None:
    at = open_page("pages/accounts.py", "ops")
    at.query_params["relink"] = "needed"
    at.run()
    no_exceptions(at)
    assert filter_box(at, "checkbox", "acc_relink").value is True
    frame = at.dataframe[0].value
    assert announced["account"] in set(frame["ID"])
    assert all(" · relink by " in status for status in frame["Status"])
    row = frame[frame["ID"] == announced["account"]].iloc[0]
    assert row["Status"] == f"active · relink by {announced['date']}"
    expected = browse_accounts.list_accounts(
        app().services, SYSTEM, relink_needed=True, page_size=500
    )
    assert set(frame["ID"]) == {r.id for r in expected.rows}


def test_the_account_detail_warns_relink_needed_by_the_date(announced: dict[str, Any]) -> None:
    at = open_page("pages/accounts.py", "ops")
    at.query_params["account"] = announced["account"]
    at.run()
    no_exceptions(at)
    warnings = " ".join(w.value for w in at.warning)
    assert f"Relink needed by {announced['date']}" in warnings
    assert "keeps working" in warnings


def test_the_ops_home_card_counts_accounts_to_relink_and_links_to_them(
    announced: dict[str, Any],
) -> None:
    at = open_page(None, "ops")
    no_exceptions(at)
    count = browse_accounts.list_accounts(app().services, SYSTEM, relink_needed=True).total
    assert str(next(m.value for m in at.metric if m.label == "Relink needed")) == f"{count:,}"
    links = {el.proto.query_string for el in at.get("page_link") if el.proto.page == "accounts"}
    assert "relink=needed" in links  # a page link: the filtered list opens in this tab
    assert "Debits on them fail" not in texts(at)  # B8: the payment methods stay usable


def test_the_balance_check_gives_relink_needed_as_a_reason(announced: dict[str, Any]) -> None:
    at = check_id(open_page("pages/balance_check.py", "finance"), announced["account"], "10.00")
    no_exceptions(at)
    assert f"Relink needed by {announced['date']}" in texts(at)
