"""Balance check: coming back to a check (another page, then Back) shows the form that made it.

Finance checked a debit, went to Returns from the sidebar, and pressed the browser's Back: the
address and the "Checked … $321.00" verdict were kept, but Streamlit had dropped the form's
boxes while another page ran (a widget not drawn loses its state), so the form read "Customer"
with no amount, and Check debit said "Choose a customer or paste an ID to check." The form is
refilled from the address on every arrival. "Refresh stale balances" is kept in the address too
(``&refresh=stale``), so a reload ticks it again (it came back unticked).
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import no_exceptions, open_page
from tests.app.test_balance_check_page import (
    PAGE,
    check_id,
    history_step,
    markdown,
    new_account,
    reopened,
)


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


def test_back_to_the_entry_without_a_check_still_shows_the_empty_form(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The address is still the truth on every step of the history: Back from the check to
    the page's entry without one (no page change) is the empty form."""
    _, fca = new_account(available=50_000)
    at = check_id(open_page(PAGE, "finance"), fca, "321.00")
    for name in list(at.query_params):
        at.query_params.pop(name)
    history_step(monkeypatch)
    at.run()
    no_exceptions(at)
    assert "OK — the balance covers this debit" not in markdown(at)
    assert form(at)[1:3] == ("", "")


def test_a_rerun_whose_address_lags_keeps_the_check_and_puts_the_address_back() -> None:
    """Back by the sidebar, the address gets the check from a script the browser runs once the
    page is drawn; a rerun sent before it ran (a box typed in and left at once, a click on the
    page's own sidebar link) still carries the sidebar's address, without a check. It was read
    as Back to the empty form: the check, the ID and the amount were gone and the address stayed
    plain /balance_check (Chromium, 2 of 6 trips). The session is the truth on such a run: the
    check and the typing stay, and the address is put back again."""
    _, fca = new_account(available=50_000)
    at = check_id(open_page(PAGE, "finance"), fca, "321.00")
    at.text_input(key="bc_amount").set_value("77")  # typed, not checked
    back = by_the_sidebar(at)
    assert address_put_back(back)
    back.run()  # no check in the address yet: the script has not run
    no_exceptions(back)
    assert "OK — the balance covers this debit" in markdown(back)
    assert form(back) == ("Paste an ID", fca, "77", "USD", False)
    assert "?check=" + fca + "&amount=321.00&currency=USD" in address_put_back(back)
    back.button(key="bc_check").click().run()
    assert not back.error, [e.value for e in back.error]
    assert "$77.00 on `" + fca in "\n".join(c.value for c in back.caption)


def test_the_old_address_sent_after_a_sidebar_click_keeps_the_typing() -> None:
    """A quick click on the sidebar right after typing: the click's page began to run, then the
    typed value reached the server, on the page left and with its address (the check). That
    run is an arrival with the check kept, and it refilled the boxes from the address: 77 typed
    became 321.00 again."""
    from pages import _runtime as runtime

    _, fca = new_account(available=50_000)
    at = check_id(open_page(PAGE, "finance"), fca, "321.00")
    at.text_input(key="bc_amount").set_value("77")
    at.session_state[runtime.PAGE_NOW] = "the sidebar click's page"  # its run began first
    at.run()
    no_exceptions(at)
    assert form(at) == ("Paste an ID", fca, "77", "USD", False)
    assert "$321.00 on `" + fca in "\n".join(c.value for c in at.caption)


def test_boxes_the_browser_sends_back_empty_all_at_once_get_what_was_typed() -> None:
    """After a quick sidebar click right after typing, Chromium drew the page's boxes again and
    sent them all empty in one run ("Customer", no ID, no amount, no currency) beside the check
    kept. A person empties one box a run; every box emptied at once gets back what was left."""
    _, fca = new_account(available=50_000)
    at = check_id(open_page(PAGE, "finance"), fca, "321.00")
    at.text_input(key="bc_amount").set_value("77").run()
    for key in ("bc_target_id", "bc_amount", "bc_currency"):
        at.text_input(key=key).set_value("")
    at.radio(key="bc_mode").set_value("Customer")
    at.run()
    no_exceptions(at)
    assert form(at) == ("Paste an ID", fca, "77", "USD", False)
    at.text_input(key="bc_amount").set_value("").run()  # one box emptied: the person's
    assert form(at) == ("Paste an ID", fca, "", "USD", False)
