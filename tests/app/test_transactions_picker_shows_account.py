"""Transactions: the account picker names the account on screen, however it was opened.

An account opened from the address (``?account=fca_…``) or the ID box used to leave the
"Account with the transactions permission" dropdown on "Choose one of N accounts", as if no
account were shown. Now the picker shows the account on screen when it holds it, without a
rerun, and a person's own later pick is never overridden.
"""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from tests.app.conftest import no_exceptions, open_page
from tests.app.test_transactions_page import demo_accounts  # noqa: F401

PAGE = "pages/transactions.py"


def heading(at: AppTest) -> str:
    return " ".join(str(h.value) for h in at.subheader)


def listed(at: AppTest) -> list[str]:
    """The account IDs the picker holds (its options are labels ending in the ID)."""
    options = at.selectbox(key="txn_pick").options
    return [o.rsplit(" ", 1)[-1] for o in options]


def test_an_account_opened_from_the_address_is_the_pickers_account(
    demo_accounts: dict[str, list[Any]],  # noqa: F811
) -> None:
    at = open_page(PAGE, "ops")
    first, second = listed(at)[:2]
    at.query_params["account"] = second
    at.run()
    no_exceptions(at)
    assert at.selectbox(key="txn_pick").value == second

    at.selectbox(key="txn_pick").select(first).run()  # the person's own pick wins
    no_exceptions(at)
    assert at.selectbox(key="txn_pick").value == first
    at.run()  # and stays, with no rerun loop back to the address's account
    no_exceptions(at)
    assert at.selectbox(key="txn_pick").value == first
    assert at.query_params.get("account") in (first, [first])


def test_an_account_opened_from_the_id_box_is_the_pickers_account_at_once(
    demo_accounts: dict[str, list[Any]],  # noqa: F811
) -> None:
    at = open_page(PAGE, "ops")
    first, second = listed(at)[:2]
    at.selectbox(key="txn_pick").select(first).run()
    no_exceptions(at)
    at.text_input(key="txn_id_input").input(second)
    next(b for b in at.button if b.label == "Open").click().run()
    no_exceptions(at)
    assert at.selectbox(key="txn_pick").value == second  # on the run that opened it
    at.run()
    assert at.selectbox(key="txn_pick").value == second

    at.selectbox(key="txn_pick").select(first).run()  # a new pick is not overridden
    no_exceptions(at)
    assert at.selectbox(key="txn_pick").value == first


def test_an_account_the_picker_does_not_hold_leaves_it_naming_none(
    demo_accounts: dict[str, list[Any]],  # noqa: F811
) -> None:
    at = open_page(PAGE, "ops")
    first = listed(at)[0]
    at.selectbox(key="txn_pick").select(first).run()
    at.text_input(key="txn_id_input").input("fca_notinthestore0001")
    next(b for b in at.button if b.label == "Open").click().run()
    no_exceptions(at)
    assert at.selectbox(key="txn_pick").value is None  # not the other account it named before
