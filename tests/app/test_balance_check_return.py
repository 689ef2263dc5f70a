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

    back.button(key="bc_check").click().run()
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


def by_the_sidebar(at: AppTest) -> AppTest:
    """To Returns by the sidebar and back to Balance check by the sidebar: neither link has a
    query, so the page is opened on an address without a check, in the same session."""
    for target in ("pages/returns.py", PAGE):
        at.switch_page(target)
        for name in list(at.query_params):
            at.query_params.pop(name)
        at.run()
        no_exceptions(at)
    return at


def address_put_back(at: AppTest) -> str:
    """The script the page left to put the check back in the browser's address in place (the
    sidebar's entry), or "" when it left none."""
    scripts = [h.proto.body for h in at.get("html") if "replaceState" in h.proto.body]
    return scripts[0] if scripts else ""


def test_back_by_the_sidebar_shows_the_check_and_the_typing_left() -> None:
    """Finance checked a debit, went to Accounts by the sidebar, and came back by the sidebar:
    an empty form ("Customer", no amount) and no verdict, while Batch check kept its result.
    Now the check left is shown again, the boxes keep what was typed since, even unsent, and
    the address gets the check back in place (a reload checks it again; Back leaves)."""
    _, fca = new_account(available=50_000)
    at = check_id(open_page(PAGE, "finance"), fca, "321.00")
    at.text_input(key="bc_amount").set_value("400.00")  # typed, not checked
    back = by_the_sidebar(at)
    assert "OK — the balance covers this debit" in markdown(back)
    assert "$321.00 on `" + fca in "\n".join(c.value for c in back.caption)
    assert form(back) == ("Paste an ID", fca, "400.00", "USD", False)
    script = address_put_back(back)
    assert "?check=" + fca + "&amount=321.00&currency=USD" in script, script
    back.query_params.update({"check": fca, "amount": "321.00", "currency": "USD"})
    back.run()  # a rerun: the browser sends the address it was given; nothing changes
    assert "OK — the balance covers this debit" in markdown(back)
    assert form(back) == ("Paste an ID", fca, "400.00", "USD", False)


def test_back_by_the_sidebar_keeps_what_was_typed_without_a_check() -> None:
    at = open_page(PAGE, "finance")
    at.radio(key="bc_mode").set_value("Paste an ID").run()
    at.text_input(key="bc_target_id").set_value("fca_typed123").run()
    at.text_input(key="bc_amount").set_value("700")
    back = by_the_sidebar(at)
    assert form(back) == ("Paste an ID", "fca_typed123", "700", "USD", False)
    assert not address_put_back(back)  # no check, nothing for the address
    assert "check" not in back.query_params


def test_back_to_the_entry_without_a_check_still_shows_the_empty_form() -> None:
    """The address is still the truth on every step of the history: Back from the check to
    the page's entry without one (no page change) is the empty form."""
    _, fca = new_account(available=50_000)
    at = check_id(open_page(PAGE, "finance"), fca, "321.00")
    for name in list(at.query_params):
        at.query_params.pop(name)
    at.run()
    no_exceptions(at)
    assert "OK — the balance covers this debit" not in markdown(at)
    assert form(at)[1:3] == ("", "")
