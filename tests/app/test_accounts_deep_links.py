"""Deep links: the Accounts list takes its filters from the URL, and home cards link to them."""

from __future__ import annotations

from typing import Any

from services.auth import Actor
from services.rules.wording import counted as n_of
from services.usecases import browse_accounts, sync_accounts
from tests.app.conftest import (
    filter_box,
    jobs_settled,
    no_exceptions,
    open_page,
    texts,
    webhooks_settled,
)
from tests.app.conftest import shared_app as app

PAGE = "pages/accounts.py"
OPS = Actor(username="ops", role="ops")


def opened_with(role: str, **params: str) -> Any:
    at = open_page(PAGE, role)
    # The first visit's sync (a background job) and the webhooks of earlier tests' changes land
    # asynchronously; they are let land before the link is followed, so the page and the test's
    # own query of the store see the same accounts (CI once drew 3 inactive accounts, then
    # counted 4).
    jobs_settled()
    webhooks_settled()
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    return at


def shown_ids(at: Any) -> set[str]:
    frame = at.dataframe[0].value
    column = next(c for c in frame.columns if frame[c].astype(str).str.startswith("fca_").all())
    return set(frame[column].astype(str))


def test_a_status_link_shows_only_accounts_of_that_status() -> None:
    from pages._runtime import get_app

    at = opened_with("ops", status="inactive")
    svc = get_app().services
    expected = browse_accounts.list_accounts(svc, OPS, status="inactive", page_size=500)
    no_exceptions(at)
    assert filter_box(at, "selectbox", "acc_status").value == "inactive"
    if expected.total == 0:
        assert "No accounts match" in texts(at)
        return
    assert f"{n_of(expected.total, 'account')} ·" in texts(at)
    everything = browse_accounts.list_accounts(svc, OPS, page_size=500).total
    assert expected.total < everything
    assert shown_ids(at) <= {r.id for r in expected.rows}


def test_filters_from_the_link_combine_and_stay_in_the_url() -> None:
    at = opened_with("ops", permission="balances", stale_hours="24", refresh="failed")
    no_exceptions(at)
    assert filter_box(at, "selectbox", "acc_perm").value == "balances"
    assert filter_box(at, "number_input", "acc_stale").value == 24
    assert filter_box(at, "checkbox", "acc_refresh").value is True
    assert (
        at.query_params["permission"] == ["balances"] or at.query_params["permission"] == "balances"
    )
    filter_box(at, "selectbox", "acc_status").set_value("active").run()
    no_exceptions(at)
    params = {k: str(v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert params["status"] == "active" and params["refresh"] == "failed"
    assert params["stale_hours"] == "24"


def test_clearing_a_filter_removes_it_from_the_url() -> None:
    at = opened_with("ops", refresh="failed")
    filter_box(at, "checkbox", "acc_refresh").uncheck().run()
    no_exceptions(at)
    assert "refresh" not in at.query_params


def test_a_link_with_an_unknown_value_says_so_and_shows_every_account() -> None:
    at = opened_with("ops", status="closed", stale_hours="soon")
    no_exceptions(at)
    assert "not understood" in texts(at)
    assert filter_box(at, "selectbox", "acc_status").value == "Any"
    assert filter_box(at, "number_input", "acc_stale").value == 0


def test_refresh_failed_filter_lists_only_accounts_with_a_failed_refresh() -> None:
    from pages._runtime import get_app

    page = browse_accounts.list_accounts(
        get_app().services, OPS, refresh_failed=True, page_size=500
    )
    assert all(
        "failed"
        in (r.balance_refresh_status, r.ownership_refresh_status, r.transaction_refresh_status)
        for r in page.rows
    )


def test_home_cards_link_to_the_filtered_accounts_list() -> None:
    from pages._runtime import get_app

    open_page(None, "ops")
    sync_accounts.sync_accounts(get_app().services, OPS)  # cards show once the store holds accounts
    at = open_page(None, "ops")
    no_exceptions(at)
    # st.page_link, so the filtered list opens in this tab (a markdown link opened a new one)
    links = {el.proto.query_string for el in at.get("page_link") if el.proto.page == "accounts"}
    assert {"status=inactive", "status=disconnected", "refresh=failed"} <= links


def test_the_home_balance_cards_open_a_list_of_exactly_the_accounts_they_count() -> None:
    """"Balances never fetched 4" opened the unfiltered list (57 accounts): each finance card's
    link now opens ?balance=…, which lists the accounts the card counts."""
    from pages._runtime import get_app

    finance = Actor(username="finance", role="finance")
    svc = get_app().services
    sync_accounts.sync_accounts(svc, OPS)
    jobs_settled()
    webhooks_settled()
    home = open_page(None, "finance")
    for label, kind in (("Stale balances", "stale"), ("Balances never fetched", "never")):
        counted = int(str(next(m.value for m in home.metric if m.label == label)).replace(",", ""))
        [link] = [
            el.proto for el in home.get("page_link") if el.proto.query_string == f"balance={kind}"
        ]
        at = opened_with("finance", balance=kind)
        no_exceptions(at)
        assert filter_box(at, "selectbox", "acc_balance").value == kind
        expected = browse_accounts.list_accounts(svc, finance, balance=kind, page_size=500)
        assert expected.total == counted < browse_accounts.list_accounts(svc, finance).total
        if counted == 0:
            assert "No accounts match" in texts(at)
            continue
        assert f"{n_of(counted, 'account')} ·" in texts(at)
        assert shown_ids(at) <= {r.id for r in expected.rows}
        assert link.page == "accounts"


def test_a_balance_link_with_an_unknown_value_says_so() -> None:
    at = opened_with("finance", balance="old")
    no_exceptions(at)
    assert "(only 'stale' or 'never')" in texts(at)
    assert filter_box(at, "selectbox", "acc_balance").value == "Any"


def test_a_role_without_the_accounts_page_gets_no_filtered_links() -> None:
    """The manager's Home links nowhere in Accounts. Its rate cards do link with a query (to
    Conversion, "See the funnel"), but only once intents were synced: the test syncs them, so it
    checks the same Home whichever test ran before it in this process (it used to pass only
    while no earlier test had synced intents, and to check nothing about the links then)."""
    from pages._runtime import get_app
    from services.auth import SYSTEM
    from services.usecases import conversion_report, sync_intents

    open_page(None, None)
    jobs_settled()
    if conversion_report.store_info(get_app().engine).last_finished_at is None:
        sync_intents.sync_intents(get_app().services, SYSTEM)
    at = open_page(None, "manager")
    no_exceptions(at)
    assert "accounts?" not in " ".join(m.value for m in at.markdown)
    links = [el.proto for el in at.get("page_link")]
    assert not [link for link in links if link.page == "accounts"]
    with_query = {link.page for link in links if link.query_string}
    assert with_query == {"conversion"}, with_query  # the rate cards' "See the funnel"


def sort_box(at: Any) -> Any:
    """The "Sort by" box (keyed by the URL's sort, so found by its label)."""
    return next(s for s in at.selectbox if s.label == "Sort by")


def test_a_sort_link_orders_the_first_page_like_the_whole_result_in_sql() -> None:
    from pages._runtime import get_app

    at = opened_with("ops", sort="balance_desc")
    no_exceptions(at)
    assert sort_box(at).value == "balance_desc"
    expected = browse_accounts.list_accounts(
        get_app().services, OPS, page_size=50, sort="balance_desc"
    )
    frame = at.dataframe[0].value
    assert list(frame["ID"]) == [r.id for r in expected.rows]
    balances = [r.balance_current for r in expected.rows if r.balance_current is not None]
    assert balances == sorted(balances, reverse=True)
    sort_box(at).set_value("balance_asc").run()
    assert at.query_params["sort"] == ["balance_asc"] or at.query_params["sort"] == "balance_asc"
    sort_box(at).set_value("newest").run()
    assert "sort" not in at.query_params


def test_an_unknown_sort_in_the_link_is_explained_and_ignored() -> None:
    at = opened_with("ops", sort="balance; drop")
    no_exceptions(at)
    assert any("sort `balance; drop` was not understood" in w.value for w in at.warning)
    assert sort_box(at).value == "newest"


def test_each_filter_box_is_keyed_by_the_urls_value_so_a_widget_reset_keeps_the_link() -> None:
    at = opened_with("ops", status="inactive", refresh="failed")
    no_exceptions(at)
    assert filter_box(at, "selectbox", "acc_status").key == "acc_status:inactive"
    assert filter_box(at, "checkbox", "acc_refresh").key == "acc_refresh:failed"
    # A browser that resets its widgets late after a sign-in puts each box back to its default,
    # and each box's default is the link's value (not "Any", which dropped ?status= before).
    status = filter_box(at, "selectbox", "acc_status")
    assert status.options[status.proto.default] == "inactive"
    assert filter_box(at, "checkbox", "acc_refresh").proto.default is True
    at.run()
    no_exceptions(at)
    assert filter_box(at, "selectbox", "acc_status").value == "inactive"
    params = {k: str(v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert params["status"] == "inactive" and params["refresh"] == "failed"
    # A person's change goes into the URL, and the box is keyed by it straight away.
    filter_box(at, "selectbox", "acc_status").set_value("active").run()
    no_exceptions(at)
    assert filter_box(at, "selectbox", "acc_status").key == "acc_status:active"
    assert filter_box(at, "selectbox", "acc_status").value == "active"


def test_a_links_text_is_shown_as_typed_never_drawn_as_a_link() -> None:
    """A crafted link a colleague is sent must not draw a link inside fcops' own warning."""
    crafted = "[Sign in again](https://evil.example/login)"
    at = opened_with("ops", status=crafted, sort=crafted)
    no_exceptions(at)
    warned = [w.value for w in at.warning if "not understood" in w.value]
    assert len(warned) == 2, warned
    for sentence in warned:
        assert f"`{crafted}"[:41] in sentence  # inside a code span: drawn as typed
        assert sentence.count("`") == 2


def test_a_crafted_customer_link_is_refused_as_typed_and_a_real_one_names_the_customer() -> None:
    crafted = "cus_x) Your session expired: [sign in again](https://evil.example/login) ("
    at = opened_with("ops", customer=crafted)
    no_exceptions(at)
    warned = [w.value for w in at.warning if "not a customer ID" in w.value]
    assert len(warned) == 1 and warned[0].count("`") == 2, warned  # a code span: no link
    assert "Accounts of" not in texts(at)  # no customer chosen from it
    real = browse_accounts.list_accounts(app().services, Actor("t", "admin"), page_size=1).rows[0]
    hits = browse_accounts.search_customers(app().services, Actor("t", "admin"), real.customer_id)
    at = opened_with("ops", customer=real.customer_id)
    no_exceptions(at)
    name = hits[0].name or hits[0].email
    assert name and f"Accounts of {name} ({real.customer_id})" in texts(at)


def test_a_customer_link_stays_in_the_address_until_all_accounts_is_chosen() -> None:
    """Taking ``?customer=`` out of the URL on arrival added a browser history entry (Back had
    to be pressed twice to return to Blocked accounts); it stays, and follows the filter."""
    opened_with("ops")  # the first visit reads the accounts from Stripe
    real = browse_accounts.list_accounts(app().services, Actor("t", "admin"), page_size=1).rows[0]
    at = opened_with("ops", customer=real.customer_id)
    no_exceptions(at)
    assert at.query_params["customer"] == real.customer_id
    assert "Accounts of" in texts(at)
    at.run()  # a rerun does not take it again: the person's choices win from here
    assert at.query_params["customer"] == real.customer_id
    at.button(key="acc_clear_customer").click().run()
    no_exceptions(at)
    assert "customer" not in at.query_params
    assert "Accounts of" not in texts(at)


def test_a_link_to_a_customer_stripe_does_not_have_says_so_and_shows_every_account() -> None:
    at = opened_with("ops", customer="cus_doesnotexist42")
    no_exceptions(at)
    assert any("no customer `cus_doesnotexist42`" in e.value for e in at.error), texts(at)
    assert "Accounts of" not in texts(at)  # not a filter to nobody
    everything = browse_accounts.list_accounts(app().services, OPS, page_size=1).total
    assert everything > 0 and f"{n_of(everything, 'account')} ·" in texts(at)


def test_a_link_to_a_customer_stripe_does_not_know_says_all_accounts_are_shown_instead() -> None:
    """?customer=cus_nope said Stripe has no such customer, then showed all 313 accounts with
    no word that the filter was dropped."""
    at = opened_with("ops", customer="cus_nopenope")
    no_exceptions(at)
    said = " ".join(e.value for e in at.error)
    assert "cus_nopenope" in said and "Showing all accounts instead." in said
