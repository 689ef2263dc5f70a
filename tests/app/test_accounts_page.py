"""Accounts page: list, search, filters, detail, refresh with polling, PII and bad input."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pandas as pd
import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from services.adapters import account_mirror
from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.auth import Actor
from services.rules.wording import counted as n_of
from services.usecases import browse_accounts, sync_accounts
from tests.app.conftest import (
    column_config,
    filter_box,
    force_faults,
    no_exceptions,
    open_page,
    refused,
    shown_cells,
    texts,
    webhooks_settled,
)
from tests.app.conftest import shared_app as app

PAGE = "pages/accounts.py"
OPS = Actor(username="ops", role="ops")


def new_customer(
    *, prefetch: list[str], permissions: list[str] | None = None, institution: str = "StripeBank"
) -> tuple[dict, dict]:
    """A customer of this test with one linked account, made through the app's own sandbox."""
    a = app()
    tag = secrets.token_hex(4)
    customer = a.gateway.create_customer(
        {"email": f"robin.{tag}@example.org", "name": f"Robin Vale {tag}"}, idempotency_key=None
    )
    session = a.gateway.create_fc_session(
        {
            "account_holder": {"type": "customer", "customer": customer["id"]},
            "permissions": permissions or ["balances", "ownership", "payment_method"],
            "prefetch": prefetch,
        },
        idempotency_key=None,
    )
    a.simulator.complete_session(session["id"], institution=institution, accounts=1)
    a.simulator.complete_refreshes()
    [account] = a.gateway.list_accounts(customer=customer["id"])
    # The store learns the account and its refreshed balance from the sandbox's webhooks, applied
    # in the background: a page drawn before the last one lands shows no balance yet (CI48 saw a
    # "Balance age" of None on a loaded machine).
    webhooks_settled()
    return customer, account


def detail(account_id: str, role: str = "ops") -> AppTest:
    at = open_page(PAGE, role)
    at.query_params["account"] = account_id
    at.run()
    return at


def button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def test_ops_sees_the_synced_accounts_table_with_balances_and_refresh_states() -> None:
    # The page syncs an empty store by itself; other tests may have mirrored a few accounts
    # already (then it does not), so sync here to make the table independent of test order.
    sync_accounts.sync_accounts(app().services, OPS)
    at = open_page(PAGE, "ops")
    no_exceptions(at)
    total = browse_accounts.list_accounts(app().services, OPS).total
    assert total > 0
    assert f"{n_of(total, 'account')} ·" in texts(at)
    frame = at.dataframe[0].value
    assert {
        "Institution",
        "Last 4",
        "Balance",
        "Balance age",
        "Balance refresh",
        "Permissions",
    } <= set(frame.columns)
    assert frame["Last 4"].str.startswith("••").any()
    # Money and ages are numbers (so the grid sorts them numerically), formatted by the column.
    assert pd.api.types.is_float_dtype(frame["Balance"]) and frame["Balance"].notna().any()
    assert pd.api.types.is_float_dtype(frame["Balance age"])  # seconds, said in words
    config = column_config(at.dataframe[0])
    assert config["Balance"]["type_config"] == {"type": "number", "format": "dollar"}
    ages = shown_cells(at.dataframe[0])["Balance age"]
    assert all(a == "—" or a.split()[-1] in ("s", "min", "h", "d") for a in ages), list(ages)
    assert list(frame.columns).index("Customer") < list(frame.columns).index("ID")
    (download,) = at.get("download_button")
    assert download.proto.ignore_rerun  # a rerun would drop the file before it is fetched


def test_search_by_email_lists_the_customer_and_their_accounts() -> None:
    customer, account = new_customer(prefetch=["balances"])
    at = open_page(PAGE, "ops")
    at.text_input(key="acc_term").set_value(customer["email"].upper())
    button(at, "Search").click().run()
    no_exceptions(at)
    hits = at.dataframe[0].value
    assert list(hits["ID"]) == [customer["id"]] and list(hits["Accounts"]) == [1]
    # Selecting a row in st.dataframe is not something AppTest can do; set what it would set.
    at.session_state["acc_customer"] = (customer["id"], customer["name"])
    at.run()
    rows = at.dataframe[1].value
    assert list(rows["ID"]) == [account["id"]]
    assert f"Accounts of {customer['name']} ({customer['id']})" in texts(at)


def test_part_of_an_email_finds_the_customer() -> None:
    """A person types what they remember of an address (no .com): searched, not refused."""
    from tests.app.conftest import jobs_settled

    tag = secrets.token_hex(4)
    at = open_page(PAGE, "ops")
    jobs_settled(at)  # the first visit's sync mirrors Stripe's customers (and only those)
    account_mirror.upsert_customer(
        app().engine, {"id": f"cus_partmail{tag}", "email": f"anagarcia{tag}@gmail.com", "created": 1}
    )
    at.text_input(key="acc_term").set_value(f"anagarcia{tag}@gmail")
    button(at, "Search").click().run()
    no_exceptions(at)
    assert not at.error
    assert list(at.dataframe[0].value["ID"]) == [f"cus_partmail{tag}"]


def test_a_search_with_more_matches_than_a_page_says_how_many_and_pages() -> None:
    engine = app().engine
    for n in range(30):
        account_mirror.upsert_customer(
            engine, {"id": f"cus_pagedsearch{n:03d}", "name": f"Pagedsearch {n}", "created": n}
        )
    at = open_page(PAGE, "ops")
    at.text_input(key="acc_term").set_value("pagedsearch")
    button(at, "Search").click().run()
    no_exceptions(at)
    assert "30 customers found · showing 1–25 of 30" in texts(at)
    assert len(at.dataframe[0].value) == 25
    button(at, "Next customers").click().run()
    no_exceptions(at)
    assert "showing 26–30 of 30" in texts(at)
    assert len(at.dataframe[0].value) == 5


def test_status_filter_shows_only_that_status() -> None:
    at = open_page(PAGE, "ops")
    filter_box(at, "selectbox", "acc_status").set_value("inactive").run()
    no_exceptions(at)
    expected = browse_accounts.list_accounts(app().services, OPS, status="inactive").total
    if expected:
        assert set(at.dataframe[0].value["Status"]) == {"inactive"}
    else:
        assert "No accounts match" in texts(at)


@pytest.mark.parametrize(
    ("term", "message"),
    [
        ("x", "at least 2 characters"),
        ("cus_doesnotexist", "no customer `cus_doesnotexist`"),
        ("nobody@@example.com", "has 2 @ signs and an email address has one"),
    ],
)
def test_bad_search_terms_give_a_sentence(term: str, message: str) -> None:
    at = open_page(PAGE, "ops")
    at.text_input(key="acc_term").set_value(term)
    button(at, "Search").click().run()
    no_exceptions(at)
    assert message in " ".join(e.value for e in at.error)


def test_a_pasted_dashboard_url_finds_its_customer() -> None:
    """The URL was searched as text: "No customer matches that search"."""
    customer, _account = new_customer(prefetch=["balances"])
    at = open_page(PAGE, "ops")
    url = f"https://dashboard.stripe.com/acct_1Nabcdef/test/customers/{customer['id']}"
    at.text_input(key="acc_term").set_value(url)
    button(at, "Search").click().run()
    no_exceptions(at)
    assert not at.error and "No customer matches" not in texts(at)
    assert list(at.dataframe[0].value["ID"]) == [customer["id"]]


@pytest.mark.parametrize(
    ("pasted", "said", "link"),
    [
        ("https://dashboard.stripe.com/test/payments/pi_3Nabcdef123",
         "That is a PaymentIntent (`pi_3Nabcdef123`), not a customer: open it in Payment lookup",
         ('page: "payment_lookup"', "id=pi_3Nabcdef123")),
        ("https://dashboard.stripe.com/test/setup_intents/seti_1Nabcdef123",
         "That is a SetupIntent (`seti_1Nabcdef123`), not a customer: open it in Payment lookup",
         ('page: "payment_lookup"', "id=seti_1Nabcdef123")),
        ("fca_1Nabcdef123",
         "That is a Financial Connections account (`fca_1Nabcdef123`), not a customer: open it in "
         "Accounts.",
         ('page: "accounts"', "account=fca_1Nabcdef123")),
    ],
)  # fmt: skip
def test_a_pasted_payment_or_account_says_where_to_open_it_with_a_link(
    pasted: str, said: str, link: tuple[str, str]
) -> None:
    at = open_page(PAGE, "ops")
    at.text_input(key="acc_term").set_value(pasted)
    button(at, "Search").click().run()
    no_exceptions(at)
    assert not at.error and "No customer matches" not in texts(at)
    assert any(said in i.value for i in at.info), [i.value for i in at.info]
    [opens] = [str(p.proto) for p in at.get("page_link") if "Open " in str(p.proto)]
    assert all(part in opens for part in link), opens
    at.run()  # a rerun keeps saying it (the search result is kept in the session)
    assert any(said in i.value for i in at.info)


def test_stripe_outage_during_search_is_a_sentence_not_a_trace() -> None:
    at = open_page(PAGE, "ops")
    # Like Stripe, the sandbox's 500 says Stripe-Should-Retry: false, so the SDK makes one
    # attempt and one fault reaches the page (none is left over for the next test).
    force_faults("500", 1)
    at.text_input(key="acc_term").set_value("cus_anything123")
    button(at, "Search").click().run()
    no_exceptions(at)
    assert "temporary problem" in " ".join(e.value for e in at.error)
    assert app().sandbox.state.forced_faults_pending() == 0


def test_detail_shows_every_field_the_balance_and_owners_to_ops() -> None:
    customer, account = new_customer(prefetch=["balances", "ownership"])
    at = detail(account["id"])
    no_exceptions(at)
    fields = at.dataframe[0].value
    assert set(account) <= set(fields["Field"])
    assert "Current balance" in [m.label for m in at.metric]
    assert any(m.value.startswith("$") for m in at.metric)
    owners = at.dataframe[1].value
    assert customer["name"] in list(owners["Name"])


def test_finance_sees_owners_without_their_personal_data() -> None:
    customer, account = new_customer(prefetch=["balances", "ownership"])
    at = detail(account["id"], "finance")
    no_exceptions(at)
    owners = at.dataframe[1].value
    assert set(owners["Name"]) == {"hidden for your role"}
    assert customer["name"] not in str(owners.to_dict())


def test_a_throttled_refresh_button_is_disabled_and_says_until_when() -> None:
    _, account = new_customer(prefetch=["balances"])  # just refreshed: cooldown running
    at = detail(account["id"])
    refresh_balance = at.button(key="acc_refresh_balance")
    assert refresh_balance.disabled
    assert "Stripe allows the next balance refresh from" in (refresh_balance.help or "")
    assert at.button(key="acc_refresh_ownership").disabled is False


def test_refresh_shows_pending_then_the_outcome_without_a_reload_and_is_audited() -> None:
    _, account = new_customer(prefetch=[])
    at = detail(account["id"])
    assert at.button(key="acc_refresh_balance").disabled is False
    at.button(key="acc_refresh_balance").click().run()
    no_exceptions(at)
    deadline = time.monotonic() + 10
    while "Balance refresh succeeded." not in [s.value for s in at.success]:
        assert time.monotonic() < deadline, texts(at)
        time.sleep(0.2)
        at.run()  # what the fragment's run_every timer does in a browser
    assert at.button(key="acc_refresh_balance").disabled  # now in its cooldown
    with session_scope(app().engine) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.target == account["id"])).all()
    actions = {(r.action, r.actor, r.outcome) for r in rows}
    assert ("account.refresh", "ops", "ok") in actions
    assert ("account.refresh.result", "ops", "ok") in actions


@pytest.mark.parametrize(
    ("param", "message"),
    [("garbage", "`garbage` is not a Stripe ID Accounts accepts: paste a fca_… ID"),
     ("fca_doesnotexist1", "no Financial Connections account")],
)
def test_unknown_or_malformed_account_in_the_url_is_a_sentence(param: str, message: str) -> None:
    at = detail(param)
    no_exceptions(at)
    assert message in " ".join(e.value for e in at.error)


def test_back_returns_to_the_list() -> None:
    _, account = new_customer(prefetch=[])
    at = detail(account["id"])
    button(at, "Back to accounts").click().run()
    no_exceptions(at)
    assert "account" not in at.query_params
    assert "select a row to open it" in texts(at)


def test_manager_cannot_open_the_page_and_its_script_shows_no_data() -> None:
    at = refused(PAGE, "manager")
    assert not at.dataframe and "fca_" not in texts(at)
    assert "cannot open this page" in " ".join(e.value for e in at.error)


def test_an_account_without_a_balance_says_how_to_get_one() -> None:
    _, account = new_customer(prefetch=[])
    at = detail(account["id"])
    no_exceptions(at)
    assert "Use Refresh balance to fetch one" in texts(at)
    assert not at.button(key="acc_refresh_balance").disabled


def test_a_failed_refresh_says_what_is_shown_instead_and_what_to_do_next() -> None:
    """"Last refreshes: balance failed" used to stand alone: no when, no what next."""
    _, account = new_customer(prefetch=["balances"], institution="Refresh Errors Bank")
    at = detail(account["id"])
    no_exceptions(at)
    assert "balance failed" in texts(at)
    [warning] = [str(w.value) for w in at.warning if "refresh" in str(w.value)]
    assert "The last balance refresh (" in warning and "failed" in warning
    assert "there is no balance from the bank yet" in warning
    assert "Stripe does not try again by itself: press Refresh balance again from " in warning
    assert "If the next attempt fails too" in warning and "link the account again" in warning


def test_the_table_and_the_account_say_a_balance_age_as_balance_check_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The table said "3.3 h" where the account's metric (and Balance check) said "3 h": one
    wording now (services.rules.wording.age), and the cells keep seconds so the column sorts."""
    import dataclasses

    from services.rules import wording

    customer, account = new_customer(prefetch=["balances"])
    real = app().services
    later = dataclasses.replace(real, now=lambda: real.now() + 3 * 3600 + 17 * 60)
    monkeypatch.setattr(app(), "services", later)
    at = open_page(PAGE, "ops")
    at.session_state["acc_customer"] = (customer["id"], customer["name"])
    at.run()
    no_exceptions(at)
    table = next(d for d in at.dataframe if "Balance age" in d.value.columns)
    seconds = table.value["Balance age"]
    assert pd.api.types.is_float_dtype(seconds) and 3 * 3600 < seconds.iloc[0] < 4 * 3600
    assert list(shown_cells(table)["Balance age"]) == ["3 h"] == [wording.age(seconds.iloc[0])]
    at.query_params["account"] = account["id"]
    at.run()
    no_exceptions(at)
    assert {m.label: m.value for m in at.metric}["Balance age"] == "3 h"
