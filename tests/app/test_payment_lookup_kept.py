"""Payment lookup keeps the last lookup and its box as Balance check does (pages._kept).

Ops looked up an ID, went to Returns by the sidebar and came back by the sidebar: an empty box
and no result (the sidebar's link has no ?id=, read as "nothing looked up"). After "Open in
Accounts" and the browser's Back the result showed but the "Stripe ID" box was empty (Streamlit
drops a box's value while another page runs)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.conftest import no_exceptions, texts
from tests.app.test_payment_lookup_page import PAGE, look_up, setup_intent


def to_page(at: AppTest, page: str, address: dict[str, str] | None = None) -> AppTest:
    """To ``page`` in the same session, its address ``address`` (the sidebar's has none)."""
    at.switch_page(page)
    for name in list(at.query_params):
        at.query_params.pop(name)
    at.query_params.update(address or {})
    at.run()
    no_exceptions(at)
    return at


def put_back(at: AppTest) -> str:
    scripts = [h.proto.body for h in at.get("html") if "replaceState" in h.proto.body]
    return scripts[0] if scripts else ""


def test_back_by_the_sidebar_shows_the_last_lookup_and_its_id() -> None:
    si = setup_intent(manual=False)
    at = look_up(si["id"])
    assert "Linked through Financial Connections" in texts(at)
    to_page(at, "pages/returns.py", None)
    back = to_page(at, PAGE, None)
    assert "Linked through Financial Connections" in texts(back)
    assert back.text_input(key="lookup_id").value == si["id"]
    assert f"?id={si['id']}" in put_back(back)  # the address gets the lookup back in place
    back.run()  # a rerun sent before that script ran: still the lookup
    assert "Linked through Financial Connections" in texts(back)
    assert back.text_input(key="lookup_id").value == si["id"]


def test_back_from_accounts_shows_the_id_in_its_box() -> None:
    si = setup_intent(manual=False)
    at = look_up(si["id"])
    address = dict(at.query_params)
    to_page(at, "pages/accounts.py", {"account": "fca_from_the_link"})  # "Open in Accounts"
    back = to_page(at, PAGE, address)  # the browser's Back
    assert "Linked through Financial Connections" in texts(back)
    assert back.text_input(key="lookup_id").value == si["id"]
