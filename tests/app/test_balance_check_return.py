"""Balance check: coming back to a check (another page, then Back) shows the form that made it.

Finance checked a debit, went to Returns from the sidebar, and pressed the browser's Back: the
address and the "Checked … $321.00" verdict were kept, but Streamlit had dropped the form's
boxes while another page ran (a widget not drawn loses its state), so the form read "Customer"
with no amount, and Check debit said "Choose a customer or paste an ID to check." The form is
refilled from the address on every arrival. "Refresh stale balances" is kept in the address too
(``&refresh=stale``), so a reload ticks it again (it came back unticked).
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.conftest import no_exceptions, open_page
from tests.app.test_balance_check_page import PAGE, check_id, markdown, new_account, reopened


def away_and_back(at: AppTest) -> AppTest:
    """The sidebar to Returns (its address has no check), then the browser's Back: the
    address of the check again, in the same session."""
    address = dict(at.query_params)
    at.switch_page("pages/returns.py")
    for name in list(at.query_params):
        at.query_params.pop(name)
    at.run()
    no_exceptions(at)
    at.switch_page(PAGE)
    at.query_params.update(address)
    return at.run()


def form(at: AppTest) -> tuple[str, str, str, str, bool]:
    return (
        str(at.radio(key="bc_mode").value),
        at.text_input(key="bc_target_id").value,
        at.text_input(key="bc_amount").value,
        at.text_input(key="bc_currency").value,
        bool(at.checkbox(key="bc_refresh").value),
    )


def test_back_from_another_page_shows_the_form_of_the_check_and_checks_again() -> None:
    _, fca = new_account(available=50_000)
    at = check_id(open_page(PAGE, "finance"), fca, "321.00")
    assert "OK — the balance covers this debit" in markdown(at)

    back = away_and_back(at)
    no_exceptions(back)
    assert "$321.00 on `" + fca in "\n".join(c.value for c in back.caption)  # the verdict kept
    assert form(back) == ("Paste an ID", fca, "321.00", "USD", False)

    back.button(key="FormSubmitter:bc_form-Check debit").click().run()
    no_exceptions(back)
    assert not back.error, [e.value for e in back.error]
    assert "OK — the balance covers this debit" in markdown(back)


def test_the_refresh_choice_is_kept_in_the_address_for_a_reload_and_for_back() -> None:
    _, fca = new_account(available=50_000)
    at = check_id(open_page(PAGE, "finance"), fca, "321.00", refresh=True)
    assert at.query_params.get("refresh") == "stale"
    assert form(reopened(at))[4] is True  # a reload (a new session) ticks it again
    assert form(away_and_back(at))[4] is True

    check_id(at, fca, "321.00", refresh=False)  # unticked: out of the address
    assert "refresh" not in at.query_params
    assert form(reopened(at))[4] is False
